package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// EmptyHash is the Merkle tree hash of the empty tree, SHA-256 of the empty
// string (RFC 6962 §2.1).
var EmptyHash = tlog.Hash(sha256.Sum256(nil))

// ErrInvalidProof reports that what a log served does not prove what it
// should: a tile, an entry or a checkpoint does not match the signed tree.
// It is deliberately opaque.
var ErrInvalidProof = errors.New("invalid transparency proof")

// A FetchFunc returns the bytes a log serves at path, relative to the log's
// prefix: "checkpoint", "tile/0/000", "tile/entries/001.p/5".
type FetchFunc func(ctx context.Context, path string) ([]byte, error)

// maxCachedTiles bounds the client's cache of verified full tiles.
const maxCachedTiles = 4096

// A Client verifies one log from what it serves through a FetchFunc. It is
// safe for concurrent use. It keeps no state between calls other than a
// cache of full tiles that have been verified against a signed checkpoint
// (full tiles are immutable).
type Client struct {
	origin   string
	verifier note.Verifier
	fetch    FetchFunc

	mu    sync.Mutex
	cache map[tlog.Tile][]byte
}

// NewClient returns a Client for the log with the given checkpoint origin
// and signing key.
func NewClient(origin string, v note.Verifier, fetch FetchFunc) *Client {
	return &Client{origin: origin, verifier: v, fetch: fetch, cache: map[tlog.Tile][]byte{}}
}

// Checkpoint fetches the log's latest checkpoint and verifies its signature
// and origin. It returns the parsed checkpoint and the note as served.
func (c *Client) Checkpoint(ctx context.Context) (Checkpoint, []byte, error) {
	msg, err := c.fetch(ctx, "checkpoint")
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("failed to fetch checkpoint: %w", err)
	}
	cp, _, err := OpenCheckpoint(msg, c.origin, c.verifier)
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("failed to verify checkpoint: %w", err)
	}
	if cp.Size == 0 && cp.Hash != EmptyHash {
		return Checkpoint{}, nil, ErrInvalidProof
	}
	return cp, msg, nil
}

// VerifyConsistency checks that newer's tree extends older's: older's
// entries are a prefix of newer's (RFC 6962 §2.1.2). A newer checkpoint
// smaller than the older one fails. Both checkpoints must have been
// verified already (see Checkpoint).
func (c *Client) VerifyConsistency(ctx context.Context, older, newer Checkpoint) error {
	switch {
	case older.Size > newer.Size:
		return ErrInvalidProof
	case older.Size == newer.Size:
		if older.Hash != newer.Hash {
			return ErrInvalidProof
		}
		return nil
	case older.Size == 0:
		if older.Hash != EmptyHash {
			return ErrInvalidProof
		}
		return nil
	}
	r := c.hashReader(ctx, newer)
	p, err := tlog.ProveTree(newer.Size, older.Size, r.hr)
	if err != nil {
		return r.fail(err)
	}
	if err := tlog.CheckTree(p, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return ErrInvalidProof
	}
	return nil
}

// VerifyInclusion checks that entry is the index-th entry of cp's tree
// (RFC 6962 §2.1.1).
func (c *Client) VerifyInclusion(ctx context.Context, cp Checkpoint, index int64, entry []byte) error {
	if index < 0 || index >= cp.Size {
		return ErrInvalidProof
	}
	r := c.hashReader(ctx, cp)
	p, err := tlog.ProveRecord(cp.Size, index, r.hr)
	if err != nil {
		return r.fail(err)
	}
	if err := tlog.CheckRecord(p, cp.Size, cp.Hash, index, tlog.RecordHash(entry)); err != nil {
		return ErrInvalidProof
	}
	return nil
}

// Entries fetches the entries with indexes in [start, end) from the log's
// entry bundles and verifies each one against cp's tree: its leaf hash must
// be the one in the level-0 tile that TileHashReader has authenticated
// against cp's root hash.
func (c *Client) Entries(ctx context.Context, cp Checkpoint, start, end int64) ([][]byte, error) {
	if start < 0 || end > cp.Size || start > end {
		return nil, fmt.Errorf("entries [%d, %d) out of range of tree size %d", start, end, cp.Size)
	}
	if start == end {
		return nil, nil
	}
	r := c.hashReader(ctx, cp)
	out := make([][]byte, 0, end-start)
	for n := start / TileWidth; n*TileWidth < end; n++ {
		w := min(cp.Size-n*TileWidth, TileWidth)
		t := tlog.Tile{H: TileHeight, L: EntriesLevel, N: n, W: int(w)}
		data, err := c.fetch(ctx, TilePath(t))
		if err != nil {
			return nil, fmt.Errorf("failed to fetch entry bundle %d: %w", n, err)
		}
		bundle, err := ParseBundle(data, int(w))
		if err != nil {
			return nil, ErrInvalidProof
		}
		lo, hi := max(start, n*TileWidth), min(end, n*TileWidth+w)
		idx := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			idx = append(idx, tlog.StoredHashIndex(0, i))
		}
		hashes, err := r.hr.ReadHashes(idx)
		if err != nil {
			return nil, r.fail(err)
		}
		for i := lo; i < hi; i++ {
			e := bundle[i-n*TileWidth]
			if tlog.RecordHash(e) != hashes[i-lo] {
				return nil, ErrInvalidProof
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// fetchError marks an error of the FetchFunc inside tlog's call chain.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

type hashReader struct {
	hr tlog.HashReader
}

// fail maps an error from x/mod's tlog to ours: fetch errors pass through,
// anything else is an invalid proof.
func (r hashReader) fail(err error) error {
	var fe *fetchError
	if errors.As(err, &fe) {
		return fmt.Errorf("failed to fetch tile: %w", fe.err)
	}
	return ErrInvalidProof
}

func (c *Client) hashReader(ctx context.Context, cp Checkpoint) hashReader {
	return hashReader{hr: tlog.TileHashReader(cp.Tree(), &tileReader{c: c, ctx: ctx})}
}

// tileReader adapts the FetchFunc to x/mod's TileReader.
type tileReader struct {
	c   *Client
	ctx context.Context
}

func (r *tileReader) Height() int { return TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		r.c.mu.Lock()
		data, ok := r.c.cache[t]
		r.c.mu.Unlock()
		if !ok {
			var err error
			data, err = r.c.fetch(r.ctx, TilePath(t))
			if err != nil {
				return nil, &fetchError{err}
			}
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, ErrInvalidProof
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles is called by TileHashReader once tiles are verified; only full
// tiles are immutable and worth keeping.
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	for i, t := range tiles {
		if t.W != TileWidth {
			continue
		}
		if len(r.c.cache) >= maxCachedTiles {
			clear(r.c.cache)
		}
		r.c.cache[t] = data[i]
	}
}
