package desk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConfirmedByPush: with the periodic resync out of the way (one hour),
// every desk running Run learns of the others' cosignatures from the
// venue's event stream and marks each new entry confirmed within seconds.
func TestConfirmedByPush(t *testing.T) {
	ar := newArenaOf(t, -1, "arden", "borealia", "corvia")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, d := range ar.desks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Run(ctx, time.Hour, nil)
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	// Wait until every desk's event stream is up: after the first full
	// sync, only the stream tells a desk of new entries.
	deadline := time.Now().Add(20 * time.Second)
	for up := false; !up; {
		idx, err := ar.a.api.appendEntry(ctx, "plenary", mlsFramed([]byte("raw"), 0, []byte("warm-up")), -1)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		up = true
		for _, d := range ar.desks {
			up = up && stateOfTB(t, d, "plenary").Next > idx
		}
		if time.Now().After(deadline) {
			t.Fatal("event streams not up")
		}
	}
	for i := range 3 {
		idx, err := ar.a.api.appendEntry(ctx, "plenary", mlsFramed([]byte("raw"), 0, fmt.Appendf(nil, "entry %d", i)), -1)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ar.desks {
			until(t, func() bool {
				c, err := d.Confirmation(ctx, "plenary")
				return err == nil && c.IsConfirmed(idx)
			}, 10*time.Second)
		}
	}
}

func until(t *testing.T, cond func() bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
