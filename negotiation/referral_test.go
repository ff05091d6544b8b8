package negotiation

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// lowerLogVerifier is a ReferralVerifier for engine tests: the evidence is
// a JSON list of log indexes of l, and it proves those events as they are.
// The desk's verifier (channel briefings with inclusion proofs) is tested
// through the real binary in package desk.
func lowerLogVerifier(l *log) ReferralVerifier {
	return func(evidence []byte, _ []Party) (*ReferralEvidence, error) {
		var idx []uint64
		if err := json.Unmarshal(evidence, &idx); err != nil {
			return nil, errors.New("bad evidence")
		}
		ev := &ReferralEvidence{Channel: l.channel}
		for _, i := range idx {
			if i == 0 || i > uint64(len(l.events)) {
				return nil, errors.New("no such entry")
			}
			e := l.events[i-1]
			ev.Messages = append(ev.Messages, ReferralMessage{LogIndex: e.LogIndex, Delegation: e.Delegation, Person: e.Person, Payload: e.Payload})
		}
		return ev, nil
	}
}

// referredTalks plays the expert round of the exchange text: p2 agreed by
// both, p1 still bracketed with Borealia objecting; then both heads refer
// it to the ministerial level.
func referredTalks(t *testing.T) (*State, *log, []uint64) {
	s, l, x := newTalks(t)
	play(t, s, l, "nora-vass", NewPosition("exchange", "p2", 1, Agree, ""))
	play(t, s, l, "maks-dorn", NewPosition("exchange", "p2", 1, AgreeAdReferendum, "subject to the capital"))
	play(t, s, l, "maks-dorn", NewPosition("exchange", "p1", 1, Object, "meetings must be obligatory"))
	open := play(t, s, l, "nora-vass", NewProposal("exchange", Amendment{Op: OpReplace, Para: "p2", Base: 1, Notation: "They will report monthly."})).Ref

	r, err := s.ReferralOf("exchange", LevelMinisterial)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReferralOf("exchange", LevelExpert); err == nil {
		t.Fatal("referral to the same level allowed")
	}
	refuse(t, s, l, "nora-vass", NewReferral(*r), "head of delegation")
	a := play(t, s, l, "ilse-marven", NewReferral(*r))
	if ref := s.Referral(a.Ref); ref == nil || ref.Complete || x.Status != TextNegotiating {
		t.Fatalf("one referral of two completed it: %+v", ref)
	}
	refuse(t, s, l, "ilse-marven", NewReferral(*r), "already referred")
	// A referral that misstates a position is refused by the engine of
	// every desk: here Borealia's objection is turned into agreement.
	forged := *r
	forged.Paragraphs = append([]ReferredParagraph(nil), r.Paragraphs...)
	forged.Paragraphs[0].Positions = []Position{{Party: "borealia", Stance: Agree, Version: 1, Person: "maks-dorn"}}
	refuse(t, s, l, "oleh-varta", NewReferral(forged), "not text exchange as it stands")
	b := play(t, s, l, "oleh-varta", NewReferral(*r))
	if b.Ref != a.Ref || !s.Referral(a.Ref).Complete || x.Status != TextReferred || x.ReferredTo != a.Ref {
		t.Fatalf("referral not complete: %+v, text %s", s.Referral(a.Ref), x.Status)
	}
	if pr := s.Proposal(open); pr.Status != ProposalStale {
		t.Fatalf("open proposal on a referred text is %s", pr.Status)
	}
	refuse(t, s, l, "maks-dorn", NewPosition("exchange", "p1", 1, Reserve, ""), "referred and frozen")
	return s, l, []uint64{a.LogIndex, b.LogIndex}
}

