package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
)

// memLog is an in-memory log for the tests.
type memLog struct {
	hashes []xtlog.Hash
	n      int64
}

func (l *memLog) ReadHashes(idx []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *memLog) add(t *testing.T, entries ...string) {
	for _, e := range entries {
		hs, err := xtlog.StoredHashes(l.n, []byte(e), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.n++
	}
}

func (l *memLog) checkpoint(t *testing.T, origin string, s note.Signer) []byte {
	h, err := xtlog.TreeHash(l.n, l)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: l.n, Hash: h}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func (l *memLog) proof(t *testing.T, old int64) []xtlog.Hash {
	if old == 0 {
		return nil
	}
	p, err := xtlog.ProveTree(l.n, old, l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fixture struct {
	w      *Witness
	store  FileStore
	venue  note.Signer
	other  note.Signer
	verify *tlog.CosignatureVerifier
}

func newFixture(t *testing.T) *fixture {
	skey, vkey, err := note.GenerateKey(rand.Reader, "venue.test")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	okey, _, _ := note.GenerateKey(rand.Reader, "venue.test")
	o, _ := note.NewSigner(okey)
	_, wk, _ := ed25519.GenerateKey(rand.Reader)
	c, err := tlog.NewCosigner("witness.test/w1", wk)
	if err != nil {
		t.Fatal(err)
	}
	cvk, _ := tlog.CosignatureVerifierKey("witness.test/w1", wk.Public().(ed25519.PublicKey))
	cv, _ := tlog.NewCosignatureVerifier(cvk)
	st := FileStore{Dir: t.TempDir()}
	return &fixture{w: New(c, []note.Verifier{v}, st), store: st, venue: s, other: o, verify: cv}
}

func (f *fixture) add(t *testing.T, old int64, proof []xtlog.Hash, cp []byte) Response {
	t.Helper()
	r, err := f.w.AddCheckpoint(t.Context(), Request{OldSize: old, Proof: proof, Checkpoint: cp}.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAddCheckpoint(t *testing.T) {
	f := newFixture(t)
	const origin = "venue.test/channels/plenary"
	var l memLog
	l.add(t, "a", "b", "c")
	cp3 := l.checkpoint(t, origin, f.venue)

	// First sight: old 0, empty proof.
	r := f.add(t, 0, nil, cp3)
	if r.Status != 200 || !bytes.HasPrefix(r.Body, []byte("— witness.test/w1 ")) {
		t.Fatalf("first add: %d %q", r.Status, r.Body)
	}
	// The cosignature verifies as a note signature on the checkpoint.
	body, _, _ := bytes.Cut(cp3, []byte("\n\n"))
	if _, err := note.Open(append(append(body, "\n\n"...), r.Body...), note.VerifierList(f.verify)); err != nil {
		t.Fatalf("cosignature does not verify: %v", err)
	}
	// A stale old size learns the latest size.
	if r := f.add(t, 0, nil, cp3); r.Status != 409 || string(r.Body) != "3\n" || r.ContentType != SizeContentType {
		t.Fatalf("stale old size: %d %q %s", r.Status, r.Body, r.ContentType)
	}
	// Same size, same hash: cosigned again.
	if r := f.add(t, 3, nil, cp3); r.Status != 200 {
		t.Fatalf("same checkpoint again: %d %q", r.Status, r.Body)
	}
	// Grows consistently.
	l.add(t, "d", "e")
	cp5 := l.checkpoint(t, origin, f.venue)
	if r := f.add(t, 3, l.proof(t, 3), cp5); r.Status != 200 {
		t.Fatalf("consistent growth: %d %q", r.Status, r.Body)
	}
	// A fork at size 5: same size, another hash.
	var fork memLog
	fork.add(t, "a", "b", "c", "d", "X")
	f5 := fork.checkpoint(t, origin, f.venue)
	if r := f.add(t, 5, nil, f5); r.Status != 409 {
		t.Fatalf("fork at the same size: %d %q", r.Status, r.Body)
	}
	// A fork that grows: the proof from 5 cannot verify.
	fork.add(t, "f")
	f6 := fork.checkpoint(t, origin, f.venue)
	if r := f.add(t, 5, fork.proof(t, 5), f6); r.Status != 422 {
		t.Fatalf("inconsistent growth: %d %q", r.Status, r.Body)
	}
	// Every flipped bit of a good proof is refused.
	l.add(t, "f", "g")
	cp7 := l.checkpoint(t, origin, f.venue)
	good := l.proof(t, 5)
	for i := range good {
		for bit := range 8 * len(good[i]) {
			p := append([]xtlog.Hash(nil), good...)
			p[i][bit/8] ^= 1 << (bit % 8)
			if r := f.add(t, 5, p, cp7); r.Status != 422 {
				t.Fatalf("flipped proof bit %d/%d: %d", i, bit, r.Status)
			}
		}
	}
	if refused, _ := os.ReadDir(filepath.Join(f.store.Dir, "refused")); len(refused) == 0 {
		t.Error("refused requests not kept")
	}
	// Unknown origin, unknown key, old > size, proof from zero.
	if r := f.add(t, 0, nil, l.checkpoint(t, "elsewhere.test/x", f.venue)); r.Status != 404 {
		t.Errorf("unknown origin: %d", r.Status)
	}
	if r := f.add(t, 5, good, l.checkpoint(t, origin, f.other)); r.Status != 403 {
		t.Errorf("impostor key: %d", r.Status)
	}
	if r := f.add(t, 9, nil, cp7); r.Status != 400 {
		t.Errorf("old > size: %d", r.Status)
	}
	if r := f.add(t, 0, good, cp7); r.Status != 400 {
		t.Errorf("proof from zero: %d", r.Status)
	}
	// The state survives a restart: a new witness on the same store.
	w2 := New(f.w.cosigner, f.w.logs, f.store)
	r, err := w2.AddCheckpoint(t.Context(), Request{OldSize: 0, Checkpoint: cp7}.Marshal())
	if err != nil || r.Status != 409 || string(r.Body) != "5\n" {
		t.Fatalf("after restart: %d %q %v", r.Status, r.Body, err)
	}
	if r, _ := w2.AddCheckpoint(t.Context(), Request{OldSize: 5, Proof: good, Checkpoint: cp7}.Marshal()); r.Status != 200 {
		t.Fatalf("after restart, growth: %d %q", r.Status, r.Body)
	}
}

// TestHTTP runs the protocol over HTTP with the client of this package.
func TestHTTP(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.w.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	var l memLog
	l.add(t, "a")
	cp := l.checkpoint(t, "venue.test/register", f.venue)
	ctx := context.Background()
	if _, err := Add(ctx, srv.Client(), srv.URL, Request{Checkpoint: cp}); err != nil {
		t.Fatal(err)
	}
	_, err := Add(ctx, srv.Client(), srv.URL, Request{Checkpoint: cp})
	if ce, ok := err.(*ConflictError); !ok || ce.Size != 1 {
		t.Fatalf("want conflict at 1, got %v", err)
	}
	resp, err := srv.Client().Get(srv.URL + "/add-checkpoint")
	if err != nil || resp.StatusCode != 405 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	big := strings.Repeat("x", MaxRequestSize+1)
	resp, err = srv.Client().Post(srv.URL+"/add-checkpoint", "text/plain", strings.NewReader(big))
	if err != nil || resp.StatusCode != 413 {
		t.Fatalf("oversized: %v %v", resp, err)
	}
}

func TestParseRequest(t *testing.T) {
	cp := "venue.test/register\n1\n" + strings.Repeat("A", 43) + "=\n\n— venue.test abcd\n"
	h := strings.Repeat("A", 43) + "=\n"
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{"old 0\n\n" + cp, true},
		{"old 12\n" + h + h + "\n" + cp, true},
		{"old 012\n\n" + cp, false},
		{"old -1\n\n" + cp, false},
		{"old  1\n\n" + cp, false},
		{"Old 1\n\n" + cp, false},
		{"old 1\n" + h, false},
		{"old 1\n" + strings.Repeat("A", 42) + "==\n\n" + cp, false},
		{"old 1\n" + strings.Repeat("A", 43) + "\n\n" + cp, false},
		{"old 1\n" + strings.Repeat(h, 64) + "\n" + cp, false},
		{"old 1\n" + strings.Repeat(h, 63) + "\n" + cp, true},
		{"old 1\n\n", false},
		{"old 99999999999999999999\n\n" + cp, false},
	} {
		_, err := ParseRequest([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok %v", tc.body[:min(len(tc.body), 40)], err, tc.ok)
		}
	}
}

// FuzzParseRequest: the parser never panics, and what it accepts
// marshals back to the same bytes (one encoding per request).
func FuzzParseRequest(f *testing.F) {
	cp := "venue.test/register\n1\n" + strings.Repeat("A", 43) + "=\n\n— venue.test abcd\n"
	f.Add([]byte("old 0\n\n" + cp))
	f.Add([]byte("old 5\n" + strings.Repeat("A", 43) + "=\n\n" + cp))
	f.Add([]byte(fmt.Sprintf("old %d\n\n", 1<<62)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("round trip: %q -> %q", b, r.Marshal())
		}
	})
}

// FuzzParseSize: the client's parser of a 409 answer accepts exactly the
// canonical "<size>\n".
func FuzzParseSize(f *testing.F) {
	f.Add([]byte("0\n"))
	f.Add([]byte("20852014\n"))
	f.Add([]byte("007\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseSize(b)
		if err != nil {
			return
		}
		if n < 0 || fmt.Sprintf("%d\n", n) != string(b) {
			t.Fatalf("%q parsed as %d", b, n)
		}
	})
}
