package venue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/store"
)

// errEpochTaken is returned to the second commit for an epoch.
var errEpochTaken = errors.New("a commit for this epoch is already in the log")

// errShuttingDown is returned to appends that arrive during shutdown.
var errShuttingDown = errors.New("venue is shutting down")

// errStore marks a storage failure: the append was not made and may be
// retried.
type errStore struct{ err error }

func (e *errStore) Error() string { return "storage unavailable: " + e.err.Error() }
func (e *errStore) Unwrap() error { return e.err }

// An appendReq is one entry waiting for the sequencer.
type appendReq struct {
	log    string
	entry  []byte
	epoch  int64 // a handshake commit's epoch, or -1
	result chan appendResult
}

// maxAwait bounds how long an append that asked to wait for a checkpoint
// covering it waits after it is durable. The entry is durable either way;
// past this the answer goes out without the checkpoint (and a venue that
// never integrates is one the desks alarm about).
const maxAwait = 10 * time.Second

type appendResult struct {
	index int64
	size  int64
	err   error
}

// logState is the sequencer's view of one log: its size (entries stored,
// or planned in a speculative state), the tree hash at that size, its
// latest signed checkpoint, the Merkle frontier (the stored hashes that the
// next append and the tree hash need) and the epochs that hold a commit.
type logState struct {
	size int64
	// hash is the tree hash at size, except in the states the sequencer
	// plans on a local store: there only the integrator needs it, once
	// per log per round, and computes it from hashes when it signs
	// (integrationTarget), not once per batch.
	hash xtlog.Hash
	// signed is the size of the latest checkpoint, note the checkpoint:
	// what readers are served. It trails size until the integrator signs
	// (sequencing apart from integration); -1 means unknown here, ask the
	// store. Meaningful in committed states only.
	signed int64
	note   []byte
	// hashes maps stored-hash indexes to hashes: the frontier of size.
	// Never modified once the state is installed (committed states share
	// it with the speculative state they come from, and the integrator
	// reads it).
	hashes  map[int64]xtlog.Hash
	commits map[int64]bool
	// recent holds the last committed entries (at most maxRecent), ending
	// at size, so that event streams need not read them back from the
	// store. Only in committed states.
	recent [][]byte
}

// maxRecent is the number of entries kept in memory per log for event
// streams, at least (when the log has that many); at most twice as many.
const maxRecent = 256

// nextRecent returns the recent entries of a log after added were appended
// to the committed state prev (nil if unknown), reaching size. It appends
// in place to prev's array: readers hold slices capped at their length
// (recentEntries), so they never see what is written past it, and prev is
// replaced by the state it returns. Only when the array would hold more
// than 2×maxRecent entries does it copy the last maxRecent to a new one:
// a constant cost per append, not a copy of maxRecent entries per batch.
func nextRecent(prev *logState, size int64, added [][]byte) [][]byte {
	var recent [][]byte
	if prev != nil && prev.size+int64(len(added)) == size {
		recent = prev.recent
	}
	if len(recent)+len(added) <= 2*maxRecent {
		return append(recent, added...)
	}
	fresh := make([][]byte, 0, 2*maxRecent)
	if len(added) >= maxRecent {
		return append(fresh, added[len(added)-maxRecent:]...)
	}
	fresh = append(fresh, recent[len(recent)-(maxRecent-len(added)):]...)
	return append(fresh, added...)
}

// frontier returns the stored-hash indexes of the complete subtrees that
// make up a tree of size n: the nodes StoredHashes(n, ...) and TreeHash(n)
// read.
func frontier(n int64) []int64 {
	var idx []int64
	for k := 0; n>>k > 0; k++ {
		if (n>>k)&1 == 1 {
			idx = append(idx, xtlog.StoredHashIndex(k, (n>>k)-1))
		}
	}
	return idx
}

