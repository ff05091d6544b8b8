package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// The journal's format. A journal file is the magic followed by frames,
// then zeros (the space reserved when the file was created, not written
// yet; a zero header is not a valid frame header, whose crc32c of a zero
// length is not zero); a frame is what one write call and one fdatasync
// make durable:
//
//	frame   = length (u32 LE) | crc32c(length) (u32 LE) | payload | crc32c(payload) (u32 LE)
//	payload = record...
//	record  = 0x01 count appends | 0x02 count checkpoints
//	append  = string(log) | uvarint(old size) | count bytes(entry)... |
//	          stored hashes (32 bytes each, as many as the entries complete) |
//	          uvarint(note length + 1, 0 for none) note | count (uvarint(epoch) uvarint(index))...
//	checkpoint = string(log) | uvarint(size) | bytes(note)
//
// with count = uvarint(n), bytes = uvarint(length) | the bytes and string
// likewise. Uvarints are minimal; counts and lengths are checked against
// what is left before anything is allocated.
const journalMagic = "GOJRNL1\n"

const (
	recAppend      = 1
	recCheckpoints = 2

	// maxFrame bounds a frame's payload (one group of records).
	maxFrame = 1 << 28
	// maxLogSize bounds the sizes a record may name.
	maxLogSize = 1 << 56
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a journal that is damaged where no crash can damage it:
// a frame that fails its checksum although a valid frame follows it, or a
// frame whose checksum holds but whose records do not parse.
var errCorrupt = errors.New("journal corrupt")

// A logRec is one log's part of an append record.
type logRec struct {
	Log     string
	OldSize int64
	Entries [][]byte
	Hashes  []byte // the stored hashes the entries complete, 32 bytes each
	Note    []byte // the checkpoint at OldSize+len(Entries), or nil
	Commits []store.EpochCommit
}

// A record is what one Append or AddCheckpoints call writes.
type record struct {
	Kind byte
	Apps []logRec                 // recAppend
	Cps  []store.SignedCheckpoint // recCheckpoints
}

// hashCount is the number of stored hashes that entries [old, old+n) complete.
func hashCount(old, n int64) int64 {
	return tlog.StoredHashCount(old+n) - tlog.StoredHashCount(old)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBytes(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendRecord encodes r.
func appendRecord(b []byte, r *record) []byte {
	b = append(b, r.Kind)
	switch r.Kind {
	case recAppend:
		b = binary.AppendUvarint(b, uint64(len(r.Apps)))
		for _, a := range r.Apps {
			b = appendString(b, a.Log)
			b = binary.AppendUvarint(b, uint64(a.OldSize))
			b = binary.AppendUvarint(b, uint64(len(a.Entries)))
			for _, e := range a.Entries {
				b = appendBytes(b, e)
			}
			b = append(b, a.Hashes...)
			if a.Note == nil {
				b = append(b, 0)
			} else {
				b = binary.AppendUvarint(b, uint64(len(a.Note))+1)
				b = append(b, a.Note...)
			}
			b = binary.AppendUvarint(b, uint64(len(a.Commits)))
			for _, c := range a.Commits {
				b = binary.AppendUvarint(b, uint64(c.Epoch))
				b = binary.AppendUvarint(b, uint64(c.Index))
			}
		}
	case recCheckpoints:
		b = binary.AppendUvarint(b, uint64(len(r.Cps)))
		for _, c := range r.Cps {
			b = appendString(b, c.Log)
			b = binary.AppendUvarint(b, uint64(c.Size))
			b = appendBytes(b, c.Note)
		}
	default:
		panic("sqlite: internal error: unknown journal record kind")
	}
	return b
}

// appendFrame encodes a frame holding payload (encoded records).
func appendFrame(b []byte, payload ...[]byte) []byte {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(n))
	b = append(b, l[:]...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(l[:], castagnoli))
	start := len(b)
	for _, p := range payload {
		b = append(b, p...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// frameAt checks the frame at the start of data: it returns its payload
// and length, or ok false if data does not start with a whole, valid frame.
// badPayload says that the header is valid and the payload is all there
// but fails its checksum.
func frameAt(data []byte) (payload []byte, n int, ok, badPayload bool) {
	if len(data) < 8 {
		return nil, 0, false, false
	}
	l := binary.LittleEndian.Uint32(data)
	if crc32.Checksum(data[:4], castagnoli) != binary.LittleEndian.Uint32(data[4:]) || l > maxFrame {
		return nil, 0, false, false
	}
	if uint64(len(data)) < 8+uint64(l)+4 {
		return nil, 0, false, false // cut short
	}
	payload = data[8 : 8+l]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(data[8+l:]) {
		return nil, 0, false, true
	}
	return payload, int(8 + l + 4), true, false
}

// zeros reports whether b holds only zero bytes: the reserved, unwritten
// end of a journal file.
func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unused reports whether a journal file's bytes are those of a file created
// and never written to: at most the magic, then zeros (or nothing at all,
// when a crash came before the magic was durable).
func unused(data []byte) bool {
	if len(data) >= len(journalMagic) && string(data[:len(journalMagic)]) == journalMagic {
		data = data[len(journalMagic):]
	} else if len(data) < len(journalMagic) && journalMagic[:len(data)] == string(data) {
		return true
	}
	return zeros(data)
}

// parseJournal parses the frames of a journal file (after the magic). It
// returns their records and the length of the valid prefix of data: a
// torn last frame (cut short, or failing its checksum with nothing valid
// after it: a write a crash interrupted, whose records were never
// acknowledged) ends the valid prefix and is dropped. Damage a crash cannot
// explain is errCorrupt. The records' byte slices alias data.
func parseJournal(data []byte) (recs []record, valid int, err error) {
	for valid < len(data) {
		payload, n, ok, bad := frameAt(data[valid:])
		if !ok {
			if bad {
				// A frame is written only once the frame before it is
				// durable: a valid frame after a bad one means the bad
				// one was acknowledged and damaged since.
				skip := valid + 8 + int(binary.LittleEndian.Uint32(data[valid:])) + 4
				if _, _, next, _ := frameAt(data[skip:]); next {
					return nil, valid, fmt.Errorf("%w: frame at offset %d fails its checksum", errCorrupt, valid)
				}
			}
			return recs, valid, nil
		}
		for len(payload) > 0 {
			var r record
			r, payload, err = parseRecord(payload)
			if err != nil {
				return nil, valid, fmt.Errorf("%w: frame at offset %d: %v", errCorrupt, valid, err)
			}
			recs = append(recs, r)
		}
		valid += n
	}
	return recs, valid, nil
}

// A reader reads the fields of a record, strictly.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

// uvarint reads a minimal uvarint no larger than max.
func (r *reader) uvarint(max uint64) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || (n > 1 && r.b[n-1] == 0) {
		r.fail("bad uvarint")
		return 0
	}
	if v > max {
		r.fail("value %d exceeds %d", v, max)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items of at least minSize bytes each.
func (r *reader) count(minSize int) int {
	return int(r.uvarint(uint64(len(r.b) / minSize)))
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.fail("cut short")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) lenBytes() []byte {
	return r.bytes(int(r.uvarint(uint64(len(r.b)))))
}

// parseRecord parses one record at the start of b and returns the rest.
func parseRecord(b []byte) (record, []byte, error) {
	if len(b) == 0 {
		return record{}, nil, errors.New("empty record")
	}
	r := &reader{b: b[1:]}
	rec := record{Kind: b[0]}
	switch rec.Kind {
	case recAppend:
		// A log's part is at least 5 bytes: its name, size, count,
		// note and commit count.
		n := r.count(5)
		rec.Apps = make([]logRec, 0, n)
		for range n {
			var a logRec
			a.Log = string(r.lenBytes())
			a.OldSize = int64(r.uvarint(maxLogSize))
			ne := r.count(1)
			if r.err == nil && a.OldSize+int64(ne) > maxLogSize {
				r.fail("log size exceeds %d", int64(maxLogSize))
			}
			a.Entries = make([][]byte, 0, ne)
			for range ne {
				a.Entries = append(a.Entries, r.lenBytes())
			}
			if r.err == nil {
				hc := hashCount(a.OldSize, int64(len(a.Entries)))
				if hc > int64(len(r.b))/tlog.HashSize {
					r.fail("cut short")
				} else {
					a.Hashes = r.bytes(int(hc) * tlog.HashSize)
				}
			}
			if nl := r.uvarint(uint64(len(r.b)) + 1); nl > 0 {
				a.Note = r.bytes(int(nl - 1))
			}
			nc := r.count(2)
			for range nc {
				c := store.EpochCommit{Epoch: int64(r.uvarint(1<<62 - 1)), Index: int64(r.uvarint(maxLogSize))}
				if r.err == nil && (c.Index < a.OldSize || c.Index >= a.OldSize+int64(len(a.Entries))) {
					r.fail("commit index %d out of its append", c.Index)
				}
				a.Commits = append(a.Commits, c)
			}
			if r.err != nil {
				break
			}
			rec.Apps = append(rec.Apps, a)
		}
	case recCheckpoints:
		n := r.count(3)
		rec.Cps = make([]store.SignedCheckpoint, 0, n)
		for range n {
			var c store.SignedCheckpoint
			c.Log = string(r.lenBytes())
			c.Size = int64(r.uvarint(maxLogSize))
			c.Note = r.lenBytes()
			if r.err != nil {
				break
			}
			rec.Cps = append(rec.Cps, c)
		}
	default:
		return record{}, nil, fmt.Errorf("unknown record kind %d", rec.Kind)
	}
	if r.err != nil {
		return record{}, nil, r.err
	}
	return rec, r.b, nil
}
