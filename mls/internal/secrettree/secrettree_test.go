package secrettree

import (
	"bytes"
	"errors"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
)

func newTree(t *testing.T, n uint32) *Tree {
	s, _ := suite.Lookup(1)
	tr, err := New(s, bytes.Repeat([]byte{7}, 32), n)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestReuseRejected(t *testing.T) {
	tr := newTree(t, 4)
	if _, err := tr.Get(2, Application, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Get(2, Application, 3); !errors.Is(err, ErrGenerationUsed) {
		t.Fatalf("second Get of generation 3: %v", err)
	}
	// Skipped generations stay available exactly once.
	if _, err := tr.Get(2, Application, 1); err != nil {
		t.Fatalf("skipped generation 1: %v", err)
	}
	if _, err := tr.Get(2, Application, 1); !errors.Is(err, ErrGenerationUsed) {
		t.Fatalf("second Get of skipped generation 1: %v", err)
	}
	if _, err := tr.Get(2, Application, 3+DefaultMaxForward+2); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("far generation: %v", err)
	}
	if _, err := tr.Get(9, Application, 0); err == nil {
		t.Fatal("leaf outside the tree accepted")
	}
}

func TestSenderAndReceiverAgree(t *testing.T) {
	a, b := newTree(t, 8), newTree(t, 8)
	for i := 0; i < 5; i++ {
		kn, err := a.Next(5, Handshake)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(5, Handshake, kn.Generation)
		if err != nil || !bytes.Equal(got.Key, kn.Key) || !bytes.Equal(got.Nonce, kn.Nonce) {
			t.Fatalf("generation %d: mismatch (%v)", kn.Generation, err)
		}
	}
	// Ratchets of other leaves are unaffected, and secrets are deleted.
	if _, err := b.Get(0, Application, 0); err != nil {
		t.Fatal(err)
	}
	if len(b.nodes) > 8 {
		t.Errorf("%d node secrets held, want the frontier only", len(b.nodes))
	}
}

func TestSkippedBound(t *testing.T) {
	tr := newTree(t, 2)
	tr.MaxSkipped = 3
	if _, err := tr.Get(1, Application, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Get(1, Application, 2); !errors.Is(err, ErrGenerationUsed) {
		t.Errorf("evicted skipped key still available: %v", err)
	}
	if _, err := tr.Get(1, Application, 9); err != nil {
		t.Errorf("recent skipped key evicted: %v", err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	a := newTree(t, 8)
	if _, err := a.Get(3, Application, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Next(6, Handshake); err != nil {
		t.Fatal(err)
	}
	st, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Unmarshal(st)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := b.MarshalBinary()
	if !bytes.Equal(st, st2) {
		t.Fatal("state does not round-trip")
	}
	// The restored tree remembers consumption and skipped keys.
	if _, err := b.Get(3, Application, 5); !errors.Is(err, ErrGenerationUsed) {
		t.Errorf("restored tree re-issued generation 5: %v", err)
	}
	x, err1 := a.Get(3, Application, 2)
	y, err2 := b.Get(3, Application, 2)
	if err1 != nil || err2 != nil || !bytes.Equal(x.Key, y.Key) {
		t.Errorf("skipped key differs after restore: %v %v", err1, err2)
	}
	x, _ = a.Get(0, Handshake, 0)
	y, _ = b.Get(0, Handshake, 0)
	if !bytes.Equal(x.Key, y.Key) {
		t.Error("fresh leaf key differs after restore")
	}
}

func FuzzUnmarshalState(f *testing.F) {
	s, _ := suite.Lookup(1)
	tr, _ := New(s, bytes.Repeat([]byte{7}, 32), 4)
	tr.Get(1, Application, 3)
	st, _ := tr.MarshalBinary()
	f.Add(st)
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Unmarshal(data)
		if err != nil {
			return
		}
		out, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("state not canonical")
		}
		for l := uint32(0); l < tr.NumLeaves() && l < 4; l++ {
			tr.Get(treemath.LeafIndex(l), Application, 1)
		}
	})
}