// A sequencer orders the appends of every log of the venue. One goroutine
// takes waiting appends in batches (group commit): for each log in the batch
// it computes the new stored hashes and tree hash, and writes the whole
// batch in one store transaction; only then does it answer the writers,
// with the entries' indexes (sequencing). Another goroutine, the integrator
// (integrate), signs one checkpoint per changed log at most every
// Config.CheckpointWithin/2, hands the checkpoints to the store and only
// then serves them (integration): readers see a log up to its latest
// checkpoint.
// An append may ask to be answered only once a checkpoint covers it. While
// a round of the integrator is due, the sequencer starts no new batch
// (back-pressure: holdBack, integrate.go), so that it does not acknowledge
// appends faster than checkpoints can follow.
//
// On a shared store (several venue nodes, PostgreSQL) there is no separate
// integration: each batch is planned and signed under the store's row
// locks (runShared), one checkpoint per log per batch.
//
// The work is pipelined: while one batch is being written (the store's
// commit waits for the disk), the next one is planned — hashed and signed —
// against the sequencer's speculative view, which already includes the batch
// in flight. If the batch in flight fails, the speculative view is dropped
// (reloaded from the store) and the next batch is planned again; writers are
// answered only after their own batch has committed.
type sequencer struct {
	v *Venue
	// shared is the store when other venue nodes may append to it too:
	// batches are then planned under the store's row locks (runShared)
	// and sizes and checkpoints are read from the store.
	shared   store.Shared
	reqs     chan *appendReq
	maxBatch int

	// spec is the speculative view used to plan batches: committed state
	// plus the batch in flight. Only the sequencer goroutine uses it.
	spec map[string]*logState

	mu     sync.Mutex           // guards states and the integrator's fields below
	states map[string]*logState // committed sizes and checkpoints, for readers

	// The integrator's work: logs whose entries are not all under a
	// served checkpoint, since when, how many appends wait for one, and
	// a channel closed (and replaced) after every integration.
	dirty      map[string]bool
	firstDirty time.Time
	waiters    int
	integrated chan struct{} // closed (and replaced) after every round, integrated or failed
	wake       chan struct{} // cap 1: dirty logs or a waiter
	gather     time.Duration // how long the integrator gathers changes
	istop      chan struct{}
	idone      chan struct{}

	// Back-pressure (holdBack). behind is when the oldest acknowledged
	// append that no served checkpoint covers yet was acknowledged (Unix
	// nanoseconds, 0: none), written under mu and read without it by the
	// sequencer; failing is set while the integrator's rounds fail. within
	// is Config.CheckpointWithin, hold the integration lag past which the
	// sequencer starts no batch (integrate.go, "Back-pressure").
	behind  atomic.Int64
	failing atomic.Bool
	within  time.Duration
	hold    time.Duration
	// An episode of late rounds (integrator only, checkLate): whether one
	// is going on, its worst lag, its late rounds, the last one's end.
	late     bool
	lateMax  time.Duration
	lateN    int
	lastLate time.Time

	closeMu sync.RWMutex // held to queue; closed is set under it
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func newSequencer(v *Venue, maxBatch int, within time.Duration) *sequencer {
	sh, _ := v.store.(store.Shared)
	return &sequencer{
		v:          v,
		shared:     sh,
		reqs:       make(chan *appendReq, 4*maxBatch),
		maxBatch:   maxBatch,
		spec:       map[string]*logState{},
		states:     map[string]*logState{},
		dirty:      map[string]bool{},
		integrated: make(chan struct{}),
		wake:       make(chan struct{}, 1),
		gather:     within / 2,
		within:     within,
		hold:       within / 2,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		istop:      make(chan struct{}),
		idone:      make(chan struct{}),
	}
}

// append queues an entry and waits until it is durable, and with await
// until a served checkpoint covers it too (at most maxAwait).
func (s *sequencer) append(ctx context.Context, log string, entry []byte, epoch int64, await bool) (index, size int64, err error) {
	index, size, err = s.appendDurable(ctx, log, entry, epoch)
	if err == nil && await {
		s.awaitSigned(ctx, log, index)
	}
	return index, size, err
}

// appendDurable queues an entry and waits until it is durable.
func (s *sequencer) appendDurable(ctx context.Context, log string, entry []byte, epoch int64) (index, size int64, err error) {
	r := &appendReq{log: log, entry: entry, epoch: epoch, result: make(chan appendResult, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return 0, 0, errShuttingDown
	}
	select {
	case s.reqs <- r:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return 0, 0, ctx.Err()
	}
	// Once queued, the append may be made; wait for the outcome even if
	// the client goes away, so that nothing is reported before it is known.
	res := <-r.result
	return res.index, res.size, res.err
}

// appendMany queues entries for one log together and waits until each is
// durable or failed, and with await until a served checkpoint covers the
// last. It returns the index of each entry (-1 for one that failed), the
// log's size after the last, and the first error.
func (s *sequencer) appendMany(ctx context.Context, log string, entries [][]byte, await bool) (idx []int64, size int64, err error) {
	idx, size, err = s.appendManyDurable(ctx, log, entries)
	if err == nil && await && len(idx) > 0 {
		s.awaitSigned(ctx, log, slices.Max(idx))
	}
	return idx, size, err
}

func (s *sequencer) appendManyDurable(ctx context.Context, log string, entries [][]byte) (idx []int64, size int64, err error) {
	reqs := make([]*appendReq, len(entries))
	for i, e := range entries {
		reqs[i] = &appendReq{log: log, entry: e, epoch: -1, result: make(chan appendResult, 1)}
	}
	idx = make([]int64, len(entries))
	for i := range idx {
		idx[i] = -1
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return idx, 0, errShuttingDown
	}
	queued := 0
	for _, r := range reqs {
		select {
		case s.reqs <- r:
			queued++
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	s.closeMu.RUnlock()
	// Wait for everything queued, even if the client went away, so that
	// nothing is reported before it is known.
	for i, r := range reqs[:queued] {
		res := <-r.result
		if res.err != nil {
			if err == nil {
				err = res.err
			}
			continue
		}
		idx[i] = res.index
		size = max(size, res.size)
	}
	return idx, size, err
}

// A flight is a planned batch being written to the store.
type flight struct {
	plan *plan
	done chan error
}

// run is the sequencer's loop; it returns after close, once every queued
// append has been answered.
func (s *sequencer) run() {
	if s.shared != nil {
		s.runShared()
		return
	}
	defer close(s.done)
	var fl *flight
	for {
		var batch []*appendReq
		if fl == nil {
			select {
			case r := <-s.reqs:
				batch = s.collect(r)
			case <-s.stop:
				select {
				case r := <-s.reqs:
					batch = s.collect(r)
				default:
					return // stopped, nothing queued, nothing in flight
				}
			}
		} else {
			select {
			case r := <-s.reqs:
				batch = s.collect(r)
			case err := <-fl.done:
				if retry, _ := s.land(fl, err); len(retry) > 0 {
					fl = s.launch(s.plan(retry, fl.plan.attempt+1))
				} else {
					fl = nil
				}
				continue
			}
		}
		// Plan this batch while the previous one is written...
		next := s.plan(batch, 0)
		if fl != nil {
			// ... then land the previous one before writing this one.
			if retry, failed := s.land(fl, <-fl.done); failed {
				// next was planned on a state that never came to be:
				// plan it again (with the flight's batch after a
				// conflict with another node).
				next = s.plan(append(retry, batch...), fl.plan.attempt+1)
			}
		}
		// Integration is behind: the batch just answered was durable,
		// but start no new one until the integrator catches up (this one
		// and the appends queued after it wait).
		if s.lagging() {
			s.holdBack()
			next.start = time.Now()
		}
		fl = s.launch(next)
	}
}

// collect gathers waiting requests after r, up to maxBatch.
func (s *sequencer) collect(r *appendReq) []*appendReq {
	batch := []*appendReq{r}
	for len(batch) < s.maxBatch {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// close stops the sequencer after the queued appends are done.
func (s *sequencer) close() {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	<-s.done
}

// loadState reads a log's state from the store.
func (s *sequencer) loadState(ctx context.Context, log string) (*logState, error) {
	st := &logState{hashes: map[int64]xtlog.Hash{}, commits: map[int64]bool{}, hash: tlog.EmptyHash}
	size, err := s.v.store.Size(ctx, log)
	if err != nil {
		return nil, err
	}
	signed, note, err := s.v.store.Checkpoint(ctx, log)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	st.size, st.signed, st.note = size, signed, note
	if size == 0 {
		return st, nil
	}
	idx := frontier(size)
	hs, err := s.v.store.ReadHashes(ctx, log, idx)
	if err != nil {
		return nil, fmt.Errorf("failed to load frontier of %s: %w", log, err)
	}
	for i, x := range idx {
		st.hashes[x] = hs[i]
	}
	if st.hash, err = xtlog.TreeHash(size, st); err != nil {
		return nil, fmt.Errorf("failed to compute the tree hash of %s: %w", log, err)
	}
	cs, err := s.v.store.Commits(ctx, log)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		st.commits[c.Epoch] = true
	}
	return st, nil
}

// forget drops the cached states of logs, so that the next use reloads them
// from the store (after a failed or conflicting write).
func (s *sequencer) forget(logs []string) {
	for _, l := range logs {
		delete(s.spec, l)
	}
	s.mu.Lock()
	for _, l := range logs {
		delete(s.states, l)
	}
	s.mu.Unlock()
}

// ReadHashes reads the frontier hashes of a loaded state (xtlog.HashReader).
func (st *logState) ReadHashes(idx []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := st.hashes[x]
		if !ok {
			return nil, fmt.Errorf("venue: internal error: hash %d not in frontier", x)
		}
		out[i] = h
	}
	return out, nil
}

// size returns the size and latest checkpoint of log that readers are
// served: the latest integrated (signed and stored) one. On a shared
// store it asks the store every time: another node may have appended and
// served a larger checkpoint, and a desk that then got an older one from
// this node would rightly take it for a rollback.
func (s *sequencer) size(ctx context.Context, log string) (int64, []byte, error) {
	if s.shared != nil {
		size, note, err := s.v.store.Checkpoint(ctx, log)
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil, nil
		}
		return size, note, err
	}
	s.mu.Lock()
	st := s.states[log]
	var size int64
	var note []byte
	known := st != nil && st.signed >= 0
	if known {
		size, note = st.signed, st.note
	}
	s.mu.Unlock()
	if known {
		return size, note, nil
	}
	size, note, err := s.v.store.Checkpoint(ctx, log)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, nil
	}
	return size, note, err
}

// recentEntries returns the committed entries [start, end) of log if they
// are all still in memory and served (under a checkpoint), or nil.
func (s *sequencer) recentEntries(log string, start, end int64) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[log]
	if st == nil || end > st.size || end > st.signed || start < st.size-int64(len(st.recent)) || start >= end {
		return nil
	}
	first := st.size - int64(len(st.recent))
	return st.recent[start-first : end-first : end-first]
}

// pendingLog is one log's part of a batch.
type pendingLog struct {
	st      *logState            // the speculative state before this batch
	reqs    []*appendReq         // appends to make, in order
	hashes  map[int64]xtlog.Hash // stored hashes this batch adds
	app     store.LogAppend
	rejects []*appendReq // second commits for an epoch
}

func (p *pendingLog) ReadHashes(idx []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := p.hashes[x]
		if !ok {
			h, ok = p.st.hashes[x]
		}
		if !ok {
			return nil, fmt.Errorf("venue: internal error: hash %d not in frontier", x)
		}
		out[i] = h
	}
	return out, nil
}

