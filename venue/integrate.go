package venue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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
// checkpoint), signs one checkpoint per such log at its stored size, stores
// the checkpoints in one transaction, and only then serves them and wakes
// the event streams. Ed25519 signatures, the largest cost of an append
// when every batch signed, are thereby made once per log per interval
// instead of once per log per batch.
//
// The promise (SECURITY.md, "Sequencing and integration"): a checkpoint
// covering an acknowledged entry is served within CheckpointWithin under
// normal load; after a crash, the venue integrates what it had acknowledged
// before it answers anything else (Open, integrateBehind). A venue that
// acknowledges and never integrates is withholding: a desk raises
// AlarmStaleView once its bound passes (desk/eclipse.go).

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
	note []byte
}

// integrateRound signs and stores one checkpoint for every log that grew,
// then serves them.
func (s *sequencer) integrateRound() {
	start := time.Now()
	s.mu.Lock()
	since := s.firstDirty
	var targets []integrationTarget
	var unknown []string
	for l := range s.dirty {
		st := s.states[l]
		switch {
		case st == nil:
			unknown = append(unknown, l) // dropped after a failed write: ask the store
		case st.signed < st.size:
			targets = append(targets, integrationTarget{log: l, size: st.size, hash: st.hash})
		}
	}
	clear(s.dirty)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	retry := func(err error) {
		s.v.log.Error("failed to integrate checkpoints; retrying", "logs", len(targets)+len(unknown), "err", err)
		s.mu.Lock()
		if len(s.dirty) == 0 {
			s.firstDirty = time.Now()
		}
		for _, t := range targets {
			s.dirty[t.log] = true
		}
		for _, l := range unknown {
			s.dirty[l] = true
		}
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
		return
	}
	errs := make([]error, len(targets))
	parallel(min(runtime.GOMAXPROCS(0), len(targets)/8), len(targets), func(i int) {
		t := &targets[i]
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
	if err := s.v.store.AddCheckpoints(ctx, cps); err != nil {
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
	close(s.integrated)
	s.integrated = make(chan struct{})
	s.mu.Unlock()
	s.v.metrics.integration(len(targets), time.Since(start), time.Since(since))
	s.v.hub.logsChanged(changed)
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
		s.mu.Unlock()
		fromStore := false
		if st == nil || st.signed < 0 {
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
