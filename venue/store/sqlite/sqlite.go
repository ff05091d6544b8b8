// Package sqlite is the embedded default store of the venue: one SQLite
// database file, through modernc.org/sqlite (pure Go, no cgo), and a
// write-ahead journal of the store's own next to it.
//
// # Durability
//
// Nothing is acknowledged before it is durable: [Store.Append] and
// [Store.AddCheckpoints] return nil only once their record is on disk, in
// the journal, with fdatasync done.
//
// Log appends and checkpoints do not go to the tables first. Each call is
// checked in memory (the compare-and-swap on every log's size, the epochs
// already committed, the number of hashes; sizes are read from the tables
// once per log, then kept), encoded as one compact record (entries, stored
// hashes, commits, checkpoint notes) and written to the journal, an
// append-only file next to the database (venue.db-journal-N, owner-only).
// The records of concurrent calls go out together: the first caller that
// finds no write in progress writes every record waiting in one frame, with
// one write call and one fdatasync (group commit), and the others wait for
// it. A frame is its length, a CRC-32C of the length, the records and a
// CRC-32C of them; a journal file is a magic string and frames. A journal
// file is created, synced and its directory synced before any frame goes
// into it, so a frame needs fdatasync only. If a write or fdatasync fails,
// the journal takes nothing more (what reached the disk is unknown, and a
// failed fsync is not retried) and every later append fails.
//
// Once durable, a record is visible: the store keeps the part of each log
// that is in the journal but not in the tables (its entries, their hashes,
// commits and checkpoints, the "tail") in memory, and every read (Size,
// ReadEntries, ReadHashes, Commits, Checkpoint, CheckpointAt, Behind)
// answers from the tables and the tail together, as if the journal were
// applied. Readers never see a record that is not durable yet.
//
// An applier goroutine brings the tables up to date every 250 ms, or sooner
// when 4 MiB wait: it moves new frames to a fresh journal file, writes every
// durable record to the tables in one SQLite transaction (what the journal
// holds, decoded from its bytes, exactly as a replay would), and once
// SQLite's commit is durable (WAL mode, synchronous=FULL) drops the tail
// from memory and deletes the old journal files. Appends wait when 64 MiB
// are not applied yet. So the durable path of an append is one sequential
// write and one fdatasync of a few hundred bytes per entry, while the
// B-tree work and SQLite's page writes happen in larger, less frequent
// transactions, off that path.
//
// [Open] replays what a crash left: the journal files in order, each frame
// checked against its checksums. A last frame that is cut short or fails
// its checksum with nothing valid after it is a write the crash interrupted
// (its records were never acknowledged, since a caller returns only after
// fdatasync): it is dropped, never applied. A damaged frame followed by a
// valid one cannot be explained by a crash (a frame is written only after
// the one before it is durable) and Open refuses the journal, as it refuses
// a record that does not fit the tables. Replay is idempotent: records the
// tables already hold (applied before the crash, journal file not deleted
// yet) are skipped. Once the tables hold everything, the files are deleted.
// [Store.Close] applies everything and deletes the journal.
//
// One process at a time may open the database (goodoffices venue holds
// venue.lock in its data directory); in one process, Opens of the same
// path share one Store. A copy of venue.db alone may miss the last
// appends: back up with the venue stopped, or copy the journal files with
// it.
//
// # Connections
//
// Writes to the tables go through one connection (SQLite has one writer at
// a time; a pool would only contend on the lock): the applier's rounds, and
// the rest of the store (channels, devices, mail, key packages, nonces),
// which writes to its tables directly, one transaction per call. Reads use
// a separate pool, which WAL lets run concurrently with the writer.
//
// # Layout
//
// A log's entries are rows of table chunks (schema 3): a chunk is a run of
// consecutive entries of one log that one applier round wrote, split so
// that it never crosses a multiple of 256 entries (the span of a tlog tile
// and of an entry bundle). It carries the entries, and apart from them the
// x/mod tlog stored hashes their appends completed (one to 64 per entry,
// two on average; the hash at level L, index K belongs to entry
// ((K+1)<<L)-1), those of its last entry in a column of their own, each
// column with a CRC-32C bound to the chunk's log and place (chunk.go). So
// a round writes one row per log and span, not one per entry: the B-tree
// work of a round grows with the number of logs it touched, not of
// entries. A bundle or a level-0 tile reads the chunks of one span; a hash
// of an upper tile, the last column of the chunk of its entry (one index
// seek, a few hundred bytes). A log's size is the end of its last chunk; checkpoints are kept
// for every size the venue signed, written with the entries or after them
// (store.Store.AddCheckpoints). A database of schema 2 (one row per entry
// in table entries) is converted at Open, in one transaction, into chunks
// of whole spans (migrate.go).
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"

	"github.com/good-offices/goodoffices/venue/store"
)

