package desk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestContinuationChain: the talks of a channel recovered twice (wg1 into
// wg1b, wg1b into wg1c) start from everything carried along the chain —
// and nothing past what each notice covered — the snapshot-advanced state
// equals the replay; a desk missing carried entries computes no state;
// and a loop of notices is refused, not followed for ever.
func TestContinuationChain(t *testing.T) {
	ctx := context.Background()
	d := historyDesk(t, t.TempDir())
	for _, ch := range []string{"wg1b", "wg1c"} {
		meta, _ := jsonMarshal(client.Channel{ID: ch, Members: []string{"arden", "borealia", "caspia"}})
		if err := d.store.Put(ctx, prefChan+ch, meta); err != nil {
			t.Fatal(err)
		}
	}
	arden, borealia := historySenders[0], historySenders[1]
	app := func(ch string, idx int64, from MemberInfo, payload []byte) Message {
		return Message{Channel: ch, Index: idx, Kind: "application", Sender: from, Data: payload}
	}
	notice := func(ch string) Message { return Message{Channel: ch, Index: 0, Kind: "recovery", Note: "continues"} }
	appendHistory(t, d, []Message{
		app("wg1", 0, arden, negotiation.NewTableText(negotiation.TableText{ID: "t1", Title: "Protocol", Level: negotiation.LevelExpert, Language: "en",
			Paragraphs: []string{"Monitors report monthly."}})),
		app("wg1", 1, borealia, negotiation.NewPosition("t1", "p1", 1, negotiation.Agree, "")),
		app("wg1", 2, borealia, negotiation.NewPosition("t1", "p1", 1, negotiation.Object, "")), // past the notice: not carried
		notice("wg1b"),
		app("wg1b", 1, arden, negotiation.NewStatement("Shall we go on?", "", "", "")),
		notice("wg1c"),
		app("wg1c", 1, arden, negotiation.NewPosition("t1", "p1", 1, negotiation.Agree, "")),
	})
	setup := func(f func(tx *Tx) error) {
		t.Helper()
		if err := d.store.Update(ctx, f); err != nil {
			t.Fatal(err)
		}
		d.talks.forget("")
	}
	setup(func(tx *Tx) error {
		for ch, next := range map[string]int64{"wg1": 3, "wg1b": 2, "wg1c": 2} {
			if err := putLogState(ctx, tx, LogState{Log: ch, Size: next, Next: next}); err != nil {
				return err
			}
		}
		if err := continueFrom(ctx, tx, "wg1b", Continuation{From: "wg1", Size: 2, Index: 0}); err != nil {
			return err
		}
		return continueFrom(ctx, tx, "wg1c", Continuation{From: "wg1b", Size: 2, Index: 0})
	})

	got, err := d.Talks(ctx, "wg1c", "caspia")
	if err != nil {
		t.Fatal(err)
	}
	want, err := d.ReplayTalks(ctx, "wg1c", "caspia")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Canonical(), want.Canonical()) {
		t.Fatal("the state of wg1c differs from its replay")
	}
	tx := got.Text("t1")
	if tx == nil {
		t.Fatal("the Protocol tabled in wg1 is not in wg1c's talks")
	}
	p := tx.Paragraph("p1")
	stances := map[string]negotiation.Stance{}
	for _, pos := range p.Positions {
		stances[pos.Party] = pos.Stance
	}
	if stances["borealia"] != negotiation.Agree || stances["arden"] != negotiation.Agree || p.Status != negotiation.ParaAgreed {
		t.Fatalf("p1 in wg1c: %s with %v; want agreed by both (Borealia's objection at wg1's entry 2 was not carried)", p.Status, stances)
	}
	if to, err := d.ContinuedIn(ctx, "wg1b"); err != nil || to != "wg1c" {
		t.Fatalf("ContinuedIn(wg1b) = %q, %v; want wg1c", to, err)
	}

	// Fewer of wg1's entries processed than wg1b carries: no state, and
	// the error says why.
	setup(func(tx *Tx) error { return putLogState(ctx, tx, LogState{Log: "wg1", Size: 3, Next: 1}) })
	if _, err := d.Talks(ctx, "wg1c", "caspia"); err == nil || !strings.Contains(err.Error(), "needed first") {
		t.Fatalf("talks with wg1's carried entries unprocessed: %v", err)
	}
	setup(func(tx *Tx) error { return putLogState(ctx, tx, LogState{Log: "wg1", Size: 3, Next: 3}) })

	// A loop of notices (wg1 continuing wg1c) is refused.
	setup(func(tx *Tx) error { return continueFrom(ctx, tx, "wg1", Continuation{From: "wg1c", Size: 1, Index: 9}) })
	if _, err := d.Talks(ctx, "wg1c", "caspia"); err == nil || !strings.Contains(err.Error(), "recoveries in a row") {
		t.Fatalf("talks over a loop of notices: %v", err)
	}
}

