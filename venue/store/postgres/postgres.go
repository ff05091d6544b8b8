// Package postgres is the venue store for many stateless venue nodes: one
// PostgreSQL database (or a PostgreSQL-compatible one) shared by every node,
// reached through a pgx connection pool.
//
// It behaves exactly like the embedded SQLite store (venue/store/sqlite): both
// pass the same conformance suite, venue/store/storetest.
//
// # Opening and migrations
//
// [Open] takes a postgres:// URL (any pgx connection string; pool settings
// such as pool_max_conns, default [DefaultMaxConns], go in the URL, and so
// may search_path to keep the venue in its own schema). At start it applies the schema migrations that
// the database lacks, each in its own transaction, in order, under a
// session-level advisory lock so that nodes starting together do not race;
// the applied versions are recorded in the table schema_migrations. A
// database whose schema is newer than this binary knows is refused, so that
// an old node never writes to a layout it does not understand.
//
// # Serialising appends across nodes
//
// Every venue node runs its own sequencer (package venue), which batches
// concurrent appends into one [Store.Append] (group commit: one transaction,
// one WAL flush, one checkpoint signature per log for many writers). When
// several nodes append to the same channel, the store decides the order with
// a row lock: table logs holds one row per log with its size, and Append
// first upserts and locks the rows of every log of the batch, in log-name
// order so that two batches can never deadlock, with one
// INSERT ... ON CONFLICT DO UPDATE ... RETURNING. In the same statement it
// compares each stored size with the size the sequencer built its Merkle
// hashes on (LogAppend.OldSize): the SQL function goodoffices_check_size
// raises SQLSTATE GO409 on a mismatch, which means another node won the
// race; the whole transaction is rolled back, Append returns
// store.ErrConflict, and the sequencer reloads that log and sequences
// again. The lock statement, the inserts and the commit travel in one
// pipelined round trip (one implicit transaction), so the lock is held only
// for the few statements of one batch and group commit is kept: one lock
// and one commit per batch, not per entry.
//
// That is optimistic: two nodes appending to the same channel at the same
// moment make one of them plan again. [Store.AppendLocked] is the
// pessimistic form for such deployments: it takes the same row locks
// first, hands the caller each log's size and Merkle frontier as stored,
// and writes what the caller planned on them in the same transaction, so a
// node never plans on a stale state (the lock is then held while it hashes
// and signs).
//
// A row lock rather than an advisory lock was chosen because it is part of
// the data: it is taken and released with the transaction that writes the
// entries, survives connection poolers that multiplex sessions (PgBouncer in
// transaction mode), works on PostgreSQL-compatible distributed databases
// that lack advisory locks, and the locked row is also the size that the
// compare-and-swap checks.
//
// # One venue key for all nodes
//
// All nodes share the venue's signing key (copy venue.key to each node's data
// directory). Checkpoints are then signed by one key whichever node
// sequenced them, so a party, a witness or any standard tlog client checks
// every log against the one verifier key the venue publishes. A key per
// node, listed in the register, would make every client track a changing
// set of keys, and would add nothing against forks: what keeps checkpoints
// consistent is the row lock and compare-and-swap above, as a checkpoint is
// stored only in the transaction that makes its tree size durable, and only
// on top of the checkpoint it extends.
//
// # Mailboxes
//
// Mail IDs are allocated per device under a row lock of the device's
// mailbox row, so they become visible in increasing order: a reader that
// has seen ID n can never later find an ID below n appear (a plain sequence
// would allow that when two inserts commit out of order).
//
// # Durability
//
// An append is acknowledged after its transaction committed, which with
// PostgreSQL's defaults (fsync=on, synchronous_commit=on) means its WAL
// record was flushed to disk. Do not run the venue on a database with
// synchronous_commit=off or fsync=off: acknowledged entries could be lost.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// Store is a store.Store in a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// migrations are the schema versions, in order; migration i creates version
// i+1. Never edit a released migration: add a new one.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE logs (log TEXT PRIMARY KEY, size BIGINT NOT NULL);
CREATE TABLE entries (log TEXT NOT NULL, idx BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (log, idx));
CREATE TABLE hashes (log TEXT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (log, idx));
CREATE TABLE checkpoints (log TEXT NOT NULL, size BIGINT NOT NULL, note BYTEA NOT NULL, PRIMARY KEY (log, size));
CREATE TABLE commits (log TEXT NOT NULL, epoch BIGINT NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY (log, epoch));
CREATE TABLE channels (id TEXT PRIMARY KEY, kind TEXT NOT NULL, level TEXT NOT NULL, members TEXT[] NOT NULL, created BIGINT NOT NULL);
CREATE TABLE devices (id TEXT PRIMARY KEY, delegation TEXT NOT NULL, certificate BYTEA NOT NULL, registered BIGINT NOT NULL);
CREATE INDEX devices_delegation ON devices (delegation, id);
CREATE TABLE keypackages (id BIGSERIAL PRIMARY KEY, device TEXT NOT NULL, data BYTEA NOT NULL, last_resort BOOLEAN NOT NULL);
CREATE INDEX keypackages_device ON keypackages (device, last_resort, id);
CREATE TABLE mailboxes (device TEXT PRIMARY KEY, last_id BIGINT NOT NULL);
CREATE TABLE mail (device TEXT NOT NULL, id BIGINT NOT NULL, data BYTEA NOT NULL, created BIGINT NOT NULL, PRIMARY KEY (device, id));
CREATE TABLE nonces (nonce BYTEA PRIMARY KEY, expires BIGINT NOT NULL);
CREATE INDEX nonces_expires ON nonces (expires);
`,
	// 2: the size check of Append, so that an append is one round trip.
	`