// Store is a store.Store in one SQLite file and its journal.
type Store struct {
	w, r *sql.DB
	// ins holds prepared multi-row INSERTs on the writer connection, by
	// table and power-of-two row count, so that rounds do not re-parse SQL.
	ins  map[string]*sql.Stmt
	path string
	cfg  options

	// seqMu orders the checks of appends and checkpoints and the staging
	// of their records.
	seqMu sync.Mutex
	j     journal

	mu         sync.Mutex // guards the fields below
	logs       map[string]*logMem
	queue      []*pending // durable records not applied yet, in journal order
	queueBytes int
	room       sync.Cond // on mu: the queue shrank, or the applier failed
	applyErr   error     // the last round's failure

	kick        chan struct{}
	stop        chan struct{}
	applierDone chan struct{}
	retired     []string // journal files applied or being applied (applier only)
	refs        int      // Opens not closed yet (guarded by opened)
	closeOnce   sync.Once
	closeErr    error
}

var _ store.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (log TEXT NOT NULL, first INTEGER NOT NULL, n INTEGER NOT NULL, last BLOB NOT NULL, hashes BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (log, first));
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
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '3');
`

// schemaVersion is the version of schema; an older database is migrated at
// Open (migrate.go).
const schemaVersion = "3"

// Open opens (creating if needed) the database at path, replays its
// journal and starts the applier. Opens of the same path in one process
// share one Store (the journal and the sizes in memory must be one), which
// closes when the last of them is closed.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{applyEvery: defaultApplyEvery}
	for _, f := range opts {
		f(&o)
	}
	return open(ctx, path, o)
}

// An Option changes how Open opens a store.
type Option func(*options)

// WithLogger makes Open log what it does once (a schema migration) to l
// rather than to slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// opened holds the stores open in this process, by absolute path.
var opened struct {
	sync.Mutex
	m map[string]*Store
}

func open(ctx context.Context, path string, cfg options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	opened.Lock()
	defer opened.Unlock()
	if s := opened.m[abs]; s != nil {
		s.refs++
		return s, nil
	}
	s, err := openNew(ctx, abs, cfg)
	if err != nil {
		return nil, err
	}
	if opened.m == nil {
		opened.m = map[string]*Store{}
	}
	s.refs = 1
	opened.m[abs] = s
	return s, nil
}

func openNew(ctx context.Context, path string, cfg options) (*Store, error) {
	// Created owner-only before SQLite opens it: SQLite gives its -wal and
	// -shm files the mode of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create database: %w", err)
	}
	fi, err := f.Stat()
	f.Close()
	if err == nil && fi.Size() == 0 {
		if err := newDatabase(ctx, path); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// 32 MiB of page cache for the writer (the default is 2 MiB): the
	// upper B-tree pages of chunks and checkpoints stay in memory as the
	// database grows.
	q.Add("_pragma", "cache_size(-32768)")
	// The applier's multi-row inserts keep a statement journal (to undo
	// one statement); in memory, not in a temporary file: it saves a
	// write system call per page.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	if err := createSchema(ctx, w, path, cfg.logger); err != nil {
		w.Close()
		return nil, err
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
	s := &Store{w: w, r: r, ins: map[string]*sql.Stmt{}, path: path, cfg: cfg,
		logs: map[string]*logMem{}, kick: make(chan struct{}, 1), stop: make(chan struct{}), applierDone: make(chan struct{})}
	s.room.L = &s.mu
	s.j.cond.L = &s.j.mu
	if err := s.prepare(ctx); err != nil {
		s.closeDB()
		return nil, err
	}
	n, err := s.replay(ctx)
	if err == nil {
		s.j.n, s.j.off = n, int64(len(journalMagic))
		s.j.f, err = s.createJournal(n)
	}
	if err != nil {
		s.closeDB()
		return nil, err
	}
	if cfg.noApply {
		close(s.applierDone)
	} else {
		go s.runApplier()
	}
	return s, nil
}

// pageSize is the page size of a new database (SQLite's default is 4 KiB;
// an existing database keeps its own). SQLite writes its WAL one page per
// write call, and one more for the frame's header: with the entries in
// chunks, most of what an applier round writes is whole pages of chunk
// data, and those system calls were most of its CPU time. 16 KiB pages
// took an applier round from about 6 to 4 µs per entry with 256 logs of 10
// entries, and from 5 to 2.7 with one log of 2,560 (BenchmarkApplyRound);
// 64 KiB saved little more, and would make every small transaction (a
// nonce, a mail) write 64 KiB frames.
const pageSize = 16384

// newDatabase sets the page size of the new, empty database at path; it
// must be set before the database is in WAL mode.
func newDatabase(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=page_size("+strconv.Itoa(pageSize)+")")
	if err != nil {
		return fmt.Errorf("failed to create database: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
		return fmt.Errorf("failed to create database: %w", err)
	}
	return db.Close()
}

// Close applies the journal to the tables, deletes it and closes the
// database. Appends must have returned.
func (s *Store) Close() error {
	if !s.release() {
		return nil
	}
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.applierDone
		err := s.applyRound(true)
		s.closeErr = errors.Join(err, s.closeDB())
	})
	return s.closeErr
}

// crash stops the store as a kill would: the journal is left as it is, not
// applied (tests).
func (s *Store) crash() {
	s.release()
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.applierDone
		j := &s.j
		j.mu.Lock()
		for j.flushing {
			j.cond.Wait()
		}
		j.err = errClosed
		j.f.Close()
		j.mu.Unlock()
		s.closeDB()
	})
}

// release drops one reference and reports whether it was the last.
func (s *Store) release() bool {
	opened.Lock()
	defer opened.Unlock()
	if s.refs--; s.refs > 0 {
		return false
	}
	if opened.m[s.path] == s {
		delete(opened.m, s.path)
	}
	return true
}

func (s *Store) closeDB() error {
	for _, st := range s.ins {
		st.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// The multi-row INSERTs prepared at Open.
const (
	insertChunks      = `INSERT INTO chunks (log, first, n, last, hashes, data) VALUES `
	insertCommits     = `INSERT INTO commits (log, epoch, idx) VALUES `
	insertCheckpoints = `INSERT OR IGNORE INTO checkpoints (log, size, note) VALUES ` // a checkpoint stored first is kept
)

// insertPrefixes are the multi-row INSERTs prepared at Open, with their
// number of columns.
var insertPrefixes = map[string]int{
	insertChunks:      6,
	insertCommits:     3,
	insertCheckpoints: 3,
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
	return nil
}

// sizeOf is the SQL expression of the size of log l in the tables: one
// index seek to its last chunk.
func sizeOf(l string) string {
	return `(SELECT c.first + c.n FROM chunks c WHERE c.log = ` + l + ` ORDER BY c.first DESC LIMIT 1)`
}

// sizesSQL is the query that reads the sizes of n logs at once.
func sizesSQL(n int) string {
	return `WITH q(log) AS (VALUES ` + strings.TrimSuffix(strings.Repeat("(?),", n), ",") +
		`) SELECT q.log, ` + sizeOf("q.log") + ` FROM q`
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

// Append implements store.Store. It checks the batch against the sizes and
// epochs in memory, writes it to the journal as one record and returns once
// the record is durable (see Durability).
func (s *Store) Append(ctx context.Context, batch []store.LogAppend) error {
	if len(batch) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(batch))
	logs := make([]string, 0, len(batch))
	rec := record{Kind: recAppend, Apps: make([]logRec, len(batch))}
	size := 16
	for i, a := range batch {
		if seen[a.Log] {
			return fmt.Errorf("append: log %s twice in one batch", a.Log)
		}
		seen[a.Log] = true
		logs = append(logs, a.Log)
		newSize := a.OldSize + int64(len(a.Entries))
		if a.OldSize < 0 || newSize > maxLogSize {
			return fmt.Errorf("append to %s: size %d out of range", a.Log, newSize)
		}
		epochs := map[int64]bool{}
		for _, c := range a.Commits {
			if c.Index < a.OldSize || c.Index >= newSize || c.Epoch < 0 {
				return fmt.Errorf("append to %s: commit index %d out of batch", a.Log, c.Index)
			}
			if epochs[c.Epoch] {
				return store.ErrEpochTaken
			}
			epochs[c.Epoch] = true
		}
		hs := make([]byte, 0, len(a.Hashes)*tlog.HashSize)
		for _, h := range a.Hashes {
			hs = append(hs, h[:]...)
		}
		rec.Apps[i] = logRec{Log: a.Log, OldSize: a.OldSize, Entries: a.Entries, Hashes: hs, Note: a.Note, Commits: a.Commits}
		size += len(a.Log) + len(hs) + len(a.Note) + 32 + 20*len(a.Commits)
		for _, e := range a.Entries {
			size += len(e) + 4
		}
	}
	if err := s.waitRoom(); err != nil {
		return err
	}
	s.seqMu.Lock()
	t, err := s.stageAppend(ctx, batch, logs, &rec, size)
	s.seqMu.Unlock()
	if err != nil {
		return err
	}
	return s.waitDurable(t)
}

// stageAppend checks batch against the logs' sizes and epochs and stages
// its record. Callers hold seqMu.
func (s *Store) stageAppend(ctx context.Context, batch []store.LogAppend, logs []string, rec *record, size int) (uint64, error) {
	if err := s.loadLogs(ctx, logs); err != nil {
		return 0, err
	}
	// Compare-and-swap on every log's size; epochs taken in memory.
	type epoch struct {
		log   string
		epoch int64
	}
	var check []epoch
	s.mu.Lock()
	for _, a := range batch {
		m := s.logs[a.Log]
		if m.next != a.OldSize {
			s.mu.Unlock()
			return 0, store.ErrConflict
		}
		for _, c := range a.Commits {
			if m.epochs[c.Epoch] {
				s.mu.Unlock()
				return 0, store.ErrEpochTaken
			}
			check = append(check, epoch{a.Log, c.Epoch})
		}
	}
	s.mu.Unlock()
	for _, a := range batch {
		if hc := hashCount(a.OldSize, int64(len(a.Entries))); int64(len(a.Hashes)) != hc {
			return 0, fmt.Errorf("append to %s: %d hashes, want %d", a.Log, len(a.Hashes), hc)
		}
	}
	// Epochs taken in the tables. A commit leaves memory only once the
	// tables hold it, so memory first, then the tables, misses none.
	for _, c := range check {
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT 1 FROM commits WHERE log = ? AND epoch = ?`, c.log, c.epoch).Scan(&one)
		if err == nil {
			return 0, store.ErrEpochTaken
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("failed to read commits: %w", err)
		}
	}
	p, err := newPending(rec, size)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	for _, a := range batch {
		m := s.logs[a.Log]
		m.next = a.OldSize + int64(len(a.Entries))
		for _, c := range a.Commits {
			if m.epochs == nil {
				m.epochs = map[int64]bool{}
			}
			m.epochs[c.Epoch] = true
		}
	}
	s.mu.Unlock()
	return s.enqueue(p)
}

