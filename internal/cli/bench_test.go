package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// benchLine matches a result line: writers, appends, appends/s, p50, p99,
// max, errors.
var benchLine = regexp.MustCompile(`(?m)^\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+ms\s+[\d.]+ms\s+[\d.]+ms\s+(\d+)$`)

func runBench(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), append([]string{"bench", "venue"}, args...), &out, &errOut)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	return out.String()
}

func checkBenchRuns(t *testing.T, out string, writers ...string) {
	t.Helper()
	ms := benchLine.FindAllStringSubmatch(out, -1)
	if len(ms) != len(writers) {
		t.Fatalf("want %d result lines, got:\n%s", len(writers), out)
	}
	for i, m := range ms {
		if m[1] != writers[i] || m[2] == "0" || m[4] != "0" {
			t.Fatalf("run %d: writers %s, appends %s, errors %s\n%s", i, m[1], m[2], m[4], out)
		}
	}
}

// TestBenchVenueSQLite runs the benchmark briefly against a real venue on
// SQLite (in this process, over HTTP on loopback).
func TestBenchVenueSQLite(t *testing.T) {
	out := runBench(t, "--in-process", "--no-jetstream", "--writers", "1,4", "--channels", "3", "--warmup", "0s", "--duration", "300ms")
	checkBenchRuns(t, out, "1", "4")
	if !strings.Contains(out, "group commits") || !strings.Contains(out, "targets at 4 writers") {
		t.Fatalf("output lacks statistics or targets:\n%s", out)
	}
}

// TestBenchVenuePostgres does the same on PostgreSQL, in a schema of its own.
func TestBenchVenuePostgres(t *testing.T) {
	db := pgtest.URL(t)
	out := runBench(t, "--in-process", "--no-jetstream", "--go-client", "--db", db, "--writers", "2", "--channels", "2", "--warmup", "0s", "--duration", "300ms")
	checkBenchRuns(t, out, "2")
	if !strings.Contains(out, "PostgreSQL") {
		t.Fatalf("output does not name the store:\n%s", out)
	}
}

func TestBenchVenueUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--writers", "0"},
		{"--writers", "x"},
		{"--nodes", "2"},
		{"--url", "http://127.0.0.1:1"},
		{"--route", "random"},
		{"--cpuprofile", "x.prof"},
		{"--size", "70000"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), append([]string{"bench", "venue"}, args...), &out, &errOut); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestBenchHTTPFloor runs the writers against the bare HTTP handler, in
// batches too, and single entries against the raw floor: every request
// answered with its indexes, none failed.
func TestBenchHTTPFloor(t *testing.T) {
	for _, batch := range []string{"1", "4"} {
		out := runBench(t, "--no-venue", "--no-jetstream", "--http-floor", "--batch", batch, "--writers", "1,3", "--channels", "2", "--warmup", "0s", "--duration", "200ms")
		// Single entries run against the raw floor too.
		runs, raw := []string{"1", "3"}, batch == "1"
		if raw {
			runs = append(runs, "1", "3")
		}
		checkBenchRuns(t, out, runs...)
		if !strings.Contains(out, "HTTP floor") || !strings.Contains(out, "µs per request") || strings.Contains(out, "raw floor") != raw {
			t.Fatalf("batch %s: output lacks the floors' headings or CPU:\n%s", batch, out)
		}
	}
}
