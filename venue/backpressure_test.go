package venue_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestCheckpointWithinUnderBurst: 64 writers append through the batch
// endpoint, without waiting for checkpoints, as fast as the venue takes
// it up to about 80,000 entries/s, for a few seconds; every acknowledged entry is
// under a served checkpoint within CheckpointWithin of its
// acknowledgement. (The sequencer holds new appends back while
// integration is behind, sequencer.holdBack, rather than acknowledging
// appends whose checkpoint would then come late; whether a burst needs it
// depends on scheduling, so TestHoldBackWhileIntegrationIsBehind tests it
// apart.)
//
// Each writer notes when its 201 arrived and the largest index in it; a
// poller per channel fetches the checkpoint every few milliseconds. The
// checkpoint covering an acknowledged entry was first served after the
// last fetch that did not show it was sent and before the first that did
// returned: the wait from the 201 lies between those two, and on a loaded
// machine they can be far apart (the pollers wait for the CPU too). The
// test fails when even the shorter one exceeds the bound, or when the
// venue's own measure does (GET /v1/stats, max_integration_lag_ms: from a
// log's first unintegrated acknowledgement to its checkpoint being served).
func TestCheckpointWithinUnderBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("a burst of a few seconds")
	}
	// 400 ms: the integrator gathers for 200 ms, leaving the rest to one
	// round on a loaded two-core CI machine (at 200 ms, with the other
	// packages' tests running beside it, the venue's own measure reached
	// 199 ms, and 286 ms under the race detector).
	const within = 400 * time.Millisecond
	const (
		channels = 4
		writers  = 64
		perBatch = 256
		burst    = 3 * time.Second
		poll     = 3 * time.Millisecond
		// About 80,000 entries/s at most. Much above that (from 145,000/s on
		// the two-core machine this was written on) SQLite's journal
		// fills faster than its applier empties it, and the store then
		// stalls appends and checkpoints alike for one applier round,
		// 150–300 ms: a limit of the store that holding appends back
		// cannot lift (see "Back-pressure" in integrate.go).
		interval = time.Duration(writers * perBatch * int64(time.Second) / 80_000)
	)
	tv := newTestVenue(t, func(c *venue.Config) { c.CheckpointWithin = within; c.Rate = -1 })
	tv.accredit(t, "arden")
	dev := tv.device(t, "arden")
	durable, _ := client.New(tv.srv.URL, client.WithDevice(nil2(t, dev)), client.WithDurableAcks())
	for i := range channels {
		tv.channel(t, fmt.Sprintf("burst%d", i), "working-group", "arden")
	}

	type ack struct {
		at    time.Time
		index int64 // the largest index the 201 acknowledged
	}
	// seen is a size a poller saw first: in the answer to the fetch
	// that returned at got; the fetch before it was sent at before.
	type seen struct {
		before, got time.Time
		size        int64
	}
	var (
		mu    sync.Mutex
		acks  = make([][]ack, channels)
		sizes = make([][]seen, channels)
		errs  []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	entry := bytes.Repeat([]byte{7}, 256)
	batch := make([][]byte, perBatch)
	for i := range batch {
		batch[i] = entry
	}

	done := make(chan struct{})
	var pollers sync.WaitGroup
	for c := range channels {
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			last, sent := int64(-1), time.Now()
			for {
				select {
				case <-done:
					return
				case <-time.After(poll):
				}
				prev := sent
				sent = time.Now()
				b, err := durable.Fetch(t.Context(), fmt.Sprintf("burst%d", c), "checkpoint")
				got := time.Now()
				if err != nil {
					fail(err)
					return
				}
				lines := strings.SplitN(string(b), "\n", 3)
				if len(lines) < 3 {
					fail(fmt.Errorf("checkpoint %q", b))
					return
				}
				n, err := strconv.ParseInt(lines[1], 10, 64)
				if err != nil {
					fail(fmt.Errorf("checkpoint size %q: %v", lines[1], err))
					return
				}
				if n > last {
					last = n
					mu.Lock()
					sizes[c] = append(sizes[c], seen{prev, got, n})
					mu.Unlock()
				}
			}
		}()
	}

	var wg sync.WaitGroup
	stop := time.Now().Add(burst)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := w % channels
			log := fmt.Sprintf("burst%d", c)
			next := time.Now().Add(time.Duration(w) * interval / writers)
			for time.Now().Before(stop) {
				time.Sleep(time.Until(next))
				next = next.Add(interval)
				idx, err := durable.AppendBatch(t.Context(), log, batch)
				now := time.Now()
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				acks[c] = append(acks[c], ack{now, idx[len(idx)-1]})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Every acknowledged entry is covered well within a second once the
	// writers stop; wait for that, then stop the pollers.
	time.Sleep(within + 500*time.Millisecond)
	close(done)
	pollers.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}

	var longest, shortest time.Duration // the longest wait, as bounded from above and from below
	var n int
	for c := range channels {
		for _, a := range acks[c] {
			n++
			j := 0
			for j < len(sizes[c]) && sizes[c][j].size <= a.index {
				j++
			}
			if j == len(sizes[c]) {
				t.Fatalf("burst%d: no checkpoint covering index %d was ever served", c, a.index)
			}
			longest = max(longest, sizes[c][j].got.Sub(a.at))
			shortest = max(shortest, sizes[c][j].before.Sub(a.at))
		}
	}
	st := stats(t, tv)
	t.Logf("%d batches of %d acknowledged in %v (%.0f entries/s); longest wait from a 201 to a checkpoint covering it: between %v and %v as the pollers saw it, %.1fms by the venue's stats; sequencer held back %v times (%.0fms in all)",
		n, perBatch, burst, float64(n*perBatch)/burst.Seconds(), shortest.Round(time.Millisecond), longest.Round(time.Millisecond),
		st["max_integration_lag_ms"], st["integration_holds"], st["integration_hold_ms"])
	if shortest > within {
		t.Errorf("an acknowledged entry waited at least %v for a checkpoint covering it; CheckpointWithin is %v", shortest.Round(time.Millisecond), within)
	}
	// Whether the sequencer had to hold appends back depends on when the
	// integrator's goroutine ran: since checkpoints are lazy its rounds
	// usually end before the next is due, and a CI run saw none in 3 s
	// with the promise kept. This test pins the promise;
	// TestHoldBackWhileIntegrationIsBehind pins the holding back.
	if lag := time.Duration(st["max_integration_lag_ms"] * float64(time.Millisecond)); lag > within {
		t.Errorf("the venue's stats say an acknowledged entry waited %v for its checkpoint; CheckpointWithin is %v", lag.Round(time.Millisecond), within)
	}
}

