package negotiation

import (
	"strings"
	"testing"
)

// newTalks returns the scenario's state with one text tabled by Arden:
// p1 "The Parties [shall]{arden} [may]{borealia} meet." and p2 "They will report."
func newTalks(t *testing.T) (*State, *log, *Text) {
	t.Helper()
	s, err := New(scenarioConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &log{t: t, channel: "wg2"}
	play(t, s, l, "dana-seitkali", NewAddItem("humanitarian", "Humanitarian questions", ""))
	play(t, s, l, "dana-seitkali", NewAddItem("detainees", "Exchange of detained persons", "humanitarian"))
	play(t, s, l, "nora-vass", NewTableText(TableText{ID: "exchange", Title: "Exchange of detainees", Item: "detainees",
		Level: LevelExpert, Language: "en", Paragraphs: []string{"The Parties [shall] [may]{borealia} meet.", "They will report."}}))
	return s, l, s.Text("exchange")
}

// accept proposes a by person and has the other party accept it.
func accept(t *testing.T, s *State, l *log, person string, a Amendment) *Proposal {
	t.Helper()
	id := play(t, s, l, person, NewProposal("exchange", a)).Ref
	other := "maks-dorn"
	if persons[person] == "borealia" {
		other = "nora-vass"
	}
	if s.Proposal(id).Status == ProposalOpen {
		play(t, s, l, other, NewResponse(id, Accept, ""))
	}
	return s.Proposal(id)
}

func TestAmendments(t *testing.T) {
	s, l, x := newTalks(t)
	p1, p2 := x.Paragraph("p1"), x.Paragraph("p2")
	if p1.Text != "The Parties [shall]{arden} [may]{borealia} meet." {
		t.Fatalf("p1 = %q", p1.Text)
	}
	play(t, s, l, "maks-dorn", NewPosition("exchange", "p2", 1, Agree, ""))

	// Insert a fragment with its spaces.
	accept(t, s, l, "nora-vass", Amendment{Op: OpInsert, Para: "p2", Base: 1, Path: []int{1}, Notation: " [monthly]"})
	if p2.Text != "They will report. [monthly]{arden}" || len(p2.Positions) != 0 {
		t.Fatalf("after insert p2 = %q, positions %v", p2.Text, p2.Positions)
	}
	// Adding an alternative is tabled at once, attributed to the proposer.
	pr := accept(t, s, l, "maks-dorn", Amendment{Op: OpAddAlternative, Para: "p2", Base: 2, Path: []int{1}, Notation: "quarterly"})
	if pr.Status != ProposalTabled || p2.Text != "They will report. [monthly]{arden} [quarterly]{borealia}" {
		t.Fatalf("add alternative: %s, p2 = %q", pr.Status, p2.Text)
	}
	// Nested path: replace inside an option.
	accept(t, s, l, "maks-dorn", Amendment{Op: OpReplace, Para: "p2", Base: 3, Path: []int{1, 1, 0}, Notation: "every quarter"})
	if p2.Text != "They will report. [monthly]{arden} [every quarter]{borealia}" {
		t.Fatalf("nested replace: p2 = %q", p2.Text)
	}
	// Deleting the group would leave a trailing space: refused, so the
	// proposer deletes the space with it.
	refuse(t, s, l, "nora-vass", NewProposal("exchange", Amendment{Op: OpDelete, Para: "p2", Base: 4, Path: []int{1}}), "trailing space")
	accept(t, s, l, "nora-vass", Amendment{Op: OpReplace, Para: "p2", Base: 4, Path: []int{0}, Notation: "They will report."})
	accept(t, s, l, "nora-vass", Amendment{Op: OpDelete, Para: "p2", Base: 5, Path: []int{1}})
	if p2.Text != "They will report." {
		t.Fatalf("delete: p2 = %q", p2.Text)
	}
	// Add a paragraph that is not bracketed: needs acceptance. After ""
	// puts it first.
	pr = accept(t, s, l, "nora-vass", Amendment{Op: OpAddParagraph, Notation: "The Parties shall exchange lists."})
	if pr.Status != ProposalAccepted || x.ParagraphByNumber(1).Text != "The Parties shall exchange lists." {
		t.Fatalf("add paragraph: %s", pr.Status)
	}
	// Move it last, then back first.
	accept(t, s, l, "maks-dorn", Amendment{Op: OpMoveParagraph, Para: "p3", After: "p2"})
	if x.ParagraphByNumber(1).ID != "p1" || x.ParagraphByNumber(2).ID != "p2" || x.ParagraphByNumber(3).ID != "p3" {
		t.Fatal("move did not put p3 last")
	}
	accept(t, s, l, "maks-dorn", Amendment{Op: OpMoveParagraph, Para: "p3"})
	if x.ParagraphByNumber(1).ID != "p3" || x.ParagraphByNumber(3).Number != 3 {
		t.Fatal("move did not put p3 first")
	}
	accept(t, s, l, "nora-vass", Amendment{Op: OpDeleteParagraph, Para: "p2", Base: 6})
	if len(x.Paragraphs) != 2 || len(x.Removed) != 1 || x.Removed[0].ID != "p2" {
		t.Fatal("delete paragraph")
	}

	// Diff between the first and the last version.
	d, err := x.Diff(1, x.Version)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ParaDiff{}
	for _, p := range d {
		got[p.Para] = p
	}
	if got["p1"].Change != "unchanged" || got["p2"].Change != "removed" || got["p3"].Change != "added" {
		t.Fatalf("diff: %+v", d)
	}
	d, _ = x.Diff(x.Version-2, x.Version-1) // p3 moved from last to first
	if d[0].Para != "p3" || d[0].Change != "moved" || d[1].Change != "unchanged" {
		t.Fatalf("diff of the move: %+v", d)
	}
	d, _ = x.Diff(1, 2)
	if f := FormatDiff(d[1].Ops); f != "They will report.{+ [monthly]{arden}+}" {
		t.Fatalf("diff 1..2 of p2: %s", f)
	}
	if _, err := x.Diff(0, 1); err == nil {
		t.Fatal("diff of version 0")
	}
}

func TestProposalLifecycle(t *testing.T) {
	s, l, _ := newTalks(t)
	a := play(t, s, l, "nora-vass", NewProposal("exchange", Amendment{Op: OpRemoveBrackets, Para: "p1", Base: 1, Path: []int{1}})).Ref
	play(t, s, l, "maks-dorn", NewResponse(a, Decline, "we prefer may"))
	if p := s.Proposal(a); p.Status != ProposalDeclined || p.Responses[0].Note != "we prefer may" {
		t.Fatalf("declined: %+v", p)
	}
	refuse(t, s, l, "nora-vass", NewWithdrawal(a), "is declined")

	b := play(t, s, l, "maks-dorn", NewProposal("exchange", Amendment{Op: OpRemoveBrackets, Para: "p1", Base: 1, Path: []int{1}, Option: 1})).Ref
	refuse(t, s, l, "nora-vass", NewWithdrawal(b), "only the proposing party")
	play(t, s, l, "iryna-holt", NewWithdrawal(b)) // any delegate of the proposing party
	if s.Proposal(b).Status != ProposalWithdrawn {
		t.Fatal("not withdrawn")
	}
	refuse(t, s, l, "nora-vass", NewResponse(b, Accept, ""), "withdrawn")
	if s.Text("exchange").Paragraph("p1").Version != 1 {
		t.Fatal("declined or withdrawn proposals changed the text")
	}
}

func TestRulesRefuse(t *testing.T) {
	s, l, _ := newTalks(t)
	cases := []struct {
		who     string
		payload []byte
		want    string
	}{
		{"dana-seitkali", NewProposal("exchange", Amendment{Op: OpDelete, Para: "p1", Base: 1, Path: []int{0}}), "only a party"},
		{"dana-seitkali", NewPosition("exchange", "p2", 1, Agree, ""), "only a party"},
		{"stranger", NewStatement("hello", "", "", ""), "only a party or the host"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpReplace, Para: "p9", Base: 1, Notation: "x"}), "no such paragraph"},
		{"nora-vass", NewProposal("nope", Amendment{Op: OpReplace, Para: "p1", Base: 1, Notation: "x"}), "no such text"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpReplace, Para: "p2", Base: 1, Notation: "They will report."}), "changes nothing"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpDelete, Para: "p2", Base: 1, Path: []int{0}}), "empty the paragraph"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpDelete, Para: "p1", Base: 1, Path: []int{1, 0, 0}}), "empty bracket"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpRemoveBrackets, Para: "p1", Base: 1, Path: []int{0}}), "not name a bracketed group"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpRemoveBrackets, Para: "p1", Base: 1, Path: []int{1}, Option: 2}), "no such option"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpInsert, Para: "p1", Base: 1, Path: []int{1, 5, 0}, Notation: "x"}), "no such option"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpInsert, Para: "p1", Base: 1, Path: []int{9}, Notation: "x"}), "out of range"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpInsert, Para: "p1", Base: 1, Path: []int{1, 0}, Notation: "x"}), "odd number"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpReplace, Para: "p1", Base: 1, Notation: "[x]{caspia}"}), "not a party"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: "merge", Para: "p1", Base: 1}), "unknown amendment"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpMoveParagraph, Para: "p1"}), "changes nothing"},
		{"nora-vass", NewProposal("exchange", Amendment{Op: OpDeleteParagraph, Para: "p1", Base: 1, Path: []int{0}}), "takes only"},
		{"nora-vass", NewPosition("exchange", "p1", 1, Agree, ""), "still has brackets"},
		{"nora-vass", NewPosition("exchange", "p2", 1, "maybe", ""), "unknown stance"},
		{"nora-vass", NewReadiness(ScopeText, "exchange", LevelLeaders, ""), "head of delegation"},
		{"ilse-marven", NewReadiness(ScopeText, "exchange", "summit", ""), "unknown level"},
		{"nora-vass", NewStatement("x", "S9", "", ""), "no such statement"},
		{"nora-vass", NewStatement("x", "", "", "p1"), "needs about_text"},
		{"nora-vass", NewItemStatus("detainees", ItemOpen), "already open"},
		{"nora-vass", NewAddItem("detainees", "again", ""), "exists"},
		{"nora-vass", NewAdoption("exchange", 1, scenarioLanguages, make([]byte, 32), make([]byte, 32)), "not agreed"},
		{"nora-vass", NewSignature("exchange", make([]byte, 32), make([]byte, 64)), "not awaiting signatures"},
	}
	for _, c := range cases {
		refuse(t, s, l, c.who, c.payload, c.want)
	}

	// Unknown, malformed and out-of-order events are kept as such.
	for _, c := range []struct {
		payload string
		result  Result
	}{
		{`{"v":2,"type":"propose"}`, ResultUnknown},
		{`{"v":1,"type":"vote"}`, ResultUnknown},
		{`{"v":1,"type":"position","text":"exchange"`, ResultMalformed},
		{`{"v":1,"type":"position","text":"exchange","para":"p2","version":1,"stance":"agree","by":"borealia"}`, ResultMalformed},
		{`[1,2,3]`, ResultMalformed},
		{"", ResultMalformed},
	} {
		before := substance(s)
		r := s.Apply(l.add("nora-vass", []byte(c.payload)))
		if r.Result != c.result || string(r.Payload) != c.payload || string(substance(s)) != string(before) {
			t.Errorf("%s: %s (%s)", c.payload, r.Result, r.Reason)
		}
	}
	r := s.Apply(Event{LogIndex: 1, Channel: "wg2", Delegation: "arden", Person: "nora-vass", Payload: NewStatement("late", "", "", "")})
	if r.Result != ResultRejected || !strings.Contains(r.Reason, "out of log order") {
		t.Fatalf("out of order: %s %s", r.Result, r.Reason)
	}
	last := s.Log[len(s.Log)-1]
	if last.Result != ResultRejected || last.Payload == nil {
		t.Fatalf("log does not keep the refused event: %+v", last)
	}
}

