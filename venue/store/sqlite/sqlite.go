// Package sqlite is the embedded default store of the venue: one SQLite
// database file, through modernc.org/sqlite (pure Go, no cgo).
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: every commit syncs
// the write-ahead log before it returns, so an append the venue acknowledges
// survives a crash of the process and of the machine. (With WAL,
// synchronous=NORMAL would survive a process crash but could lose the last
// commits on power loss, which would break the promise "never acknowledge
// before durable".) The cost of that sync is shared: the venue's sequencer
// batches concurrent appends into one transaction (group commit).
//
// # Connections
//
// Writes go through one connection (SQLite has one writer at a time; a pool
// would only contend on the lock); reads use a separate pool, which WAL lets
// run concurrently with the writer.
//
// # Layout
//
// A log entry is one row of table entries, which also carries the x/mod
// tlog stored hashes that its append completed (one to 64, two on average):
// the hash at level L, index K lives in the row of entry ((K+1)<<L)-1. A
// group commit is a handful of prepared multi-row INSERTs whatever the
// number of logs and entries in it, after one query that checks every log's
// size (the compare-and-swap of store.Store.Append). A log's size is that of
// its entries (one past the largest index); checkpoints are kept for every
// size the venue signed, written with the entries or after them
// (store.Store.AddCheckpoints).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"

	"github.com/good-offices/goodoffices/venue/store"
)

// Store is a store.Store in one SQLite file.
type Store struct {
	w, r *sql.DB
	// ins holds prepared multi-row INSERTs on the writer connection, by
	// table and power-of-two row count, so that group commits do not
	// re-parse SQL.
	ins map[string]*sql.Stmt
	// sizeq holds the prepared queries of the logs' sizes, by log count.
	sizeq map[int]*sql.Stmt
	// addcp stores one checkpoint if its log holds the entries it covers.
	addcp *sql.Stmt
}

