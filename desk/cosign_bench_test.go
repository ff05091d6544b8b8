package desk

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/venue/client"
)

// Benchmarks of the neutrality checks over a real venue (SQLite, HTTP on
// loopback), recorded in BENCHMARKS.md ("neutrality"):
//
//	go test -run XXX -bench 'Cosign|Confirmed' -benchtime 100x ./desk
//
// BenchmarkCosign50Channels: one desk, 50 channels with entries cosigned by
// both parties; per op: cosign all 50 checkpoints (tlog-cosignature);
// verify the served cosignatures of all 50 (certificates, venue signature,
// cosignatures) the first time (verify-first) and again (verify-repeat,
// successful checks remembered); or one whole Sync of the 50 channels and the
// register in the steady state (everything confirmed).
//
// BenchmarkAppendToConfirmed: N parties, one desk each running Run (live
// delivery of entries and cosignatures over the event stream); per op, one
// entry is appended and the clock stops when every desk shows it confirmed
// (cosigned by all N). It reports p50 and p99. resync is Run's interval of
// full resyncs: 30 s is Run's default, so confirmation rests on the stream
// alone; 100 ms is how it was measured before cosignatures were pushed.

func benchArena50(b *testing.B) (*arena, []string) {
	ar := newArena(b, -1)
	ctx := b.Context()
	var chans []string
	for i := range 50 {
		id := fmt.Sprintf("wg-%02d", i)
		if _, err := ar.admin.CreateChannel(ctx, client.ChannelSpec{ID: id, Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
			b.Fatal(err)
		}
		for j := range 3 {
			if _, err := ar.a.api.appendEntry(ctx, id, mlsFramed([]byte("raw"), 0, fmt.Appendf(nil, "%s-e%d", id, j)), -1); err != nil {
				b.Fatal(err)
			}
		}
		chans = append(chans, id)
	}
	for range 2 {
		for _, d := range []*Desk{ar.a, ar.b} {
			if res, err := d.Sync(ctx); err != nil || res.Err() != nil {
				b.Fatal(err, res.Err())
			}
		}
	}
	return ar, chans
}

func BenchmarkCosign50Channels(b *testing.B) {
	ar, chans := benchArena50(b)
	ctx := b.Context()
	d := ar.a
	for _, ch := range chans {
		c, _ := d.Confirmation(ctx, ch)
		if c.Confirmed != 3 {
			b.Fatalf("%s not confirmed: %+v", ch, c)
		}
	}
	b.Run("cosign", func(b *testing.B) {
		msgs := make([][]byte, len(chans))
		for i, ch := range chans {
			msgs[i] = stateOfTB(b, d, ch).Checkpoint
		}
		b.ResetTimer()
		for range b.N {
			for _, m := range msgs {
				if _, err := d.cosign(m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	for _, cold := range []bool{true, false} {
		name := "verify-repeat"
		if cold {
			name = "verify-first"
		}
		b.Run(name, func(b *testing.B) { benchVerify(b, d, chans, cold) })
	}
	b.Run("sync-50-channels", func(b *testing.B) {
		for range b.N {
			if res, err := d.Sync(ctx); err != nil || res.Err() != nil {
				b.Fatal(err, res.Err())
			}
		}
	})
}

// benchVerify verifies the served cosignatures of every channel; cold
// forgets the remembered checks first (a desk seeing them for the first
// time), otherwise they are the repeated checks of a steady state.
func benchVerify(b *testing.B, d *Desk, chans []string, cold bool) {
	ctx := b.Context()
	vv, _ := note.NewVerifier(d.venue.VerifierKey)
	served := make([]*client.Cosignatures, len(chans))
	for i, ch := range chans {
		cs, err := d.api.cl().Cosignatures(ctx, ch)
		if err != nil {
			b.Fatal(err)
		}
		served[i] = cs
	}
	b.ResetTimer()
	for range b.N {
		if cold {
			checks.Lock()
			clear(checks.m)
			checks.Unlock()
		}
		for i, ch := range chans {
			if got := d.verifyCosignatures(ctx, ch, vv, served[i]); len(got) == 0 {
				b.Fatal("no cosigned checkpoint verified")
			}
		}
	}
}

func stateOfTB(b testing.TB, d *Desk, log string) LogState {
	st, err := d.logState(b.Context(), d.store, log)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkAppendToConfirmed(b *testing.B) {
	for _, c := range []struct {
		n      int
		resync time.Duration
	}{{2, 30 * time.Second}, {10, 30 * time.Second}, {2, 100 * time.Millisecond}, {10, 100 * time.Millisecond}} {
		n := c.n
		b.Run(fmt.Sprintf("parties=%d/resync=%s", n, c.resync), func(b *testing.B) {
			names := []string{"arden", "borealia"}
			for i := 2; i < n; i++ {
				names = append(names, fmt.Sprintf("party-%d", i))
			}
			ar := newArenaOf(b, -1, names...)
			ctx, cancel := context.WithCancel(b.Context())
			var wg sync.WaitGroup
			for _, d := range ar.desks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.Run(ctx, c.resync, nil)
				}()
			}
			defer func() { cancel(); wg.Wait() }()
			// Wait until every event stream is up: with a long resync
			// interval, only the stream tells a desk of new entries.
			for deadline := time.Now().Add(30 * time.Second); ; {
				idx, err := ar.a.api.appendEntry(ctx, "plenary", mlsFramed([]byte("raw"), 0, []byte("warm-up")), -1)
				if err != nil {
					b.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond)
				up := true
				for _, d := range ar.desks {
					up = up && stateOfTB(b, d, "plenary").Next > idx
				}
				if up {
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("event streams not up")
				}
			}
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				idx, err := ar.a.api.appendEntry(ctx, "plenary", mlsFramed([]byte("raw"), 0, fmt.Appendf(nil, "entry %d", i)), -1)
				if err != nil {
					b.Fatal(err)
				}
				for _, d := range ar.desks {
					for {
						c, err := d.Confirmation(ctx, "plenary")
						if err != nil {
							b.Fatal(err)
						}
						if c.IsConfirmed(idx) {
							break
						}
						if time.Since(start) > 30*time.Second {
							b.Fatalf("entry %d not confirmed on %s after 30 s: %+v", idx, d.Profile().Delegation, c)
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
		})
	}
}