// A plan is a batch ready to be written: entries sequenced, hashes
// computed (and on a shared store, checkpoints signed).
type plan struct {
	batch   []*appendReq
	logs    map[string]*pendingLog
	order   []string
	apps    []store.LogAppend
	err     error // planning failed: answer every request with it
	attempt int
	start   time.Time
	// next holds the speculative states this plan leads to, installed
	// in spec when planned and in states when committed.
	next map[string]*logState
}

// maxAttempts bounds how often a batch is planned again after another venue
// node appended to one of its logs first.
const maxAttempts = 4

// plan sequences batch against the speculative states and installs the
// states it leads to as the new speculative states.
func (s *sequencer) plan(batch []*appendReq, attempt int) *plan {
	pl := &plan{batch: batch, logs: map[string]*pendingLog{}, attempt: attempt, start: time.Now(), next: map[string]*logState{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range batch {
		p := pl.logs[r.log]
		if p == nil {
			st := s.spec[r.log]
			if st == nil {
				var err error
				if st, err = s.loadState(ctx, r.log); err != nil {
					pl.err = &errStore{err}
					return pl
				}
				s.spec[r.log] = st
			}
			p = &pendingLog{st: st, hashes: map[int64]xtlog.Hash{}}
			p.app = store.LogAppend{Log: r.log, OldSize: st.size}
			pl.logs[r.log] = p
			pl.order = append(pl.order, r.log)
		}
		if r.epoch >= 0 {
			taken := p.st.commits[r.epoch]
			for _, c := range p.app.Commits {
				taken = taken || c.Epoch == r.epoch
			}
			if taken {
				p.rejects = append(p.rejects, r)
				continue
			}
			p.app.Commits = append(p.app.Commits, store.EpochCommit{Epoch: r.epoch, Index: p.st.size + int64(len(p.reqs))})
		}
		n := p.st.size + int64(len(p.reqs))
		hs, err := xtlog.StoredHashes(n, r.entry, p)
		if err != nil {
			pl.err = err
			return pl
		}
		base := xtlog.StoredHashCount(n)
		for i, h := range hs {
			p.hashes[base+int64(i)] = h
		}
		p.app.Hashes = append(p.app.Hashes, hs...)
		p.app.Entries = append(p.app.Entries, r.entry)
		p.reqs = append(p.reqs, r)
	}
	// Tree hashes, and on a shared store checkpoint signatures, one per
	// log: spread over the CPUs when the batch touches many logs.
	var todo []*pendingLog
	var names []string
	for _, name := range pl.order {
		if p := pl.logs[name]; len(p.reqs) > 0 {
			todo = append(todo, p)
			names = append(names, name)
		}
	}
	errs := make([]error, len(todo))
	ths := make([]xtlog.Hash, len(todo))
	sign := func(i int) {
		if s.shared == nil {
			return // the integrator computes the tree hash when it signs
		}
		p := todo[i]
		newSize := p.st.size + int64(len(p.reqs))
		if ths[i], errs[i] = xtlog.TreeHash(newSize, p); errs[i] != nil {
			return
		}
		cp := tlog.Checkpoint{Origin: s.v.origin(names[i]), Size: newSize, Hash: ths[i]}
		p.app.Note, errs[i] = tlog.SignCheckpoint(cp, s.v.key.signer)
	}
	workers := 1
	if s.shared != nil {
		workers = len(todo) / 8
	}
	parallel(min(runtime.GOMAXPROCS(0), workers), len(todo), sign)
	for i, p := range todo {
		if errs[i] != nil {
			pl.err = errs[i]
			return pl
		}
		pl.apps = append(pl.apps, p.app)
	}
	// The states after this batch become the speculative states.
	for i, p := range todo {
		newSize := p.st.size + int64(len(p.reqs))
		keep := make(map[int64]xtlog.Hash)
		for _, x := range frontier(newSize) {
			h, ok := p.hashes[x]
			if !ok {
				h = p.st.hashes[x]
			}
			keep[x] = h
		}
		commits := p.st.commits
		if len(p.app.Commits) > 0 {
			commits = make(map[int64]bool, len(p.st.commits)+len(p.app.Commits))
			for e := range p.st.commits {
				commits[e] = true
			}
			for _, c := range p.app.Commits {
				commits[c.Epoch] = true
			}
		}
		st := &logState{size: newSize, hash: ths[i], note: p.app.Note, hashes: keep, commits: commits}
		pl.next[names[i]] = st
		s.spec[names[i]] = st
	}
	return pl
}

// launch starts writing a plan; a plan that failed to plan lands at once.
func (s *sequencer) launch(pl *plan) *flight {
	fl := &flight{plan: pl, done: make(chan error, 1)}
	switch {
	case pl.err != nil:
		fl.done <- pl.err
	case len(pl.apps) == 0:
		fl.done <- nil
	default:
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			fl.done <- s.v.store.Append(ctx, pl.apps)
		}()
	}
	return fl
}

// land finishes a flight: on success it publishes the new states and
// answers the writers; on failure (failed) it drops the speculative states
// and answers with the error, except after a conflict with another venue
// node, where it returns the requests to plan again.
func (s *sequencer) land(fl *flight, err error) (retry []*appendReq, failed bool) {
	pl := fl.plan
	if err != nil {
		// Whatever was planned on top of this flight is void.
		clear(s.spec)
		s.mu.Lock()
		for _, name := range pl.order {
			delete(s.states, name)
		}
		s.mu.Unlock()
		// Another node appended first, or logged a commit for an epoch
		// this batch claims: reload and sequence again (a taken epoch then
		// gets its 409).
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrEpochTaken)) && pl.attempt+1 < maxAttempts {
			return pl.batch, true
		}
		var se *errStore
		if !errors.As(err, &se) {
			err = &errStore{err}
		}
		s.v.log.Error("append batch failed", "entries", len(pl.batch), "err", err)
		for _, r := range pl.batch {
			r.result <- appendResult{err: err}
		}
		return nil, true
	}
	var changed []string
	now := time.Now()
	s.mu.Lock()
	if s.shared == nil && len(pl.next) > 0 && s.behind.Load() == 0 {
		s.behind.Store(now.UnixNano())
	}
	for name, st := range pl.next {
		prev := s.states[name]
		ns := &logState{size: st.size, hash: st.hash, hashes: st.hashes, signed: -1, recent: nextRecent(prev, st.size, pl.logs[name].app.Entries)}
		switch {
		case s.shared != nil:
			ns.signed, ns.note = st.size, st.note // signed in the batch
		case prev != nil:
			ns.signed, ns.note = prev.signed, prev.note
		}
		s.states[name] = ns
		changed = append(changed, name)
		if s.shared == nil {
			if len(s.dirty) == 0 {
				s.firstDirty = now
			}
			s.dirty[name] = true
		}
	}
	s.mu.Unlock()
	for _, name := range pl.order {
		p := pl.logs[name]
		for i, r := range p.reqs {
			r.result <- appendResult{index: p.app.OldSize + int64(i), size: p.app.OldSize + int64(len(p.reqs))}
		}
		for _, r := range p.rejects {
			r.result <- appendResult{err: errEpochTaken}
		}
	}
	switch {
	case len(changed) == 0:
	case s.shared != nil:
		s.v.hub.logsChanged(changed)
	default:
		s.poke()
	}
	s.v.metrics.batch(len(pl.batch), time.Since(pl.start))
	return nil, false
}

