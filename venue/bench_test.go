package venue_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue"
)

// BenchmarkAppendHandler measures the venue's cost per durable append
// without the network: the handler (authentication, authorisation,
// limits), the sequencer (hashing, signing) and the SQLite commit, with
// many concurrent writers over 64 channels.
//
//	go test -run XXX -bench AppendHandler -cpu 2 ./venue/
func BenchmarkAppendHandler(b *testing.B) {
	tv := newTestVenue(b, func(c *venue.Config) { c.Rate = -1 })
	tv.accredit(b, "arden")
	h := tv.v.Handler()
	const channels = 64
	for i := range channels {
		tv.channel(b, fmt.Sprintf("ch%d", i), "working-group", "arden")
	}
	dev := tv.device(b, "arden")
	tok := deviceToken(b, tv.srv.URL, nil2(b, dev))
	entry := bytes.Repeat([]byte{7}, 256)
	var n atomic.Int64
	b.SetParallelism(64)
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req := httptest.NewRequest("POST", fmt.Sprintf("/logs/ch%d/entries", i%channels), bytes.NewReader(entry))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "message/mls")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				b.Fatalf("append: %d %s", w.Code, w.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	// CPU time of the whole process (user + system) per append: unlike
	// ns/op, it does not depend on how much of the two shared cores the
	// other processes on the machine leave to the benchmark.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU returns the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("failed to read CPU time: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
