package venue_test

import (
	"bytes"
	"fmt"
	"net/http"
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
// many concurrent writers over 64 channels. Requests and response writers
// are built as a server hands them to its handler, not with httptest
// (NewRequest parses the request from text with a 4 KiB reader of its own,
// an eighth of the total, which net/http's server reuses per connection;
// ResponseRecorder copies headers and body): reading and writing HTTP is
// net/http's cost, measured with the network by 'goodoffices bench venue'.
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
			w := &benchWriter{header: http.Header{}}
			h.ServeHTTP(w, req)
			if w.code != http.StatusCreated {
				b.Fatalf("append: %d %s", w.code, w.body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	// CPU time of the whole process (user + system) per append: unlike
	// ns/op, it does not depend on how much of the two shared cores the
	// other processes on the machine leave to the benchmark.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// A benchWriter is the ResponseWriter BenchmarkAppendHandler hands the
// handler: a fresh header map per request, as net/http's server gives,
// without httptest.ResponseRecorder's copies of the header and body.
type benchWriter struct {
	header http.Header
	code   int
	body   []byte
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}

// processCPU returns the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("failed to read CPU time: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
