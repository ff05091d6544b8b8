package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

const (
	// defaultApplyEvery is how often the applier moves the journal into
	// the tables, at the latest. Readers see the unapplied tail from
	// memory, so the interval costs memory (bounded by applyAt) and replay
	// time, not freshness; a longer one lets a round's inserts share
	// B-tree pages: each round writes every page it dirtied to SQLite's
	// WAL, and with appends spread over many logs a short round dirties
	// about one index page per entry (BENCHMARKS.md, 25 ms against 250 ms).
	defaultApplyEvery = 250 * time.Millisecond
	// applyAt is the journal size (bytes not applied) that starts a round
	// at once.
	applyAt = 4 << 20
	// maxUnapplied is the journal size at which appends wait for the
	// applier (back-pressure: the unapplied tail is also kept in memory).
	maxUnapplied = 64 << 20
	// journalReserve is the space reserved for a journal file when it is
	// created (preallocate): an applier round usually writes less (it
	// starts at applyAt); past it, the file grows with each write.
	journalReserve = applyAt + 1<<20
)

// errClosed is returned by appends after Close.
var errClosed = errors.New("store closed")

// options are the store's internal settings (tests change them).
type options struct {
	applyEvery time.Duration
	noApply    bool         // no applier goroutine: records stay in the journal until Close
	logger     *slog.Logger // for what Open does once (a migration); nil: slog.Default()
}

// logMem is what the store keeps in memory of a log it appended to since
// Open: its sizes, and the tail that is durable in the journal but not
// applied to the tables yet (entries from index first, their stored
// hashes, commits and checkpoints). Readers see size and the tail.
type logMem struct {
	size int64 // durable size: what readers see
	next int64 // size after the records staged for the journal: what appends are checked against
	// epochs holds the epochs committed in the tail or in staged records.
	epochs map[int64]bool

	first   int64    // index of entries[0]; size == first+len(entries)
	entries [][]byte // never modified in place, so readers may keep a copy of the slice
	rows    [][]byte // each entry's stored hashes, as in a chunk of the tables
	commits []store.EpochCommit
	cps     []store.SignedCheckpoint // unique by size; never modified in place either
	// lazy holds the sizes of the checkpoints in cps that are in memory
	// only (PublishCheckpoints): in no journal file, not applied yet.
	lazy map[int64]bool
}

func (m *logMem) checkpoint(size int64) []byte {
	for _, c := range m.cps {
		if c.Size == size {
			return c.Note
		}
	}
	return nil
}

// A pending record is one record of the journal, from the call that staged
// it until it is applied. rec is decoded from raw (its slices alias raw):
// the tables receive exactly what the journal holds.
type pending struct {
	raw []byte
	rec record
}

// journal is the append-only file records are written to, with the state
// of the group commit.
type journal struct {
	mu       sync.Mutex
	cond     sync.Cond // on mu: a flush ended
	f        *os.File
	off      int64 // where the next frame goes in f
	n        int   // number of f (file path-journal-n)
	used     bool  // f holds frames
	staged   []*pending
	queued   uint64 // tickets handed out
	written  uint64 // tickets durable
	flushing bool   // a leader is writing
	err      error  // a failed write: the journal takes nothing more
	frame    []byte // the leader's buffer
}

func (s *Store) journalPath(n int) string { return s.path + "-journal-" + strconv.Itoa(n) }

// createJournal creates journal file n, writes the magic, reserves space
// for the frames (which then read as zeros until written: replay takes
// zeros after the last frame for the end of the journal), and makes the
// file and its directory entry durable, so that frames written to it later
// need only fdatasync. Frames go at offset len(journalMagic) onwards.
func (s *Store) createJournal(n int) (*os.File, error) {
	p := s.journalPath(n)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create journal: %w", err)
	}
	preallocate(f, journalReserve)
	if _, err := f.WriteString(journalMagic); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("failed to create journal: %w", err)
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// enqueue stages p for the next frame and returns its ticket. Callers hold
// seqMu, so that records reach the journal in the order they were checked.
func (s *Store) enqueue(p *pending) (uint64, error) {
	j := &s.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	j.staged = append(j.staged, p)
	j.queued++
	return j.queued, nil
}

