package desk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"

	"github.com/good-offices/goodoffices/venue/client"
)

// BenchmarkManyChannels measures the memory of a desk with many long
// channels: the processed history of DESK_CHANNELS channels (default 50)
// of DESK_MESSAGES entries each (default 10,000) is written to a real
// encrypted store as sync stores it, then every channel is used as the user
// interface does (the last page, the state of the talks, a search). It
// reports the Go heap in use after a GC and the peak resident memory.
//
//	DESK_CHANNELS=50 DESK_MESSAGES=100000 go test -run XXX -bench ManyChannels -benchtime 1x ./desk
func BenchmarkManyChannels(b *testing.B) {
	env := func(k string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
			return n
		}
		return def
	}
	chans, msgs := env("DESK_CHANNELS", 50), env("DESK_MESSAGES", 10000)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit) // as the desk commands run
	}
	ctx := context.Background()
	d := historyDesk(b, b.TempDir())
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range chans {
		ch := fmt.Sprintf("wg%d", c)
		meta, _ := jsonMarshal(client.Channel{ID: ch, Members: []string{"arden", "borealia", "caspia"}})
		if err := d.store.Put(ctx, prefChan+ch, meta); err != nil {
			b.Fatal(err)
		}
		for from := 0; from < msgs; from += 5000 {
			var batch []Message
			for i := from; i < min(msgs, from+5000); i++ {
				m := randomEntry(rng, int64(i))
				m.Channel = ch
				batch = append(batch, m)
			}
			appendHistory(b, d, batch)
		}
	}
	runtime.GC()
	b.ResetTimer()
	for range b.N {
		for c := range chans {
			ch := fmt.Sprintf("wg%d", c)
			if ms, err := d.ReadLast(ctx, ch, 20); err != nil || len(ms) != 20 {
				b.Fatalf("last page of %s: %d, %v", ch, len(ms), err)
			}
			if _, err := d.Talks(ctx, ch, "caspia"); err != nil {
				b.Fatal(err)
			}
			if _, err := d.Search(ctx, SearchQuery{Text: "30 km line", Channel: ch}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MiB")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}