// newPending encodes rec and decodes it back, so that what is published
// and applied is what the journal holds.
func newPending(rec *record, size int) (*pending, error) {
	raw := appendRecord(make([]byte, 0, size), rec)
	dec, rest, err := parseRecord(raw)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("sqlite: internal error: a journal record does not parse: %v", err)
	}
	return &pending{raw: raw, rec: dec}, nil
}

// Checkpoint implements store.Store.
func (s *Store) Checkpoint(ctx context.Context, log string) (int64, []byte, error) {
	msize, mnote := int64(-1), []byte(nil)
	s.mu.Lock()
	if m := s.logs[log]; m != nil {
		for _, c := range m.cps {
			if c.Size > msize {
				msize, mnote = c.Size, c.Note
			}
		}
	}
	s.mu.Unlock()
	var size int64
	var note []byte
	err := s.r.QueryRowContext(ctx, `SELECT size, note FROM checkpoints WHERE log = ? ORDER BY size DESC LIMIT 1`, log).Scan(&size, &note)
	if errors.Is(err, sql.ErrNoRows) {
		size = -1
	} else if err != nil {
		return 0, nil, fmt.Errorf("failed to read checkpoint: %w", err)
	}
	switch {
	case msize > size:
		return msize, mnote, nil
	case size >= 0:
		return size, note, nil
	}
	return 0, nil, store.ErrNotFound
}

