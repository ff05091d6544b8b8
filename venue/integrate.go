package venue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/store"
)

// Integration: signing checkpoints apart from sequencing.
//
// The sequencer answers an append once the entry is durable at its index.
// The integrator then makes it visible: it gathers the logs that grew for
// Config.CheckpointWithin/2 (or less, when an append waits for its
// checkpoint), signs one checkpoint per such log at its stored size, hands
// the checkpoints to the store (durable at once, or lazily: "Lazy
// checkpoints" below), and only then serves them and wakes the event
// streams. Ed25519 signatures, the largest cost of an append
// when every batch signed, are thereby made once per log per interval
// instead of once per log per batch.
//
// The promise (SECURITY.md, "Sequencing and integration"): a checkpoint
// covering an acknowledged entry is served within CheckpointWithin; after a
// crash, the venue integrates what it had acknowledged before it answers
// anything else (Open, integrateBehind). A venue that acknowledges and
// never integrates is withholding: a desk raises AlarmStaleView once its
// bound passes (desk/eclipse.go).
//
// Back-pressure. Under a burst the integrator's rounds slow down: a store
// that syncs checkpoints takes them behind the appends (the SQLite store
// did, before it took them lazily: one journal and one fdatasync at a time,
// a round's write waiting for the frame being synced and then sharing the
// next one with whatever batch the sequencer started meanwhile), and the
// integrator shares the CPUs with the writers. So the
// sequencer holds back (holdBack): while the oldest acknowledged append
// that no served checkpoint covers is older than the gathering interval,
// CheckpointWithin/2 (a round is due or running), it answers the batch it
// has in flight (durable already) and starts no new one until the
// integrator has finished a round. The appends wait, queued, their HTTP
// requests open: a writer sees a slower 201 rather than one whose
// checkpoint the venue cannot serve in time. The check is one atomic load
// and one clock read per batch; nothing per append.
//
// Why half the bound and not more (measured when the SQLite store still
// synced checkpoints): a round's store write is then one small
// frame after the batch in flight, whatever the load, so an acknowledged
// entry waits at most CheckpointWithin/2, plus the batch in flight, plus
// one small write, plus the signatures (and whatever delays the
// integrator's goroutine when its round is due). A later threshold lets the
// sequencer start batches while a round is due, and the round's write then
// shares a frame with a full batch. Measured with
// TestCheckpointWithinUnderBurst unpaced (150,000–188,000 entries/s,
// CheckpointWithin 200 ms, two shared cores, and the SQLite journal's room
// wait lifted for checkpoints so that its stalls, below, do not hide the
// rest): longest wait 117–125 ms at 1/2, 135–161 ms at 3/4 (where the
// sequencer never held back: rounds ended before), 132–141 ms without
// back-pressure; throughput the same within the noise. The cost is a pause
// of one small write per interval under continuous load.
//
// The bound can still be exceeded when one round alone takes longer than
// the other half: thousands of logs to sign at once (an Ed25519 signature
// each, spread over the CPUs), a store that stalls, or CPUs so busy that
// the integrator does not run when its round is due. The SQLite store's
// journal fills faster than its applier empties it from about 145,000
// entries/s on two cores; appends then wait 150–300 ms for an applier
// round. Checkpoints used to wait with them, which more than the venue made
// the 326 ms of the previous pass in BENCHMARKS.md (148,000 entries/s
// against a bound of 50 ms); they no longer wait for the applier (a
// checkpoint record is small), and a burst of 10 million entries at 249,000
// entries/s kept the longest wait at 48 ms. The venue then logs a
// warning with the lag, once per episode (an episode ends, with a notice,
// once rounds have been in time for lateQuiet), and counts the late rounds:
// GET /v1/stats late_integrations, the metric
// goodoffices_checkpoints_late_total (Venue.LateIntegrations);
// integration_holds and integration_hold_ms count the pauses. While the
// integrator's rounds fail (a store error, logged and retried), the
// sequencer does not hold back: a store that cannot take a checkpoint will
// not take appends either, and appends must not wait on a loop that may
// not end.
//
// On a shared store (PostgreSQL) each batch is signed in its own
// transaction: an acknowledgement comes with its checkpoint, and there is
// nothing to hold back (runShared does not call holdBack).
//
// Lazy checkpoints. A store that can (store.LazyCheckpointer: SQLite) takes
// a round's checkpoints into memory and serves them at once; its applier
// writes them to the tables at its next round (every 250 ms), instead of a
// journal write and fdatasync of their own in every integration round,
// which the appends behind them waited for. A checkpoint covers only
// acknowledged, so durable, entries: one lost in a crash is signed again
// from them before the venue answers anything (integrateBehind; the store's
// Behind names its log), the same note when the log has not grown since
// (Ed25519 signatures are deterministic) and a larger one consistent with
// it otherwise. The one thing a lost checkpoint would take along is a
// desk's cosignature of it, looked up by size: the cosignature endpoint
// makes the checkpoint durable (AddCheckpoints) before it keeps one. At 128
// writers this kept the longest wait for a checkpoint at 38–43 ms where
// syncing each round gave 44–50 ms (BENCHMARKS.md, fourth pass).

