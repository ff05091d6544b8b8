package proof

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
)

// memLog is an in-memory Merkle log signed by a venue key.
type memLog struct {
	hashes []xtlog.Hash
	n      int64
}

func (l *memLog) ReadHashes(idx []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(l.hashes)) {
			return nil, errors.New("no such hash")
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *memLog) add(t testing.TB, e string) {
	hs, err := xtlog.StoredHashes(l.n, []byte(e), l)
	if err != nil {
		t.Fatal(err)
	}
	l.hashes = append(l.hashes, hs...)
	l.n++
}

func (l *memLog) sign(t testing.TB, s note.Signer) []byte {
	h, err := xtlog.TreeHash(l.n, l)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "venue.test/channels/plenary", Size: l.n, Hash: h}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func keys(t testing.TB) (note.Signer, string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "venue.test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// fork builds two histories that share e0, e1 and then differ.
func fork(t testing.TB, s note.Signer, nA, nB int) (a, b *memLog) {
	a, b = &memLog{}, &memLog{}
	for i := range 2 {
		a.add(t, fmt.Sprintf("e%d", i))
		b.add(t, fmt.Sprintf("e%d", i))
	}
	for i := 2; i < nA; i++ {
		a.add(t, fmt.Sprintf("a%d", i))
	}
	for i := 2; i < nB; i++ {
		b.add(t, fmt.Sprintf("b%d", i))
	}
	return a, b
}

func TestSplitView(t *testing.T) {
	s, vkey := keys(t)
	a, b := fork(t, s, 5, 5)
	p, err := NewSplitView(vkey, a.sign(t, s), b.sign(t, s))
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(p.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(q, vkey)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != SplitView || r.A.Size != 5 {
		t.Fatalf("result %+v", r)
	}
	t.Log(r)
	// Two honest checkpoints of one log do not make a proof.
	if _, err := NewSplitView(vkey, a.sign(t, s), a.sign(t, s)); err == nil {
		t.Fatal("equal checkpoints accepted as a split view")
	}
	// A pinned key that differs fails.
	_, other := keys(t)
	if _, err := Verify(q, other); err == nil {
		t.Fatal("proof verified under another pinned key")
	}
}

func TestInconsistent(t *testing.T) {
	s, vkey := keys(t)
	for _, sizes := range [][2]int{{3, 9}, {4, 300}, {257, 600}, {3, 4}} {
		a, b := fork(t, s, sizes[0], sizes[1])
		p, err := NewInconsistent(vkey, a.sign(t, s), b.sign(t, s), b)
		if err != nil {
			t.Fatalf("%v: %v", sizes, err)
		}
		data := p.Marshal()
		q, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.Marshal(), data) {
			t.Fatal("round trip changed the proof")
		}
		r, err := Verify(q, "")
		if err != nil {
			t.Fatalf("%v: %v", sizes, err)
		}
		if r.Kind != Inconsistent || r.A.Size != int64(sizes[0]) || r.B.Size != int64(sizes[1]) {
			t.Fatalf("result %+v", r)
		}
		// Flip every bit of every proof hash and of the prefix: nothing verifies.
		for i := range q.TreeProof {
			for bit := range 256 {
				q2 := *q
				q2.TreeProof = append(xtlog.TreeProof(nil), q.TreeProof...)
				q2.TreeProof[i][bit/8] ^= 1 << (bit % 8)
				if _, err := Verify(&q2, ""); err == nil {
					t.Fatalf("flipped bit %d of proof hash %d verifies", bit, i)
				}
			}
		}
		for bit := range 256 {
			q2 := *q
			q2.Prefix[bit/8] ^= 1 << (bit % 8)
			if _, err := Verify(&q2, ""); err == nil {
				t.Fatalf("flipped bit %d of the prefix verifies", bit)
			}
		}
	}
	// An honest pair is consistent: no proof can be made.
	a := &memLog{}
	for i := range 5 {
		a.add(t, fmt.Sprintf("e%d", i))
	}
	small := a.sign(t, s)
	for i := 5; i < 20; i++ {
		a.add(t, fmt.Sprintf("e%d", i))
	}
	if _, err := NewInconsistent(vkey, small, a.sign(t, s), a); err == nil {
		t.Fatal("a proof from an honest log")
	}
}

func TestParseRejects(t *testing.T) {
	s, vkey := keys(t)
	a, b := fork(t, s, 3, 9)
	p, err := NewInconsistent(vkey, a.sign(t, s), b.sign(t, s), b)
	if err != nil {
		t.Fatal(err)
	}
	good := p.Marshal()
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		q, err := Parse(bad)
		if err != nil {
			continue
		}
		if _, err := Verify(q, vkey); err == nil {
			t.Fatalf("byte %d flipped still verifies", i)
		}
	}
	for _, bad := range []string{"", Header, Header + "\nkind other\n", string(good) + "extra\n", string(good[:len(good)-1])} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	s, vkey := keys(f)
	a, b := fork(f, s, 3, 9)
	p, _ := NewInconsistent(vkey, a.sign(f, s), b.sign(f, s), b)
	f.Add(p.Marshal())
	a, b = fork(f, s, 4, 4)
	p, _ = NewSplitView(vkey, a.sign(f, s), b.sign(f, s))
	f.Add(p.Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Marshal(), data) {
			t.Fatalf("non-canonical proof accepted")
		}
		Verify(p, "")
	})
}
