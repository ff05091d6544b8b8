package venue_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue"
)

// readAccessLog returns every line of the access log in dir, decoded
// strictly: a field beyond venue.AccessLine fails the test.
func readAccessLog(t *testing.T, dir string) []venue.AccessLine {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, venue.AccessLogDir, "*.log"))
	var out []venue.AccessLine
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			dec := json.NewDecoder(strings.NewReader(sc.Text()))
			dec.DisallowUnknownFields()
			var l venue.AccessLine
			if err := dec.Decode(&l); err != nil {
				t.Fatalf("access log line %q: %v", sc.Text(), err)
			}
			out = append(out, l)
		}
	}
	return out
}

// The access log records the minute, route pattern, status and duration of
// each request, and nothing that names a channel, device or caller.
func TestAccessLog(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden")
	tv.channel(t, "secret-bilateral", "delegation-internal", "arden")
	c := tv.device(t, "arden")
	if _, err := c.Append(t.Context(), "secret-bilateral", []byte("entry")); err != nil {
		t.Fatal(err)
	}
	raw(t, http.MethodGet, tv.srv.URL+"/logs/secret-bilateral/checkpoint", "", "", nil)
	raw(t, http.MethodGet, tv.srv.URL+"/no/such/path", "", "", nil)
	tv.v.BeginShutdown()
	tv.srv.Close()
	if err := tv.v.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readAccessLog(t, tv.dir)
	routes := map[string]int{}
	for _, l := range lines {
		routes[l.Route] = l.Status
		if _, err := time.Parse("2006-01-02T15:04Z", l.Time); err != nil {
			t.Errorf("time %q: not to the minute", l.Time)
		}
		for _, leak := range []string{"secret-bilateral", c.DeviceID(), "arden", "127.0.0.1"} {
			if strings.Contains(l.Route, leak) {
				t.Errorf("access log line names %q: %+v", leak, l)
			}
		}
	}
	for route, status := range map[string]int{
		"POST /logs/{log}/entries":   201,
		"GET /logs/{log}/checkpoint": 401,
		"POST /v1/channels":          201,
		"-":                          404,
	} {
		if got, ok := routes[route]; !ok || got != status {
			t.Errorf("route %q: status %d (logged: %v), want %d", route, got, ok, status)
		}
	}
	t.Logf("%d access log lines, routes %v", len(lines), routes)
}

// Files of hours past the retention are deleted at start; a retention
// below zero keeps no access log.
func TestAccessLogRetention(t *testing.T) {
	dir := t.TempDir()
	adir := filepath.Join(dir, venue.AccessLogDir)
	os.MkdirAll(adir, 0o700)
	now := time.Now().UTC()
	old := filepath.Join(adir, now.Add(-3*time.Hour).Format("20060102T15")+".log")
	recent := filepath.Join(adir, now.Format("20060102T15")+".log")
	for _, f := range []string{old, recent} {
		os.WriteFile(f, []byte("{}\n"), 0o600)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	v, err := venue.New(t.Context(), venue.Config{DataDir: dir, Logger: quiet, AccessLogRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("file of 3 hours ago kept with a retention of 1h: %v", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("file of this hour: %v", err)
	}
	tv := newTestVenue(t, func(c *venue.Config) { c.AccessLogRetention = -1 })
	raw(t, http.MethodGet, tv.srv.URL+"/v1/venue", "", "", nil)
	if _, err := os.Stat(filepath.Join(tv.dir, venue.AccessLogDir)); !os.IsNotExist(err) {
		t.Errorf("access log with retention -1: %v", err)
	}
}