var _ store.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (log TEXT NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (log, idx));
CREATE TABLE IF NOT EXISTS checkpoints (log TEXT NOT NULL, size INTEGER NOT NULL, note BLOB NOT NULL, PRIMARY KEY (log, size));
CREATE TABLE IF NOT EXISTS commits (log TEXT NOT NULL, epoch INTEGER NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (log, epoch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, kind TEXT NOT NULL, level TEXT NOT NULL, members TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, delegation TEXT NOT NULL, certificate BLOB NOT NULL, registered INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS devices_delegation ON devices (delegation);
CREATE TABLE IF NOT EXISTS keypackages (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, data BLOB NOT NULL, last_resort INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS keypackages_device ON keypackages (device, last_resort, id);
CREATE TABLE IF NOT EXISTS mail (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, data BLOB NOT NULL, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS mail_device ON mail (device, id);
CREATE TABLE IF NOT EXISTS nonces (nonce BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '2');
`

// Open opens (creating if needed) the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	// Created owner-only before SQLite opens it: SQLite gives its -wal and
	// -shm files the mode of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create database: %w", err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// 32 MiB of page cache for the writer (the default is 2 MiB): the
	// upper B-tree pages of entries and checkpoints stay in memory as the
	// database grows.
	q.Add("_pragma", "cache_size(-32768)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("failed to create schema: %w", err)
	}
	var v string
	if err := w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil || v != "2" {
		w.Close()
		return nil, fmt.Errorf("unsupported database schema version %q", v)
	}
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout(10000)")
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, ins: map[string]*sql.Stmt{}, sizeq: map[int]*sql.Stmt{}}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.ins {
		st.Close()
	}
	for _, st := range s.sizeq {
		st.Close()
	}
	if s.addcp != nil {
		s.addcp.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// insertPrefixes are the multi-row INSERTs prepared at Open, with their
// number of columns.
var insertPrefixes = map[string]int{
	`INSERT INTO entries (log, idx, hashes, data) VALUES `:        4,
	`INSERT INTO commits (log, epoch, idx) VALUES `:               3,
	`INSERT INTO checkpoints (log, size, note) VALUES `:           3,
	`INSERT INTO keypackages (device, data, last_resort) VALUES `: 3,
}

// chunkSizes are the row counts of the prepared INSERTs, largest first.
var chunkSizes = []int{256, 64, 16, 4, 1}

// prepare prepares the INSERTs on the writer connection. It must run
// before any transaction: the writer pool has one connection, and a
// statement prepared on the pool while a transaction holds it would wait
// forever.
func (s *Store) prepare(ctx context.Context) error {
	for prefix, ncols := range insertPrefixes {
		for _, n := range chunkSizes {
			ph := "(" + strings.TrimSuffix(strings.Repeat("?,", ncols), ",") + ")"
			q := prefix + strings.TrimSuffix(strings.Repeat(ph+",", n), ",")
			st, err := s.w.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("failed to prepare statement: %w", err)
			}
			s.ins[fmt.Sprintf("%s/%d", prefix, n)] = st
		}
	}
	for _, n := range chunkSizes {
		st, err := s.w.PrepareContext(ctx, sizesSQL(n))
		if err != nil {
			return fmt.Errorf("failed to prepare statement: %w", err)
		}
		s.sizeq[n] = st
	}
	st, err := s.w.PrepareContext(ctx, `INSERT INTO checkpoints (log, size, note)
		SELECT ?1, ?2, ?3 WHERE (SELECT MAX(idx) FROM entries WHERE log = ?1) >= ?2 - 1
		ON CONFLICT (log, size) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("failed to prepare statement: %w", err)
	}
	s.addcp = st
	return nil
}

// sizesSQL is the query that reads the sizes of n logs at once: one indexed
// MAX per log (SQLite's min/max optimisation applies to a correlated
// single-aggregate subquery, not to a GROUP BY).
func sizesSQL(n int) string {
	return `WITH q(log) AS (VALUES ` + strings.TrimSuffix(strings.Repeat("(?),", n), ",") +
		`) SELECT q.log, (SELECT MAX(idx) + 1 FROM entries e WHERE e.log = q.log) FROM q`
}

// sizes reads the stored sizes of the batch's logs with the prepared
// queries of 256, 64, 16, 4 and 1 logs.
func (s *Store) sizes(ctx context.Context, tx *sql.Tx, batch []store.LogAppend) (map[string]int64, error) {
	sizes := make(map[string]int64, len(batch))
	args := make([]any, 0, len(batch))
	for len(batch) > 0 {
		n := 1
		for _, c := range chunkSizes {
			if len(batch) >= c {
				n = c
				break
			}
		}
		args = args[:0]
		for _, a := range batch[:n] {
			args = append(args, a.Log)
		}
		batch = batch[n:]
		rows, err := tx.StmtContext(ctx, s.sizeq[n]).QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("failed to read log sizes: %w", err)
		}
		for rows.Next() {
			var l string
			var n sql.NullInt64
			if err := rows.Scan(&l, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("failed to read log sizes: %w", err)
			}
			sizes[l] = n.Int64
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("failed to read log sizes: %w", err)
		}
	}
	return sizes, nil
}

// insert inserts rows (of ncols columns) with the prepared statements of
// 256, 64, 16, 4 and 1 rows.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, prefix string, ncols int, rows [][]any) error {
	for len(rows) > 0 {
		n := 1
		for _, c := range chunkSizes {
			if len(rows) >= c {
				n = c
				break
			}
		}
		st := s.ins[fmt.Sprintf("%s/%d", prefix, n)]
		if st == nil || ncols != insertPrefixes[prefix] {
			return fmt.Errorf("sqlite: internal error: no prepared statement for %q", prefix)
		}
		args := make([]any, 0, n*ncols)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func isConstraint(err error) bool {
	return err != nil && strings.Contains(err.Error(), "constraint failed")
}

// Append implements store.Store. The whole batch, whatever the number of
// logs in it, takes a handful of statements: one to read the logs' sizes,
// then chunked multi-row inserts of entries, hashes, commits and checkpoints.
func (s *Store) Append(ctx context.Context, batch []store.LogAppend) (err error) {
	if len(batch) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, a := range batch {
		if seen[a.Log] {
			return fmt.Errorf("append: log %s twice in one batch", a.Log)
		}
		seen[a.Log] = true
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	// Compare-and-swap on every log's size.
	sizes, err := s.sizes(ctx, tx, batch)
	if err != nil {
		return err
	}
	for _, a := range batch {
		if sizes[a.Log] != a.OldSize {
			return store.ErrConflict
		}
	}
	var entries, commits, checkpoints [][]any
	for _, a := range batch {
		newSize := a.OldSize + int64(len(a.Entries))
		h0, h1 := tlog.StoredHashCount(a.OldSize), tlog.StoredHashCount(newSize)
		if int64(len(a.Hashes)) != h1-h0 {
			return fmt.Errorf("append to %s: %d hashes, want %d", a.Log, len(a.Hashes), h1-h0)
		}
		for _, c := range a.Commits {
			if c.Index < a.OldSize || c.Index >= newSize || c.Epoch < 0 {
				return fmt.Errorf("append to %s: commit index %d out of batch", a.Log, c.Index)
			}
			commits = append(commits, []any{a.Log, c.Epoch, c.Index})
		}
		// Each entry's row carries the stored hashes that its append
		// created (tlog.StoredHashes: one to 64, two on average).
		next := 0
		for i, e := range a.Entries {
			n := a.OldSize + int64(i)
			k := int(tlog.StoredHashCount(n+1) - tlog.StoredHashCount(n))
			hs := make([]byte, 0, k*tlog.HashSize)
			for _, h := range a.Hashes[next : next+k] {
				hs = append(hs, h[:]...)
			}
			next += k
			entries = append(entries, []any{a.Log, n, hs, e})
		}
		if a.Note != nil {
			checkpoints = append(checkpoints, []any{a.Log, newSize, a.Note})
		}
	}
	if err := s.insert(ctx, tx, `INSERT INTO entries (log, idx, hashes, data) VALUES `, 4, entries); err != nil {
		if isConstraint(err) {
			return store.ErrConflict
		}
		return fmt.Errorf("failed to insert entries: %w", err)
	}
	if err := s.insert(ctx, tx, `INSERT INTO commits (log, epoch, idx) VALUES `, 3, commits); err != nil {
		if isConstraint(err) {
			return store.ErrEpochTaken
		}
		return fmt.Errorf("failed to insert commits: %w", err)
	}
	if err := s.insert(ctx, tx, `INSERT INTO checkpoints (log, size, note) VALUES `, 3, checkpoints); err != nil {
		if isConstraint(err) {
			return store.ErrConflict
		}
		return fmt.Errorf("failed to insert checkpoints: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit: %w", err)
	}
	return nil
}

// Checkpoint implements store.Store.
func (s *Store) Checkpoint(ctx context.Context, log string) (int64, []byte, error) {
	var size int64
	var note []byte
	err := s.r.QueryRowContext(ctx, `SELECT size, note FROM checkpoints WHERE log = ? ORDER BY size DESC LIMIT 1`, log).Scan(&size, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, store.ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("failed to read checkpoint: %w", err)
	}
	return size, note, nil
}

// Size implements store.Store.
func (s *Store) Size(ctx context.Context, log string) (int64, error) {
	var n sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(idx) + 1 FROM entries WHERE log = ?`, log).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to read log size: %w", err)
	}
	return n.Int64, nil
}

// AddCheckpoints implements store.Store.
func (s *Store) AddCheckpoints(ctx context.Context, cps []store.SignedCheckpoint) (err error) {
	if len(cps) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	st := tx.StmtContext(ctx, s.addcp)
	for _, c := range cps {
		if c.Size <= 0 || len(c.Note) == 0 {
			return fmt.Errorf("checkpoint of %s: size %d, %d bytes: not storable", c.Log, c.Size, len(c.Note))
		}
		res, err := st.ExecContext(ctx, c.Log, c.Size, c.Note)
		if err != nil {
			return fmt.Errorf("failed to store checkpoint: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("failed to store checkpoint: %w", err)
		} else if n == 0 {
			// Either stored already (kept) or past the log's end.
			var have int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM checkpoints WHERE log = ? AND size = ?`, c.Log, c.Size).Scan(&have); err != nil {
				return fmt.Errorf("failed to store checkpoint: %w", err)
			}
			if have == 0 {
				return fmt.Errorf("checkpoint of %s at size %d: the log holds fewer entries", c.Log, c.Size)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit: %w", err)
	}
	return nil
}

// Behind implements store.Store. It walks the distinct logs of the entries
// index by seeks (a recursive skip-scan), not by scanning every entry, and
// compares each log's size with its latest checkpoint: a few index lookups
// per log however long the logs are.
func (s *Store) Behind(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `
		WITH RECURSIVE l(log) AS (
			SELECT (SELECT log FROM entries ORDER BY log LIMIT 1)
			UNION ALL
			SELECT (SELECT log FROM entries WHERE log > l.log ORDER BY log LIMIT 1) FROM l WHERE l.log IS NOT NULL
		)
		SELECT log FROM l WHERE log IS NOT NULL
			AND (SELECT MAX(idx) + 1 FROM entries e WHERE e.log = l.log) >
				COALESCE((SELECT MAX(size) FROM checkpoints c WHERE c.log = l.log), 0)`)
	if err != nil {
		return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
	}
	return out, nil
}

// CheckpointAt implements store.Store.
func (s *Store) CheckpointAt(ctx context.Context, log string, size int64) ([]byte, error) {
	var note []byte
	err := s.r.QueryRowContext(ctx, `SELECT note FROM checkpoints WHERE log = ? AND size = ?`, log, size).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read checkpoint: %w", err)
	}
	return note, nil
}

