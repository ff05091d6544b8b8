// Package ops gives a venue node what an operator's tooling expects: a
// liveness probe (/healthz), a readiness probe (/readyz) and Prometheus
// metrics (/metrics, text exposition format 0.0.4), around the venue's
// handler and its store.
//
// # Probes
//
// GET /healthz answers 200 "ok" while the process serves HTTP. GET /readyz
// answers 200 only when the node is not shutting down and its store (with
// PostgreSQL) answers a ping within two seconds; otherwise 503 with the reason, so that a load
// balancer sends no new requests to a node that cannot make appends
// durable. A node whose NATS connection is down stays ready (it falls back
// to polling) and says so in the body.
//
// # Metrics
//
//	goodoffices_http_requests_total{route,code}     counter
//	goodoffices_append_duration_seconds             histogram: POST /logs/{id}/entries, request to answer
//	goodoffices_appends_total{result}               counter: ok, rejected (4xx), unavailable (5xx)
//	goodoffices_event_streams                       gauge: open /v1/events streams
//	goodoffices_store_append_duration_seconds       histogram: one group-commit transaction
//	goodoffices_store_appended_entries_total        counter
//	goodoffices_store_errors_total{op}              counter: storage failures (not ErrNotFound and the like)
//	goodoffices_fanout_connected                    gauge: 1 when NATS is up (only with --nats)
//	goodoffices_checkpoints_late_total              counter: integration rounds that served their checkpoints
//	                                                later than --checkpoint-within after an acknowledgement
//	                                                (a broken promise; only with the SQLite store)
//	goodoffices_lane_requests_total                 counter: appends read by the venue's HTTP/1.1 lane (internal/lane)
//	goodoffices_lane_handovers_total                counter: connections the lane handed to net/http
//
// Metrics carry no channel, device or delegation names: only what the
// venue's operator may see anyway, in aggregate.
package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// A Counter is a monotonically increasing value.
type Counter struct{ v atomic.Int64 }

// Add adds n.
func (c *Counter) Add(n int64) { c.v.Add(n) }

// A Gauge is a value that goes up and down.
type Gauge struct{ v atomic.Int64 }

// Add adds n (negative to subtract).
func (g *Gauge) Add(n int64) { g.v.Add(n) }

// Set sets the value.
func (g *Gauge) Set(n int64) { g.v.Store(n) }

// A Histogram counts observations in cumulative buckets.
type Histogram struct {
	bounds []float64
	counts []atomic.Int64
	count  atomic.Int64
	sumNs  atomic.Int64
}

// latencyBounds are the bucket upper bounds in seconds.
var latencyBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newHistogram() *Histogram {
	return &Histogram{bounds: latencyBounds, counts: make([]atomic.Int64, len(latencyBounds))}
}

// Observe records a duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	for i, b := range h.bounds {
		if s <= b {
			h.counts[i].Add(1)
			break
		}
	}
	h.count.Add(1)
	h.sumNs.Add(int64(d))
}

// Metrics are a venue node's metrics.
type Metrics struct {
	mu       sync.Mutex
	requests map[[2]string]*Counter // route, code

	AppendLatency      *Histogram
	AppendsOK          Counter
	AppendsRejected    Counter
	AppendsUnavailable Counter
	Streams            Gauge
	StoreAppend        *Histogram
	StoreEntries       Counter
	storeErrors        map[string]*Counter
	FanoutConnected    func() bool // nil: no NATS
	// LateCheckpoints returns how many integration rounds served their
	// checkpoints later than the venue promises (venue.Venue.LateIntegrations);
	// nil: not reported.
	LateCheckpoints func() int64
	// Lane returns how many requests the HTTP/1.1 lane served and how many
	// connections it handed to net/http; nil: no lane (--lane=false).
	Lane func() (served, handedOver int64)
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[[2]string]*Counter{}, AppendLatency: newHistogram(), StoreAppend: newHistogram(), storeErrors: map[string]*Counter{}}
}