func TestReferralTakenUp(t *testing.T) {
	lower, ll, entries := referredTalks(t)
	evidence, _ := json.Marshal(entries)

	s, err := New(scenarioConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &log{t: t, channel: "ministerial"}
	refuse(t, s, h, "tomas-reig", NewTakeUp("exchange", evidence), "cannot check referral evidence")
	s.SetReferralVerifier(lowerLogVerifier(ll))
	one, _ := json.Marshal(entries[:1])
	refuse(t, s, h, "tomas-reig", NewTakeUp("exchange", one), "no referral from [borealia]")
	notRef, _ := json.Marshal([]uint64{3, entries[1]}) // 3: Arden tables the text
	refuse(t, s, h, "tomas-reig", NewTakeUp("exchange", notRef), "is not a referral")
	refuse(t, s, h, "tomas-reig", NewTakeUp("exchange", []byte("[99]")), "does not verify")

	r := play(t, s, h, "tomas-reig", NewTakeUp("exchange", evidence))
	x := s.Text(r.Ref)
	if x.Level != LevelMinisterial || x.Origin == nil || x.Origin.Channel != "wg2" || x.Origin.From != LevelExpert {
		t.Fatalf("taken up: level %s origin %+v", x.Level, x.Origin)
	}
	if strings.Join(x.Origin.Agreed, ",") != "p2" || strings.Join(x.Origin.Open, ",") != "p1" {
		t.Fatalf("carried agreed %v open %v", x.Origin.Agreed, x.Origin.Open)
	}
	// What the experts agreed stays agreed (ad referendum where it was);
	// the open paragraph stays blocked by the same party for the same reason.
	lowerText := lower.Text("exchange")
	for _, id := range []string{"p1", "p2"} {
		if got, want := x.Paragraph(id).Status, lowerText.Paragraph(id).Status; got != want {
			t.Errorf("%s: status %s at the higher level, %s at the lower", id, got, want)
		}
	}
	var objection *Position
	for i, p := range x.Paragraph("p1").Positions {
		if p.Party == "borealia" {
			objection = &x.Paragraph("p1").Positions[i]
		}
	}
	if objection == nil || objection.Stance != Object || objection.Note != "meetings must be obligatory" || objection.Carried != LevelExpert {
		t.Fatalf("carried objection: %+v", objection)
	}
	refuse(t, s, h, "maks-dorn", NewTakeUp("exchange2", evidence), "taken up already")

	// A party reopens the agreed paragraph, explicitly and with a reason.
	refuse(t, s, h, "maks-dorn", NewReopening(x.ID, "p1", "again"), "not carried as agreed")
	refuse(t, s, h, "maks-dorn", NewReopening(x.ID, "p2", ""), "say why")
	play(t, s, h, "maks-dorn", NewReopening(x.ID, "p2", "the capital wants a monthly report"))
	if st := x.Paragraph("p2").Status; st != ParaOpen || len(x.Origin.Reopened) != 1 || x.Origin.Reopened[0].Party != "borealia" {
		t.Fatalf("after reopening: p2 %s, reopened %+v", st, x.Origin.Reopened)
	}
	refuse(t, s, h, "maks-dorn", NewReopening(x.ID, "p2", "twice"), "already reopened")

	// The state decodes to itself, and a replay computes the same bytes.
	d, err := Decode(s.Canonical())
	if err != nil || !bytes.Equal(d.Canonical(), s.Canonical()) {
		t.Fatalf("decode: %v", err)
	}
	again, _ := New(scenarioConfig())
	again.Apply(h.events[0]) // refused for want of a verifier, as above
	again.SetReferralVerifier(lowerLogVerifier(ll))
	again.ApplyAll(h.events[1:])
	if !bytes.Equal(again.Canonical(), s.Canonical()) {
		t.Fatal("replay differs")
	}
}

// TestReferralDifferentStates: a take-up whose referrals describe different
// states of the text (one party referred, the text changed, the other
// referred the new state) is refused.
func TestReferralDifferentStates(t *testing.T) {
	s, l, _ := newTalks(t)
	r1, _ := s.ReferralOf("exchange", LevelSenior)
	a := play(t, s, l, "ilse-marven", NewReferral(*r1))
	play(t, s, l, "nora-vass", NewPosition("exchange", "p2", 1, Agree, ""))
	r2, _ := s.ReferralOf("exchange", LevelSenior)
	b := play(t, s, l, "oleh-varta", NewReferral(*r2))
	if a.Ref == b.Ref || s.Text("exchange").Status != TextNegotiating {
		t.Fatal("referrals of two different states completed one referral")
	}
	evidence, _ := json.Marshal([]uint64{a.LogIndex, b.LogIndex})
	h, _ := New(scenarioConfig())
	h.SetReferralVerifier(lowerLogVerifier(l))
	refuse(t, h, &log{t: t, channel: "senior"}, "tomas-reig", NewTakeUp("exchange", evidence), "different states")
}
