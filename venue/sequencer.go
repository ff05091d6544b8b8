package venue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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

type appendResult struct {
	index int64
	size  int64
	err   error
}

// logState is the sequencer's view of one log: its size, its latest
// checkpoint, the Merkle frontier (the stored hashes that the next append
// and the tree hash need) and the epochs that hold a commit.
type logState struct {
	size    int64
	note    []byte
	hashes  map[int64]xtlog.Hash // stored-hash index -> hash; the frontier of size
	commits map[int64]bool
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
// it computes the new stored hashes, signs one checkpoint, and writes the
// whole batch in one store transaction; only then does it answer the
// writers.
type sequencer struct {
	v        *Venue
	reqs     chan *appendReq
	maxBatch int

	mu     sync.Mutex // guards states, for readers outside the sequencer
	states map[string]*logState

	stop chan struct{}
	done chan struct{}
}

func newSequencer(v *Venue, maxBatch int) *sequencer {
	return &sequencer{
		v:        v,
		reqs:     make(chan *appendReq, 4*maxBatch),
		maxBatch: maxBatch,
		states:   map[string]*logState{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// append queues an entry and waits until it is durable.
func (s *sequencer) append(ctx context.Context, log string, entry []byte, epoch int64) (index, size int64, err error) {
	r := &appendReq{log: log, entry: entry, epoch: epoch, result: make(chan appendResult, 1)}
	select {
	case s.reqs <- r:
	case <-s.stop:
		return 0, 0, errShuttingDown
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	// Once queued, the append may be made; wait for the outcome even if
	// the client goes away, so that nothing is reported before it is known.
	res := <-r.result
	return res.index, res.size, res.err
}

// run is the sequencer's loop; it returns after close, once every queued
// append has been answered.
func (s *sequencer) run() {
	defer close(s.done)
	for {
		select {
		case r := <-s.reqs:
			s.commit(s.collect(r))
		case <-s.stop:
			for {
				select {
				case r := <-s.reqs:
					s.commit(s.collect(r))
				default:
					return
				}
			}
		}
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
	close(s.stop)
	<-s.done
}

// state returns the loaded state of log, loading it from the store.
func (s *sequencer) state(ctx context.Context, log string) (*logState, error) {
	s.mu.Lock()
	st := s.states[log]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st = &logState{hashes: map[int64]xtlog.Hash{}, commits: map[int64]bool{}}
	size, note, err := s.v.store.Checkpoint(ctx, log)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		st.size, st.note = size, note
		idx := frontier(size)
		hs, err := s.v.store.ReadHashes(ctx, log, idx)
		if err != nil {
			return nil, fmt.Errorf("failed to load frontier of %s: %w", log, err)
		}
		for i, x := range idx {
			st.hashes[x] = hs[i]
		}
		cs, err := s.v.store.Commits(ctx, log)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			st.commits[c.Epoch] = true
		}
	}
	s.mu.Lock()
	s.states[log] = st
	s.mu.Unlock()
	return st, nil
}

// forget drops the cached state of logs, so that the next use reloads it
// from the store (after a failed or conflicting write).
func (s *sequencer) forget(logs []string) {
	s.mu.Lock()
	for _, l := range logs {
		delete(s.states, l)
	}
	s.mu.Unlock()
}

// size returns the durable size and latest checkpoint of log.
func (s *sequencer) size(ctx context.Context, log string) (int64, []byte, error) {
	s.mu.Lock()
	st := s.states[log]
	var size int64
	var note []byte
	if st != nil {
		size, note = st.size, st.note
	}
	s.mu.Unlock()
	if st != nil {
		return size, note, nil
	}
	size, note, err := s.v.store.Checkpoint(ctx, log)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, nil
	}
	return size, note, err
}

// pendingLog is one log's part of a batch.
type pendingLog struct {
	st      *logState
	reqs    []*appendReq
	hashes  map[int64]xtlog.Hash
	app     store.LogAppend
	rejects []*appendReq
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

// commit makes one batch durable and answers its writers.
func (s *sequencer) commit(batch []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := s.tryCommit(ctx, batch)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			// Another venue node appended to one of these logs; reload
			// and sequence again.
			continue
		}
		if err != nil {
			s.v.log.Error("append batch failed", "entries", len(batch), "err", err)
			for _, r := range batch {
				r.result <- appendResult{err: &errStore{err}}
			}
		}
		return
	}
}

func (s *sequencer) tryCommit(ctx context.Context, batch []*appendReq) error {
	start := time.Now()
	logs := map[string]*pendingLog{}
	var order []string
	for _, r := range batch {
		p := logs[r.log]
		if p == nil {
			st, err := s.state(ctx, r.log)
			if err != nil {
				return err
			}
			p = &pendingLog{st: st, hashes: map[int64]xtlog.Hash{}}
			p.app = store.LogAppend{Log: r.log, OldSize: st.size}
			logs[r.log] = p
			order = append(order, r.log)
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
			return err
		}
		base := xtlog.StoredHashCount(n)
		for i, h := range hs {
			p.hashes[base+int64(i)] = h
		}
		p.app.Hashes = append(p.app.Hashes, hs...)
		p.app.Entries = append(p.app.Entries, r.entry)
		p.reqs = append(p.reqs, r)
	}
	// Tree hashes and checkpoint signatures, one per log: spread over the
	// CPUs when the batch touches many logs.
	var todo []*pendingLog
	var names []string
	for _, name := range order {
		if p := logs[name]; len(p.reqs) > 0 {
			todo = append(todo, p)
			names = append(names, name)
		}
	}
	errs := make([]error, len(todo))
	sign := func(i int) {
		p := todo[i]
		newSize := p.st.size + int64(len(p.reqs))
		th, err := xtlog.TreeHash(newSize, p)
		if err != nil {
			errs[i] = err
			return
		}
		cp := tlog.Checkpoint{Origin: s.v.origin(names[i]), Size: newSize, Hash: th}
		p.app.Note, errs[i] = tlog.SignCheckpoint(cp, s.v.key.signer)
	}
	if workers := min(runtime.GOMAXPROCS(0), len(todo)/8); workers > 1 {
		var wg sync.WaitGroup
		var next atomic.Int64
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < len(todo); i = int(next.Add(1) - 1) {
					sign(i)
				}
			}()
		}
		wg.Wait()
	} else {
		for i := range todo {
			sign(i)
		}
	}
	apps := make([]store.LogAppend, 0, len(todo))
	for i, p := range todo {
		if errs[i] != nil {
			return errs[i]
		}
		apps = append(apps, p.app)
	}
	if len(apps) > 0 {
		if err := s.v.store.Append(ctx, apps); err != nil {
			s.forget(order)
			return err
		}
	}
	// Durable: update the states and answer.
	var changed []string
	s.mu.Lock()
	for _, name := range order {
		p := logs[name]
		if len(p.reqs) > 0 {
			newSize := p.st.size + int64(len(p.reqs))
			all := p.st.hashes
			for k, h := range p.hashes {
				all[k] = h
			}
			keep := map[int64]xtlog.Hash{}
			for _, x := range frontier(newSize) {
				keep[x] = all[x]
			}
			p.st.hashes = keep
			for _, c := range p.app.Commits {
				p.st.commits[c.Epoch] = true
			}
			p.st.size, p.st.note = newSize, p.app.Note
			changed = append(changed, name)
		}
	}
	s.mu.Unlock()
	for _, name := range order {
		p := logs[name]
		for i, r := range p.reqs {
			r.result <- appendResult{index: p.app.OldSize + int64(i), size: p.app.OldSize + int64(len(p.reqs))}
		}
		for _, r := range p.rejects {
			r.result <- appendResult{err: errEpochTaken}
		}
	}
	if len(changed) > 0 {
		s.v.hub.logsChanged(changed)
	}
	s.v.metrics.batch(len(batch), time.Since(start))
	s.v.log.Debug("appended batch", "entries", len(batch), "logs", len(apps), "took", time.Since(start))
	return nil
}
