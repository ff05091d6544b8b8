package venue

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestHoldBackWhileIntegrationIsBehind pins the sequencer's back-pressure
// (holdBack, integrate.go) without relying on timing under load: with the
// integrator's round held at its start, an append acknowledged before is
// not covered by a checkpoint once the gathering interval has passed, and
// the sequencer must then acknowledge nothing new until a round has ended.
// Released, the round serves the checkpoint and the held append is
// acknowledged (after it, not before).
func TestHoldBackWhileIntegrationIsBehind(t *testing.T) {
	const within = 100 * time.Millisecond
	v, err := New(t.Context(), Config{DataDir: t.TempDir(), Name: "venue.test", Rate: -1, CheckpointWithin: within,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	const log = "holdback"

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	hook := func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	testHookIntegrateRound.Store(&hook)
	released := false
	defer func() {
		testHookIntegrateRound.Store(nil)
		if !released {
			close(release)
		}
	}()

	first, _, err := v.seq.append(t.Context(), log, []byte("first"), -1, false)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // the round for "first" is due and held
	case <-time.After(10 * time.Second):
		t.Fatal("the integrator's round never began")
	}
	// Past the threshold: the oldest acknowledged append is older than
	// half the bound and no round has ended.
	time.Sleep(within/2 + 10*time.Millisecond)
	if !v.seq.lagging() {
		t.Fatal("integration held past half the bound, yet the sequencer does not see it behind")
	}
	type result struct {
		index int64
		err   error
		at    time.Time
	}
	second := make(chan result, 1)
	go func() {
		i, _, err := v.seq.append(t.Context(), log, []byte("second"), -1, false)
		second <- result{i, err, time.Now()}
	}()
	select {
	case r := <-second:
		t.Fatalf("append acknowledged at index %d (err %v) while integration was behind", r.index, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	releasedAt := time.Now()
	close(release)
	released = true
	testHookIntegrateRound.Store(nil)
	var r result
	select {
	case r = <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the held append was never acknowledged after the integrator caught up")
	}
	if r.err != nil || r.index != first+1 {
		t.Fatalf("held append: index %d, err %v; want index %d", r.index, r.err, first+1)
	}
	if r.at.Before(releasedAt) {
		t.Fatal("the held append was acknowledged before the integrator was released")
	}
	if n := v.metrics.holds.Load(); n < 1 {
		t.Errorf("integration_holds = %d after a held append", n)
	}
	// The first entry's checkpoint is served.
	size, _, err := v.checkpoint(t.Context(), log)
	if err != nil || size < first+1 {
		t.Errorf("checkpoint after the round: size %d, err %v; want at least %d", size, err, first+1)
	}
}