CREATE FUNCTION goodoffices_check_size(have BIGINT, want BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
	IF have <> want THEN
		RAISE EXCEPTION 'log size changed concurrently' USING ERRCODE = 'GO409';
	END IF;
	RETURN have;
END $$;
`,
}

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns.
const DefaultMaxConns = 16

// SchemaVersion is the schema version this package writes.
var SchemaVersion = len(migrations)

// migrationLock is the advisory lock key held while migrating ("gOvenueM").
const migrationLock = 0x674f76656e75654d

// Open connects to the database at url (postgres://...) and applies any
// missing migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("failed to parse database URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (4 on a small machine) is too few for a node
		// serving event streams and tiles beside its sequencer.
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to database: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// migrate applies the missing migrations.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("failed to connect to database: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("failed to lock for migration: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("failed to create migrations table: %w", err)
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("failed to read schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary supports (%d)", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("failed to apply migration %d: %w", v, err)
		}
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers; for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, batch []store.LogAppend) error {
	if len(batch) == 0 {
		return nil
	}
	b, lockNames, lockOld, verr, err := buildAppend(batch)
	if err != nil {
		return err
	}
	if verr != nil {
		return s.conflictOr(ctx, lockNames, lockOld, verr)
	}
	// One round trip, one implicit transaction: lock the logs' rows
	// (creating missing ones) and compare their sizes with OldSize, which
	// raises SQLSTATE GO409 on a mismatch; then write. Any error rolls the
	// whole batch back.
	return appendError(s.pool.SendBatch(ctx, b).Close())
}

// write makes batch within tx, which holds the logs' rows locked already.
func (s *Store) write(ctx context.Context, tx pgx.Tx, batch []store.LogAppend) error {
	if len(batch) == 0 {
		return nil
	}
	b, _, _, verr, err := buildAppend(batch)
	if err != nil {
		return err
	}
	if verr != nil {
		return verr
	}
	return appendError(tx.SendBatch(ctx, b).Close())
}

// appendError maps the error of an append's statements.
func appendError(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == sqlStateConflict:
		return store.ErrConflict
	case errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == "commits":
		return store.ErrEpochTaken
	case isUnique(err):
		return store.ErrConflict
	}
	return fmt.Errorf("failed to append: %w", err)
}

// buildAppend validates batch and lays it out as the statements of one
// append: the lock and size check, then one INSERT per table. verr reports
// a malformed append, to be reported only if the sizes match (a stale
// OldSize explains wrong hash counts); lockNames and lockOld are the logs in
// lock order and their expected sizes.
func buildAppend(batch []store.LogAppend) (b *pgx.Batch, lockNames []string, lockOld []int64, verr, err error) {
	// Validate before touching the database, and lay the batch out as
	// columns so that each table gets one INSERT.
	names := make([]string, 0, len(batch))
	var (
		eLog, hLog, cLog, kLog []string
		eIdx, hIdx, cSize      []int64
		eData, hData, cNote    [][]byte
		kEpoch, kIdx           []int64
		newSizes               []int64
	)
	seen := map[string]bool{}
	for _, a := range batch {
		if seen[a.Log] {
			return nil, nil, nil, nil, fmt.Errorf("append: log %s twice in one batch", a.Log)
		}
		seen[a.Log] = true
		names = append(names, a.Log)
		newSize := a.OldSize + int64(len(a.Entries))
		h0, h1 := tlog.StoredHashCount(a.OldSize), tlog.StoredHashCount(newSize)
		if int64(len(a.Hashes)) != h1-h0 && verr == nil {
			verr = fmt.Errorf("append to %s: %d hashes, want %d", a.Log, len(a.Hashes), h1-h0)
		}
		for _, c := range a.Commits {
			if (c.Index < a.OldSize || c.Index >= newSize || c.Epoch < 0) && verr == nil {
				verr = fmt.Errorf("append to %s: commit index %d out of batch", a.Log, c.Index)
			}
			kLog, kEpoch, kIdx = append(kLog, a.Log), append(kEpoch, c.Epoch), append(kIdx, c.Index)
		}
		for i, e := range a.Entries {
			eLog, eIdx, eData = append(eLog, a.Log), append(eIdx, a.OldSize+int64(i)), append(eData, e)
		}
		for i := range a.Hashes {
			hLog, hIdx, hData = append(hLog, a.Log), append(hIdx, h0+int64(i)), append(hData, a.Hashes[i][:])
		}
		if a.Note != nil {
			cLog, cSize, cNote = append(cLog, a.Log), append(cSize, newSize), append(cNote, a.Note)
		}
		newSizes = append(newSizes, newSize)
	}
	// The logs' rows are locked in name order, so that two batches never
	// wait for each other in a cycle.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(batch[i].Log, batch[j].Log) })
	lockNames = make([]string, len(batch))
	lockOld = make([]int64, len(batch))
	for k, i := range order {
		lockNames[k], lockOld[k] = batch[i].Log, batch[i].OldSize
	}
	b = &pgx.Batch{}
	b.Queue(lockSQL, lockNames, lockOld)
	b.Queue(`INSERT INTO entries (log, idx, data) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])`, eLog, eIdx, eData)
	b.Queue(`INSERT INTO hashes (log, idx, hash) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])`, hLog, hIdx, hData)
	if len(cLog) > 0 {
		b.Queue(`INSERT INTO checkpoints (log, size, note) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])`, cLog, cSize, cNote)
	}
	if len(kLog) > 0 {
		b.Queue(`INSERT INTO commits (log, epoch, idx) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])`, kLog, kEpoch, kIdx)
	}
	b.Queue(`UPDATE logs SET size = u.size FROM unnest($1::text[], $2::bigint[]) AS u(log, size) WHERE logs.log = u.log`, names, newSizes)
	return b, lockNames, lockOld, verr, nil
}

// sqlStateConflict is raised by goodoffices_check_size.
const sqlStateConflict = "GO409"

// lockSQL locks the rows of logs $1 (sorted), creating missing ones, and
// fails with sqlStateConflict unless their sizes are $2.
const lockSQL = `WITH want AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w(log, old)),
locked AS (
	INSERT INTO logs (log, size) SELECT log, 0 FROM want ORDER BY log
	ON CONFLICT (log) DO UPDATE SET size = logs.size
	RETURNING log, size)