// TestLateCheckpointsWarn: a round that alone takes longer than the bound
// (here hundreds of logs to sign against a bound of a millisecond) breaks
// the promise whatever the sequencer does; the venue says so, loudly and
// once per episode, and counts the late rounds.
func TestLateCheckpointsWarn(t *testing.T) {
	const channels = 300
	logs := &captureHandler{}
	tv := newTestVenue(t, func(c *venue.Config) {
		c.CheckpointWithin = time.Millisecond
		c.Rate = -1
		c.Logger = slog.New(logs)
	})
	tv.accredit(t, "arden")
	dev := tv.device(t, "arden")
	durable, _ := client.New(tv.srv.URL, client.WithDevice(nil2(t, dev)), client.WithDurableAcks())
	for i := range channels {
		tv.channel(t, fmt.Sprintf("late%d", i), "working-group", "arden")
	}
	// Twice every log at once, from 16 writers: rounds of many logs.
	for range 2 {
		var wg sync.WaitGroup
		next := make(chan int, channels)
		for i := range channels {
			next <- i
		}
		close(next)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if _, err := durable.AppendBatch(t.Context(), fmt.Sprintf("late%d", i), [][]byte{[]byte("entry")}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	// Every log is integrated in the end (the promise is late, not broken
	// for good).
	for i := range channels {
		for tv.verifiedSize(t, dev, fmt.Sprintf("late%d", i)) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	st := stats(t, tv)
	late := st["late_integrations"]
	warnings := logs.count(slog.LevelWarn, "checkpoint served later than the venue promises")
	t.Logf("%v rounds, %v late, longest wait %.1fms; %d warnings", st["integrations"], late, st["max_integration_lag_ms"], warnings)
	if late < 1 {
		t.Fatalf("no late round counted with %d logs to sign against a bound of 1ms (longest wait %.1fms)", channels, st["max_integration_lag_ms"])
	}
	// One warning per episode: this one lasts as long as the test (an
	// episode ends once rounds have been in time for ten seconds).
	if warnings != 1 {
		t.Fatalf("%d warnings for %v late rounds in one episode, want 1", warnings, late)
	}
	if !logs.has(slog.LevelWarn, "lag") {
		t.Fatal("the warning does not give the lag")
	}
}

// captureHandler is a slog.Handler that keeps the records.
type captureHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

// count returns the number of records at level whose message is msg.
func (h *captureHandler) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && strings.HasPrefix(r.Message, msg) {
			n++
		}
	}
	return n
}

// has reports whether a record at level has an attribute key.
func (h *captureHandler) has(level slog.Level, key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = found || a.Key == key
			return !found
		})
		if r.Level == level && found {
			return true
		}
	}
	return false
}
