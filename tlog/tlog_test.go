package tlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := Checkpoint{Origin: "venue.example/channels/plenary", Size: 20852163, Extensions: []string{"ext one"}}
	copy(c.Hash[:], bytes.Repeat([]byte{7}, 32))
	text := c.Marshal()
	want := "venue.example/channels/plenary\n20852163\n" + base64.StdEncoding.EncodeToString(c.Hash[:]) + "\next one\n"
	if string(text) != want {
		t.Fatalf("Marshal = %q, want %q", text, want)
	}
	got, err := ParseCheckpoint(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.Origin != c.Origin || got.Size != c.Size || got.Hash != c.Hash || len(got.Extensions) != 1 {
		t.Fatalf("round trip: got %+v", got)
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	h := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, s := range []string{
		"",
		"o\n1\n" + h,         // no final newline
		"o\n1\n",             // missing hash
		"\n1\n" + h + "\n",   // empty origin
		"o\n01\n" + h + "\n", // leading zero
		"o\n-1\n" + h + "\n", // sign
		"o\n+1\n" + h + "\n", // sign
		"o\n99999999999999999999\n" + h + "\n",
		"o\n1\n" + h[:40] + "\n", // short hash
		"o\n1\n" + h + "\n\n",    // empty extension
		"o\r\n1\n" + h + "\n",    // control character
		"o\n1\n" + strings.TrimRight(h, "=") + "\n",
	} {
		if _, err := ParseCheckpoint([]byte(s)); err == nil {
			t.Errorf("ParseCheckpoint(%q) succeeded", s)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"))
	f.Add([]byte("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheckpoint(data)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Marshal(), data) {
			t.Fatalf("non-canonical checkpoint accepted: %q", data)
		}
	})
}

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		tile tlog.Tile
		path string
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, "tile/0/000"},
		{tlog.Tile{H: 8, L: 0, N: 1234067, W: 256}, "tile/0/x001/x234/067"},
		{tlog.Tile{H: 8, L: 1, N: 1234067, W: 8}, "tile/1/x001/x234/067.p/8"},
		{tlog.Tile{H: 8, L: 63, N: 1000, W: 1}, "tile/63/x001/000.p/1"},
		{tlog.Tile{H: 8, L: EntriesLevel, N: 1234067, W: 256}, "tile/entries/x001/x234/067"},
		{tlog.Tile{H: 8, L: EntriesLevel, N: 5, W: 255}, "tile/entries/005.p/255"},
	} {
		if got := TilePath(tc.tile); got != tc.path {
			t.Errorf("TilePath(%+v) = %q, want %q", tc.tile, got, tc.path)
		}
		got, err := ParseTilePath(tc.path)
		if err != nil || got != tc.tile {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.tile)
		}
	}
	for _, p := range []string{
		"tile/0/1", "tile/0/0001", "tile/00/000", "tile/64/000", "tile/0/x000/001",
		"tile/0/001/002", "tile/0/x001", "tile/0/000.p/256", "tile/0/000.p/0", "tile/0/000.p/01",
		"tile/0/000.p", "tile/entries", "tile/data/000", "tiles/0/000", "tile/-1/000",
		"tile/8/0/000", "tile/0/x999/x999/x999/x999/x999/999",
	} {
		if tt, err := ParseTilePath(p); err == nil {
			t.Errorf("ParseTilePath(%q) = %+v, want error", p, tt)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/x234/067.p/8", "tile/entries/005.p/255", "tile/entries/x001/000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tt, err := ParseTilePath(path)
		if err != nil {
			return
		}
		if TilePath(tt) != path {
			t.Fatalf("non-canonical path %q accepted as %+v", path, tt)
		}
	})
}

func TestBundle(t *testing.T) {
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{1}, MaxEntrySize)}
	b, err := EncodeBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0 || b[1] != 1 || b[2] != 'a' {
		t.Fatalf("not big-endian uint16 prefixed: %x", b[:4])
	}
	got, err := ParseBundle(b, 3)
	if err != nil || len(got) != 3 || !bytes.Equal(got[2], entries[2]) || len(got[1]) != 0 {
		t.Fatalf("ParseBundle: %v", err)
	}
	for _, want := range []int{0, 2, 4, 257} {
		if _, err := ParseBundle(b, want); err == nil {
			t.Errorf("ParseBundle(want=%d) succeeded", want)
		}
	}
	if _, err := ParseBundle(b[:len(b)-1], 3); err == nil {
		t.Error("truncated bundle accepted")
	}
	if _, err := EncodeBundle([][]byte{make([]byte, MaxEntrySize+1)}); err == nil {
		t.Error("oversized entry accepted")
	}
}

