package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"golang.org/x/mod/sumdb/tlog"
)

// The tables keep a log's entries in chunks: a row of table chunks holds a
// run of n consecutive entries from index first, with the stored hashes
// their appends completed. A chunk never crosses a multiple of chunkSpan
// entries (the width of a tlog tile and of an entry bundle), so that a
// bundle or a level-0 tile reads the chunks of one span only.
//
//	last   = the stored hashes of entry first+n-1 (32 bytes each) | crc32c('l' | ctx | them) (u32 LE)
//	hashes = the stored hashes of entries first to first+n-2 | crc32c('h' | ctx | them) (u32 LE)
//	data   = (uvarint(length) | entry)... | crc32c('d' | ctx | the entries) (u32 LE)
//	ctx    = uvarint(len(log)) | log | uvarint(first) | uvarint(n)
//
// The columns are apart so that hash reads (tiles, proofs) do not load the
// entries, and the hashes of a chunk's last entry apart from the others
// because the hashes of levels 8 and up all belong to the last entry of a
// span (((k+1)<<L)-1), which is the last of its chunk: an upper-level
// tile reads one small column of 256 chunks, not all their hashes. Each
// checksum covers the chunk's place (log, first, n), so a row moved to
// another place, or one column's bytes in another, fails like a damaged
// one. Decoding is strict: lengths exactly those the indexes imply,
// minimal uvarints, exactly n entries and nothing after them.
const (
	// chunkSpan is the alignment of chunks: a chunk holds entries of one
	// span [k*chunkSpan, (k+1)*chunkSpan) only.
	chunkSpan = 256
	// maxEntry bounds an entry's length in a chunk (the venue's entries
	// are far smaller).
	maxEntry = 1 << 26
)

// errChunk marks a chunk of the tables that fails its checksum or does
// not decode.
var errChunk = errors.New("damaged chunk")

// chunkOK reports whether a chunk of n entries from first is well placed.
func chunkOK(first, n int64) bool {
	return first >= 0 && n >= 1 && n <= chunkSpan && first+n <= maxLogSize &&
		first/chunkSpan == (first+n-1)/chunkSpan
}

// chunkCRC is the checksum of a chunk column: tag, the chunk's place, body.
func chunkCRC(tag byte, log string, first, n int64, body []byte) uint32 {
	var buf [1 + 3*binary.MaxVarintLen64]byte
	b := append(buf[:0], tag)
	b = binary.AppendUvarint(b, uint64(len(log)))
	c := crc32.Update(0, castagnoli, b)
	c = crc32.Update(c, castagnoli, []byte(log))
	b = binary.AppendUvarint(buf[:0], uint64(first))
	b = binary.AppendUvarint(b, uint64(n))
	c = crc32.Update(c, castagnoli, b)
	return crc32.Update(c, castagnoli, body)
}

// appendChunkData encodes entries as the data column of the chunk of log
// from first.
func appendChunkData(b []byte, log string, first int64, entries [][]byte) []byte {
	start := len(b)
	for _, e := range entries {
		b = appendBytes(b, e)
	}
	return binary.LittleEndian.AppendUint32(b, chunkCRC('d', log, first, int64(len(entries)), b[start:]))
}

// appendChunkHashes encodes the stored hashes of a chunk's entries
// (concatenated, in entry order) as its columns last and hashes.
func appendChunkHashes(log string, first, n int64, hashes []byte) (last, rest []byte) {
	split := (tlog.StoredHashCount(first+n-1) - tlog.StoredHashCount(first)) * tlog.HashSize
	last = append(make([]byte, 0, int64(len(hashes))-split+4), hashes[split:]...)
	last = binary.LittleEndian.AppendUint32(last, chunkCRC('l', log, first, n, last))
	rest = append(make([]byte, 0, split+4), hashes[:split]...)
	rest = binary.LittleEndian.AppendUint32(rest, chunkCRC('h', log, first, n, rest))
	return last, rest
}

// colName names the chunk column of tag in errors.
func colName(tag byte) string {
	switch tag {
	case 'd':
		return "entries"
	case 'h':
		return "hashes"
	}
	return "last hashes"
}