// Size implements store.Store.
func (s *Store) Size(ctx context.Context, log string) (int64, error) {
	s.mu.Lock()
	m := s.logs[log]
	var size int64
	if m != nil {
		size = m.size
	}
	s.mu.Unlock()
	if m != nil {
		return size, nil
	}
	var n sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT `+sizeOf("?"), log).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to read log size: %w", err)
	}
	return n.Int64, nil
}

// AddCheckpoints implements store.Store. Checkpoints go through the journal
// as appends do; each must be within its log's durable size. One published
// before by PublishCheckpoints, and not durable yet, is written to the
// journal now, with the note it was published with.
func (s *Store) AddCheckpoints(ctx context.Context, cps []store.SignedCheckpoint) error {
	logs, size, err := checkpointLogs(cps)
	if err != nil || len(cps) == 0 {
		return err
	}
	// No waitRoom here: checkpoints never wait for the applier. They are
	// one small record per log per integration round, bounded by the
	// appends that wait for room themselves, and a checkpoint held up
	// behind a full journal (one applier round, 136–268 ms at 145,000
	// entries/s) would break the venue's promise to integrate within
	// CheckpointWithin.
	s.seqMu.Lock()
	p, err := s.checkpointRecord(ctx, cps, logs, size, true)
	var t uint64
	if err == nil && p != nil {
		t, err = s.enqueue(p)
	}
	s.seqMu.Unlock()
	if err != nil || t == 0 {
		return err
	}
	return s.waitDurable(t)
}

// PublishCheckpoints implements store.LazyCheckpointer: the checkpoints are
// served at once and written to the tables by the next applier round
// (within the applier's interval), without a journal write and fdatasync
// of their own. A crash before that round loses them; Behind then names
// their logs, for the venue to sign them again from the durable entries.
// AddCheckpoints makes one durable at once.
func (s *Store) PublishCheckpoints(ctx context.Context, cps []store.SignedCheckpoint) error {
	logs, size, err := checkpointLogs(cps)
	if err != nil || len(cps) == 0 {
		return err
	}
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	p, err := s.checkpointRecord(ctx, cps, logs, size, false)
	if err != nil || p == nil {
		return err
	}
	s.publish([]*pending{p}, true)
	return nil
}

// checkpointLogs checks that cps can be stored and returns their logs and
// an estimate of their record's size.
func checkpointLogs(cps []store.SignedCheckpoint) (logs []string, size int, err error) {
	logs = make([]string, 0, len(cps))
	size = 16
	for _, c := range cps {
		if c.Size <= 0 || c.Size > maxLogSize || len(c.Note) == 0 {
			return nil, 0, fmt.Errorf("checkpoint of %s: size %d, %d bytes: not storable", c.Log, c.Size, len(c.Note))
		}
		logs = append(logs, c.Log)
		size += len(c.Log) + len(c.Note) + 24
	}
	return logs, size, nil
}

// checkpointRecord returns the record of cps, leaving out those already in
// memory (kept as they are) unless durable is set and they are in memory
// only (PublishCheckpoints): those it takes with the note they were
// published with. It returns nil if there is nothing to write. Callers hold
// seqMu.
func (s *Store) checkpointRecord(ctx context.Context, cps []store.SignedCheckpoint, logs []string, size int, durable bool) (*pending, error) {
	if err := s.loadLogs(ctx, logs); err != nil {
		return nil, err
	}
	rec := record{Kind: recCheckpoints}
	s.mu.Lock()
	for _, c := range cps {
		m := s.logs[c.Log]
		if c.Size > m.size {
			s.mu.Unlock()
			return nil, fmt.Errorf("checkpoint of %s at size %d: the log holds %d entries", c.Log, c.Size, m.size)
		}
		if slices.ContainsFunc(rec.Cps, func(o store.SignedCheckpoint) bool { return o.Log == c.Log && o.Size == c.Size }) {
			continue
		}
		if note := m.checkpoint(c.Size); note != nil {
			if !durable || !m.lazy[c.Size] {
				continue
			}
			c.Note = note
		}
		rec.Cps = append(rec.Cps, c)
	}
	s.mu.Unlock()
	if len(rec.Cps) == 0 {
		return nil, nil
	}
	return newPending(&rec, size)
}

// A tailView is a reader's copy of a log's unapplied tail.
type tailView struct {
	size    int64
	first   int64
	entries [][]byte
	rows    [][]byte
	commits []store.EpochCommit
	cps     []store.SignedCheckpoint
}

// tail returns a copy of log's tail, and false if the store has no memory
// of the log (the tables hold all of it).
func (s *Store) tail(log string) (tailView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.logs[log]
	if m == nil {
		return tailView{}, false
	}
	return tailView{m.size, m.first, m.entries, m.rows, m.commits, m.cps}, true
}

// Behind implements store.Store. It walks the distinct logs of the chunks
// index by seeks (a recursive skip-scan), not by scanning every entry, and
// compares each log's size with its latest checkpoint: a few index lookups
// per log however long the logs are. Logs with a tail in memory are
// compared with it.
func (s *Store) Behind(ctx context.Context) ([]string, error) {
	type state struct{ size, cp int64 }
	tails := map[string]state{}
	s.mu.Lock()
	for l, m := range s.logs {
		if len(m.entries) == 0 && len(m.cps) == 0 {
			continue
		}
		st := state{m.size, 0}
		for _, c := range m.cps {
			st.cp = max(st.cp, c.Size)
		}
		tails[l] = st
	}
	s.mu.Unlock()
	rows, err := s.r.QueryContext(ctx, `
		WITH RECURSIVE l(log) AS (
			SELECT (SELECT log FROM chunks ORDER BY log LIMIT 1)
			UNION ALL
			SELECT (SELECT log FROM chunks WHERE log > l.log ORDER BY log LIMIT 1) FROM l WHERE l.log IS NOT NULL
		)
		SELECT log FROM l WHERE log IS NOT NULL
			AND `+sizeOf("l.log")+` >
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
		if _, ok := tails[l]; !ok {
			out = append(out, l)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
	}
	rows.Close()
	for l, st := range tails {
		var cp sql.NullInt64
		if err := s.r.QueryRowContext(ctx, `SELECT MAX(size) FROM checkpoints WHERE log = ?`, l).Scan(&cp); err != nil {
			return nil, fmt.Errorf("failed to find logs to integrate: %w", err)
		}
		if st.size > max(st.cp, cp.Int64) {
			out = append(out, l)
		}
	}
	return out, nil
}

