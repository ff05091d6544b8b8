// Package codec implements the TLS presentation language as RFC 9420 uses it
// (RFC 9420 §2.1, which refers to RFC 8446 §3).
//
// # Encoding
//
// Integers (uint8, uint16, uint32, uint64) are big-endian. Variable-length
// vectors (`T field<V>` in the RFC) carry a length prefix encoded as the
// QUIC-style variable-length integer of RFC 9420 §2.1.2 (RFC 9000 §16):
//
//	prefix 00: 1 byte,  6-bit length (0 .. 63)
//	prefix 01: 2 bytes, 14-bit length (64 .. 16383)
//	prefix 10: 4 bytes, 30-bit length (16384 .. 2^30-1)
//	prefix 11: invalid
//
// The length counts bytes, not elements. RFC 9420 §2.1.2 requires the
// minimum-size encoding; a non-minimal header is rejected, as is prefix 11.
// `optional<T>` (§2.1.1) is a presence octet (0 or 1; any other value is
// rejected) followed by the value when present.
//
// # Reader
//
// Reader is strict and bounded: every read is checked against the bytes that
// remain, a vector may never claim more bytes than its container holds, and
// [Unmarshal] rejects trailing bytes. Reader errors are sticky: after the
// first failure every further read is a no-op and [Reader.Err] reports the
// first error, so a decoder can be written as straight-line code and check
// the error once. Nothing in this package panics on malformed input.
//
// # Writer
//
// Writer appends to a byte slice. Nested vectors are written with
// [Writer.Vector], which encodes the body first and then inserts the minimal
// length header in front of it. A vector longer than 2^30-1 bytes cannot be
// encoded; the Writer then records a sticky error.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxVectorLength is the largest length a variable-length vector header can
// express (RFC 9420 §2.1.2): 2^30-1 bytes.
const MaxVectorLength = 1<<30 - 1

// ErrTrailingData is returned by [Unmarshal] and [Reader.Finish] when bytes
// remain after the value was decoded.
var ErrTrailingData = errors.New("codec: trailing data after value")

// ErrTruncated is returned when the input ends before the value does.
var ErrTruncated = errors.New("codec: input truncated")

// Marshaler is implemented by every type that has a TLS encoding.
type Marshaler interface {
	MarshalTLS(w *Writer)
}

// Unmarshaler is implemented by every type that can be decoded from its TLS
// encoding. UnmarshalTLS reads exactly one value from r and reports failures
// through r (see [Reader.Fail]).
type Unmarshaler interface {
	UnmarshalTLS(r *Reader)
}

// Marshal encodes m.
func Marshal(m Marshaler) ([]byte, error) {
	var w Writer
	m.MarshalTLS(&w)
	return w.Bytes()
}

// Unmarshal decodes exactly one value from data into u. Trailing bytes are an
// error.
func Unmarshal(data []byte, u Unmarshaler) error {
	r := NewReader(data)
	u.UnmarshalTLS(r)
	return r.Finish()
}

// VarintLen returns the size of the minimal header for a vector of n bytes,
// or 0 when n cannot be encoded.
func VarintLen(n int) int {
	switch {
	case n < 0:
		return 0
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	case n <= MaxVectorLength:
		return 4
	}
	return 0
}

// AppendVarint appends the minimal variable-length header for a vector of n
// bytes (RFC 9420 §2.1.2).
func AppendVarint(b []byte, n int) ([]byte, error) {
	switch VarintLen(n) {
	case 1:
		return append(b, byte(n)), nil
	case 2:
		return append(b, 0x40|byte(n>>8), byte(n)), nil
	case 4:
		return append(b, 0x80|byte(n>>24), byte(n>>16), byte(n>>8), byte(n)), nil
	}
	return b, fmt.Errorf("codec: vector length %d exceeds %d", n, MaxVectorLength)
}

// ParseVarint decodes a variable-length vector header from the front of b. It
// returns the length and the number of header bytes consumed. It rejects
// prefix 11, truncated headers and non-minimal encodings.
func ParseVarint(b []byte) (length int, size int, err error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("failed to read vector length: %w", ErrTruncated)
	}
	switch b[0] >> 6 {
	case 0:
		return int(b[0] & 0x3f), 1, nil
	case 1:
		if len(b) < 2 {
			return 0, 0, fmt.Errorf("failed to read vector length: %w", ErrTruncated)
		}
		n := int(b[0]&0x3f)<<8 | int(b[1])
		if n < 1<<6 {
			return 0, 0, fmt.Errorf("codec: non-minimal vector length %d in 2-byte header", n)
		}
		return n, 2, nil
	case 2:
		if len(b) < 4 {
			return 0, 0, fmt.Errorf("failed to read vector length: %w", ErrTruncated)
		}
		n := int(b[0]&0x3f)<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n < 1<<14 {
			return 0, 0, fmt.Errorf("codec: non-minimal vector length %d in 4-byte header", n)
		}
		return n, 4, nil
	}
	return 0, 0, errors.New("codec: invalid vector length prefix 0b11")
}

// Writer accumulates a TLS encoding. The zero value is ready to use.
type Writer struct {
	buf []byte
	err error
}