// hashHome returns the entry whose append created stored hash i, and the
// hash's position among that entry's hashes: the hash of level L, index k
// is completed by leaf ((k+1) << L) - 1.
func hashHome(i int64) (entry int64, off int, ok bool) {
	if i < 0 {
		return 0, 0, false
	}
	level, k := tlog.SplitStoredHashIndex(i)
	if level > 62 || k+1 > (1<<62)>>level {
		return 0, 0, false
	}
	entry = ((k + 1) << level) - 1
	return entry, int(i - tlog.StoredHashCount(entry)), true
}

// ReadHashes implements store.Store. Hashes live in the rows of the
// entries whose append created them.
func (s *Store) ReadHashes(ctx context.Context, log string, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	homes := make([]int64, len(indexes))
	offs := make([]int, len(indexes))
	lo, hi := int64(-1), int64(-1)
	for j, x := range indexes {
		e, off, ok := hashHome(x)
		if !ok {
			return nil, store.ErrNotFound
		}
		homes[j], offs[j] = e, off
		if lo < 0 || e < lo {
			lo = e
		}
		hi = max(hi, e)
	}
	found := make(map[int64][]byte, len(indexes))
	if hi-lo > 4*int64(len(indexes))+64 {
		// Sparse (upper-level tiles): look the entries up in chunks.
		for start := 0; start < len(homes); start += 256 {
			chunk := homes[start:min(start+256, len(homes))]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, log)
			for _, x := range chunk {
				args = append(args, x)
			}
			q := `SELECT idx, hashes FROM entries WHERE log = ? AND idx IN (` + strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",") + `)`
			if err := scanHashes(ctx, s.r, found, q, args...); err != nil {
				return nil, err
			}
		}
	} else if err := scanHashes(ctx, s.r, found, `SELECT idx, hashes FROM entries WHERE log = ? AND idx >= ? AND idx <= ?`, log, lo, hi); err != nil {
		return nil, err
	}
	for j := range indexes {
		hs := found[homes[j]]
		if (offs[j]+1)*tlog.HashSize > len(hs) {
			return nil, store.ErrNotFound
		}
		copy(out[j][:], hs[offs[j]*tlog.HashSize:])
	}
	return out, nil
}

