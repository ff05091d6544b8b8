package venue_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue"
)

// BenchmarkAppendHandler measures the venue's cost per durable append
// without the network: the handler (authentication, authorisation,
// limits), the sequencer (hashing, signing) and the SQLite commit, with
// many concurrent writers over 64 channels. Requests are built as a server
// hands them to its handler, not parsed from text (httptest.NewRequest
// would allocate a 4 KiB reader per request, an eighth of the total, that
// net/http's server reuses per connection): reading HTTP is net/http's
// cost, measured with the network by 'goodoffices bench venue'.
//
//	go test -run XXX -bench AppendHandler -cpu 2 ./venue/
func BenchmarkAppendHandler(b *testing.B) {
	// As the venue command runs (venue.GCPercent), unless GOGC is set.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(venue.GCPercent))
	}
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
	auth, contentType := []string{"Bearer " + tok}, []string{"message/mls"}
	var n atomic.Int64
	b.SetParallelism(64)
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			path := fmt.Sprintf("/logs/ch%d/entries", i%channels)
			req, err := http.NewRequest("POST", path, bytes.NewReader(entry))
			if err != nil {
				b.Fatal(err)
			}
			req.RequestURI, req.RemoteAddr = path, "192.0.2.1:1234"
			req.Header["Authorization"] = auth
			req.Header["Content-Type"] = contentType
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