SELECT goodoffices_check_size(locked.size, want.old) FROM locked JOIN want USING (log)`

// conflictOr reports ErrConflict if some log's size is not its OldSize,
// and else err (a malformed append): a stale OldSize explains wrong counts.
func (s *Store) conflictOr(ctx context.Context, names []string, old []int64, err error) error {
	var sizes []int64
	rerr := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT size FROM unnest($1::text[]) WITH ORDINALITY AS w(log, n) LEFT JOIN logs USING (log) ORDER BY n`, names)
		if err != nil {
			return err
		}
		sizes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
			var n *int64
			err := r.Scan(&n)
			if n == nil {
				return 0, err
			}
			return *n, err
		})
		return err
	})
	if rerr != nil {
		return fmt.Errorf("failed to read log sizes: %w", rerr)
	}
	for i := range names {
		if sizes[i] != old[i] {
			return store.ErrConflict
		}
	}
	return err
}

// Checkpoint implements store.Store.
func (s *Store) Checkpoint(ctx context.Context, log string) (int64, []byte, error) {
	var size int64
	var note []byte
	err := s.pool.QueryRow(ctx, `SELECT size, note FROM checkpoints WHERE log = $1 ORDER BY size DESC LIMIT 1`, log).Scan(&size, &note)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, store.ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("failed to read checkpoint: %w", err)
	}
	return size, note, nil
}