func TestPackageAcrossTexts(t *testing.T) {
	s, l, x := newTalks(t)
	play(t, s, l, "iryna-holt", NewTableText(TableText{ID: "missing", Title: "Missing persons", Item: "humanitarian",
		Level: LevelExpert, Language: "en", Paragraphs: []string{"The Parties shall search for missing persons."}}))
	m := s.Text("missing")
	play(t, s, l, "nora-vass", NewPosition("missing", "p1", 1, Agree, ""))
	play(t, s, l, "maks-dorn", NewPosition("missing", "p1", 1, Agree, ""))
	if m.Package.Status != PackageAgreed || s.Agenda[0].Package.Status != PackageAgreed {
		t.Fatalf("missing: %s, item %s", m.Package.Status, s.Agenda[0].Package.Status)
	}
	// Nothing is agreed until everything is agreed: the other text is open.
	if s.Package.Status != PackageOpen || x.Package.Status != PackageOpen {
		t.Fatalf("agenda package %s", s.Package.Status)
	}
	play(t, s, l, "maks-dorn", NewPosition("exchange", "p2", 1, Object, "reports are premature"))
	blocks := s.Package.Blocking("borealia")
	var reasons []string
	for _, b := range blocks {
		reasons = append(reasons, b.Para+":"+b.Reason)
	}
	if strings.Join(reasons, ",") != "p1:no position,p1:brackets,p2:object" {
		t.Fatalf("borealia blocks %v", reasons)
	}
	if x.Paragraph("p2").Status != ParaObjected {
		t.Fatalf("p2 %s", x.Paragraph("p2").Status)
	}
	// Statements with replies.
	s1 := play(t, s, l, "maks-dorn", NewStatement("Reports are premature.", "", "exchange", "p2")).Ref
	s2 := play(t, s, l, "dana-seitkali", NewStatement("The host notes the time: the room is booked until 12:30.", s1, "", "")).Ref
	if got := s.Statements[0].Replies; len(got) != 1 || got[0] != s2 {
		t.Fatalf("replies %v", got)
	}
	play(t, s, l, "nora-vass", NewItemStatus("detainees", ItemDeferred))
	if s.Agenda[1].Status != ItemDeferred {
		t.Fatal("item status")
	}
}