// testHookIntegrateRound, when set, runs as each round of the integrator
// begins (a test holds the integrator back with it).
var testHookIntegrateRound atomic.Pointer[func()]

// lagging reports whether integration is behind: the oldest acknowledged
// append without a served checkpoint is older than s.hold, and the
// integrator is not failing.
func (s *sequencer) lagging() bool {
	b := s.behind.Load()
	return b != 0 && time.Now().UnixNano()-b > int64(s.hold) && !s.failing.Load()
}

// holdBack waits while integration is behind, for the integrator to finish
// rounds. Only the sequencer goroutine calls it, with nothing in flight.
func (s *sequencer) holdBack() {
	start := time.Now()
	for s.lagging() {
		s.mu.Lock()
		ch := s.integrated
		s.mu.Unlock()
		if !s.lagging() {
			break // a round ended meanwhile
		}
		select {
		case <-ch:
		case <-s.idone:
			return // the integrator stopped: nothing to wait for
		}
	}
	s.v.metrics.held(time.Since(start))
}

// poke wakes the integrator.
func (s *sequencer) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// integrate is the integrator's loop; it returns after closeIntegrator,
// once every log that grew is integrated.
func (s *sequencer) integrate() {
	defer close(s.idone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	stopping := false
	for {
		s.mu.Lock()
		n, waiting, due := len(s.dirty), s.waiters > 0, s.firstDirty.Add(s.gather)
		s.mu.Unlock()
		if n > 0 && (waiting || stopping || !time.Now().Before(due)) {
			s.integrateRound()
			continue
		}
		if n == 0 && stopping {
			return
		}
		if n > 0 {
			timer.Reset(time.Until(due))
		}
		select {
		case <-s.wake:
		case <-timer.C:
		case <-s.istop:
			stopping = true
		}
		timer.Stop()
	}
}

// closeIntegrator integrates what is left and stops the integrator.
func (s *sequencer) closeIntegrator() {
	select {
	case <-s.istop:
	default:
		close(s.istop)
	}
	<-s.idone
}

// integrationTarget is a checkpoint to sign.
type integrationTarget struct {
	log  string
	size int64
	hash xtlog.Hash
	// frontier, when set, is the committed state whose frontier hash
	// is computed from (a state the local sequencer planned).
	frontier *logState
	note     []byte
}

// integrateRound signs and stores one checkpoint for every log that grew,
// then serves them.
func (s *sequencer) integrateRound() {
	if h := testHookIntegrateRound.Load(); h != nil {
		(*h)()
	}
	start := time.Now()
	s.mu.Lock()
	since := s.firstDirty // == behind: the rounds before this one are done
	var targets []integrationTarget
	var unknown []string
	for l := range s.dirty {
		st := s.states[l]
		switch {
		case st == nil:
			unknown = append(unknown, l) // dropped after a failed write: ask the store
		case st.signed < st.size:
			targets = append(targets, integrationTarget{log: l, size: st.size, frontier: st})
		}
	}
	clear(s.dirty)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	retry := func(err error) {
		s.v.log.Error("failed to integrate checkpoints; retrying", "logs", len(targets)+len(unknown), "err", err)
		s.failing.Store(true)
		s.mu.Lock()
		if len(s.dirty) == 0 || since.Before(s.firstDirty) {
			s.firstDirty = since // the age of what is still not served
		}
		for _, t := range targets {
			s.dirty[t.log] = true
		}
		for _, l := range unknown {
			s.dirty[l] = true
		}
		close(s.integrated)
		s.integrated = make(chan struct{})
		s.mu.Unlock()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-s.istop:
		}
	}
	for _, l := range unknown {
		t, behind, err := s.storedTarget(ctx, l)
		if err != nil {
			retry(err)
			return
		}
		if behind {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		s.mu.Lock()
		s.roundDone()
		s.mu.Unlock()
		return
	}
	errs := make([]error, len(targets))
	parallel(min(runtime.GOMAXPROCS(0), len(targets)/8), len(targets), func(i int) {
		t := &targets[i]
		if t.frontier != nil {
			if t.hash, errs[i] = xtlog.TreeHash(t.size, t.frontier); errs[i] != nil {
				errs[i] = fmt.Errorf("venue: internal error: tree hash of %s at %d: %w", t.log, t.size, errs[i])
				return
			}
		}
		cp := tlog.Checkpoint{Origin: s.v.origin(t.log), Size: t.size, Hash: t.hash}
		t.note, errs[i] = tlog.SignCheckpoint(cp, s.v.key.signer)
	})
	if err := errors.Join(errs...); err != nil {
		retry(err)
		return
	}
	cps := make([]store.SignedCheckpoint, len(targets))
	for i, t := range targets {
		cps[i] = store.SignedCheckpoint{Log: t.log, Size: t.size, Note: t.note}
	}
	add := s.v.store.AddCheckpoints
	if lc, ok := s.v.store.(store.LazyCheckpointer); ok {
		add = lc.PublishCheckpoints // durable later: see "Lazy checkpoints"
	}
	if err := add(ctx, cps); err != nil {
		retry(err)
		return
	}
	// Stored: serve them.
	changed := make([]string, 0, len(targets))
	s.mu.Lock()
	for _, t := range targets {
		if st := s.states[t.log]; st != nil && st.signed < t.size {
			st.signed, st.note = t.size, t.note
		}
		changed = append(changed, t.log)
	}
	s.roundDone()
	s.mu.Unlock()
	lag := time.Since(since)
	s.v.metrics.integration(len(targets), time.Since(start), lag)
	s.v.hub.logsChanged(changed)
	s.checkLate(lag, len(targets), time.Since(start))
}

// roundDone ends a round that served everything it took: what is behind
// now is what was acknowledged during the round. It wakes the appends
// waiting for a checkpoint and the sequencer if it held back. Callers hold
// s.mu.
func (s *sequencer) roundDone() {
	if len(s.dirty) > 0 {
		s.behind.Store(s.firstDirty.UnixNano())
	} else {
		s.behind.Store(0)
	}
	s.failing.Store(false)
	close(s.integrated)
	s.integrated = make(chan struct{})
}

// lateQuiet is how long rounds must be in time before an episode of late
// checkpoints ends: a venue that is late every other round warns once, not
// at every round.
const lateQuiet = 10 * time.Second

// checkLate reports a round that served its checkpoints more than
// CheckpointWithin after the oldest acknowledgement they cover: a warning
// at the first of an episode, a notice when rounds have been in time for
// lateQuiet, and a count in the stats for each.
func (s *sequencer) checkLate(lag time.Duration, logs int, took time.Duration) {
	if lag <= s.within {
		if s.late && time.Since(s.lastLate) >= lateQuiet {
			s.v.log.Info("checkpoints are served within the bound again", "late_rounds", s.lateN, "worst_lag", s.lateMax, "bound", s.within)
			s.late, s.lateN, s.lateMax = false, 0, 0
		}
		return
	}
	s.v.metrics.lateIntegrations.Add(1)
	s.lateN++
	s.lateMax = max(s.lateMax, lag)
	s.lastLate = time.Now()
	if !s.late {
		s.late = true
		s.v.log.Warn("checkpoint served later than the venue promises: acknowledged appends waited longer than --checkpoint-within for it",
			"lag", lag, "bound", s.within, "round", took, "logs", logs)
	}
}

// storedTarget reads from the store what a log's next checkpoint must
// cover, and whether it is behind its entries.
func (s *sequencer) storedTarget(ctx context.Context, log string) (integrationTarget, bool, error) {
	st, err := s.loadState(ctx, log)
	if err != nil {
		return integrationTarget{}, false, err
	}
	return integrationTarget{log: log, size: st.size, hash: st.hash}, st.signed < st.size, nil
}

// integrateBehind integrates the logs whose entries a checkpoint does not
// cover yet: after a crash between an acknowledgement and the integration
// of its checkpoint. It runs before the venue serves anything.
func (s *sequencer) integrateBehind(ctx context.Context) error {
	logs, err := s.v.store.Behind(ctx)
	if err != nil || len(logs) == 0 {
		return err
	}
	var cps []store.SignedCheckpoint
	for _, l := range logs {
		t, behind, err := s.storedTarget(ctx, l)
		if err != nil {
			return err
		}
		if !behind {
			continue
		}
		note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: s.v.origin(l), Size: t.size, Hash: t.hash}, s.v.key.signer)
		if err != nil {
			return err
		}
		cps = append(cps, store.SignedCheckpoint{Log: l, Size: t.size, Note: note})
	}
	if err := s.v.store.AddCheckpoints(ctx, cps); err != nil {
		return fmt.Errorf("failed to integrate the logs acknowledged before the restart: %w", err)
	}
	s.v.log.Info("integrated the logs acknowledged before the restart", "logs", len(cps))
	return nil
}

// awaitSigned waits until a served checkpoint of log covers index, the
// context ends, or maxAwait passes.
func (s *sequencer) awaitSigned(ctx context.Context, log string, index int64) {
	if s.shared != nil {
		return // signed in the batch
	}
	ctx, cancel := context.WithTimeout(ctx, maxAwait)
	defer cancel()
	for {
		s.mu.Lock()
		ch := s.integrated
		st := s.states[log]
		if st != nil && st.signed > index {
			s.mu.Unlock()
			return
		}
		s.waiters++
		unknown := st == nil || st.signed < 0 // read under mu: the integrator writes it
		s.mu.Unlock()
		fromStore := false
		if unknown {
			size, _, err := s.size(ctx, log)
			fromStore = err == nil && size > index
		}
		if !fromStore {
			s.poke()
			select {
			case <-ch:
			case <-ctx.Done():
				fromStore = true // give up waiting; the entry is durable
			}
		}
		s.mu.Lock()
		s.waiters--
		s.mu.Unlock()
		if fromStore {
			return
		}
	}
}
