package codec

import (
	"bytes"
	"errors"
	"testing"
)

func TestVarintBoundaries(t *testing.T) {
	cases := []struct {
		n   int
		hdr []byte
	}{
		{0, []byte{0x00}},
		{63, []byte{0x3f}},
		{64, []byte{0x40, 0x40}},
		{16383, []byte{0x7f, 0xff}},
		{16384, []byte{0x80, 0x00, 0x40, 0x00}},
		{MaxVectorLength, []byte{0xbf, 0xff, 0xff, 0xff}},
	}
	for _, c := range cases {
		got, err := AppendVarint(nil, c.n)
		if err != nil || !bytes.Equal(got, c.hdr) {
			t.Errorf("AppendVarint(%d) = %x, %v; want %x", c.n, got, err, c.hdr)
		}
		n, size, err := ParseVarint(c.hdr)
		if err != nil || n != c.n || size != len(c.hdr) {
			t.Errorf("ParseVarint(%x) = %d, %d, %v; want %d", c.hdr, n, size, err, c.n)
		}
	}
	if _, err := AppendVarint(nil, MaxVectorLength+1); err == nil {
		t.Error("AppendVarint accepted 2^30")
	}
}

func TestVarintRejects(t *testing.T) {
	bad := [][]byte{
		{},                       // empty
		{0xc0},                   // prefix 11
		{0xff, 0xff, 0xff, 0xff}, // prefix 11
		{0x40},                   // truncated 2-byte
		{0x80, 0x00, 0x01},       // truncated 4-byte
		{0x40, 0x3f},             // 63 in 2 bytes: non-minimal
		{0x40, 0x00},             // 0 in 2 bytes
		{0x80, 0x00, 0x3f, 0xff}, // 16383 in 4 bytes
	}
	for _, b := range bad {
		if _, _, err := ParseVarint(b); err == nil {
			t.Errorf("ParseVarint(%x) accepted", b)
		}
	}
}

type pair struct {
	A uint16
	B []byte
	C *uint32
	D [][]byte
}

func (p *pair) MarshalTLS(w *Writer) {
	w.Uint16(p.A)
	w.Opaque(p.B)
	w.Optional(p.C != nil, func(w *Writer) { w.Uint32(*p.C) })
	w.Vector(func(w *Writer) {
		for _, d := range p.D {
			w.Opaque(d)
		}
	})
}

func (p *pair) UnmarshalTLS(r *Reader) {
	p.A = r.Uint16()
	p.B = r.Opaque()
	if r.Optional() {
		v := r.Uint32()
		p.C = &v
	}
	r.Vector(func(r *Reader) { p.D = append(p.D, r.Opaque()) })
}

func TestRoundTripAndStrictness(t *testing.T) {
	c := uint32(7)
	in := &pair{A: 0x0102, B: bytes.Repeat([]byte{9}, 70), C: &c, D: [][]byte{{1}, {}, {2, 3}}}
	enc, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out pair
	if err := Unmarshal(enc, &out); err != nil {
		t.Fatal(err)
	}
	enc2, _ := Marshal(&out)
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("re-encoding differs: %x vs %x", enc, enc2)
	}
	if err := Unmarshal(append(enc, 0), &pair{}); !errors.Is(err, ErrTrailingData) {
		t.Errorf("trailing byte: got %v", err)
	}
	for i := 0; i < len(enc); i++ {
		if err := Unmarshal(enc[:i], &pair{}); err == nil {
			t.Errorf("truncated to %d bytes: accepted", i)
		}
	}
	// Optional presence octet 2 is rejected.
	bad := append([]byte{}, enc...)
	optAt := 2 + 2 + 70
	if bad[optAt] != 1 {
		t.Fatalf("test layout: byte %d is %d", optAt, bad[optAt])
	}
	bad[optAt] = 2
	if err := Unmarshal(bad, &pair{}); err == nil {
		t.Error("optional octet 2 accepted")
	}
	// A vector claiming more than the input holds is rejected.
	if err := Unmarshal([]byte{0, 1, 0x3f}, &pair{}); err == nil {
		t.Error("over-long vector accepted")
	}
}

func FuzzReader(f *testing.F) {
	c := uint32(1)
	seed, _ := Marshal(&pair{A: 1, B: []byte("x"), C: &c, D: [][]byte{{1, 2}}})
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p pair
		if err := Unmarshal(data, &p); err != nil {
			return
		}
		enc, err := Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decode/encode not canonical: %x -> %x", data, enc)
		}
	})
}