func FuzzParseBundle(f *testing.F) {
	b, _ := EncodeBundle([][]byte{[]byte("hello"), []byte("world")})
	f.Add(b, 2)
	f.Add([]byte{0, 0}, 1)
	f.Fuzz(func(t *testing.T, data []byte, want int) {
		entries, err := ParseBundle(data, want)
		if err != nil {
			return
		}
		again, err := EncodeBundle(entries)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("bundle does not round-trip")
		}
	})
}

// testLog is an in-memory log served per tlog-tiles, built from stored
// hashes the way the venue builds it.
type testLog struct {
	mu      sync.Mutex
	origin  string
	signer  note.Signer
	entries [][]byte
	hashes  []tlog.Hash
	size    int64
	cps     map[int64][]byte
	corrupt func(path string, data []byte) []byte
}

func newTestLog(t testing.TB) (*testLog, note.Verifier) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "venue.example/channels/x")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return &testLog{origin: "venue.example/channels/x", signer: s, cps: map[int64][]byte{}}, v
}

func (l *testLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *testLog) add(t testing.TB, e []byte) Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs, err := tlog.StoredHashes(l.size, e, l)
	if err != nil {
		t.Fatal(err)
	}
	l.hashes = append(l.hashes, hs...)
	l.entries = append(l.entries, e)
	l.size++
	h, err := tlog.TreeHash(l.size, l)
	if err != nil {
		t.Fatal(err)
	}
	cp := Checkpoint{Origin: l.origin, Size: l.size, Hash: h}
	msg, err := SignCheckpoint(cp, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	l.cps[l.size] = msg
	return cp
}

// fetchAt serves the log as of tree size n.
func (l *testLog) fetchAt(n int64) FetchFunc {
	return func(ctx context.Context, path string) ([]byte, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		data, err := l.serve(n, path)
		if err == nil && l.corrupt != nil {
			data = l.corrupt(path, data)
		}
		return data, err
	}
}

func (l *testLog) serve(n int64, path string) ([]byte, error) {
	if path == "checkpoint" {
		return l.cps[n], nil
	}
	tt, err := ParseTilePath(path)
	if err != nil {
		return nil, err
	}
	if tt.L == EntriesLevel {
		start := tt.N * TileWidth
		if start+int64(tt.W) > n {
			return nil, errors.New("not found")
		}
		return EncodeBundle(l.entries[start : start+int64(tt.W)])
	}
	// The tile must exist in a tree of size n.
	if (tt.N*TileWidth+int64(tt.W))<<(TileHeight*tt.L) > n {
		return nil, errors.New("not found")
	}
	return tlog.ReadTileData(tt, l)
}

func TestClientVerifies(t *testing.T) {
	ctx := context.Background()
	l, v := newTestLog(t)
	var cps []Checkpoint
	const total = 600
	for i := range total {
		cps = append(cps, l.add(t, fmt.Appendf(nil, "entry %d", i)))
	}
	for _, n := range []int64{1, 2, 3, 255, 256, 257, 511, 512, 513, total} {
		c := NewClient(l.origin, v, l.fetchAt(n))
		cp, _, err := c.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if cp.Size != n || cp.Hash != cps[n-1].Hash {
			t.Fatalf("size %d: checkpoint mismatch", n)
		}
		entries, err := c.Entries(ctx, cp, 0, n)
		if err != nil {
			t.Fatalf("size %d: Entries: %v", n, err)
		}
		for i, e := range entries {
			if string(e) != fmt.Sprintf("entry %d", i) {
				t.Fatalf("entry %d = %q", i, e)
			}
		}
		for _, i := range []int64{0, n / 2, n - 1} {
			if err := c.VerifyInclusion(ctx, cp, i, l.entries[i]); err != nil {
				t.Fatalf("inclusion %d in %d: %v", i, n, err)
			}
			if err := c.VerifyInclusion(ctx, cp, i, []byte("forged")); !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("forged inclusion %d in %d: %v", i, n, err)
			}
		}
		for _, m := range []int64{1, 2, 7, 256, 300, n} {
			if m > n {
				continue
			}
			if err := c.VerifyConsistency(ctx, cps[m-1], cp); err != nil {
				t.Fatalf("consistency %d -> %d: %v", m, n, err)
			}
			if m < n {
				if err := c.VerifyConsistency(ctx, cp, cps[m-1]); !errors.Is(err, ErrInvalidProof) {
					t.Fatalf("rollback %d -> %d accepted: %v", n, m, err)
				}
			}
		}
		// A fork: an older checkpoint with a different hash.
		if n > 1 {
			bad := cps[n/2-1+1-1]
			bad.Hash[0] ^= 1
			if err := c.VerifyConsistency(ctx, bad, cp); !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("forked old checkpoint accepted: %v", err)
			}
		}
	}
}

