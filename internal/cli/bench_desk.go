package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/bench"
)

func init() {
	register(&command{name: "bench desk", summary: "measure a desk's reading, talks, search and sync at large histories", run: runBenchDesk})
}

func runBenchDesk(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "bench desk", "[--history N,N,...] [flags]", `
Measures how a desk copes with a long history: it starts a venue (this
binary, 'goodoffices venue', SQLite in a temporary directory) and two desks
of two parties on loopback, and fills one channel from the first desk up to
each history size in turn (many appends in flight, so that the venue commits
them in groups). At each size, the second desk syncs the new entries
(verified, decrypted and stored), then the bench times on it: reading the
last page of 20 messages, the state of the talks (Desk.Talks, after a first
call that advances its snapshot) and full-text searches (after a first one
that builds the index in memory). Each figure is the median of --samples
runs; sync is entries per second over the backlog since the previous size.

It prints one line per size on stdout:
  history 100000: read-last-page 0.8 ms, talks 1.1 ms, search 12.3 ms, sync 6400 entries/s
and, on stderr, the details: fill rate, first calls, memory.

Examples:
  goodoffices bench desk --history 1000,100000
  goodoffices bench desk --history 100,1000,10000,100000 --samples 21`)
	hist := fs.String("history", "1000,100000", "comma-separated history `sizes` (entries in the channel), ascending")
	samples := fs.Int("samples", 11, "timed `runs` per figure (the median is printed)")
	parallel := fs.Int("parallel", 32, "appends in `flight` while filling (1-64)")
	binary := fs.String("binary", "", "goodoffices `binary` to start as the venue (default: this one)")
	inProcess := fs.Bool("in-process", false, "run the venue inside this process (still over HTTP on loopback)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the desks (this process) to `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	var sizes []int
	for _, s := range strings.Split(*hist, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 25 || n > 10_000_000 {
			return &UsageError{Msg: "--history: want comma-separated sizes between 25 and 10000000"}
		}
		sizes = append(sizes, n)
	}
	if !slices.IsSorted(sizes) {
		return &UsageError{Msg: "--history: sizes must be ascending (the channel is filled up to each in turn)"}
	}
	if *samples < 3 || *samples > 1001 {
		return &UsageError{Msg: "--samples must be between 3 and 1001"}
	}
	if *parallel < 1 || *parallel > 64 {
		return &UsageError{Msg: "--parallel must be between 1 and 64"}
	}
	fmt.Fprintf(env.Stderr, "goodoffices bench desk: %s/%s, %d CPUs, GOMAXPROCS %d, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	if l := loadAverage(); l != "" {
		fmt.Fprintf(env.Stderr, "load average before: %s\n", l)
	}
	tmp, err := os.MkdirTemp("", "goodoffices-bench-desk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	urls, admin, desc, stop, err := benchVenueTarget(ctx, env, tmp, "", "", "", 1, "", *binary, *inProcess)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(env.Stderr, "venue: %s\n", desc)
	deskDir := filepath.Join(tmp, "desks")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	err = bench.DeskHistory(ctx, bench.DeskConfig{VenueURL: urls[0], Admin: admin, Dir: deskDir, Sizes: sizes, Samples: *samples, Parallel: *parallel, Log: env.Stderr},
		func(r bench.DeskResult) {
			fmt.Fprintln(env.Stdout, r.Line())
			fmt.Fprintf(env.Stderr, "  details: fill %.0f entries/s; synced %d entries (%.0f µs of CPU each in this process); first talks %.1f ms; first search (index) %.1f ms; heap %.0f MiB, peak RSS %.0f MiB (both desks, this process); desk store %s\n",
				r.FillRate, r.SyncEntries, float64(r.SyncCPU)/1e3, float64(r.TalksFirst)/1e6, float64(r.SearchFirst)/1e6, r.HeapMiB, r.MaxRSSMiB, dirSize(filepath.Join(deskDir, "borealia")))
		})
	if err != nil {
		if l := venueLogs(); l != "" {
			fmt.Fprintf(env.Stderr, "venue log:\n%s", l)
		}
		return err
	}
	if l := loadAverage(); l != "" {
		fmt.Fprintf(env.Stderr, "load average after: %s\n", l)
	}
	return nil
}

// dirSize returns the total size of the files under dir, in MiB.
func dirSize(dir string) string {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
