package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/internal/lane"
	"github.com/good-offices/goodoffices/venue"
)

func init() {
	register(&command{name: "bench venue", summary: "measure durable appends/s and latency of the venue, against NATS JetStream", run: runBenchVenue})
}

func runBenchVenue(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "bench venue", "[flags]", `
Measures how many log appends per second the venue makes durable, and their
latency, with 1, 16 and 128 concurrent writers spread over many channels,
driving the real server over HTTP on loopback. Each writer is a registered,
authenticated device that appends one entry at a time and waits for the
venue's acknowledgement (given only once the entry is committed to disk;
with --await-checkpoint, only once a signed checkpoint covering it is
served, as desks ask). Writers make their requests themselves, one
kept-alive HTTP/1.1 connection each, as load generators such as wrk do, so
that the client takes as little as it can of CPUs it shares with the venue;
with --go-client they use the venue's Go client (net/http), as desks do.

By default it starts a venue of its own (this binary, 'goodoffices venue',
with a fresh SQLite database in a temporary directory, rate limit off). With
--db it starts the venue on PostgreSQL instead (in a fresh schema, dropped
afterwards), with --nodes N as N venue nodes on that database, writers
spread over them. With --url it measures a venue that is already running
(give its admin credential with --admin-file).

With --prefill N it first appends N entries to every channel, so that the
measured runs show whether the cost of an append grows with log length.
For a venue it started itself it prints the venue process's CPU time per
append (from /proc), which holds on a shared machine where throughput does
not.

Then it runs the same workload against NATS JetStream (file storage, every
write synced to disk before it is acknowledged: sync_interval: always) on a
nats-server it starts and stops itself, and prints the venue's throughput
as a ratio of JetStream's. sync_interval needs nats-server v2.10 or later;
if the one found is older, install one with
  go install github.com/nats-io/nats-server/v2@v2.15.2
and pass --nats-server ~/go/bin/nats-server.

Examples:
  goodoffices bench venue
  goodoffices bench venue --duration 20s --writers 128
  goodoffices bench venue --channels 100000 --prefill 10 --writers 128
  goodoffices bench venue --db postgres://postgres@127.0.0.1:5432/test --nodes 3
  goodoffices bench venue --url http://127.0.0.1:8470 --admin-file goodoffices-data/admin.token --no-jetstream`)
	writersFlag := fs.String("writers", "1,16,128", "comma-separated `counts` of concurrent writers, one run each")
	channels := fs.Int("channels", 256, "`number` of channels the writers spread over")
	batch := fs.Int("batch", 1, "entries per request: above 1, each writer sends `N` entries at a time to the batch endpoint (POST /logs/{log}/batch) and the appends/s count entries")
	await := fs.Bool("await-checkpoint", false, "each append waits until a signed checkpoint covers it (as desks do), not only until it is durable")
	h2c := fs.Bool("h2c", false, "writers speak HTTP/2 without TLS (h2c) to the venue instead of HTTP/1.1 (with the Go client)")
	goClient := fs.Bool("go-client", false, "writers use the venue's Go client (net/http), as desks do, instead of making their HTTP/1.1 requests themselves")
	prefill := fs.Int("prefill", 0, "append this `number` of entries to every channel before measuring (to see whether cost grows with log length)")
	size := fs.Int("size", 256, "entry size in `bytes`")
	duration := fs.Duration("duration", 10*time.Second, "measured `time` per run")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured `time` before each run")
	target := fs.String("url", "", "measure the venue running at this `URL` (comma-separated for several nodes) instead of starting one")
	adminFile := fs.String("admin-file", "", "with --url: `file` holding the venue's admin credential")
	db := fs.String("db", "", "start the venue on this PostgreSQL `URL` (postgres://...) instead of SQLite")
	nodes := fs.Int("nodes", 1, "with --db: `number` of venue nodes to start on the one database")
	route := fs.String("route", bench.RouteChannel, "with several nodes, send a writer's appends to the node of the `channel` (as a load balancer hashing /logs/{id}/ would) or of the device")
	natsURL := fs.String("nats", "", "with --nodes > 1: NATS `URL` the venue nodes use for fan-out")
	natsServer := fs.String("nats-server", "", "nats-server `binary` for the JetStream baseline (default: PATH, ~/go/bin, /usr/sbin)")
	noJS := fs.Bool("no-jetstream", false, "skip the JetStream baseline")
	floor := fs.Bool("http-floor", false, "also run the writers against a net/http handler in this process that answers 201 without checking, storing or signing anything (the ceiling of a server behind net/http on this machine) and, for single entries, against a server without net/http that only reads each request and answers (the machine's own)")
	noVenue := fs.Bool("no-venue", false, "run only the JetStream baseline")
	binary := fs.String("binary", "", "goodoffices `binary` to start as the venue (default: this one)")
	inProcess := fs.Bool("in-process", false, "run the venue inside this process (still over HTTP on loopback); needed for --cpuprofile")
	cpuProfile := fs.String("cpuprofile", "", "with --in-process: write a CPU profile of the venue runs to `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	var counts []int
	for _, s := range strings.Split(*writersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			return &UsageError{Msg: "--writers: want comma-separated counts between 1 and 4096"}
		}
		counts = append(counts, n)
	}
	switch {
	case *channels < 1:
		return &UsageError{Msg: "--channels must be at least 1"}
	case *batch < 1 || *batch > venue.MaxBatchEntries:
		return &UsageError{Msg: fmt.Sprintf("--batch must be between 1 and %d", venue.MaxBatchEntries)}
	case *prefill < 0:
		return &UsageError{Msg: "--prefill must not be negative"}
	case *size < 1 || *size > 65535:
		return &UsageError{Msg: "--size must be between 1 and 65535"}
	case *duration <= 0 || *warmup < 0:
		return &UsageError{Msg: "--duration must be positive"}
	case *target != "" && (*db != "" || *inProcess):
		return &UsageError{Msg: "--url measures a running venue: do not combine it with --db or --in-process"}
	case *target != "" && *adminFile == "":
		return &UsageError{Msg: "--url needs --admin-file"}
	case *nodes < 1 || (*nodes > 1 && *db == ""):
		return &UsageError{Msg: "--nodes > 1 needs --db (nodes share one PostgreSQL database)"}
	case *route != bench.RouteChannel && *route != bench.RouteDevice:
		return &UsageError{Msg: "--route: want channel or device"}
	case *cpuProfile != "" && !*inProcess:
		return &UsageError{Msg: "--cpuprofile needs --in-process"}
	case *inProcess && *nodes > 1:
		return &UsageError{Msg: "--in-process runs one node"}
	}
	out := env.Stdout
	fmt.Fprintf(out, "goodoffices bench venue: %s/%s, %d CPUs, GOMAXPROCS %d, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "workload: writers %s, %d channels, %d-byte entries, %s warm-up + %s measured per run\n", *writersFlag, *channels, *size, *warmup, *duration)
	if l := loadAverage(); l != "" {
		fmt.Fprintf(out, "load average before: %s\n", l)
	}

	tmp, err := os.MkdirTemp("", "goodoffices-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var venueRes []bench.Result
	if !*noVenue {
		urls, admin, desc, stop, err := benchVenueTarget(ctx, env, tmp, *target, *adminFile, *db, *nodes, *natsURL, *binary, *inProcess)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nvenue: %s\n", desc)
		var prof *os.File
		if *cpuProfile != "" {
			if prof, err = os.Create(*cpuProfile); err != nil {
				stop()
				return err
			}
			pprof.StartCPUProfile(prof)
		}
		if len(urls) > 1 {
			fmt.Fprintf(out, "appends routed to nodes by %s\n", *route)
		}
		venueRes, err = benchVenue(ctx, out, urls, admin, *route, counts, *batch, *await, *h2c, *goClient, *channels, *prefill, *size, *warmup, *duration)
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		if err != nil {
			if l := venueLogs(); l != "" {
				fmt.Fprintf(env.Stderr, "venue log:\n%s", l)
			}
		}
		stop()
		if err != nil {
			return err
		}
	}
	if *floor {
		if err := benchFloor(ctx, out, counts, *channels, *batch, *size, *warmup, *duration); err != nil {
			return err
		}
	}
	var jsRes []bench.Result
	if !*noJS {
		bin, err := bench.FindNATSServer(*natsServer)
		if err != nil {
			return err
		}
		jsDir := filepath.Join(tmp, "nats")
		os.MkdirAll(jsDir, 0o700)
		srv, err := bench.StartJetStream(ctx, bin, jsDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\njetstream: %s (%s), file storage, sync_interval: always, %s\n", srv.Version, bin, srv.URL)
		jsRes, err = benchJetStream(ctx, out, srv.URL, counts, *channels, *size, *warmup, *duration)
		srv.Stop()
		if err != nil {
			return err
		}
	}
	if len(venueRes) > 0 && len(jsRes) > 0 {
		fmt.Fprintf(out, "\nvenue/jetstream throughput ratio:\n")
		for i := range venueRes {
			r := 0.0
			if jsRes[i].PerSecond() > 0 {
				r = venueRes[i].PerSecond() / jsRes[i].PerSecond()
			}
			fmt.Fprintf(out, "%8d writers: %.2f\n", venueRes[i].Writers, r)
		}
	}
	if len(venueRes) > 0 {
		last := venueRes[len(venueRes)-1]
		// The targets of issue 16 (two cores, client on the same machine).
		fmt.Fprintf(out, "\ntargets at %d writers: >= 25000 appends/s: %s (%.0f); p99 < 15ms: %s (%s)", last.Writers,
			yes(last.PerSecond() >= 25000), last.PerSecond(), yes(last.P99 < 15*time.Millisecond), last.P99.Round(10*time.Microsecond))
		if len(jsRes) > 0 {
			r := last.PerSecond() / max(jsRes[len(jsRes)-1].PerSecond(), 1e-9)
			fmt.Fprintf(out, "; ratio >= 4.0: %s (%.2f)", yes(r >= 4), r)
			if first := venueRes[0]; first.Writers == 1 && jsRes[0].Writers == 1 {
				r1 := first.PerSecond() / max(jsRes[0].PerSecond(), 1e-9)
				fmt.Fprintf(out, "; at 1 writer ratio >= 1.0: %s (%.2f)", yes(r1 >= 1), r1)
			}
		}
		fmt.Fprintln(out)
	}
	if l := loadAverage(); l != "" {
		fmt.Fprintf(out, "load average after: %s\n", l)
	}
	return nil
}

// venueProcs are the venue nodes the bench started, for their logs.
var venueProcs []*bench.VenueProcess

func venueLogs() string {
	var b strings.Builder
	for _, p := range venueProcs {
		b.WriteString(p.Log())
	}
	return b.String()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// benchVenueTarget starts (or finds) the venue to measure.
func benchVenueTarget(ctx context.Context, env *Env, tmp, target, adminFile, db string, nodes int, natsURL, binary string, inProcess bool) (urls []string, admin, desc string, stop func(), err error) {
	if target != "" {
		b, err := os.ReadFile(adminFile)
		if err != nil {
			return nil, "", "", nil, fmt.Errorf("failed to read admin credential: %w", err)
		}
		return strings.Split(target, ","), strings.TrimSpace(string(b)), "running at " + target, func() {}, nil
	}
	var cleanups []func()
	stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	storeDesc := "SQLite (WAL, synchronous=FULL)"
	if db != "" {
		u, drop, err := benchSchema(ctx, db)
		if err != nil {
			return nil, "", "", nil, err
		}
		cleanups = append(cleanups, drop)
		db = u
		storeDesc = "PostgreSQL " + redactURL(db)
	}
	if inProcess {
		st, err := openScaleOutStore(ctx, db)
		if err != nil {
			stop()
			return nil, "", "", nil, err
		}
		v, err := venue.New(ctx, venue.Config{DataDir: filepath.Join(tmp, "venue"), Store: st, Rate: -1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			if st != nil {
				st.Close()
			}
			stop()
			return nil, "", "", nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			v.Close()
			stop()
			return nil, "", "", nil, err
		}
		// As 'goodoffices venue' serves (--lane).
		srv := &lane.Server{HTTP: &http.Server{Handler: v.Handler()}, Serves: venue.InLane}
		go srv.Serve(ln)
		cleanups = append(cleanups, func() {
			v.BeginShutdown()
			srv.Shutdown(context.Background())
			v.Close()
			if st != nil {
				st.Close()
			}
		})
		b, _ := os.ReadFile(v.AdminFile())
		return []string{"http://" + ln.Addr().String()}, strings.TrimSpace(string(b)),
			"in-process, " + storeDesc + ", http://" + ln.Addr().String(), stop, nil
	}
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return nil, "", "", nil, err
		}
	}
	args := []string{"--rate", "-1", "--log-level", benchVenueLogLevel, "--max-conns", "8192"}
	if db != "" {
		args = append(args, "--db", db)
	}
	if natsURL != "" {
		args = append(args, "--nats", natsURL)
	}
	var procs []*bench.VenueProcess
	for i := range nodes {
		dir := filepath.Join(tmp, fmt.Sprintf("node%d", i))
		if i > 0 {
			if err := bench.ShareKeys(procs[0].DataDir, dir); err != nil {
				stop()
				return nil, "", "", nil, err
			}
		}
		p, err := bench.StartVenue(ctx, binary, dir, args...)
		if err != nil {
			stop()
			return nil, "", "", nil, err
		}
		procs = append(procs, p)
		cleanups = append(cleanups, p.Stop)
		urls = append(urls, p.URL)
		venueProcs = append(venueProcs, p)
	}
	admin, err = procs[0].AdminCredential()
	if err != nil {
		stop()
		return nil, "", "", nil, err
	}
	desc = fmt.Sprintf("%d node(s) of %s, %s, %s", nodes, binary, storeDesc, strings.Join(urls, " "))
	return urls, admin, desc, stop, nil
}

// benchSchema creates a fresh schema in the database at db and returns a
// URL that uses it and a function that drops it.
func benchSchema(ctx context.Context, db string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return "", nil, fmt.Errorf("failed to connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var rb [4]byte
	rand.Read(rb[:])
	schema := "bench_" + hex.EncodeToString(rb[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("failed to create schema: %w", err)
	}
	u, err := url.Parse(db)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		c, err := pgx.Connect(context.Background(), db)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	}
	return u.String(), drop, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(database)"
	}
	return u.Redacted()
}

func benchVenue(ctx context.Context, out io.Writer, urls []string, admin, route string, counts []int, batch int, await, h2c, goClient bool, channels, prefill, size int, warmup, duration time.Duration) ([]bench.Result, error) {
	rss0 := venueRSS()
	start := time.Now()
	t, err := bench.PrepareVenue(ctx, urls, admin, channels)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%d channels created in %s\n", channels, time.Since(start).Round(time.Millisecond))
	if rss0 >= 0 {
		if rss1 := venueRSS(); rss1 >= 0 {
			fmt.Fprintf(out, "venue resident memory %.1f MiB after creating them (%.0f bytes per channel over the %.1f MiB before)\n",
				float64(rss1)/(1<<20), float64(rss1-rss0)/float64(channels), float64(rss0)/(1<<20))
		}
	}
	switch {
	case h2c:
		t.UseH2C()
		fmt.Fprintln(out, "writers use the venue's Go client over HTTP/2 without TLS (h2c)")
	case goClient:
		t.GoClient = true
		fmt.Fprintln(out, "writers use the venue's Go client (net/http, HTTP/1.1)")
	default:
		fmt.Fprintln(out, "writers make their HTTP/1.1 requests themselves, one kept-alive connection each (--go-client: the venue's Go client)")
	}
	if prefill > 0 {
		// Through the batch endpoint, up to its limit per request, when
		// the logs are to be long.
		t.Batch = 1
		for _, b := range []int{venue.MaxBatchEntries, 64, 16, 4} {
			if prefill%b == 0 && prefill >= 4*b {
				t.Batch = b
				break
			}
		}
		ws, err := t.Writers(ctx, 64, route)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		n, err := bench.Prefill(ctx, ws, channels, prefill, t.Batch, size)
		bench.CloseWriters(ws)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "prefilled %d entries (%d per channel, %d per request) in %s\n", n, prefill, t.Batch, time.Since(start).Round(time.Millisecond))
		t.Batch = 1
		if d, ok := settle(ctx, 10*time.Minute); ok {
			fmt.Fprintf(out, "venue idle %s after the prefill (its store applying what the prefill wrote)\n", d.Round(100*time.Millisecond))
		}
	}
	tileReads := func(when string) {
		ws, err := t.Writers(ctx, 1, route)
		if err != nil {
			fmt.Fprintf(out, "tile reads %s: %v\n", when, err)
			return
		}
		n, p50, p99, err := t.TileReads(ctx, ws[0], 0, 200)
		bench.CloseWriters(ws)
		if err != nil {
			fmt.Fprintf(out, "tile reads %s: %v\n", when, err)
			return
		}
		fmt.Fprintf(out, "tile reads %s (checkpoint, a random hash tile and its entry bundle; log of %d entries): p50 %s, p99 %s\n",
			when, n, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
	if prefill > 0 {
		tileReads("after the prefill")
	}
	// After the prefill, which appends without waiting for checkpoints.
	if await {
		t.AwaitCheckpoint = true
		fmt.Fprintln(out, "each append waits for a signed checkpoint covering it (Goodoffices-Await: checkpoint)")
	}
	if batch > 1 {
		t.Batch = batch
		fmt.Fprintf(out, "writers send %d entries per request (batch endpoint); latencies are per request\n", batch)
	}
	bench.PrintHeader(out)
	var res []bench.Result
	for _, n := range counts {
		ws, err := t.Writers(ctx, n, route)
		if err != nil {
			return nil, err
		}
		before := t.Stats(ctx, admin)
		cpu0, cpuOK := venueCPU()
		self0, selfOK := bench.SelfCPUTime()
		r := bench.Load(ctx, ws, channels, size, warmup, duration)
		bench.CloseWriters(ws)
		r.Appends *= int64(batch)
		r.Errors *= int64(batch)
		cpu1, _ := venueCPU()
		self1, _ := bench.SelfCPUTime()
		after := t.Stats(ctx, admin)
		bench.PrintResult(out, r)
		fmt.Fprintf(out, "%8s (%s, warm-up included)\n", "", after.Sub(before))
		if d := after.Sub(before); cpuOK && d.Appends > 0 {
			// The venue process's own CPU time, so the figure holds on a
			// shared machine where wall-clock throughput does not.
			fmt.Fprintf(out, "%8s venue CPU %.1f µs per append (%s over %d appends, warm-up included)\n", "",
				float64((cpu1-cpu0).Microseconds())/float64(d.Appends), (cpu1 - cpu0).Round(time.Millisecond), d.Appends)
			if selfOK {
				// The venue runs apart: this process is the client.
				fmt.Fprintf(out, "%8s benchmark client CPU %.1f µs per append (%s)\n", "",
					float64((self1-self0).Microseconds())/float64(d.Appends), (self1 - self0).Round(time.Millisecond))
			}
		}
		res = append(res, r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	tileReads("after the runs")
	return res, nil
}

// benchFloor runs the writers against a bench.FloorServer (net/http) and,
// for single entries, a bench.RawFloorServer (no HTTP library).
func benchFloor(ctx context.Context, out io.Writer, counts []int, channels, batch, size int, warmup, duration time.Duration) error {
	f, err := bench.StartFloor()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nHTTP floor: the same writers against a net/http handler in this process that answers 201 without checking, storing or signing anything (%s)\n", f.URL)
	err = runFloor(ctx, out, f, counts, channels, batch, size, warmup, duration)
	f.Close()
	if err != nil || batch > 1 {
		return err
	}
	r, err := bench.StartRawFloor()
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(out, "\nraw floor: the same writers against a server in this process that reads each request and writes a fixed 201 without net/http (%s)\n", r.URL)
	return runFloor(ctx, out, &r.FloorServer, counts, channels, batch, size, warmup, duration)
}

func runFloor(ctx context.Context, out io.Writer, f *bench.FloorServer, counts []int, channels, batch, size int, warmup, duration time.Duration) error {
	bench.PrintHeader(out)
	for _, n := range counts {
		ws, err := f.Writers(n, channels, batch)
		if err != nil {
			return err
		}
		c0, cpuOK := bench.SelfCPUTime()
		n0 := f.Requests()
		r := bench.Load(ctx, ws, channels, size, warmup, duration)
		bench.CloseWriters(ws)
		r.Appends *= int64(batch)
		r.Errors *= int64(batch)
		c1, _ := bench.SelfCPUTime()
		bench.PrintResult(out, r)
		if reqs := f.Requests() - n0; cpuOK && reqs > 0 {
			fmt.Fprintf(out, "%8s CPU %.1f µs per request, client and server together (%d requests, warm-up included)\n", "",
				float64((c1-c0).Microseconds())/float64(reqs), reqs)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func benchJetStream(ctx context.Context, out io.Writer, natsURL string, counts []int, channels, size int, warmup, duration time.Duration) ([]bench.Result, error) {
	bench.PrintHeader(out)
	var res []bench.Result
	for _, n := range counts {
		t, err := bench.PrepareJetStream(ctx, natsURL, channels)
		if err != nil {
			return nil, err
		}
		ws, err := t.Writers(ctx, n)
		if err != nil {
			t.Close()
			return nil, err
		}
		r := bench.Load(ctx, ws, channels, size, warmup, duration)
		t.Close()
		bench.PrintResult(out, r)
		res = append(res, r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return res, nil
}

// benchVenueLogLevel is the log level of the venue nodes the bench starts.
var benchVenueLogLevel = "warn"

func init() {
	if l := osGetenv("GOODOFFICES_BENCH_LOG"); l != "" {
		benchVenueLogLevel = l
	}
}

// settle waits, for a venue the bench started, until its processes use
// less than a tenth of a core over a second (a store still applying a
// burst to its tables would take CPU from the measured runs), at most
// limit. It returns how long it waited, and false if it could not tell.
func settle(ctx context.Context, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		c0, ok := venueCPU()
		if !ok {
			return 0, false
		}
		select {
		case <-ctx.Done():
			return time.Since(start), true
		case <-time.After(time.Second):
		}
		if c1, _ := venueCPU(); c1-c0 < 100*time.Millisecond {
			break
		}
	}
	return time.Since(start), true
}

// venueCPU returns the CPU time used so far by the venue processes this
// command started; false when it started none or cannot read it.
func venueCPU() (time.Duration, bool) {
	if len(venueProcs) == 0 {
		return 0, false
	}
	var sum time.Duration
	for _, p := range venueProcs {
		d, ok := p.CPUTime()
		if !ok {
			return 0, false
		}
		sum += d
	}
	return sum, true
}

// venueRSS returns the resident memory in bytes of the one venue process
// this command started, or -1.
func venueRSS() int64 {
	if len(venueProcs) != 1 {
		return -1
	}
	return venueProcs[0].RSS()
}
