package secrettree

import (
	"bytes"
	"errors"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
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