// Size implements store.Store: the size kept in the log's row.
func (s *Store) Size(ctx context.Context, log string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT size FROM logs WHERE log = $1`, log).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("failed to read log size: %w", err)
	}
	return n, nil
}

// AddCheckpoints implements store.Store, in one statement: a checkpoint
// past its log's size makes the whole statement fail.
func (s *Store) AddCheckpoints(ctx context.Context, cps []store.SignedCheckpoint) error {
	if len(cps) == 0 {
		return nil
	}
	logs := make([]string, len(cps))
	sizes := make([]int64, len(cps))
	notes := make([][]byte, len(cps))
	for i, c := range cps {
		if c.Size <= 0 || len(c.Note) == 0 {
			return fmt.Errorf("checkpoint of %s: size %d, %d bytes: not storable", c.Log, c.Size, len(c.Note))
		}
		logs[i], sizes[i], notes[i] = c.Log, c.Size, c.Note
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var past int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM unnest($1::text[], $2::bigint[]) AS w(log, size)
			WHERE w.size > COALESCE((SELECT size FROM logs WHERE logs.log = w.log), 0)`, logs, sizes).Scan(&past); err != nil {
			return fmt.Errorf("failed to store checkpoints: %w", err)
		}
		if past > 0 {
			return fmt.Errorf("failed to store checkpoints: %d cover entries the logs do not hold", past)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO checkpoints (log, size, note) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])
			ON CONFLICT (log, size) DO NOTHING`, logs, sizes, notes); err != nil {
			return fmt.Errorf("failed to store checkpoints: %w", err)
		}
		return nil
	})
}

// Behind implements store.Store.
func (s *Store) Behind(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT l.log FROM logs l
		WHERE l.size > COALESCE((SELECT MAX(c.size) FROM checkpoints c WHERE c.log = l.log), 0)`)
	if err != nil {
		return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
	}
	return out, nil
}

// CheckpointAt implements store.Store.
func (s *Store) CheckpointAt(ctx context.Context, log string, size int64) ([]byte, error) {
	var note []byte
	err := s.pool.QueryRow(ctx, `SELECT note FROM checkpoints WHERE log = $1 AND size = $2`, log, size).Scan(&note)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read checkpoint: %w", err)
	}
	return note, nil
}

// ReadHashes implements store.Store.
func (s *Store) ReadHashes(ctx context.Context, log string, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, hash FROM hashes WHERE log = $1 AND idx = ANY($2)`, log, indexes)
	if err != nil {
		return nil, fmt.Errorf("failed to read hashes: %w", err)
	}
	defer rows.Close()
	found := make(map[int64][]byte, len(indexes))
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, fmt.Errorf("failed to read hashes: %w", err)
		}
		found[idx] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read hashes: %w", err)
	}
	for i, x := range indexes {
		h, ok := found[x]
		if !ok || len(h) != tlog.HashSize {
			return nil, store.ErrNotFound
		}
		copy(out[i][:], h)
	}
	return out, nil
}

// ReadEntries implements store.Store.
func (s *Store) ReadEntries(ctx context.Context, log string, start, end int64) ([][]byte, error) {
	if start < 0 || end < start {
		return nil, fmt.Errorf("invalid range [%d, %d)", start, end)
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, data FROM entries WHERE log = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`, log, start, end)
	if err != nil {
		return nil, fmt.Errorf("failed to read entries: %w", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, min(end-start, 1<<16))
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
	rows, err := s.pool.Query(ctx, `SELECT epoch, idx FROM commits WHERE log = $1 ORDER BY epoch`, log)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read commits: %w", err)
	}
	return out, nil
}

