package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// A Head is a log's state as the store holds it; see store.Head.
type Head = store.Head

// Frontier returns the stored-hash indexes of the frontier of a tree of
// size n.
func Frontier(n int64) []int64 {
	var idx []int64
	for k := 0; n>>k > 0; k++ {
		if (n>>k)&1 == 1 {
			idx = append(idx, tlog.StoredHashIndex(k, (n>>k)-1))
		}
	}
	return idx
}

// AppendLocked is the pessimistic form of Append, for venue nodes that
// append to the same channels at the same time: in one transaction it locks
// the rows of logs (in name order, creating missing ones), reads their
// heads, calls plan with them, and writes the appends plan returns, which
// may only concern those logs. A node that plans on the state it holds
// locked never loses a compare-and-swap to another node, at the price of
// holding the lock while it hashes and signs (and of three round trips
// instead of one). An error from plan is returned as is and nothing is
// written.
func (s *Store) AppendLocked(ctx context.Context, logs []string, plan func(heads map[string]Head) ([]store.LogAppend, error)) error {
	names := slices.Clone(logs)
	slices.Sort(names)
	names = slices.Compact(names)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO logs (log, size) SELECT l, 0 FROM unnest($1::text[]) AS l ORDER BY l
			ON CONFLICT (log) DO UPDATE SET size = logs.size RETURNING log, size`, names)
		if err != nil {
			return fmt.Errorf("failed to lock logs: %w", err)
		}
		heads := make(map[string]Head, len(names))
		for rows.Next() {
			var l string
			var n int64
			if err := rows.Scan(&l, &n); err != nil {
				rows.Close()
				return fmt.Errorf("failed to lock logs: %w", err)
			}
			heads[l] = Head{Size: n, Hashes: map[int64]tlog.Hash{}}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("failed to lock logs: %w", err)
		}
		var hl []string
		var hi []int64
		for l, h := range heads {
			for _, x := range Frontier(h.Size) {
				hl, hi = append(hl, l), append(hi, x)
			}
		}
		if len(hl) > 0 {
			rows, err := tx.Query(ctx, `SELECT h.log, h.idx, h.hash FROM hashes h JOIN unnest($1::text[], $2::bigint[]) AS w(log, idx)
				ON h.log = w.log AND h.idx = w.idx`, hl, hi)
			if err != nil {
				return fmt.Errorf("failed to read frontier: %w", err)
			}
			n := 0
			for rows.Next() {
				var l string
				var x int64
				var b []byte
				if err := rows.Scan(&l, &x, &b); err != nil {
					rows.Close()
					return fmt.Errorf("failed to read frontier: %w", err)
				}
				if len(b) != tlog.HashSize {
					rows.Close()
					return fmt.Errorf("hash %d of %s has %d bytes", x, l, len(b))
				}
				heads[l].Hashes[x] = tlog.Hash(b)
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("failed to read frontier: %w", err)
			}
			if n != len(hl) {
				return errors.New("failed to read frontier: stored hashes missing")
			}
		}
		batch, err := plan(heads)
		if err != nil {
			return err
		}
		for _, a := range batch {
			if _, ok := heads[a.Log]; !ok {
				return fmt.Errorf("append to %s, which was not locked", a.Log)
			}
		}
		return s.write(ctx, tx, batch)
	})
}

var _ store.Shared = (*Store)(nil)