// venueKeyFor gives the desk a venue key of its own making and returns a
// function that signs, with it, a checkpoint of wg1 of the given size and
// root hash (first byte), and the key's verifier.
func venueKeyFor(t *testing.T, d *Desk) (func(size int64, h byte) []byte, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(crand.Reader, "venue.test")
	if err != nil {
		t.Fatal(err)
	}
	d.venue.VerifierKey = vkey
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	return func(size int64, h byte) []byte {
		cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: client.ChannelOrigin("venue.test", "wg1"), Size: size, Hash: xtlog.Hash{h}}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}, verifier
}

// TestRecoveryNoticeSameParties: a recovery notice whose history agrees
// with this desk's is still refused, with an alarm, when the channel it
// was sent in does not have the old channel's member delegations (the
// talks must not move where one of the parties is not), when it is not
// the first words there (talks held there would be rewritten), and when it
// would make a loop of continuations.
func TestRecoveryNoticeSameParties(t *testing.T) {
	ctx := context.Background()
	d := historyDesk(t, t.TempDir())
	sign, verifier := venueKeyFor(t, d)
	cp := sign(3, 1)
	if err := d.store.Update(ctx, func(tx *Tx) error {
		for ch, members := range map[string][]string{"wg1b": {"caspia", "borealia", "arden"}, "wg1x": {"arden", "borealia"}} {
			meta, _ := jsonMarshal(client.Channel{ID: ch, Members: members})
			if err := tx.Put(ctx, prefChan+ch, meta); err != nil {
				return err
			}
		}
		return putLogState(ctx, tx, LogState{Log: "wg1", Checkpoint: cp, Size: 3, Next: 3})
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ch     string
		agreed bool
	}{{"wg1b", true}, {"wg1x", false}} {
		verdict, agreed, alarm, err := d.verifyRecovery(ctx, verifier, tc.ch, 1, &RecoveryNotice{From: "wg1", To: tc.ch, Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		if agreed != tc.agreed || (alarm != nil) == tc.agreed {
			t.Errorf("notice in %s: agreed %v, alarm %v (%s); want agreed %v", tc.ch, agreed, alarm, verdict, tc.agreed)
		}
		t.Logf("%s: %s", tc.ch, verdict)
	}

	// Not the first words in the channel: talks already held there would
	// be rewritten. Into the old channel itself, or into one it continues:
	// a loop.
	appendHistory(t, d, []Message{{Channel: "wg1b", Index: 1, Kind: "application", Sender: historySenders[0], Data: negotiation.NewStatement("Good morning.", "", "", "")}})
	if err := d.store.Update(ctx, func(tx *Tx) error {
		return continueFrom(ctx, tx, "wg1", Continuation{From: "wg1c", Size: 1, Index: 0})
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ch, from string
		idx      int64
	}{{"wg1b", "wg1", 2}, {"wg1", "wg1", 1}, {"wg1c", "wg1", 1}} {
		verdict, agreed, alarm, err := d.verifyRecovery(ctx, verifier, tc.ch, tc.idx, &RecoveryNotice{From: tc.from, To: tc.ch, Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		if agreed || alarm == nil || !strings.HasPrefix(verdict, "REFUSED") {
			t.Errorf("notice at %d of %s from %s: agreed %v, alarm %v, verdict %q; want refused with an alarm", tc.idx, tc.ch, tc.from, agreed, alarm, verdict)
		}
		t.Logf("%s at %d: %s", tc.ch, tc.idx, verdict)
	}
}

// TestUnverifiedNoticeHoldsTheTalks: while this desk has not verified the
// recovery notice in a channel, and when it cannot (it has no view of the
// old channel to compare: the venue does not serve it one), the talks of
// that channel are not computed from nothing, which would make them differ
// from those of the desks that carry the old channel's; the notice says
// why and stays pending.
func TestUnverifiedNoticeHoldsTheTalks(t *testing.T) {
	ctx := context.Background()
	d := historyDesk(t, t.TempDir())
	sign, _ := venueKeyFor(t, d)
	var err error
	if d.api, err = newVenueClient("http://127.0.0.1:1", nil); err != nil { // nothing listens there
		t.Fatal(err)
	}
	cp := sign(3, 1)
	n := &RecoveryNotice{From: "wg1", To: "wg1b", Checkpoint: cp}
	if err := d.store.Update(ctx, func(tx *Tx) error {
		meta, _ := jsonMarshal(client.Channel{ID: "wg1b", Members: []string{"arden", "borealia", "caspia"}})
		if err := tx.Put(ctx, prefChan+"wg1b", meta); err != nil {
			return err
		}
		m := Message{Channel: "wg1b", Index: 1, Kind: "application", Sender: historySenders[1], Data: n.marshal()}
		if err := recoveryReceived(ctx, tx, &m); err != nil {
			return err
		}
		return putMessage(ctx, tx, m)
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // before the check, and after it found no view
		if _, err := d.Talks(ctx, "wg1b", ""); err == nil || !strings.Contains(err.Error(), "wait for this desk to verify the recovery notice at its entry 1") {
			t.Fatalf("talks of wg1b with the notice unverified: %v", err)
		}
		if err := d.checkRecoveriesLocked(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := d.Read(ctx, "wg1b", 1, 1)
	if err != nil || len(ms) != 1 || !strings.Contains(ms[0].Note, "not verified: this desk has no view of wg1") {
		t.Fatalf("the notice reads %+v (%v)", ms, err)
	}
	if c, err := d.Continuation(ctx, "wg1b"); err != nil || c != nil {
		t.Fatalf("continuation %+v (%v) without a verification", c, err)
	}
	if _, err := d.Talks(ctx, "wg1", ""); err != nil {
		t.Fatalf("the talks of wg1, which holds no notice, are held back: %v", err)
	}
}

// TestOwnMessageInAnEndedEpochIsNoEvent: a message of this desk's that
// the log holds after a commit it had not seen (a stale view: found by
// TestSimulation) cannot be read by the other members, so it does not
// count in the talks on this desk either, nor in what a recovery carries:
// the states stay the same on every desk.
func TestOwnMessageInAnEndedEpochIsNoEvent(t *testing.T) {
	ctx := context.Background()
	d := historyDesk(t, t.TempDir())
	own := historySenders[0]
	appendHistory(t, d, []Message{
		{Channel: "wg1", Index: 0, Kind: "application", Sender: own, Own: true, Data: negotiation.NewStatement("Read by all.", "", "", "")},
		{Channel: "wg1", Index: 1, Kind: "application", Sender: own, Own: true, Note: noteEndedEpoch, Data: negotiation.NewStatement("Read by none but us.", "", "", "")},
	})
	st, err := d.Talks(ctx, "wg1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Statements) != 1 || st.Statements[0].Body != "Read by all." {
		t.Fatalf("statements %+v, want the one the others read", st.Statements)
	}
	if err := d.store.Update(ctx, func(tx *Tx) error { return putLogState(ctx, tx, LogState{Log: "wg1", Size: 2, Next: 2}) }); err != nil {
		t.Fatal(err)
	}
	var carried []string
	if err := d.carriedEvents(ctx, []Continuation{{From: "wg1", Size: 2}}, func(e negotiation.Event) { carried = append(carried, string(e.Payload)) }); err != nil || len(carried) != 1 {
		t.Fatalf("carried %q (%v), want one event", carried, err)
	}
}

// TestRecoveryNoticeBeyondTheVenue: a recovery notice carries a checkpoint
// the venue signed, of a larger tree than the one it serves now (it showed
// the recovering desk entries it then took back: found by TestSimulation).
// The consistency proof cannot be had; that is not a passing failure to
// wait out but the venue refusing what it committed to: the notice is
// refused with an alarm.
func TestRecoveryNoticeBeyondTheVenue(t *testing.T) {
	ctx := context.Background()
	d := historyDesk(t, t.TempDir())
	venue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "tile past the end of the log (size 2)", http.StatusNotFound)
	}))
	t.Cleanup(venue.Close)
	var err error
	if d.api, err = newVenueClient(venue.URL, nil); err != nil {
		t.Fatal(err)
	}
	_, device, _ := ed25519.GenerateKey(crand.Reader)
	d.api.setDevice("", device)
	sign, verifier := venueKeyFor(t, d)
	if err := d.store.Update(ctx, func(tx *Tx) error {
		meta, _ := jsonMarshal(client.Channel{ID: "wg1b", Members: []string{"arden", "borealia", "caspia"}})
		if err := tx.Put(ctx, prefChan+"wg1b", meta); err != nil {
			return err
		}
		return putLogState(ctx, tx, LogState{Log: "wg1", Checkpoint: sign(2, 1), Size: 2, Next: 2})
	}); err != nil {
		t.Fatal(err)
	}
	verdict, agreed, alarm, err := d.verifyRecovery(ctx, verifier, "wg1b", 1, &RecoveryNotice{From: "wg1", To: "wg1b", Checkpoint: sign(3, 2)})
	if err != nil || agreed || alarm == nil || alarm.Kind != AlarmRecovery || !strings.Contains(alarm.Detail, "does not serve the larger tree") {
		t.Fatalf("verdict %q, agreed %v, alarm %+v, err %v; want refused with a recovery alarm", verdict, agreed, alarm, err)
	}
}