func scanHashes(ctx context.Context, db *sql.DB, found map[int64][]byte, q string, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("failed to read hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return fmt.Errorf("failed to read hashes: %w", err)
		}
		found[idx] = h
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to read hashes: %w", err)
	}
	return nil
}

// ReadEntries implements store.Store.
func (s *Store) ReadEntries(ctx context.Context, log string, start, end int64) ([][]byte, error) {
	if start < 0 || end < start {
		return nil, fmt.Errorf("invalid range [%d, %d)", start, end)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT idx, data FROM entries WHERE log = ? AND idx >= ? AND idx < ? ORDER BY idx`, log, start, end)
	if err != nil {
		return nil, fmt.Errorf("failed to read entries: %w", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, end-start)
	for rows.Next() {
		var idx int64
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			return nil, fmt.Errorf("failed to read entries: %w", err)
		}
		if idx != start+int64(len(out)) {
			return nil, store.ErrNotFound
		}
		out = append(out, data)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read entries: %w", err)
	}
	if int64(len(out)) != end-start {
		return nil, store.ErrNotFound
	}
	return out, nil
}

// Commits implements store.Store.
func (s *Store) Commits(ctx context.Context, log string) ([]store.EpochCommit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT epoch, idx FROM commits WHERE log = ? ORDER BY epoch`, log)
	if err != nil {
		return nil, fmt.Errorf("failed to read commits: %w", err)
	}
	defer rows.Close()
	var out []store.EpochCommit
	for rows.Next() {
		var c store.EpochCommit
		if err := rows.Scan(&c.Epoch, &c.Index); err != nil {
			return nil, fmt.Errorf("failed to read commits: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateChannel implements store.Store.
func (s *Store) CreateChannel(ctx context.Context, c store.Channel) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO channels (id, kind, level, members, created) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.Kind, c.Level, strings.Join(c.Members, ","), c.Created.UnixNano())
	if isConstraint(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("failed to create channel: %w", err)
	}
	return nil
}

// SetMembers implements store.Store.
func (s *Store) SetMembers(ctx context.Context, id string, members []string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE channels SET members = ? WHERE id = ?`, strings.Join(members, ","), id)
	if err != nil {
		return fmt.Errorf("failed to update channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func scanChannel(sc interface{ Scan(...any) error }) (store.Channel, error) {
	var c store.Channel
	var members string
	var created int64
	if err := sc.Scan(&c.ID, &c.Kind, &c.Level, &members, &created); err != nil {
		return c, err
	}
	if members != "" {
		c.Members = strings.Split(members, ",")
	}
	c.Created = time.Unix(0, created).UTC()
	return c, nil
}

// Channel implements store.Store.
func (s *Store) Channel(ctx context.Context, id string) (store.Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT id, kind, level, members, created FROM channels WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("failed to read channel: %w", err)
	}
	return c, nil
}

// Channels implements store.Store.
func (s *Store) Channels(ctx context.Context) ([]store.Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, level, members, created FROM channels ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("failed to read channels: %w", err)
	}
	defer rows.Close()
	var out []store.Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to read channels: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutDevice implements store.Store.
func (s *Store) PutDevice(ctx context.Context, d store.Device) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO devices (id, delegation, certificate, registered) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET certificate = excluded.certificate, registered = excluded.registered
		WHERE devices.delegation = excluded.delegation`,
		d.ID, d.Delegation, d.Certificate, d.Registered.UnixNano())
	if err != nil {
		return fmt.Errorf("failed to store device: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrExists
	}
	return nil
}

func scanDevice(sc interface{ Scan(...any) error }) (store.Device, error) {
	var d store.Device
	var reg int64
	err := sc.Scan(&d.ID, &d.Delegation, &d.Certificate, &reg)
	d.Registered = time.Unix(0, reg).UTC()
	return d, err
}

// Device implements store.Store.
func (s *Store) Device(ctx context.Context, id string) (store.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT id, delegation, certificate, registered FROM devices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("failed to read device: %w", err)
	}
	return d, nil
}

// Devices implements store.Store.
func (s *Store) Devices(ctx context.Context, delegation string) ([]store.Device, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, delegation, certificate, registered FROM devices WHERE ? = '' OR delegation = ? ORDER BY delegation, id`, delegation, delegation)
	if err != nil {
		return nil, fmt.Errorf("failed to read devices: %w", err)
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to read devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// AddKeyPackages implements store.Store.
func (s *Store) AddKeyPackages(ctx context.Context, device string, oneTime [][]byte, lastResort []byte) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	rows := make([][]any, len(oneTime))
	for i, kp := range oneTime {
		rows[i] = []any{device, kp, 0}
	}
	if err := s.insert(ctx, tx, `INSERT INTO keypackages (device, data, last_resort) VALUES `, 3, rows); err != nil {
		return fmt.Errorf("failed to store key packages: %w", err)
	}
	if lastResort != nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM keypackages WHERE device = ? AND last_resort = 1`, device); err != nil {
			return fmt.Errorf("failed to store key packages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keypackages (device, data, last_resort) VALUES (?, ?, 1)`, device, lastResort); err != nil {
			return fmt.Errorf("failed to store key packages: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit: %w", err)
	}
	return nil
}

// ClaimKeyPackage implements store.Store.
func (s *Store) ClaimKeyPackage(ctx context.Context, device string) (data []byte, lastResort bool, err error) {
	var id int64
	var lr int
	err = s.w.QueryRowContext(ctx, `DELETE FROM keypackages WHERE id = (SELECT id FROM keypackages WHERE device = ? AND last_resort = 0 ORDER BY id LIMIT 1) RETURNING data, last_resort`, device).Scan(&data, &lr)
	if err == nil {
		return data, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("failed to claim key package: %w", err)
	}
	err = s.r.QueryRowContext(ctx, `SELECT id, data FROM keypackages WHERE device = ? AND last_resort = 1`, device).Scan(&id, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, store.ErrNotFound
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to claim key package: %w", err)
	}
	return data, true, nil
}

// CountKeyPackages implements store.Store.
func (s *Store) CountKeyPackages(ctx context.Context, device string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM keypackages WHERE device = ? AND last_resort = 0`, device).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count key packages: %w", err)
	}
	return n, nil
}

// PutMail implements store.Store.
func (s *Store) PutMail(ctx context.Context, device string, data []byte) (int64, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO mail (device, data, created) VALUES (?, ?, ?)`, device, data, store.MailTime(time.Now()).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("failed to store mail: %w", err)
	}
	return res.LastInsertId()
}