// parallel calls f(0), ..., f(n-1) on up to workers goroutines.
func parallel(workers, n int, f func(int)) {
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// runShared is the sequencer's loop on a store other nodes append to as
// well. Each batch is planned inside the store transaction that holds the
// row locks of its logs, on the heads read under those locks, so two nodes
// appending to one log take turns instead of losing compare-and-swaps (and
// answering 503 once the attempts run out). Batches are not pipelined here:
// the next batch gathers while one is written.
func (s *sequencer) runShared() {
	defer close(s.done)
	for {
		var batch []*appendReq
		select {
		case r := <-s.reqs:
			batch = s.collect(r)
		case <-s.stop:
			select {
			case r := <-s.reqs:
				batch = s.collect(r)
			default:
				return
			}
		}
		for attempt := 0; len(batch) > 0; attempt++ {
			batch = s.appendLocked(batch, attempt)
		}
	}
}

// appendLocked plans and writes one batch under the store's locks, answers
// its writers and returns what must be planned again.
func (s *sequencer) appendLocked(batch []*appendReq, attempt int) (retry []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs []string
	seen := map[string]bool{}
	for _, r := range batch {
		if !seen[r.log] {
			seen[r.log] = true
			logs = append(logs, r.log)
		}
	}
	var pl *plan
	err := s.shared.AppendLocked(ctx, logs, func(heads map[string]store.Head) ([]store.LogAppend, error) {
		for l, h := range heads {
			if st := s.spec[l]; st != nil && st.size == h.Size {
				continue // nobody else appended since this node did
			}
			st := &logState{size: h.Size, hashes: h.Hashes, commits: map[int64]bool{}}
			if h.Size > 0 {
				// The row lock keeps other nodes from logging commits
				// meanwhile, so reading them outside the transaction
				// is consistent.
				cs, err := s.v.store.Commits(ctx, l)
				if err != nil {
					return nil, &errStore{err}
				}
				for _, c := range cs {
					st.commits[c.Epoch] = true
				}
			}
			s.spec[l] = st
		}
		pl = s.plan(batch, attempt)
		if pl.err != nil {
			return nil, pl.err
		}
		return pl.apps, nil
	})
	if pl == nil {
		pl = &plan{batch: batch, logs: map[string]*pendingLog{}, attempt: attempt, start: time.Now()}
	}
	retry, _ = s.land(&flight{plan: pl}, err)
	return retry
}
