package sqlite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// tableChunks returns the chunks of log in the tables, as (first, n), in
// order.
func tableChunks(t *testing.T, s *Store, log string) [][2]int64 {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT first, n FROM chunks WHERE log = ? ORDER BY first`, log)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]int64
	for rows.Next() {
		var c [2]int64
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRanges reads [start, end) for every start and end among points, and
// the stored hashes of every entry, sparse and dense, against l.
func (l *testLog) checkRanges(t *testing.T, s *Store, points []int64, rng *rand.Rand) {
	t.Helper()
	ctx := t.Context()
	size := int64(len(l.entries))
	for _, start := range points {
		for _, end := range points {
			if end < start {
				continue
			}
			got, err := s.ReadEntries(ctx, l.name, start, end)
			if err != nil {
				t.Fatalf("ReadEntries(%d, %d): %v", start, end, err)
			}
			if len(got) != int(end-start) {
				t.Fatalf("ReadEntries(%d, %d): %d entries", start, end, len(got))
			}
			for i, e := range got {
				if !bytes.Equal(e, l.entries[start+int64(i)]) {
					t.Fatalf("ReadEntries(%d, %d): entry %d = %q, want %q", start, end, start+int64(i), e, l.entries[start+int64(i)])
				}
			}
		}
		if _, err := s.ReadEntries(ctx, l.name, start, size+1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ReadEntries(%d, %d) past the end: %v", start, size+1, err)
		}
	}
	// Each tile of hashes, as the venue serves them (dense, and sparse for
	// the upper levels), then random sets.
	for level := 0; int64(1)<<(8*level) <= size; level++ {
		n := size >> (8 * level)
		for k := int64(0); k*chunkSpan < n; k++ {
			w := min(chunkSpan, n-k*chunkSpan)
			tile := tlog.Tile{H: 8, L: level, N: k, W: int(w)}
			got, err := tlog.ReadTileData(tile, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				return s.ReadHashes(ctx, l.name, idx)
			}))
			if err != nil {
				t.Fatalf("tile %v: %v", tile.Path(), err)
			}
			want, err := tlog.ReadTileData(tile, l)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("tile %v differs", tile.Path())
			}
		}
	}
	for range 50 {
		idx := make([]int64, 1+rng.IntN(5))
		for i := range idx {
			idx[i] = rng.Int64N(int64(len(l.hashes)))
		}
		got, err := s.ReadHashes(ctx, l.name, idx)
		if err != nil {
			t.Fatalf("ReadHashes(%v): %v", idx, err)
		}
		for i, x := range idx {
			if got[i] != l.hashes[x] {
				t.Fatalf("ReadHashes(%v): hash %d differs", idx, x)
			}
		}
	}
	if _, err := s.ReadHashes(ctx, l.name, []int64{0, int64(len(l.hashes))}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadHashes past the end: %v", err)
	}
}

// TestChunkBoundaries grows logs across 256, 512 and 768 in applier rounds
// of many sizes, one log alone and many logs together, and checks after
// each round that chunks stay within their span and cover the log without
// a gap, and that every range reads back as written, from the tables
// alone and with an unapplied tail.
func TestChunkBoundaries(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	s, err := open(ctx, path, options{noApply: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(16, 256))
	busy := &testLog{name: "busy"}
	others := make([]*testLog, 5)
	for i := range others {
		others[i] = &testLog{name: fmt.Sprintf("ch-%d", i)}
	}
	// Round sizes of the busy log: ending just before, at and after a
	// span's end, one entry, several spans in one round.
	rounds := []int{1, 2, 252, 1, 1, 3, 255, 256, 1, 20, 600, 7}
	for r, n := range rounds {
		var batch []store.LogAppend
		for k := n; k > 0; {
			m := min(k, 1+rng.IntN(40))
			a := busy.next(t, m, r%3 == 0, -1)
			if err := s.Append(ctx, []store.LogAppend{a}); err != nil {
				t.Fatal(err)
			}
			k -= m
		}
		for _, o := range others {
			if rng.IntN(3) > 0 {
				batch = append(batch, o.next(t, 1+rng.IntN(90), false, -1))
			}
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// The tail first, the tables after the round.
		for applied := range 2 {
			if applied == 1 {
				if err := s.applyRound(false); err != nil {
					t.Fatal(err)
				}
				if got, want := tableEntries(t, s), len(busy.entries); got < want {
					t.Fatalf("round %d: the tables hold %d entries, want at least %d", r, got, want)
				}
			}
			for _, l := range append([]*testLog{busy}, others...) {
				next := int64(0)
				for _, c := range tableChunks(t, s, l.name) {
					if c[0] != next || !chunkOK(c[0], c[1]) {
						t.Fatalf("round %d: %s: chunk (%d, %d) after %d entries: a gap or across a span", r, l.name, c[0], c[1], next)
					}
					next = c[0] + c[1]
				}
				if applied == 1 && next != int64(len(l.entries)) {
					t.Fatalf("round %d: %s: chunks end at %d, log has %d entries", r, l.name, next, len(l.entries))
				}
				if len(l.entries) == 0 {
					continue
				}
				points := []int64{0, int64(len(l.entries))}
				for _, c := range tableChunks(t, s, l.name) {
					points = append(points, c[0]-1, c[0], c[0]+1, c[0]+c[1]-1)
				}
				for b := int64(chunkSpan); b <= int64(len(l.entries)); b += chunkSpan {
					points = append(points, b-1, b, b+1)
				}
				points = slices.DeleteFunc(points, func(p int64) bool { return p < 0 || p > int64(len(l.entries)) })
				slices.Sort(points)
				l.checkRanges(t, s, slices.Compact(points), rng)
			}
		}
	}
	// Reopened: the tables alone.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, l := range append([]*testLog{busy}, others...) {
		l.check(t, s2)
	}
}

// sampleChunk encodes a chunk of n entries of log from first, with made-up
// hashes.
func sampleChunk(log string, first int64, n int) (last, rest, data []byte, entries [][]byte, hs []byte) {
	for i := range n {
		entries = append(entries, bytes.Repeat([]byte{byte(i)}, i*7%40))
	}
	hs = make([]byte, hashCount(first, int64(n))*tlog.HashSize)
	for i := range hs {
		hs[i] = byte(i * 31)
	}
	last, rest = appendChunkHashes(log, first, int64(n), hs)
	return last, rest, appendChunkData(nil, log, first, entries), entries, hs
}

func TestChunkRoundTrip(t *testing.T) {
	for _, c := range []struct {
		first int64
		n     int
	}{{0, 1}, {0, 256}, {255, 1}, {256, 10}, {1000, 24}, {maxLogSize - 256, 256}} {
		l, h, d, entries, hs := sampleChunk("ch", c.first, c.n)
		got, err := parseChunkData("ch", c.first, int64(c.n), d)
		if err != nil || !slices.EqualFunc(got, entries, bytes.Equal) {
			t.Fatalf("chunk (%d, %d): entries %q, %v", c.first, c.n, got, err)
		}
		rows, err := parseChunkHashes("ch", c.first, int64(c.n), l, h)
		if err != nil || !bytes.Equal(bytes.Join(rows, nil), hs) {
			t.Fatalf("chunk (%d, %d): hashes %v", c.first, c.n, err)
		}
		for i, r := range rows {
			if len(r) != int(hashCount(c.first+int64(i), 1))*tlog.HashSize {
				t.Fatalf("chunk (%d, %d): entry %d has %d bytes of hashes", c.first, c.n, i, len(r))
			}
		}
	}
	// Misplaced chunks are refused before anything is read.
	for _, c := range [][2]int64{{-1, 1}, {0, 0}, {0, 257}, {255, 2}, {maxLogSize, 1}} {
		if _, err := parseChunkData("ch", c[0], c[1], nil); !errors.Is(err, errChunk) {
			t.Errorf("chunk (%d, %d): %v, want errChunk", c[0], c[1], err)
		}
		if _, err := parseChunkHashes("ch", c[0], c[1], nil, nil); !errors.Is(err, errChunk) {
			t.Errorf("chunk (%d, %d): %v, want errChunk", c[0], c[1], err)
		}
	}
}

// TestChunkFlipEveryBit: whatever bit of a chunk's columns is flipped,
// whatever length it is cut to, whatever place it is read at, decoding
// fails with an error that names the log and the index, never yields
// other entries or hashes.
func TestChunkFlipEveryBit(t *testing.T) {
	const log, first, n = "ch-7", 512, 9
	l, h, d, _, _ := sampleChunk(log, first, n)
	bad := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errChunk) || !strings.Contains(err.Error(), log) || !strings.Contains(err.Error(), "512") {
			t.Fatalf("%s: %v, want errChunk naming %s and 512", what, err, log)
		}
	}
	for i := range len(d) * 8 {
		b := slices.Clone(d)
		b[i/8] ^= 1 << (i % 8)
		_, err := parseChunkData(log, first, n, b)
		bad(fmt.Sprintf("data bit %d", i), err)
	}
	for i := range len(h) * 8 {
		b := slices.Clone(h)
		b[i/8] ^= 1 << (i % 8)
		_, err := parseChunkHashes(log, first, n, l, b)
		bad(fmt.Sprintf("hashes bit %d", i), err)
	}
	for i := range len(l) * 8 {
		b := slices.Clone(l)
		b[i/8] ^= 1 << (i % 8)
		_, err := parseChunkHashes(log, first, n, b, h)
		bad(fmt.Sprintf("last bit %d", i), err)
	}
	for l := range len(d) {
		_, err := parseChunkData(log, first, n, d[:l])
		bad(fmt.Sprintf("data cut to %d", l), err)
	}
	for k := range len(h) {
		_, err := parseChunkHashes(log, first, n, l, h[:k])
		bad(fmt.Sprintf("hashes cut to %d", k), err)
	}
	for k := range len(l) {
		_, err := parseChunkHashes(log, first, n, l[:k], h)
		bad(fmt.Sprintf("last cut to %d", k), err)
	}
	_, err := parseChunkData(log, first, n, append(slices.Clone(d), 0))
	bad("data with a byte more", err)
	// Elsewhere: another log, index or count, or the other column.
	_, err = parseChunkData("ch-8", first, n, d)
	if !errors.Is(err, errChunk) {
		t.Fatalf("chunk of ch-7 read as ch-8: %v", err)
	}
	for _, at := range [][2]int64{{first + 1, n}, {first, n - 1}, {first - 256, n}} {
		_, err := parseChunkData(log, at[0], at[1], d)
		if !errors.Is(err, errChunk) {
			t.Fatalf("chunk (512, 9) read as (%d, %d): %v", at[0], at[1], err)
		}
	}
	_, err = parseChunkData(log, first, n, h)
	bad("hashes as data", err)
	_, err = parseChunkHashes(log, first, n, h, l)
	bad("hashes and last swapped", err)
}

// TestDamagedChunkInTables: a damaged row is an error on read, naming the
// log and index, not a wrong entry.
func TestDamagedChunkInTables(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{name: "ch"}
	if err := s.Append(ctx, []store.LogAppend{l.next(t, 300, true, -1)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := openTablesOnly(t, path)
	if _, err := db.Exec(`UPDATE chunks SET data = substr(data, 1, 100) || x'ff' || substr(data, 102) WHERE first = 256`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE chunks SET hashes = substr(hashes, 1, length(hashes) - 1) WHERE first = 256`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE chunks SET last = zeroblob(length(last)) WHERE first = 0`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ReadEntries(ctx, "ch", 0, 256); err != nil {
		t.Fatalf("the intact chunk: %v", err)
	}
	if _, err := s.ReadEntries(ctx, "ch", 250, 260); !errors.Is(err, errChunk) || !strings.Contains(err.Error(), "ch at index 256") {
		t.Fatalf("the damaged chunk: %v", err)
	}
	if _, err := s.ReadHashes(ctx, "ch", []int64{tlog.StoredHashIndex(0, 257)}); !errors.Is(err, errChunk) {
		t.Fatalf("the damaged hashes: %v", err)
	}
	for _, idx := range [][]int64{{tlog.StoredHashIndex(8, 0)}, {tlog.StoredHashIndex(0, 299), tlog.StoredHashIndex(0, 255)}} {
		if _, err := s.ReadHashes(ctx, "ch", idx); !errors.Is(err, errChunk) || !strings.Contains(err.Error(), "last hashes of log ch at index 0") {
			t.Fatalf("the damaged last hashes (%v): %v", idx, err)
		}
	}
}

// FuzzChunk: decoding never panics, and what decodes re-encodes to the
// same bytes (the encoding is canonical: one chunk, one encoding).
func FuzzChunk(f *testing.F) {
	for _, c := range []struct {
		log   string
		first int64
		n     int
	}{{"ch", 0, 1}, {"ch", 0, 3}, {"", 255, 1}, {"register", 256, 40}, {"x", 1 << 40, 2}} {
		l, h, d, _, _ := sampleChunk(c.log, c.first, c.n)
		f.Add(c.log, c.first, int64(c.n), l, h, d)
	}
	f.Add("ch", int64(0), int64(1), []byte{}, []byte{}, []byte{0x80, 0x00, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, log string, first, n int64, last, hashes, data []byte) {
		checkChunkCodec(t, log, first, n, last, hashes, data)
		// With valid checksums, so that the fuzzer explores the bodies.
		fix := func(tag byte, col []byte) []byte {
			if len(col) < 4 {
				return col
			}
			body := col[: len(col)-4 : len(col)-4]
			return binary.LittleEndian.AppendUint32(body, chunkCRC(tag, log, first, n, body))
		}
		checkChunkCodec(t, log, first, n, fix('l', last), fix('h', hashes), fix('d', data))
	})
}

func checkChunkCodec(t *testing.T, log string, first, n int64, last, hashes, data []byte) {
	if entries, err := parseChunkData(log, first, n, data); err == nil {
		if int64(len(entries)) != n {
			t.Fatalf("%d entries, want %d", len(entries), n)
		}
		if again := appendChunkData(nil, log, first, entries); !bytes.Equal(again, data) {
			t.Fatalf("data re-encodes to %x, was %x", again, data)
		}
	} else if !errors.Is(err, errChunk) {
		t.Fatalf("error not errChunk: %v", err)
	}
	if rows, err := parseChunkHashes(log, first, n, last, hashes); err == nil {
		if l, h := appendChunkHashes(log, first, n, bytes.Join(rows, nil)); !bytes.Equal(l, last) || !bytes.Equal(h, hashes) {
			t.Fatalf("hashes re-encode to %x %x, were %x %x", l, h, last, hashes)
		}
	} else if !errors.Is(err, errChunk) {
		t.Fatalf("error not errChunk: %v", err)
	}
}

// parseChunkHashes decodes the columns last and hashes of the chunk of n
// entries of log from first into each entry's stored hashes.
func parseChunkHashes(log string, first, n int64, last, hashes []byte) ([][]byte, error) {
	l, err := chunkHashes('l', log, first, n, last)
	if err != nil {
		return nil, err
	}
	rest, err := chunkHashes('h', log, first, n, hashes)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range n - 1 {
		out[i] = entryHashes(rest, first, first+i)
	}
	out[n-1] = l
	return out, nil
}
