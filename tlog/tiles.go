package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of C2SP tlog-tiles tiles: 256 hashes or entries.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile.
const TileWidth = 1 << TileHeight

// MaxEntrySize is the largest entry an entry bundle can hold.
const MaxEntrySize = 1<<16 - 1

// EntriesLevel is the tlog.Tile level that designates an entry bundle.
const EntriesLevel = -1

// maxTileIndex bounds tile indexes so that N*256^(L+1) stays far inside int64.
const maxTileIndex = 1 << 48

var errBadTilePath = errors.New("malformed tile path")

// TilePath returns the C2SP tlog-tiles path of t, which must have
// H = TileHeight: "tile/<L>/<N>[.p/<W>]", or "tile/entries/<N>[.p/<W>]" for
// L = EntriesLevel.
func TilePath(t tlog.Tile) string {
	if t.H != TileHeight || t.L < EntriesLevel || t.L > 63 || t.N < 0 || t.W < 1 || t.W > TileWidth {
		panic(fmt.Sprintf("tlog: internal error: invalid tile %+v", t))
	}
	var b strings.Builder
	b.WriteString("tile/")
	if t.L == EntriesLevel {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(t.L))
	}
	b.WriteByte('/')
	b.WriteString(encodeIndex(t.N))
	if t.W != TileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.W))
	}
	return b.String()
}

// encodeIndex writes n in zero-padded three-digit groups, all but the last
// prefixed with "x".
func encodeIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// ParseTilePath parses a C2SP tile or entry-bundle path (without the log's
// prefix) into a tile of height TileHeight. It accepts only the canonical
// form TilePath produces.
func ParseTilePath(path string) (tlog.Tile, error) {
	if len(path) > 128 {
		return tlog.Tile{}, errBadTilePath
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return tlog.Tile{}, errBadTilePath
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		return tlog.Tile{}, errBadTilePath
	}
	t := tlog.Tile{H: TileHeight, W: TileWidth}
	if parts[0] == "entries" {
		t.L = EntriesLevel
	} else {
		l, err := parseDecimal(parts[0])
		if err != nil || l > 63 {
			return tlog.Tile{}, errBadTilePath
		}
		t.L = int(l)
	}
	parts = parts[1:]
	// A partial tile ends in "<last group>.p/<W>".
	if n := len(parts); n >= 2 && strings.HasSuffix(parts[n-2], ".p") {
		w, err := parseDecimal(parts[n-1])
		if err != nil || w < 1 || w >= TileWidth {
			return tlog.Tile{}, errBadTilePath
		}
		t.W = int(w)
		parts[n-2] = strings.TrimSuffix(parts[n-2], ".p")
		parts = parts[:n-1]
	}
	var idx int64
	for i, p := range parts {
		if i < len(parts)-1 {
			var ok bool
			if p, ok = strings.CutPrefix(p, "x"); !ok {
				return tlog.Tile{}, errBadTilePath
			}
		}
		if len(p) != 3 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' {
			return tlog.Tile{}, errBadTilePath
		}
		d, _ := strconv.Atoi(p)
		idx = idx*1000 + int64(d)
		if idx > maxTileIndex {
			return tlog.Tile{}, errBadTilePath
		}
	}
	t.N = idx
	if TilePath(t) != path { // leading zero groups such as x000/001
		return tlog.Tile{}, errBadTilePath
	}
	return t, nil
}

// EncodeBundle returns the entry bundle of entries: each entry prefixed with
// its length as a big-endian uint16.
func EncodeBundle(entries [][]byte) ([]byte, error) {
	n := 0
	for _, e := range entries {
		if len(e) > MaxEntrySize {
			return nil, fmt.Errorf("entry of %d bytes exceeds %d", len(e), MaxEntrySize)
		}
		n += 2 + len(e)
	}
	out := make([]byte, 0, n)
	for _, e := range entries {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}

var errBadBundle = errors.New("malformed entry bundle")

// ParseBundle splits an entry bundle into exactly want entries (1..256). The
// returned slices alias data.
func ParseBundle(data []byte, want int) ([][]byte, error) {
	if want < 1 || want > TileWidth {
		return nil, errBadBundle
	}
	entries := make([][]byte, 0, want)
	for len(data) > 0 {
		if len(data) < 2 || len(entries) == want {
			return nil, errBadBundle
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if len(data) < n {
			return nil, errBadBundle
		}
		entries = append(entries, data[:n:n])
		data = data[n:]
	}
	if len(entries) != want {
		return nil, errBadBundle
	}
	return entries, nil
}
