package ops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/sqlite"
)

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestProbesAndMetrics(t *testing.T) {
	m := NewMetrics()
	var pingErr error
	draining := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/entries") && r.Header.Get("X-Fail") != "":
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/entries"):
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	h := Handler(next, Options{Metrics: m, Ping: func(context.Context) error { return pingErr }, Draining: func() bool { return draining },
		Fanout: func() string { return "fan-out: nats up" }})

	if code, body := get(t, h, "GET", "/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, h, "GET", "/readyz"); code != 200 || !strings.Contains(body, "nats up") {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	pingErr = errors.New("connection refused")
	if code, body := get(t, h, "GET", "/readyz"); code != 503 || strings.Contains(body, "refused") {
		t.Fatalf("/readyz with the store down = %d %q", code, body)
	}
	pingErr, draining = nil, true
	if code, _ := get(t, h, "GET", "/readyz"); code != 503 {
		t.Fatalf("/readyz while draining = %d", code)
	}

	for range 3 {
		get(t, h, "POST", "/logs/plenary/entries")
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/logs/secret-channel/entries", nil)
	req.Header.Set("X-Fail", "1")
	h.ServeHTTP(rec, req)
	get(t, h, "GET", "/nowhere")
	m.LateCheckpoints = func() int64 { return 2 }
	_, body := get(t, h, "GET", "/metrics")
	for _, want := range []string{
		`goodoffices_http_requests_total{route="POST /logs/{id}/entries",code="201"} 3`,
		`goodoffices_http_requests_total{route="POST /logs/{id}/entries",code="503"} 1`,
		`goodoffices_http_requests_total{route="GET other",code="404"} 1`,
		`goodoffices_appends_total{result="ok"} 3`,
		`goodoffices_appends_total{result="unavailable"} 1`,
		`goodoffices_append_duration_seconds_count 3`,
		`goodoffices_append_duration_seconds_bucket{le="+Inf"} 3`,
		`goodoffices_event_streams 0`,
		`goodoffices_checkpoints_late_total 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "secret-channel") || strings.Contains(body, "plenary") {
		t.Error("metrics name a channel")
	}
}

func TestInstrumentStore(t *testing.T) {
	ctx := t.Context()
	lite, err := sqlite.Open(ctx, t.TempDir()+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	s := InstrumentStore(lite, m)
	// The SQLite store's lazy checkpoints stay reachable (the integrator
	// looks for them on the store it is given).
	if _, ok := s.(store.LazyCheckpointer); !ok {
		t.Fatal("the instrumented SQLite store is no store.LazyCheckpointer")
	}
	if _, _, err := s.Checkpoint(ctx, "nothing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx, []byte("n"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	lite.Close()
	// A closed database fails: that is a storage error, counted.
	if _, err := s.Mail(ctx, "d", 0, 1); err == nil {
		t.Fatal("read from a closed store succeeded")
	}
	var b strings.Builder
	m.WriteTo(&b)
	if !strings.Contains(b.String(), `goodoffices_store_errors_total{op="mail"} 1`) || strings.Contains(b.String(), `op="checkpoint"`) {
		t.Fatalf("store errors:\n%s", b.String())
	}
}
