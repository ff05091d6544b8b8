package desk

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue/client"
)

// Benchmarks of the desk over a real venue (SQLite, HTTP on loopback):
//
//	go test -run XXX -bench . -benchtime 200x ./desk
//
// BenchmarkLatency measures end-to-end message latency: from Send on one
// desk (encrypt, append, wait for durability) to the message being
// verified (checkpoint signature, consistency, inclusion) and decrypted on
// another desk that is running Run (live delivery over the event stream),
// with 2, 10 and 50 devices in the channel. It reports p50 and p99.

func benchChannel(b *testing.B, members int) (tv *testVenue, desks []*Desk) {
	tv = startVenue(b)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	for i := range members {
		p := arden
		if i >= members/2 {
			p = borealia
		}
		desks = append(desks, tv.newDesk(p, fmt.Sprintf("Delegate %d", i)))
	}
	ctx := b.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		b.Fatal(err)
	}
	for _, d := range desks {
		confirmAll(b, d)
	}
	if err := desks[0].Open(ctx, "plenary"); err != nil {
		b.Fatal(err)
	}
	ms, _, err := desks[0].Members(ctx, "plenary")
	if err != nil || len(ms) != members {
		b.Fatalf("group has %d members, want %d (%v)", len(ms), members, err)
	}
	return tv, desks
}

func BenchmarkLatency(b *testing.B) {
	for _, n := range []int{2, 10, 50} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			_, desks := benchChannel(b, n)
			a, r := desks[0], desks[n-1]
			ctx, cancel := context.WithCancel(b.Context())
			moved := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				done <- r.Run(ctx, time.Hour, func(logs []string) {
					select {
					case moved <- struct{}{}:
					default:
					}
				})
			}()
			defer func() { cancel(); <-done }()
			// Wait until r has joined and caught up.
			waitProcessed := func(idx int64, timeout time.Duration) bool {
				deadline := time.After(timeout)
				for {
					st, err := r.logState(ctx, r.store, "plenary")
					if err == nil && st.Next > idx {
						return true
					}
					select {
					case <-moved:
					case <-time.After(5 * time.Millisecond):
					case <-deadline:
						return false
					}
				}
			}
			idx, err := a.Send(ctx, "plenary", []byte("warm-up"))
			if err != nil {
				b.Fatal(err)
			}
			if !waitProcessed(idx, 30*time.Second) {
				b.Fatal("the receiving desk did not catch up")
			}
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				idx, err := a.Send(ctx, "plenary", fmt.Appendf(nil, "message %d", i))
				if err != nil {
					b.Fatal(err)
				}
				if !waitProcessed(idx, 10*time.Second) {
					b.Fatalf("message %d not received", i)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			ms, _ := r.Read(ctx, "plenary", idx, 0)
			if len(ms) == 0 || string(ms[len(ms)-1].Data) != fmt.Sprintf("message %d", b.N-1) {
				b.Fatal("the last message was not decrypted")
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkThroughput measures sustained messages per second through one
// venue: 4 desks each sending into its own channel at the same time, every
// message durable and verified back by its sender before the next.
func BenchmarkThroughput(b *testing.B) {
	tv := startVenue(b)
	arden := tv.accredit("arden")
	ctx := b.Context()
	const senders = 4
	var desks []*Desk
	for i := range senders {
		ch := fmt.Sprintf("wg%d", i)
		if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: ch, Kind: "working-group", Level: "expert", Members: []string{"arden"}}); err != nil {
			b.Fatal(err)
		}
		d := tv.newDesk(arden, fmt.Sprintf("Sender %d", i))
		confirmAll(b, d)
		if _, err := d.Send(ctx, ch, []byte("warm-up")); err != nil {
			b.Fatal(err)
		}
		desks = append(desks, d)
	}
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, d := range desks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < b.N; j += senders {
				if _, err := d.Send(ctx, fmt.Sprintf("wg%d", i), []byte("sustained")); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
}