func members(m []string) []string {
	if m == nil {
		return []string{}
	}
	return m
}

// CreateChannel implements store.Store.
func (s *Store) CreateChannel(ctx context.Context, c store.Channel) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO channels (id, kind, level, members, created) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.Kind, c.Level, members(c.Members), c.Created.UnixNano())
	if isUnique(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("failed to create channel: %w", err)
	}
	return nil
}

// SetMembers implements store.Store.
func (s *Store) SetMembers(ctx context.Context, id string, m []string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE channels SET members = $1 WHERE id = $2`, members(m), id)
	if err != nil {
		return fmt.Errorf("failed to update channel: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func scanChannel(sc pgx.Row) (store.Channel, error) {
	var c store.Channel
	var created int64
	if err := sc.Scan(&c.ID, &c.Kind, &c.Level, &c.Members, &created); err != nil {
		return c, err
	}
	if len(c.Members) == 0 {
		c.Members = nil
	}
	c.Created = time.Unix(0, created).UTC()
	return c, nil
}

// Channel implements store.Store.
func (s *Store) Channel(ctx context.Context, id string) (store.Channel, error) {
	c, err := scanChannel(s.pool.QueryRow(ctx, `SELECT id, kind, level, members, created FROM channels WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, store.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("failed to read channel: %w", err)
	}
	return c, nil
}

// Channels implements store.Store.
func (s *Store) Channels(ctx context.Context) ([]store.Channel, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, level, members, created FROM channels ORDER BY id`)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read channels: %w", err)
	}
	return out, nil
}

// PutDevice implements store.Store.
func (s *Store) PutDevice(ctx context.Context, d store.Device) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO devices (id, delegation, certificate, registered) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET certificate = excluded.certificate, registered = excluded.registered
		WHERE devices.delegation = excluded.delegation`,
		d.ID, d.Delegation, d.Certificate, d.Registered.UnixNano())
	if err != nil {
		return fmt.Errorf("failed to store device: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrExists
	}
	return nil
}

func scanDevice(sc pgx.Row) (store.Device, error) {
	var d store.Device
	var reg int64
	err := sc.Scan(&d.ID, &d.Delegation, &d.Certificate, &reg)
	d.Registered = time.Unix(0, reg).UTC()
	return d, err
}

// Device implements store.Store.
func (s *Store) Device(ctx context.Context, id string) (store.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT id, delegation, certificate, registered FROM devices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("failed to read device: %w", err)
	}
	return d, nil
}

// Devices implements store.Store.
func (s *Store) Devices(ctx context.Context, delegation string) ([]store.Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, delegation, certificate, registered FROM devices WHERE $1 = '' OR delegation = $1 ORDER BY delegation, id`, delegation)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read devices: %w", err)
	}
	return out, nil
}

// AddKeyPackages implements store.Store.
func (s *Store) AddKeyPackages(ctx context.Context, device string, oneTime [][]byte, lastResort []byte) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(oneTime) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO keypackages (device, data, last_resort) SELECT $1, d, false FROM unnest($2::bytea[]) WITH ORDINALITY AS t(d, n) ORDER BY n`, device, oneTime); err != nil {
				return err
			}
		}
		if lastResort != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM keypackages WHERE device = $1 AND last_resort`, device); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO keypackages (device, data, last_resort) VALUES ($1, $2, true)`, device, lastResort); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to store key packages: %w", err)
	}
	return nil
}