func (m *Metrics) request(route string, code int) {
	k := [2]string{route, fmt.Sprint(code)}
	m.mu.Lock()
	c := m.requests[k]
	if c == nil {
		c = &Counter{}
		m.requests[k] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// StoreError counts a storage failure of operation op.
func (m *Metrics) StoreError(op string) {
	m.mu.Lock()
	c := m.storeErrors[op]
	if c == nil {
		c = &Counter{}
		m.storeErrors[op] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// WriteTo writes the metrics in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("# HELP goodoffices_http_requests_total HTTP requests by route and status code.\n# TYPE goodoffices_http_requests_total counter\n")
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+" "+keys[i][1] < keys[j][0]+" "+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(&b, "goodoffices_http_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k].v.Load())
	}
	ops := make([]string, 0, len(m.storeErrors))
	for op := range m.storeErrors {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	b.WriteString("# HELP goodoffices_store_errors_total Storage failures by operation.\n# TYPE goodoffices_store_errors_total counter\n")
	for _, op := range ops {
		fmt.Fprintf(&b, "goodoffices_store_errors_total{op=%q} %d\n", op, m.storeErrors[op].v.Load())
	}
	m.mu.Unlock()
	writeHistogram(&b, "goodoffices_append_duration_seconds", "Latency of appends, from request to durable acknowledgement.", m.AppendLatency)
	b.WriteString("# HELP goodoffices_appends_total Appends by result.\n# TYPE goodoffices_appends_total counter\n")
	fmt.Fprintf(&b, "goodoffices_appends_total{result=\"ok\"} %d\n", m.AppendsOK.v.Load())
	fmt.Fprintf(&b, "goodoffices_appends_total{result=\"rejected\"} %d\n", m.AppendsRejected.v.Load())
	fmt.Fprintf(&b, "goodoffices_appends_total{result=\"unavailable\"} %d\n", m.AppendsUnavailable.v.Load())
	fmt.Fprintf(&b, "# HELP goodoffices_event_streams Open event streams (subscribers).\n# TYPE goodoffices_event_streams gauge\ngoodoffices_event_streams %d\n", m.Streams.v.Load())
	writeHistogram(&b, "goodoffices_store_append_duration_seconds", "Duration of one group-commit store transaction.", m.StoreAppend)
	fmt.Fprintf(&b, "# HELP goodoffices_store_appended_entries_total Entries made durable.\n# TYPE goodoffices_store_appended_entries_total counter\ngoodoffices_store_appended_entries_total %d\n", m.StoreEntries.v.Load())
	if m.FanoutConnected != nil {
		up := 0
		if m.FanoutConnected() {
			up = 1
		}
		fmt.Fprintf(&b, "# HELP goodoffices_fanout_connected Whether the NATS connection for fan-out is up.\n# TYPE goodoffices_fanout_connected gauge\ngoodoffices_fanout_connected %d\n", up)
	}
	if m.LateCheckpoints != nil {
		fmt.Fprintf(&b, "# HELP goodoffices_checkpoints_late_total Integration rounds that served checkpoints later than the promised bound after an acknowledgement.\n# TYPE goodoffices_checkpoints_late_total counter\ngoodoffices_checkpoints_late_total %d\n", m.LateCheckpoints())
	}
	if m.Lane != nil {
		served, handedOver := m.Lane()
		fmt.Fprintf(&b, "# HELP goodoffices_lane_requests_total Requests read by the venue's HTTP/1.1 lane instead of net/http.\n# TYPE goodoffices_lane_requests_total counter\ngoodoffices_lane_requests_total %d\n", served)
		fmt.Fprintf(&b, "# HELP goodoffices_lane_handovers_total Connections the HTTP/1.1 lane handed to net/http.\n# TYPE goodoffices_lane_handovers_total counter\ngoodoffices_lane_handovers_total %d\n", handedOver)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func writeHistogram(b *strings.Builder, name, help string, h *Histogram) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum int64
	for i, bound := range h.bounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(b, "%s_bucket{le=\"%g\"} %d\n", name, bound, cum)
	}
	count := h.count.Load()
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n", name, count)
	fmt.Fprintf(b, "%s_sum %s\n", name, formatFloat(float64(h.sumNs.Load())/1e9))
	fmt.Fprintf(b, "%s_count %d\n", name, count)
}

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "0"
	}
	return fmt.Sprintf("%g", f)
}

// Options configure Handler.
type Options struct {
	Metrics *Metrics
	// Ping checks the store; nil means always ready.
	Ping func(ctx context.Context) error
	// Draining reports that the node is shutting down.
	Draining func() bool
	// Fanout describes the fan-out state for /readyz, e.g. "nats: up".
	Fanout func() string
}

// route names a request for metrics without its variable parts.
func route(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/logs/") && strings.HasSuffix(p, "/entries"):
		return r.Method + " /logs/{id}/entries"
	case strings.HasPrefix(p, "/logs/") && strings.Contains(p, "/tile/"):
		return r.Method + " /logs/{id}/tile"
	case strings.HasPrefix(p, "/logs/") && strings.HasSuffix(p, "/checkpoint"):
		return r.Method + " /logs/{id}/checkpoint"
	case strings.HasPrefix(p, "/v1/devices/") && strings.HasSuffix(p, "/mail"):
		return r.Method + " /v1/devices/{id}/mail"
	case strings.HasPrefix(p, "/v1/devices/") && strings.HasSuffix(p, "/keypackage"):
		return r.Method + " /v1/devices/{id}/keypackage"
	case strings.HasPrefix(p, "/v1/channels/"):
		return r.Method + " /v1/channels/{id}"
	case strings.HasPrefix(p, "/v1/"):
		if len(p) > 40 {
			return r.Method + " other"
		}
		return r.Method + " " + p
	default:
		return r.Method + " other"
	}
}

// Handler serves the probes and metrics and passes every other request to
// next, counting it.
func Handler(next http.Handler, o Options) http.Handler {
	m := o.Metrics
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if o.Draining != nil && o.Draining() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "shutting down\n")
			return
		}
		if o.Ping != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			err := o.Ping(ctx)
			cancel()
			if err != nil {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "store unavailable\n")
				return
			}
		}
		io.WriteString(w, "ready\n")
		if o.Fanout != nil {
			io.WriteString(w, o.Fanout()+"\n")
		}
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.WriteTo(w)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			mux.ServeHTTP(w, r)
			return
		}
		rt := route(r)
		if rt == "GET /v1/events" {
			m.Streams.Add(1)
			defer m.Streams.Add(-1)
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(sw, r)
		m.request(rt, sw.code)
		if rt == "POST /logs/{id}/entries" {
			switch {
			case sw.code < 300:
				m.AppendLatency.Observe(time.Since(start))
				m.AppendsOK.Add(1)
			case sw.code < 500:
				m.AppendsRejected.Add(1)
			default:
				m.AppendsUnavailable.Add(1)
			}
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets event streams flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// InstrumentStore returns s, recording group-commit latency, appended
// entries and storage failures in m.
// When s is a store.Shared, so is the result.
func InstrumentStore(s store.Store, m *Metrics) store.Store {
	in := &instrumented{Store: s, m: m}
	if sh, ok := s.(store.Shared); ok {
		return &instrumentedShared{instrumented: in, shared: sh}
	}
	if lc, ok := s.(store.LazyCheckpointer); ok {
		return &instrumentedLazy{instrumented: in, lazy: lc}
	}
	return in
}

// instrumentedLazy keeps the SQLite store's lazy checkpoints
// (store.LazyCheckpointer) visible through the instrumentation.
type instrumentedLazy struct {
	*instrumented
	lazy store.LazyCheckpointer
}

func (s *instrumentedLazy) PublishCheckpoints(ctx context.Context, cps []store.SignedCheckpoint) error {
	return s.lazy.PublishCheckpoints(ctx, cps)
}

type instrumentedShared struct {
	*instrumented
	shared store.Shared
}

func (s *instrumentedShared) AppendLocked(ctx context.Context, logs []string, plan func(map[string]store.Head) ([]store.LogAppend, error)) error {
	start := time.Now()
	var batch []store.LogAppend
	err := s.shared.AppendLocked(ctx, logs, func(heads map[string]store.Head) ([]store.LogAppend, error) {
		b, err := plan(heads)
		batch = b
		return b, err
	})
	if err == nil {
		s.m.StoreAppend.Observe(time.Since(start))
		n := 0
		for _, a := range batch {
			n += len(a.Entries)
		}
		s.m.StoreEntries.Add(int64(n))
	}
	return s.count("append", err)
}

type instrumented struct {
	store.Store
	m *Metrics
}

// expected are errors that are answers, not failures.
func expected(err error) bool {
	return err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrEpochTaken) || errors.Is(err, store.ErrReplay) ||
		errors.Is(err, context.Canceled)
}

func (s *instrumented) count(op string, err error) error {
	if !expected(err) {
		s.m.StoreError(op)
	}
	return err
}

func (s *instrumented) Append(ctx context.Context, batch []store.LogAppend) error {
	start := time.Now()
	err := s.Store.Append(ctx, batch)
	if err == nil {
		s.m.StoreAppend.Observe(time.Since(start))
		n := 0
		for _, a := range batch {
			n += len(a.Entries)
		}
		s.m.StoreEntries.Add(int64(n))
	}
	return s.count("append", err)
}

func (s *instrumented) Checkpoint(ctx context.Context, log string) (int64, []byte, error) {
	size, note, err := s.Store.Checkpoint(ctx, log)
	return size, note, s.count("checkpoint", err)
}

func (s *instrumented) ReadEntries(ctx context.Context, log string, start, end int64) ([][]byte, error) {
	es, err := s.Store.ReadEntries(ctx, log, start, end)
	return es, s.count("read_entries", err)
}

func (s *instrumented) ReadHashes(ctx context.Context, log string, idx []int64) ([]tlog.Hash, error) {
	hs, err := s.Store.ReadHashes(ctx, log, idx)
	return hs, s.count("read_hashes", err)
}

func (s *instrumented) PutMail(ctx context.Context, device string, data []byte) (int64, error) {
	id, err := s.Store.PutMail(ctx, device, data)
	return id, s.count("put_mail", err)
}

func (s *instrumented) Mail(ctx context.Context, device string, after int64, limit int) ([]store.Mail, error) {
	ms, err := s.Store.Mail(ctx, device, after, limit)
	return ms, s.count("mail", err)
}

func (s *instrumented) Channels(ctx context.Context) ([]store.Channel, error) {
	cs, err := s.Store.Channels(ctx)
	return cs, s.count("channels", err)
}

func (s *instrumented) UseNonce(ctx context.Context, nonce []byte, expires time.Time) error {
	return s.count("use_nonce", s.Store.UseNonce(ctx, nonce, expires))
}