// waitDurable returns once the record of ticket t is durable, or the error
// that kept it from being written. The first waiter that finds no write in
// progress writes every staged record in one frame (one write, one
// fdatasync) and publishes them; the others wait for it (group commit).
func (s *Store) waitDurable(t uint64) error {
	j := &s.j
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.written < t {
		if j.err != nil {
			return j.err
		}
		if j.flushing {
			j.cond.Wait()
			continue
		}
		ps, last, f, off := j.staged, j.queued, j.f, j.off
		j.staged = nil
		j.flushing = true
		j.mu.Unlock()
		raws := make([][]byte, len(ps))
		for i, p := range ps {
			raws[i] = p.raw
		}
		j.frame = appendFrame(j.frame[:0], raws...)
		_, err := f.WriteAt(j.frame, off)
		if err == nil {
			err = datasync(f)
		}
		if err == nil {
			s.publish(ps, false)
		}
		if cap(j.frame) > 1<<20 {
			j.frame = nil
		}
		j.mu.Lock()
		j.flushing = false
		if err != nil {
			// What reached the disk is unknown (fsync errors are not
			// retried): take nothing more.
			j.err = fmt.Errorf("failed to write the journal: %w", err)
		} else {
			j.written, j.used = last, true
			j.off += int64(len(j.frame))
		}
		j.cond.Broadcast()
	}
	return nil
}

// publish makes durable records visible to readers and queues them for
// the applier; with lazy, records of checkpoints that are not durable yet
// (PublishCheckpoints), which the applier makes durable in the tables.
func (s *Store) publish(ps []*pending, lazy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		for _, a := range p.rec.Apps {
			m := s.logs[a.Log]
			off := 0
			for i := range a.Entries {
				k := int(hashCount(a.OldSize+int64(i), 1)) * tlog.HashSize
				m.rows = append(m.rows, a.Hashes[off:off+k:off+k])
				off += k
			}
			m.entries = append(m.entries, a.Entries...)
			m.size = a.OldSize + int64(len(a.Entries))
			m.commits = append(m.commits, a.Commits...)
			if a.Note != nil && m.checkpoint(m.size) == nil {
				m.cps = append(m.cps, store.SignedCheckpoint{Log: a.Log, Size: m.size, Note: a.Note})
			}
		}
		for _, c := range p.rec.Cps {
			m := s.logs[c.Log]
			switch {
			case m.checkpoint(c.Size) == nil:
				m.cps = append(m.cps, c)
				if lazy {
					if m.lazy == nil {
						m.lazy = map[int64]bool{}
					}
					m.lazy[c.Size] = true
				}
			case !lazy:
				delete(m.lazy, c.Size) // in the journal now
			}
		}
		s.queue = append(s.queue, p)
		s.queueBytes += len(p.raw)
	}
	if s.queueBytes >= applyAt {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// waitRoom waits while the unapplied journal is at its bound.
func (s *Store) waitRoom() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.queueBytes >= maxUnapplied {
		if s.applyErr != nil {
			return fmt.Errorf("failed to apply the journal: %w", s.applyErr)
		}
		if s.cfg.noApply {
			return errors.New("journal full and no applier")
		}
		s.room.Wait()
	}
	return nil
}