// ClaimKeyPackage implements store.Store.
func (s *Store) ClaimKeyPackage(ctx context.Context, device string) ([]byte, bool, error) {
	for {
		var data []byte
		// SKIP LOCKED: concurrent claims take different packages instead
		// of queueing on the same row and then finding it gone.
		err := s.pool.QueryRow(ctx, `DELETE FROM keypackages WHERE id = (
			SELECT id FROM keypackages WHERE device = $1 AND NOT last_resort ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING data`, device).Scan(&data)
		if err == nil {
			return data, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, fmt.Errorf("failed to claim key package: %w", err)
		}
		// None free: either none left, or all being claimed right now
		// (then wait for those claims to end and look again).
		var left bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keypackages WHERE device = $1 AND NOT last_resort)`, device).Scan(&left); err != nil {
			return nil, false, fmt.Errorf("failed to claim key package: %w", err)
		}
		if left {
			select {
			case <-ctx.Done():
				return nil, false, ctx.Err()
			case <-time.After(time.Millisecond):
			}
			continue
		}
		err = s.pool.QueryRow(ctx, `SELECT data FROM keypackages WHERE device = $1 AND last_resort`, device).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, store.ErrNotFound
		}
		if err != nil {
			return nil, false, fmt.Errorf("failed to claim key package: %w", err)
		}
		return data, true, nil
	}
}

// CountKeyPackages implements store.Store.
func (s *Store) CountKeyPackages(ctx context.Context, device string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM keypackages WHERE device = $1 AND NOT last_resort`, device).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count key packages: %w", err)
	}
	return n, nil
}

// PutMail implements store.Store.
func (s *Store) PutMail(ctx context.Context, device string, data []byte) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `WITH n AS (
			INSERT INTO mailboxes (device, last_id) VALUES ($1, 1)
			ON CONFLICT (device) DO UPDATE SET last_id = mailboxes.last_id + 1 RETURNING last_id)
		INSERT INTO mail (device, id, data, created) SELECT $1, last_id, $2, $3 FROM n RETURNING id`,
		device, data, store.MailTime(time.Now()).UnixNano()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("failed to store mail: %w", err)
	}
	return id, nil
}

// Mail implements store.Store.
func (s *Store) Mail(ctx context.Context, device string, after int64, limit int) ([]store.Mail, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, data, created FROM mail WHERE device = $1 AND id > $2 ORDER BY id LIMIT $3`, device, after, limit)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read mail: %w", err)
	}
	return out, nil
}

// DeleteMail implements store.Store.
func (s *Store) DeleteMail(ctx context.Context, device string, through int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM mail WHERE device = $1 AND id <= $2`, device, through); err != nil {
		return fmt.Errorf("failed to delete mail: %w", err)
	}
	return nil
}

// MailUsage implements store.Store.
func (s *Store) MailUsage(ctx context.Context, device string) (int, int64, error) {
	var n int
	var b int64
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM mail WHERE device = $1`, device).Scan(&n, &b); err != nil {
		return 0, 0, fmt.Errorf("failed to count mail: %w", err)
	}
	return n, b, nil
}

// ExpireMail implements store.Store.
func (s *Store) ExpireMail(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM mail WHERE created < $1 AND left(device, 1) <> '~'`, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("failed to expire mail: %w", err)
	}
	return tag.RowsAffected(), nil
}

// UseNonce implements store.Store.
func (s *Store) UseNonce(ctx context.Context, nonce []byte, expires time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM nonces WHERE expires < $1`, time.Now().UnixNano())
	b.Queue(`INSERT INTO nonces (nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING`, nonce, expires.UnixNano())
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("failed to expire nonces: %w", err)
	}
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("failed to record nonce: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrReplay
	}
	return nil
}

// Heads returns the size of every log, the last mail ID of every mailbox
// and the members of every channel (comma-separated): what a venue node
// without NATS polls to notice other nodes' changes.
func (s *Store) Heads(ctx context.Context) (logs, mail map[string]int64, channels map[string]string, err error) {
	logs, mail, channels = map[string]int64{}, map[string]int64{}, map[string]string{}
	b := &pgx.Batch{}
	b.Queue(`SELECT log, size FROM logs`)
	b.Queue(`SELECT device, last_id FROM mailboxes`)
	b.Queue(`SELECT id, array_to_string(members, ',') FROM channels`)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	for _, m := range []map[string]int64{logs, mail} {
		rows, err := br.Query()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("failed to read heads: %w", err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, nil, nil, fmt.Errorf("failed to read heads: %w", err)
			}
			m[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, nil, fmt.Errorf("failed to read heads: %w", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to read heads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, m string
		if err := rows.Scan(&id, &m); err != nil {
			return nil, nil, nil, fmt.Errorf("failed to read heads: %w", err)
		}
		channels[id] = m
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("failed to read heads: %w", err)
	}
	return logs, mail, channels, nil
}