// NewWriter returns a Writer that appends to buf (which may be nil).
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf} }

// Bytes returns the encoding, or the first error met while writing.
func (w *Writer) Bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.buf, nil
}

// Err reports the first error met while writing.
func (w *Writer) Err() error { return w.err }

// Fail records err as the Writer's error unless one is already recorded.
func (w *Writer) Fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Uint8 writes v.
func (w *Writer) Uint8(v uint8) { w.buf = append(w.buf, v) }

// Uint16 writes v big-endian.
func (w *Writer) Uint16(v uint16) { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }

// Uint32 writes v big-endian.
func (w *Writer) Uint32(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }

// Uint64 writes v big-endian.
func (w *Writer) Uint64(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }

// Raw writes b without a length prefix (a fixed-size `opaque x[n]`).
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Opaque writes b as `opaque x<V>`: a varint length and the bytes.
func (w *Writer) Opaque(b []byte) {
	var err error
	w.buf, err = AppendVarint(w.buf, len(b))
	if err != nil {
		w.Fail(err)
		return
	}
	w.buf = append(w.buf, b...)
}

// Vector writes a variable-length vector whose body is produced by body. The
// minimal length header is inserted in front of the body afterwards.
func (w *Writer) Vector(body func(w *Writer)) {
	start := len(w.buf)
	body(w)
	n := len(w.buf) - start
	h := VarintLen(n)
	if h == 0 {
		w.Fail(fmt.Errorf("codec: vector length %d exceeds %d", n, MaxVectorLength))
		w.buf = w.buf[:start]
		return
	}
	w.buf = append(w.buf, make([]byte, h)...)
	copy(w.buf[start+h:], w.buf[start:start+n])
	hdr, _ := AppendVarint(nil, n)
	copy(w.buf[start:], hdr)
}

// Optional writes `optional<T>`: 0 when present is false, else 1 followed by
// the value written by value.
func (w *Writer) Optional(present bool, value func(w *Writer)) {
	if !present {
		w.Uint8(0)
		return
	}
	w.Uint8(1)
	value(w)
}

// Reader decodes a TLS encoding strictly. Errors are sticky; see the package
// documentation.
type Reader struct {
	data []byte
	err  error
}

// NewReader returns a Reader over data.
func NewReader(data []byte) *Reader { return &Reader{data: data} }

// Err returns the first error met while reading.
func (r *Reader) Err() error { return r.err }

// Fail records err as the Reader's error unless one is already recorded, and
// stops further reading.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
		r.data = nil
	}
}

// Failf is Fail with fmt.Errorf.
func (r *Reader) Failf(format string, args ...any) { r.Fail(fmt.Errorf(format, args...)) }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.data) }

// Empty reports whether all bytes were read.
func (r *Reader) Empty() bool { return len(r.data) == 0 }

// Finish returns the first error, or [ErrTrailingData] if bytes remain.
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	if len(r.data) != 0 {
		return fmt.Errorf("%w (%d bytes)", ErrTrailingData, len(r.data))
	}
	return nil
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.data) {
		r.Fail(ErrTruncated)
		return nil
	}
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b
}

// Uint8 reads one byte.
func (r *Reader) Uint8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Uint16 reads a big-endian uint16.
func (r *Reader) Uint16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// Uint64 reads a big-endian uint64.
func (r *Reader) Uint64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Raw reads exactly n bytes (a fixed-size `opaque x[n]`). The result is a
// copy.
func (r *Reader) Raw(n int) []byte {
	b := r.take(n)
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (r *Reader) vectorBody() []byte {
	if r.err != nil {
		return nil
	}
	n, h, err := ParseVarint(r.data)
	if err != nil {
		r.Fail(err)
		return nil
	}
	if n > len(r.data)-h {
		r.Failf("codec: vector length %d exceeds the %d remaining bytes", n, len(r.data)-h)
		return nil
	}
	b := r.data[h : h+n : h+n]
	r.data = r.data[h+n:]
	return b
}

// Opaque reads `opaque x<V>`. The result is a copy and never nil on success
// (an empty vector gives an empty, non-nil slice).
func (r *Reader) Opaque() []byte {
	b := r.vectorBody()
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// Vector reads a variable-length vector and calls elem repeatedly with a
// Reader limited to the vector's body until the body is consumed. An element
// decoder that fails, or that consumes nothing, ends the loop with an error.
func (r *Reader) Vector(elem func(r *Reader)) {
	b := r.vectorBody()
	if r.err != nil {
		return
	}
	sub := NewReader(b)
	for !sub.Empty() {
		before := sub.Len()
		elem(sub)
		if sub.err != nil {
			r.Fail(sub.err)
			return
		}
		if sub.Len() == before {
			r.Failf("codec: vector element decoder made no progress")
			return
		}
	}
}

// Optional reads the presence octet of `optional<T>` and reports whether a
// value follows. Octets other than 0 and 1 are rejected.
func (r *Reader) Optional() bool {
	switch p := r.Uint8(); {
	case r.err != nil:
		return false
	case p == 0:
		return false
	case p == 1:
		return true
	default:
		r.Failf("codec: invalid optional presence octet %d", p)
		return false
	}
}