// loadLogs makes sure the store holds the logs in memory, reading the sizes
// of those it does not from the tables. Callers hold seqMu: a log not in
// memory has nothing in the journal, so its size in the tables is its size.
func (s *Store) loadLogs(ctx context.Context, logs []string) error {
	var missing []string
	s.mu.Lock()
	for _, l := range logs {
		if s.logs[l] == nil {
			missing = append(missing, l)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	sizes, err := readSizes(ctx, s.r, missing)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, l := range missing {
		n := sizes[l]
		s.logs[l] = &logMem{size: n, next: n, first: n}
	}
	s.mu.Unlock()
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// readSizes reads the sizes of logs in the tables, 256 logs per query.
func readSizes(ctx context.Context, db querier, logs []string) (map[string]int64, error) {
	sizes := make(map[string]int64, len(logs))
	args := make([]any, 0, min(len(logs), 256))
	for len(logs) > 0 {
		n := min(len(logs), 256)
		args = args[:0]
		for _, l := range logs[:n] {
			args = append(args, l)
		}
		logs = logs[n:]
		rows, err := db.QueryContext(ctx, sizesSQL(n), args...)
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

// runApplier applies the journal to the tables every applyEvery, or sooner
// when applyAt bytes wait, until stop.
func (s *Store) runApplier() {
	defer close(s.applierDone)
	t := time.NewTicker(s.cfg.applyEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		s.applyRound(false)
	}
}

// applyRound applies every durable record to the tables in one
// transaction. Before, it moves the writers to a new journal file, so that
// the files it retires hold only records it applies; once SQLite's commit
// is durable, it deletes them. The final round (Close) stops the journal
// instead and deletes every file.
func (s *Store) applyRound(final bool) error {
	j := &s.j
	var next *os.File
	if !final {
		s.mu.Lock()
		empty := len(s.queue) == 0
		s.mu.Unlock()
		if empty {
			return nil
		}
		j.mu.Lock()
		used := j.used && j.err == nil
		j.mu.Unlock()
		if used {
			// Only the applier changes j.n.
			f, err := s.createJournal(j.n + 1)
			if err != nil {
				s.setApplyErr(err)
				return err
			}
			next = f
		}
	}
	j.mu.Lock()
	for j.flushing {
		j.cond.Wait()
	}
	var old *os.File
	switch {
	case final:
		old = j.f
		j.f = nil
		s.retired = append(s.retired, s.journalPath(j.n))
		if j.err == nil {
			j.err = errClosed
		}
	case next != nil:
		old = j.f
		s.retired = append(s.retired, s.journalPath(j.n))
		j.f, j.off, j.n, j.used = next, int64(len(journalMagic)), j.n+1, false
	}
	// No write is in progress: the retired files hold exactly the queue.
	s.mu.Lock()
	recs := slices.Clone(s.queue)
	s.mu.Unlock()
	j.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if len(recs) > 0 {
		rs := make([]*record, len(recs))
		for i, p := range recs {
			rs[i] = &p.rec
		}
		if err := s.apply(context.Background(), rs, false); err != nil {
			s.setApplyErr(err)
			return err
		}
	}
	s.mu.Lock()
	s.trim(recs)
	s.queue = slices.Clone(s.queue[len(recs):])
	s.applyErr = nil
	s.room.Broadcast()
	s.mu.Unlock()
	for _, p := range s.retired {
		os.Remove(p)
	}
	s.retired = nil
	return nil
}

func (s *Store) setApplyErr(err error) {
	s.mu.Lock()
	s.applyErr = err
	s.room.Broadcast()
	s.mu.Unlock()
}

// trim drops applied records from the logs' tails. Callers hold mu.
func (s *Store) trim(ps []*pending) {
	n := map[string]int{}
	for _, p := range ps {
		s.queueBytes -= len(p.raw)
		for _, a := range p.rec.Apps {
			n[a.Log] += len(a.Entries)
			m := s.logs[a.Log]
			for _, c := range a.Commits {
				delete(m.epochs, c.Epoch)
			}
			if a.Note != nil {
				m.dropCheckpoint(a.OldSize + int64(len(a.Entries)))
			}
		}
		for _, c := range p.rec.Cps {
			m := s.logs[c.Log]
			m.dropCheckpoint(c.Size)
			delete(m.lazy, c.Size) // in the tables now
		}
	}
	for l, k := range n {
		m := s.logs[l]
		m.first += int64(k)
		if k == len(m.entries) {
			m.entries, m.rows = nil, nil
		} else {
			// Copies, so that the applied entries can be collected.
			m.entries = slices.Clone(m.entries[k:])
			m.rows = slices.Clone(m.rows[k:])
		}
		var cs []store.EpochCommit
		for _, c := range m.commits {
			if c.Index >= m.first {
				cs = append(cs, c)
			}
		}
		m.commits = cs
	}
}

// dropCheckpoint removes the checkpoint at size into a new slice (readers
// may hold the old one).
func (m *logMem) dropCheckpoint(size int64) {
	var keep []store.SignedCheckpoint
	for _, c := range m.cps {
		if c.Size != size {
			keep = append(keep, c)
		}
	}
	m.cps = keep
}

// apply writes records to the tables in one transaction. On replay (at
// Open) it skips what the tables already hold: a record applied before a
// crash that came before its journal file was deleted.
func (s *Store) apply(ctx context.Context, recs []*record, replay bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.applyTx(ctx, tx, recs, replay) })
}

func (s *Store) applyTx(ctx context.Context, tx *sql.Tx, recs []*record, replay bool) (err error) {
	var sizes map[string]int64
	if replay {
		seen := map[string]bool{}
		var logs []string
		for _, r := range recs {
			for _, a := range r.Apps {
				if !seen[a.Log] {
					seen[a.Log] = true
					logs = append(logs, a.Log)
				}
			}
			for _, c := range r.Cps {
				if !seen[c.Log] {
					seen[c.Log] = true
					logs = append(logs, c.Log)
				}
			}
		}
		if sizes, err = readSizes(ctx, tx, logs); err != nil {
			return err
		}
	}
	var commits, cps [][]any
	// The round's new entries, by log, into chunks: one per log and span.
	builders := map[string]*chunkBuilder{}
	var order []*chunkBuilder
	for _, r := range recs {
		for _, a := range r.Apps {
			end := a.OldSize + int64(len(a.Entries))
			skip := int64(0)
			if replay {
				cur := sizes[a.Log]
				if cur >= end {
					continue // applied before
				}
				if cur < a.OldSize {
					return fmt.Errorf("%w: it appends to %s at %d, the database holds %d entries", errCorrupt, a.Log, a.OldSize, cur)
				}
				skip = cur - a.OldSize
				sizes[a.Log] = end
			}
			b := builders[a.Log]
			if b == nil && int64(len(a.Entries)) > skip {
				b = &chunkBuilder{log: a.Log}
				builders[a.Log] = b
				order = append(order, b)
			}
			off := 0
			for i, e := range a.Entries {
				idx := a.OldSize + int64(i)
				k := int(hashCount(idx, 1)) * tlog.HashSize
				row := a.Hashes[off : off+k]
				off += k
				if int64(i) >= skip {
					if err := b.add(idx, e, row); err != nil {
						return err
					}
				}
			}
			for _, c := range a.Commits {
				if c.Index >= a.OldSize+skip {
					commits = append(commits, []any{a.Log, c.Epoch, c.Index})
				}
			}
			if a.Note != nil {
				cps = append(cps, []any{a.Log, end, a.Note})
			}
		}
		for _, c := range r.Cps {
			if replay && c.Size > sizes[c.Log] {
				return fmt.Errorf("%w: a checkpoint of %s at %d, past its %d entries", errCorrupt, c.Log, c.Size, sizes[c.Log])
			}
			cps = append(cps, []any{c.Log, c.Size, c.Note})
		}
	}
	var chunks [][]any
	for _, b := range order {
		b.flush()
		for _, c := range b.done {
			chunks = append(chunks, []any{c.log, c.first, c.n, c.last, c.hashes, c.data})
		}
	}
	if err := s.insert(ctx, tx, insertChunks, 6, chunks); err != nil {
		return fmt.Errorf("failed to insert entries: %w", err)
	}
	if err := s.insert(ctx, tx, insertCommits, 3, commits); err != nil {
		return fmt.Errorf("failed to insert commits: %w", err)
	}
	if err := s.insert(ctx, tx, insertCheckpoints, 3, cps); err != nil {
		return fmt.Errorf("failed to insert checkpoints: %w", err)
	}
	return nil
}

// replay applies the journal files a crash left (in order, dropping a torn
// last frame), deletes them and returns the number for the next file.
func (s *Store) replay(ctx context.Context) (int, error) {
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("failed to read the journal: %w", err)
	}
	type file struct {
		n    int
		path string
	}
	var files []file
	for _, de := range des {
		rest, ok := strings.CutPrefix(de.Name(), base+"-journal-")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			continue
		}
		files = append(files, file{n, filepath.Join(dir, de.Name())})
	}
	sort.Slice(files, func(a, b int) bool { return files[a].n < files[b].n })
	datas := make([][]byte, len(files))
	used := -1 // the last file that holds more than a magic and zeros
	for i, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return 0, fmt.Errorf("failed to read the journal: %w", err)
		}
		datas[i] = data
		if !unused(data) {
			used = i
		}
	}
	var recs []*record
	next := 1
	if len(files) > 0 {
		next = files[len(files)-1].n + 1
	}
	// Files after the last used one were created and never written to:
	// the applier creates the next file before it waits for the write in
	// progress to end, so a crash can leave an empty file after one whose
	// last frame was cut short. The last used file may end in such a torn
	// frame; every file before it must be whole.
	for i, f := range files[:used+1] {
		last, data := i == used, datas[i]
		if len(data) < len(journalMagic) || string(data[:len(journalMagic)]) != journalMagic {
			return 0, fmt.Errorf("%s: %w: not a journal", f.path, errCorrupt)
		}
		rs, valid, err := parseJournal(data[len(journalMagic):])
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.path, err)
		}
		if !last && !zeros(data[len(journalMagic)+valid:]) {
			return 0, fmt.Errorf("%s: %w: a frame is damaged and later journal files exist", f.path, errCorrupt)
		}
		for i := range rs {
			recs = append(recs, &rs[i])
		}
	}
	if len(recs) > 0 {
		if err := s.apply(ctx, recs, true); err != nil {
			return 0, fmt.Errorf("failed to replay the journal: %w", err)
		}
	}
	for _, f := range files {
		if err := os.Remove(f.path); err != nil {
			return 0, fmt.Errorf("failed to remove the replayed journal: %w", err)
		}
	}
	return next, nil
}
