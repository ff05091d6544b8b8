package desk

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestDuplicateEntrySkipped: the venue logs one MLS message twice (a
// request that reached it twice, found by TestSimulation): every desk,
// the sender's too, reads the copy as a skipped duplicate, raises no
// alarm and goes on.
func TestDuplicateEntrySkipped(t *testing.T) {
	tv, a1, b1 := startPair(t, &loseAnswers{}, "plenary")
	ctx := t.Context()
	idx, err := a1.Send(ctx, "plenary", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	vv, err := note.NewVerifier(tv.v.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	lc := tlog.NewClient(client.ChannelOrigin("venue.test", "plenary"), vv, a1.api.fetcher("plenary"))
	cp, _, err := lc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, err := lc.Entries(ctx, cp, idx, idx+1)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := a1.api.appendEntry(ctx, "plenary", es[0], -1)
	if err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1) // fails on any alarm
	if _, err := b1.Send(ctx, "plenary", []byte("still talking")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	for _, d := range []*Desk{a1, b1} {
		if got := strings.Join(texts(t, d, "plenary"), ","); got != "Tomas Reig: hello,Iryna Holt: still talking" {
			t.Errorf("%s reads %q", d.Profile().Delegation, got)
		}
		ms, err := d.Read(ctx, "plenary", dup, 1)
		if err != nil || len(ms) != 1 || ms[0].Kind != "skipped" || !strings.HasPrefix(ms[0].Note, "a copy of") {
			t.Errorf("%s reads the copy at %d as %+v (%v)", d.Profile().Delegation, dup, ms, err)
		}
	}
}

// startPair starts a venue with channels chs of Arden and Borealia, and
// their desks, each having confirmed the other party; Arden's requests go
// through net.
func startPair(t *testing.T, net *loseAnswers, chs ...string) (*testVenue, *Desk, *Desk) {
	t.Helper()
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a1 := tv.newDeskVia(arden, "Tomas Reig", "expert", net)
	b1 := tv.newDesk(borealia, "Iryna Holt")
	for _, ch := range chs {
		if _, err := tv.admin.CreateChannel(t.Context(), client.ChannelSpec{ID: ch, Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
			t.Fatal(err)
		}
	}
	confirmAll(t, a1)
	confirmAll(t, b1)
	return tv, a1, b1
}

// loseAnswers is a transport that, while armed, forwards each append to a
// channel's log and then loses the venue's answer; with twice, it forwards
// the append twice and answers with the second answer (a request that
// reached the venue twice); with drop, it does not forward it and says the
// connection was reset (the desk cannot tell whether it was logged).
type loseAnswers struct {
	mu          sync.Mutex
	armed       bool
	twice, drop bool
	// failAfter is how many reads of a channel's checkpoint fail after
	// each append armed (failing counts them down).
	failAfter, failing int
	// before, if set, runs once before the next append is forwarded
	// (armed or not).
	before func()
}

func (l *loseAnswers) arm(on bool) {
	l.mu.Lock()
	l.armed = on
	l.mu.Unlock()
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	armed, twice, drop := l.armed, l.twice, l.drop
	failRead := l.failing > 0 && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/checkpoint")
	if failRead {
		l.failing--
	}
	if armed && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/entries") {
		l.failing = l.failAfter
	}
	l.mu.Unlock()
	if failRead {
		return nil, errors.New("connection reset while reading the checkpoint")
	}
	isAppend := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/entries")
	var before func()
	if isAppend {
		l.mu.Lock()
		before, l.before = l.before, nil
		l.mu.Unlock()
	}
	if before != nil {
		before()
	}
	armed = armed && isAppend
	if armed && drop {
		return nil, errors.New("connection reset while the request was sent")
	}
	if armed && twice {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		first := r.Clone(r.Context())
		first.Body = io.NopCloser(bytes.NewReader(body))
		if resp, err := http.DefaultTransport.RoundTrip(first); err == nil {
			resp.Body.Close()
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return http.DefaultTransport.RoundTrip(r)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && armed {
		resp.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return resp, err
}

// TestGroupStartDecidedByTheLog: the venue's one commit per epoch decides
// who started a channel's group, and the desk that made a start reads the
// log to learn whether it was its own (found by TestSimulation). Arden's
// start reaches the venue twice and Arden gets the second answer, "epoch
// taken", and then cannot read the log at once: once it can, the start
// that took the epoch is Arden's own, so Arden is in the group and
// Borealia joins it with the Welcome Arden kept (before, Arden dropped its
// group, or its Welcome, and Borealia waited for ever). Then, in a second
// channel, Arden's start never reaches the venue though Arden cannot tell,
// and Borealia starts the group: Arden's desk drops the start it kept and
// joins Borealia's (before, it read Borealia's start against its own group
// and stayed alone in a group nobody else had).
func TestGroupStartDecidedByTheLog(t *testing.T) {
	ctx := t.Context()
	net := &loseAnswers{}
	_, a1, b1 := startPair(t, net, "plenary", "wg1")

	net.mu.Lock()
	net.armed, net.twice, net.failAfter = true, true, 1
	net.mu.Unlock()
	if err := a1.Open(ctx, "plenary"); err == nil || !strings.Contains(err.Error(), "sync to see") {
		t.Fatalf("Arden's start of plenary, logged twice, the log unread: %v", err)
	}
	net.arm(false)
	syncAll(t, a1, b1)
	if _, err := b1.Send(ctx, "plenary", []byte("good morning")); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Send(ctx, "plenary", []byte("good morning to you")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	for _, d := range []*Desk{a1, b1} {
		if got := strings.Join(texts(t, d, "plenary"), ","); got != "Iryna Holt: good morning,Tomas Reig: good morning to you" {
			t.Errorf("%s reads %q in plenary", d.Profile().Delegation, got)
		}
	}

	net.mu.Lock()
	net.armed, net.twice, net.drop, net.failAfter = true, false, true, 0
	net.mu.Unlock()
	if err := a1.Open(ctx, "wg1"); err == nil {
		t.Fatal("Arden's start of wg1 succeeded without reaching the venue")
	}
	net.arm(false)
	if err := b1.Open(ctx, "wg1"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	if _, err := a1.Send(ctx, "wg1", []byte("in the working group")); err != nil {
		t.Fatalf("Arden sends in wg1 after Borealia started it: %v", err)
	}
	syncAll(t, a1, b1)
	if got := strings.Join(texts(t, b1, "wg1"), ","); got != "Tomas Reig: in the working group" {
		t.Errorf("Borealia reads %q in wg1", got)
	}
	for _, d := range []*Desk{a1, b1} {
		ms, err := d.Read(ctx, "wg1", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Kind == "rejected" {
				t.Errorf("%s rejected entry %d of wg1: %s", d.Profile().Delegation, m.Index, m.Note)
			}
		}
	}
}

// TestLostAnswers: the venue logs a message and a commit but the sender
// gets no answer (found by TestSimulation): the sender reads both as its
// own once it syncs, and stays in the group with the others.
func TestLostAnswers(t *testing.T) {
	ctx := t.Context()
	lose := &loseAnswers{}
	_, a1, b1 := startPair(t, lose, "plenary")
	if _, err := a1.Send(ctx, "plenary", []byte("opening")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	lose.arm(true)
	if _, err := a1.Send(ctx, "plenary", []byte("hello")); err == nil {
		t.Fatal("the send succeeded without an answer")
	}
	if err := a1.Rotate(ctx, "plenary"); err == nil {
		t.Fatal("the rotation succeeded without an answer")
	}
	lose.arm(false)
	syncAll(t, a1, b1)
	if _, err := b1.Send(ctx, "plenary", []byte("after")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	want := "Tomas Reig: opening,Tomas Reig: hello,Iryna Holt: after"
	for _, d := range []*Desk{a1, b1} {
		if got := strings.Join(texts(t, d, "plenary"), ","); got != want {
			t.Errorf("%s reads %q, want %q", d.Profile().Delegation, got, want)
		}
	}
	_, ea, _ := a1.Members(ctx, "plenary")
	_, eb, _ := b1.Members(ctx, "plenary")
	if ea != eb {
		t.Errorf("arden is at epoch %d, borealia at %d", ea, eb)
	}
}

// TestMessageAfterACommitCountsOnce: Borealia's commit lands between
// Arden's encrypting a statement and its append, so nobody else can read
// that copy; Arden's desk sends the statement again in the new epoch.
// Both desks then hold one statement, not Arden two (the first copy is no
// event: Message.Event).
func TestMessageAfterACommitCountsOnce(t *testing.T) {
	ctx := t.Context()
	net := &loseAnswers{}
	_, a1, b1 := startPair(t, net, "plenary")
	if err := a1.Open(ctx, "plenary"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	net.mu.Lock()
	net.before = func() {
		if err := b1.Rotate(ctx, "plenary"); err != nil {
			t.Errorf("Borealia's commit: %v", err)
		}
	}
	net.mu.Unlock()
	if _, err := a1.SendEvent(ctx, "plenary", "", negotiation.NewStatement("Arden speaks once.", "", "", "")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	ms, err := a1.Read(ctx, "plenary", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	late := false
	for _, m := range ms {
		late = late || m.Note == noteEndedEpoch
	}
	if !late {
		t.Fatal("Arden's statement did not land after Borealia's commit: the test did not play")
	}
	for _, d := range []*Desk{a1, b1} {
		st, err := d.Talks(ctx, "plenary", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Statements) != 1 {
			t.Errorf("%s's desk holds %d statements, want 1: %+v", d.Profile().Delegation, len(st.Statements), st.Statements)
		}
	}
}

// TestAcknowledgedCommitKept: the venue acknowledges Arden's commit, then
// shows Arden's desk a log that stops before it (a frozen view: found by
// TestSimulation). Arden's desk keeps the commit and sends nothing until
// the log shows it (before, it dropped the commit as never appended and
// went on in the epoch the others had left: nobody could read what it sent,
// and its own reading of the channel parted from theirs for good). Once the
// view thaws, Arden's statement reaches Borealia, counted once on each desk.
func TestAcknowledgedCommitKept(t *testing.T) {
	ctx := t.Context()
	tv, a1, b1 := startPair(t, &loseAnswers{}, "plenary")
	if err := a1.Open(ctx, "plenary"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	frozen, err := a1.api.fetcher("plenary")(ctx, "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	tv.mu.Lock()
	tv.tamper = func(path string, body []byte) []byte {
		if path == "/logs/plenary/checkpoint" {
			return frozen
		}
		return body
	}
	tv.mu.Unlock()
	if err := a1.Rotate(ctx, "plenary"); err != nil {
		t.Fatalf("Arden's commit, acknowledged: %v", err)
	}
	statement := negotiation.NewStatement("Arden, after its commit.", "", "", "")
	if _, err := a1.SendEvent(ctx, "plenary", "", statement); err == nil || !strings.Contains(err.Error(), "waits for it") {
		t.Fatalf("Arden's send while its acknowledged commit is not shown: %v", err)
	}
	tv.mu.Lock()
	tv.tamper = nil
	tv.mu.Unlock()
	syncAll(t, a1, b1)
	if _, err := a1.SendEvent(ctx, "plenary", "", statement); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	for _, d := range []*Desk{a1, b1} {
		st, err := d.Talks(ctx, "plenary", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Statements) != 1 {
			t.Errorf("%s's desk holds %d statements, want 1", d.Profile().Delegation, len(st.Statements))
		}
	}
	_, ea, _ := a1.Members(ctx, "plenary")
	_, eb, _ := b1.Members(ctx, "plenary")
	if ea != eb {
		t.Errorf("Arden is at epoch %d, Borealia at %d", ea, eb)
	}
}