// Mail implements store.Store.
func (s *Store) Mail(ctx context.Context, device string, after int64, limit int) ([]store.Mail, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, data, created FROM mail WHERE device = ? AND id > ? ORDER BY id LIMIT ?`, device, after, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to read mail: %w", err)
	}
	defer rows.Close()
	var out []store.Mail
	for rows.Next() {
		var m store.Mail
		var created int64
		if err := rows.Scan(&m.ID, &m.Data, &created); err != nil {
			return nil, fmt.Errorf("failed to read mail: %w", err)
		}
		m.Created = time.Unix(0, created).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeleteMail implements store.Store.
func (s *Store) DeleteMail(ctx context.Context, device string, through int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM mail WHERE device = ? AND id <= ?`, device, through); err != nil {
		return fmt.Errorf("failed to delete mail: %w", err)
	}
	return nil
}

// MailUsage implements store.Store.
func (s *Store) MailUsage(ctx context.Context, device string) (int, int64, error) {
	var n int
	var b int64
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM mail WHERE device = ?`, device).Scan(&n, &b); err != nil {
		return 0, 0, fmt.Errorf("failed to count mail: %w", err)
	}
	return n, b, nil
}

// ExpireMail implements store.Store.
func (s *Store) ExpireMail(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM mail WHERE created < ? AND substr(device, 1, 1) <> '~'`, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("failed to expire mail: %w", err)
	}
	return res.RowsAffected()
}

// UseNonce implements store.Store.
func (s *Store) UseNonce(ctx context.Context, nonce []byte, expires time.Time) error {
	now := time.Now().UnixNano()
	if _, err := s.w.ExecContext(ctx, `DELETE FROM nonces WHERE expires < ?`, now); err != nil {
		return fmt.Errorf("failed to expire nonces: %w", err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO nonces (nonce, expires) VALUES (?, ?)`, nonce, expires.UnixNano())
	if isConstraint(err) {
		return store.ErrReplay
	}
	if err != nil {
		return fmt.Errorf("failed to record nonce: %w", err)
	}
	return nil
}
