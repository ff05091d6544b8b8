package desk

import (
	"encoding/binary"
	"testing"
)

// FuzzPeekEpoch: the clear header of an MLS message from the venue is read
// strictly and without panics; what it returns is consistent with its input.
func FuzzPeekEpoch(f *testing.F) {
	gid := groupID("venue.test", "plenary")
	for _, wf := range []uint16{1, 2, 3, 5} {
		b := binary.BigEndian.AppendUint16(nil, 1)
		b = binary.BigEndian.AppendUint16(b, wf)
		b = append(b, byte(len(gid)))
		b = append(b, gid...)
		b = binary.BigEndian.AppendUint64(b, 7)
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 1, 0x40, 0x05, 'a', 'b', 'c', 'd', 'e', 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0, 1, 0, 2, 0x40, 0x01, 'a', 0, 0, 0, 0, 0, 0, 0, 1}) // non-minimal length
	f.Fuzz(func(t *testing.T, msg []byte) {
		g, _, ok := peekEpoch(msg)
		if !ok {
			return
		}
		if len(g) > 255 || len(msg) < 4+1+len(g)+8 {
			t.Fatalf("accepted an inconsistent header: gid %d bytes of a %d-byte message", len(g), len(msg))
		}
	})
}

// FuzzReadVarint: only minimal RFC 9420 §2.1.2 encodings are accepted.
func FuzzReadVarint(f *testing.F) {
	f.Add([]byte{0x25})
	f.Add([]byte{0x7b, 0xbd})
	f.Add([]byte{0x9d, 0x7f, 0x3e, 0x7d})
	f.Add([]byte{0x40, 0x25})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, ok := readVarint(b)
		if !ok {
			return
		}
		if n != 1 && n != 2 && n != 4 || n > len(b) {
			t.Fatalf("length %d", n)
		}
		want := 1
		switch {
		case v >= 1<<14:
			want = 4
		case v >= 1<<6:
			want = 2
		}
		if n != want {
			t.Fatalf("value %d accepted in %d bytes", v, n)
		}
	})
}