// chunkBody checks a chunk column's placement and checksum and returns the
// body before the checksum.
func chunkBody(tag byte, log string, first, n int64, col []byte) ([]byte, error) {
	what := colName(tag)
	if !chunkOK(first, n) {
		return nil, fmt.Errorf("%w: %s of log %s: %d entries from index %d", errChunk, what, log, n, first)
	}
	if len(col) < 4 {
		return nil, fmt.Errorf("%w: %s of log %s at index %d: cut short", errChunk, what, log, first)
	}
	body := col[:len(col)-4]
	if chunkCRC(tag, log, first, n, body) != binary.LittleEndian.Uint32(col[len(col)-4:]) {
		return nil, fmt.Errorf("%w: %s of log %s at index %d: checksum mismatch", errChunk, what, log, first)
	}
	return body, nil
}

// parseChunkData decodes the data column of the chunk of n entries of log
// from first. The entries alias data.
func parseChunkData(log string, first, n int64, data []byte) ([][]byte, error) {
	body, err := chunkBody('d', log, first, n, data)
	if err != nil {
		return nil, err
	}
	r := &reader{b: body}
	out := make([][]byte, 0, n)
	for i := range n {
		e := r.bytes(int(r.uvarint(min(uint64(len(r.b)), maxEntry))))
		if r.err != nil {
			return nil, fmt.Errorf("%w: entries of log %s: entry %d: %v", errChunk, log, first+i, r.err)
		}
		out = append(out, e)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: entries of log %s at index %d: %d bytes after entry %d", errChunk, log, first, len(r.b), first+n-1)
	}
	return out, nil
}

// chunkHashes checks the hashes column of the chunk of n entries of log
// from first (tag 'h'), or its last column (tag 'l'), and returns the
// stored hashes it holds (aliasing col).
func chunkHashes(tag byte, log string, first, n int64, col []byte) ([]byte, error) {
	body, err := chunkBody(tag, log, first, n, col)
	if err != nil {
		return nil, err
	}
	want := hashCount(first, n-1) * tlog.HashSize
	if tag == 'l' {
		want = hashCount(first+n-1, 1) * tlog.HashSize
	}
	if int64(len(body)) != want {
		return nil, fmt.Errorf("%w: %s of log %s at index %d: %d bytes, want %d", errChunk, colName(tag), log, first, len(body), want)
	}
	return body, nil
}

// entryHashes returns the stored hashes of entry e, not the last, of the
// chunk from first whose checked hashes column is rest.
func entryHashes(rest []byte, first, e int64) []byte {
	off := (tlog.StoredHashCount(e) - tlog.StoredHashCount(first)) * tlog.HashSize
	k := hashCount(e, 1) * tlog.HashSize
	return rest[off : off+k : off+k]
}

// A chunkBuilder collects the chunks of one log's new entries, in order.
type chunkBuilder struct {
	log     string
	first   int64    // index of entries[0]
	entries [][]byte // of the open chunk
	hashes  []byte   // of the open chunk
	done    []chunkRow
}

// A chunkRow is a row of table chunks, encoded.
type chunkRow struct {
	log                string
	first, n           int64
	last, hashes, data []byte
}

// add adds entry idx with its stored hashes row. Entries must come in
// order, without gaps.
func (c *chunkBuilder) add(idx int64, entry, row []byte) error {
	if len(c.entries) > 0 && idx != c.first+int64(len(c.entries)) {
		return fmt.Errorf("sqlite: internal error: entry %d of %s after %d", idx, c.log, c.first+int64(len(c.entries))-1)
	}
	if len(c.entries) == 0 {
		c.first = idx
	}
	c.entries = append(c.entries, entry)
	c.hashes = append(c.hashes, row...)
	if (idx+1)%chunkSpan == 0 {
		c.flush()
	}
	return nil
}

// flush closes the open chunk.
func (c *chunkBuilder) flush() {
	if len(c.entries) == 0 {
		return
	}
	n := int64(len(c.entries))
	size := 4
	for _, e := range c.entries {
		size += len(e) + binary.MaxVarintLen32
	}
	last, rest := appendChunkHashes(c.log, c.first, n, c.hashes)
	c.done = append(c.done, chunkRow{
		log: c.log, first: c.first, n: n, last: last, hashes: rest,
		data: appendChunkData(make([]byte, 0, size), c.log, c.first, c.entries),
	})
	c.entries, c.hashes = c.entries[:0], c.hashes[:0]
}

// ParseChunk decodes the entries of a row of table chunks (columns log,
// first, n and data), for tools and tests that read venue.db itself. It
// fails on a row that is damaged or not where it belongs.
func ParseChunk(log string, first, n int64, data []byte) ([][]byte, error) {
	return parseChunkData(log, first, n, data)
}