// TestClientBitFlips flips every bit of every tile and entry bundle served
// and expects every verification to fail.
func TestClientBitFlips(t *testing.T) {
	ctx := context.Background()
	l, v := newTestLog(t)
	for i := range 20 {
		l.add(t, fmt.Appendf(nil, "entry %d", i))
	}
	old := Checkpoint{}
	{
		c := NewClient(l.origin, v, l.fetchAt(9))
		var err error
		if old, _, err = c.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"tile/0/000.p/20", "tile/entries/000.p/20"} {
		clean, _ := l.serve(20, path)
		for bit := 0; bit < len(clean)*8; bit++ {
			l.corrupt = func(p string, data []byte) []byte {
				if p != path {
					return data
				}
				d := bytes.Clone(data)
				d[bit/8] ^= 1 << (bit % 8)
				return d
			}
			c := NewClient(l.origin, v, l.fetchAt(20))
			cp, _, err := c.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(path, "entries") {
				if _, err := c.Entries(ctx, cp, 0, 20); err == nil {
					t.Fatalf("%s bit %d flipped: Entries succeeded", path, bit)
				}
				continue
			}
			if err := c.VerifyConsistency(ctx, old, cp); err == nil {
				t.Fatalf("%s bit %d flipped: consistency succeeded", path, bit)
			}
			i := int64(bit / 8 / 32)
			if err := c.VerifyInclusion(ctx, cp, i, l.entries[i]); err == nil {
				t.Fatalf("%s bit %d flipped: inclusion succeeded", path, bit)
			}
		}
	}
	l.corrupt = func(p string, data []byte) []byte {
		if p != "checkpoint" {
			return data
		}
		d := bytes.Clone(data)
		d[3] ^= 1
		return d
	}
	if _, _, err := NewClient(l.origin, v, l.fetchAt(20)).Checkpoint(ctx); err == nil {
		t.Fatal("tampered checkpoint accepted")
	}
	l.corrupt = nil
	if _, _, err := NewClient("other/origin", v, l.fetchAt(20)).Checkpoint(ctx); err == nil {
		t.Fatal("checkpoint with wrong origin accepted")
	}
}

func TestProofBitFlips(t *testing.T) {
	l, _ := newTestLog(t)
	var cps []Checkpoint
	for i := range 40 {
		cps = append(cps, l.add(t, fmt.Appendf(nil, "e%d", i)))
	}
	p, err := tlog.ProveTree(40, 13, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		for bit := range 256 {
			q := append(tlog.TreeProof(nil), p...)
			q[i][bit/8] ^= 1 << (bit % 8)
			if tlog.CheckTree(q, 40, cps[39].Hash, 13, cps[12].Hash) == nil {
				t.Fatalf("flipped tree proof %d bit %d accepted", i, bit)
			}
		}
	}
}

func TestCosignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := NewCosigner("arden.example/desk", priv)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Unix(1679315147, 0) }
	// The key ID per c2sp.org/tlog-cosignature.
	h := sha256.Sum256(append([]byte("arden.example/desk\n\x04"), pub...))
	if s.KeyHash() != binary.BigEndian.Uint32(h[:4]) {
		t.Fatal("wrong key ID")
	}
	vkey, err := CosignatureVerifierKey("arden.example/desk", pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	body := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	msg, err := note.Sign(&note.Note{Text: body}, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := NoteSignatureTime(n.Sigs[0].Base64)
	if !ok || ts.Unix() != 1679315147 {
		t.Fatalf("timestamp %v %v", ts, ok)
	}
	// The signed message is exactly the spec's.
	raw, _ := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	want := "cosignature/v1\ntime 1679315147\n" + body
	if !ed25519.Verify(pub, []byte(want), raw[12:]) {
		t.Fatal("signature is not over the cosignature/v1 message")
	}
	for bit := 0; bit < len(raw)*8; bit++ {
		r := bytes.Clone(raw)
		r[bit/8] ^= 1 << (bit % 8)
		if v.Verify([]byte(body), r[4:]) && bit >= 32 {
			t.Fatalf("flipped bit %d accepted", bit)
		}
	}
	if v.Verify([]byte(body+"x\n"), raw[4:]) {
		t.Fatal("cosignature verified over other text")
	}
	if _, err := NewCosignatureVerifier(strings.Replace(vkey, "+", "+0", 1)); err == nil {
		t.Fatal("malformed vkey accepted")
	}
	bad := vkey[:len(vkey)-50] + strings.Repeat("A", 50)
	if _, err := NewCosignatureVerifier(bad); err == nil {
		t.Fatal("vkey with mismatched key ID accepted")
	}
}

func FuzzNewCosignatureVerifier(f *testing.F) {
	pub := make([]byte, 32)
	k, _ := CosignatureVerifierKey("w.example/w1", pub)
	f.Add(k)
	f.Fuzz(func(t *testing.T, vkey string) {
		v, err := NewCosignatureVerifier(vkey)
		if err != nil {
			return
		}
		again, _ := CosignatureVerifierKey(v.name, v.key)
		if again != vkey {
			t.Fatalf("non-canonical vkey accepted: %q", vkey)
		}
	})
}
