package desk

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestDuplicateEntrySkipped: the venue logs one MLS message twice (a
// request that reached it twice, found by TestSimulation): every desk,
// the sender's too, reads the copy as a skipped duplicate, raises no
// alarm and goes on.
func TestDuplicateEntrySkipped(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a1, b1 := tv.newDesk(arden, "Tomas Reig"), tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, b1)
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

// loseAnswers is a transport that, while armed, forwards each append to a
// channel's log and then loses the venue's answer.
type loseAnswers struct {
	mu    sync.Mutex
	armed bool
}

func (l *loseAnswers) arm(on bool) {
	l.mu.Lock()
	l.armed = on
	l.mu.Unlock()
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	l.mu.Lock()
	armed := l.armed
	l.mu.Unlock()
	if err == nil && armed && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/entries") {
		resp.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return resp, err
}

// TestLostAnswers: the venue logs a message and a commit but the sender
// gets no answer (found by TestSimulation): the sender reads both as its
// own once it syncs, and stays in the group with the others.
func TestLostAnswers(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	ctx := t.Context()
	lose := &loseAnswers{}
	a1, err := Init(ctx, t.TempDir(), []byte("pass"), Profile{Delegation: "arden", Person: "Tomas Reig", Role: "expert", Level: "expert"},
		Options{Logger: quiet, HTTPClient: &http.Client{Transport: lose}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a1.Close() })
	req, _ := a1.CertificateRequest()
	c, err := delegation.ParseCertificate(req)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := arden.root.Certify(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Enroll(ctx, tv.proxy.URL, tv.v.VerifierKey(), cert); err != nil {
		t.Fatal(err)
	}
	b1 := tv.newDesk(borealia, "Iryna Holt")
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, b1)
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