// CheckpointAt implements store.Store. The tables first: a checkpoint
// stored first is kept.
func (s *Store) CheckpointAt(ctx context.Context, log string, size int64) ([]byte, error) {
	var mnote []byte
	s.mu.Lock()
	if m := s.logs[log]; m != nil {
		mnote = m.checkpoint(size)
	}
	s.mu.Unlock()
	var note []byte
	err := s.r.QueryRowContext(ctx, `SELECT note FROM checkpoints WHERE log = ? AND size = ?`, log, size).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		if mnote != nil {
			return mnote, nil
		}
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

// ReadHashes implements store.Store. Hashes live with the entries whose
// append created them, in the chunks of the tables or in the tail.
func (s *Store) ReadHashes(ctx context.Context, log string, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	t, inMem := s.tail(log)
	homes := make([]int64, len(indexes))
	offs := make([]int, len(indexes))
	found := make(map[int64][]byte, len(indexes))
	var fromDB []int64
	lo, hi := int64(-1), int64(-1)
	for j, x := range indexes {
		e, off, ok := hashHome(x)
		if !ok || (inMem && e >= t.size) {
			return nil, store.ErrNotFound
		}
		homes[j], offs[j] = e, off
		if inMem && e >= t.first {
			found[e] = t.rows[e-t.first]
			continue
		}
		if _, ok := found[e]; !ok {
			found[e] = nil // wanted
			fromDB = append(fromDB, e)
		}
		if lo < 0 || e < lo {
			lo = e
		}
		hi = max(hi, e)
	}
	slices.Sort(fromDB)
	if len(fromDB) == 0 {
		// All in the tail.
	} else if hi-lo > 4*int64(len(fromDB))+2*chunkSpan {
		// Sparse (upper-level tiles, a frontier): the chunk of each
		// entry, by one index seek each, and its last column only (the
		// hashes of levels 8 and up belong to the last entry of a
		// chunk); the hashes column of the chunks that need it after.
		var more []any
		for start := 0; start < len(fromDB); start += 256 {
			part := fromDB[start:min(start+256, len(fromDB))]
			args := make([]any, 0, len(part)+2)
			for _, x := range part {
				args = append(args, x)
			}
			args = append(args, log, log)
			q := `WITH q(e) AS (VALUES ` + strings.TrimSuffix(strings.Repeat("(?),", len(part)), ",") + `)
				SELECT first, n, last, NULL FROM chunks WHERE log = ? AND first IN
					(SELECT (SELECT c.first FROM chunks c WHERE c.log = ? AND c.first <= q.e ORDER BY c.first DESC LIMIT 1) FROM q)`
			m, err := scanHashes(ctx, s.r, log, fromDB, found, q, args...)
			if err != nil {
				return nil, err
			}
			for _, f := range m {
				more = append(more, f)
			}
		}
		for start := 0; start < len(more); start += 256 {
			part := more[start:min(start+256, len(more))]
			q := `SELECT first, n, last, hashes FROM chunks WHERE log = ? AND first IN (` + strings.TrimSuffix(strings.Repeat("?,", len(part)), ",") + `)`
			if _, err := scanHashes(ctx, s.r, log, fromDB, found, q, append([]any{log}, part...)...); err != nil {
				return nil, err
			}
		}
	} else if _, err := scanHashes(ctx, s.r, log, fromDB, found, `SELECT first, n, last, hashes FROM chunks WHERE log = ? AND first >= ? AND first <= ?`, log, lo/chunkSpan*chunkSpan, hi); err != nil {
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

// scanHashes reads the chunks q selects (first, n, last, hashes) and sets
// the stored hashes of the entries of found (nil: wanted) that they hold;
// want holds the wanted entries, sorted. A query may select NULL for
// hashes: scanHashes returns the chunks whose hashes column it needs.
func scanHashes(ctx context.Context, db *sql.DB, log string, want []int64, found map[int64][]byte, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to read hashes: %w", err)
	}
	defer rows.Close()
	var more []int64
	for rows.Next() {
		var first, n int64
		var lcol, hcol sql.RawBytes
		if err := rows.Scan(&first, &n, &lcol, &hcol); err != nil {
			return nil, fmt.Errorf("failed to read hashes: %w", err)
		}
		last, err := chunkHashes('l', log, first, n, lcol)
		if err != nil {
			return nil, fmt.Errorf("failed to read hashes: %w", err)
		}
		var rest []byte
		if hcol != nil {
			if rest, err = chunkHashes('h', log, first, n, hcol); err != nil {
				return nil, fmt.Errorf("failed to read hashes: %w", err)
			}
		}
		i, _ := slices.BinarySearch(want, first)
		for ; i < len(want) && want[i] < first+n; i++ {
			e := want[i]
			switch {
			case found[e] != nil:
			case e == first+n-1:
				found[e] = slices.Clone(last)
			case hcol == nil:
				if len(more) == 0 || more[len(more)-1] != first {
					more = append(more, first)
				}
			default:
				found[e] = slices.Clone(entryHashes(rest, first, e))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read hashes: %w", err)
	}
	return more, nil
}

// ReadEntries implements store.Store: the entries before the tail from
// the chunks of the tables, the others from the tail.
func (s *Store) ReadEntries(ctx context.Context, log string, start, end int64) ([][]byte, error) {
	if start < 0 || end < start {
		return nil, fmt.Errorf("invalid range [%d, %d)", start, end)
	}
	t, inMem := s.tail(log)
	dbEnd := end
	if inMem {
		if end > t.size {
			return nil, store.ErrNotFound
		}
		dbEnd = min(end, t.first)
	}
	out := make([][]byte, 0, end-start)
	if start < dbEnd {
		// A chunk that holds start begins in start's span.
		rows, err := s.r.QueryContext(ctx, `SELECT first, n, data FROM chunks WHERE log = ? AND first >= ? AND first < ? ORDER BY first`, log, start/chunkSpan*chunkSpan, dbEnd)
		if err != nil {
			return nil, fmt.Errorf("failed to read entries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var first, n int64
			var data []byte
			if err := rows.Scan(&first, &n, &data); err != nil {
				return nil, fmt.Errorf("failed to read entries: %w", err)
			}
			next := start + int64(len(out))
			if first+n <= next {
				continue // before start
			}
			if first > next {
				return nil, store.ErrNotFound
			}
			es, err := parseChunkData(log, first, n, data)
			if err != nil {
				return nil, fmt.Errorf("failed to read entries: %w", err)
			}
			out = append(out, es[next-first:min(n, dbEnd-first)]...)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("failed to read entries: %w", err)
		}
		if int64(len(out)) != dbEnd-start {
			return nil, store.ErrNotFound
		}
	}
	for i := max(start, dbEnd); i < end; i++ {
		out = append(out, t.entries[i-t.first])
	}
	return out, nil
}

// Commits implements store.Store: those of the tail, then those of the
// tables (a commit leaves the tail only once the tables hold it).
func (s *Store) Commits(ctx context.Context, log string) ([]store.EpochCommit, error) {
	t, _ := s.tail(log)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read commits: %w", err)
	}
	if len(t.commits) > 0 {
		for _, c := range t.commits {
			if !slices.ContainsFunc(out, func(o store.EpochCommit) bool { return o.Epoch == c.Epoch }) {
				out = append(out, c)
			}
		}
		slices.SortFunc(out, func(a, b store.EpochCommit) int { return cmp.Compare(a.Epoch, b.Epoch) })
	}
	return out, nil
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

// inTx runs f in a transaction on the writer connection and commits it,
// or rolls it back if f fails.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit: %w", err)
	}
	return nil
}

// AddKeyPackages implements store.Store.
func (s *Store) AddKeyPackages(ctx context.Context, device string, oneTime [][]byte, lastResort []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
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
		return nil
	})
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
