package desk

// Deterministic simulation of the whole protocol (issue 17 §4; see
// docs/simulation.md). One process runs the real venue (SQLite in a
// temporary directory), one desk per party (their real encrypted stores)
// and a host strategy (honest, or one cheat of internal/hostile) on the
// fake clock of testing/synctest, over an in-memory network (an
// http.RoundTripper that calls the venue's http.Handler) which loses,
// delays and duplicates requests and responses and reorders concurrent
// ones. A seeded schedule crashes and restarts the venue and the desks
// (reopened from the same files), fills the venue's disk and picks each
// step. After every step the invariants are checked (simInvariants).
//
//	go test ./desk -run Simulation                     1,000 seeds (the default)
//	go test ./desk -run Simulation -sim.seed=S -v      replay seed S with its trace
//	go test ./desk -run Simulation -sim.seeds=100000 -sim.first=1001 -timeout 0
//
// The only seams are options the production code already had or now
// takes: desk.Options.HTTPClient, venue.Config.FreeSpace, and the hostile
// proxy's SetTransport. Time is Go's own (synctest), randomness is
// crypto/rand made deterministic per seed by testing/cryptotest.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"testing/synctest"
	"time"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	hv "github.com/good-offices/goodoffices/internal/hostile"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/proof"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

var (
	simSeeds    = flag.Int("sim.seeds", 1000, "simulation: how many seeds to run")
	simFirst    = flag.Uint64("sim.first", 1, "simulation: the first seed")
	simSeed     = flag.Int64("sim.seed", -1, "simulation: replay this one seed and print its trace")
	simSteps    = flag.Int("sim.steps", 4, "simulation: steps per seed")
	simNParties = flag.Int("sim.parties", 2, "simulation: parties (2 or 3), one desk each")
	simDir      = flag.String("sim.dir", "", "simulation: directory for the seeds' files (default: /dev/shm if there, else the temporary directory)")
	simFor      = flag.Duration("sim.for", 0, "simulation: keep running seeds until this much wall time has passed (long run)")
)

const (
	simURL     = "http://venue.sim"
	simChannel = "plenary"
	// simBound is the desks' withholding bound: longer than any run of
	// steps of an honest seed, so that an alarm with an honest host is a
	// false alarm, and waited out when healing.
	simBound = 30 * time.Minute
	// simOpTimeout bounds one operation of a desk (fake time).
	simOpTimeout = 5 * time.Minute
	// simHang is the wall time after which a seed counts as hung.
	simHang = 90 * time.Second
)

var simPass = []byte("sim")

// allSimParties are the delegations, one desk each; -sim.parties of them
// take part.
var allSimParties = []string{"arden", "borealia", "caspia"}

// simParties returns the parties of this run.
func simParties() []string { return allSimParties[:max(2, min(*simNParties, len(allSimParties)))] }

// A simFixture is the state every seed starts from: a venue with the
// parties accredited, "plenary" created, and one desk per party enrolled,
// confirmed and in the channel's MLS group. It is built once, in a bubble,
// and copied for each seed (so each seed has its own real files).
type simFixture struct {
	dir     string
	elapsed time.Duration // bubble time the fixture took to build
	vkey    string
}

func TestSimulation(t *testing.T) {
	if testing.Short() && *simSeed < 0 {
		*simSeeds = min(*simSeeds, 100)
	}
	start := time.Now()
	fx := buildSimFixture(t)
	t.Logf("fixture built in %v", time.Since(start).Round(time.Millisecond))
	if *simSeed >= 0 {
		r := runSeed(t, fx, uint64(*simSeed), *simSteps, true)
		for _, l := range r.trace {
			t.Log(l)
		}
		var failed []uint64
		if len(r.violations) > 0 {
			failed = []uint64{uint64(*simSeed)}
			t.Errorf("seed %d (host %s) violates: %s", *simSeed, r.host, strings.Join(r.violations, "; "))
		}
		report(t, 1, r.violations, failed, time.Since(start))
		return
	}
	var failed []uint64
	var violations []string
	n := 0
	hosts := map[string]int{}
	for seed := *simFirst; ; seed++ {
		if *simFor > 0 {
			if time.Since(start) > *simFor {
				break
			}
		} else if n >= *simSeeds {
			break
		}
		r := runSeed(t, fx, seed, *simSteps, false)
		n++
		hosts[r.host]++
		if len(r.violations) > 0 {
			failed = append(failed, seed)
			for _, v := range r.violations {
				violations = append(violations, fmt.Sprintf("seed %d: %s", seed, v))
			}
			t.Errorf("seed %d (host %s) violates: %s\nreplay: go test ./desk -run Simulation -sim.seed=%d -sim.steps=%d -v", seed, r.host, strings.Join(r.violations, "; "), seed, *simSteps)
			if len(failed) >= 20 {
				break
			}
		}
		if n%1000 == 0 {
			t.Logf("simulation: %d seeds so far, %d failed, %v", n, len(failed), time.Since(start).Round(time.Second))
		}
	}
	t.Logf("host strategies: %v", hosts)
	report(t, n, violations, failed, time.Since(start))
}

func report(t *testing.T, n int, violations []string, failed []uint64, d time.Duration) {
	fmt.Printf("simulation: %d seeds, %d violations (%v)\n", n, len(violations), d.Round(time.Millisecond))
	if len(failed) > 0 {
		fmt.Printf("simulation: failing seeds %v\n", failed)
	}
}

// buildSimFixture builds the starting state in a bubble.
func buildSimFixture(t *testing.T) *simFixture {
	fx := &simFixture{dir: t.TempDir()}
	// The desks' stores are made with the cheapest key derivation (their
	// header keeps it for every reopening); the floor returns after the
	// test, so no other test opens such a store.
	t.Cleanup(func(n, m int) func() { return func() { scryptLogN, scryptMinLogN = n, m } }(scryptLogN, scryptMinLogN))
	scryptLogN, scryptMinLogN = 1, 1
	cryptotest.SetGlobalRandom(t, 0)
	synctest.Test(t, func(t *testing.T) {
		begin := time.Now()
		ctx := t.Context()
		w := &simWorld{dir: fx.dir, rng: rand.New(rand.NewPCG(0, 0))}
		if err := w.startVenue(ctx); err != nil {
			t.Fatal(err)
		}
		fx.vkey = w.venue.VerifierKey()
		tok, err := os.ReadFile(w.venue.AdminFile())
		if err != nil {
			t.Fatal(err)
		}
		admin, err := client.New(simURL, client.WithAdmin(strings.TrimSpace(string(tok))), client.WithHTTPClient(&http.Client{Transport: w.direct()}))
		if err != nil {
			t.Fatal(err)
		}
		roots := map[string]*delegation.RootKey{}
		for _, p := range simParties() {
			roots[p], err = delegation.GenerateRoot(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Accredit(ctx, p, roots[p].VerifierKey()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: simChannel, Kind: "plenary", Level: "expert", Members: simParties()}); err != nil {
			t.Fatal(err)
		}
		var desks []*Desk
		for i, p := range simParties() {
			d, err := Init(ctx, filepath.Join(fx.dir, "desk-"+p), simPass, Profile{Delegation: p, Person: fmt.Sprintf("Delegate %d", i), Role: "expert", Level: "expert"},
				Options{Logger: quiet, HTTPClient: &http.Client{Transport: w.direct()}})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := d.CertificateRequest()
			c, err := delegation.ParseCertificate(req)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := roots[p].Certify(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Enroll(ctx, simURL, fx.vkey, cert); err != nil {
				t.Fatal(err)
			}
			if err := d.SetNeutrality(ctx, NeutralityConfig{WithholdingBound: simBound}); err != nil {
				t.Fatal(err)
			}
			desks = append(desks, d)
		}
		for _, d := range desks {
			confirmAll(t, d)
		}
		if _, err := desks[0].SendEvent(ctx, simChannel, "", negotiation.NewAddItem("sim", "Simulated item", "")); err != nil {
			t.Fatal(err)
		}
		syncAll(t, desks...)
		for _, d := range desks {
			if ms, err := d.Read(ctx, simChannel, 0, 0); err != nil || len(ms) != 2 {
				t.Fatalf("fixture: %s reads %d entries (%v)", d.Profile().Delegation, len(ms), err)
			}
			d.Close()
		}
		// An old checkpoint the venue really signed, for the rollback.
		cp, err := desks[0].api.fetcher(simChannel)(ctx, "checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fx.dir, "fixture.checkpoint"), cp, 0o600); err != nil {
			t.Fatal(err)
		}
		w.stopVenue()
		fx.elapsed = time.Since(begin)
	})
	return fx
}

// simResult is what one seed found.
type simResult struct {
	host       string
	violations []string
	trace      []string
}

// A simWorld is one seed's system: the venue, the desks, the network.
type simWorld struct {
	dir string
	rng *rand.Rand // the schedule; used by the step loop only
	vd  string     // venue verifier key

	mu       sync.Mutex
	venue    *venue.Venue
	handler  http.Handler // nil: the venue is down
	crashed  bool         // a transport crashed the venue; restart at the step's end
	diskFull bool
	faults   simFaults
	proxy    *hv.Proxy
	cheated  string // the audience the proxy cheats, "" none
	trace    []string
	seed     uint64
}

// simFaults are the probabilities of each network fault per request.
type simFaults struct {
	loseReq, loseResp, dup, delay, crashVenue, crashDesk float64
}

func (w *simWorld) logf(format string, args ...any) {
	w.mu.Lock()
	w.trace = append(w.trace, time.Now().UTC().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *simWorld) freeSpace(string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.diskFull {
		return 0
	}
	return 1 << 40
}

func (w *simWorld) startVenue(ctx context.Context) error {
	v, err := venue.New(ctx, venue.Config{DataDir: filepath.Join(w.dir, "venue"), Name: "venue.sim", Logger: quiet, Rate: -1,
		MinFree: 1 << 20, FreeSpace: w.freeSpace, AccessLogRetention: -1})
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.venue, w.handler, w.crashed = v, v.Handler(), false
	w.mu.Unlock()
	return nil
}

func (w *simWorld) stopVenue() {
	w.mu.Lock()
	v := w.venue
	w.venue, w.handler = nil, nil
	w.mu.Unlock()
	if v != nil {
		v.Close()
	}
}

var errSimDown = errors.New("sim: connection refused")

// direct is the network without faults, straight to the venue.
func (w *simWorld) direct() *simLink { return &simLink{w: w, direct: true} }

// link is the network of one incarnation of a desk of audience who.
func (w *simWorld) link(who string, inc int, cancel func()) *simLink {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", w.seed, who, inc)
	return &simLink{w: w, who: who, rng: rand.New(rand.NewPCG(w.seed, h.Sum64())), crashDesk: cancel}
}

// A simLink is one party's in-memory connection to the venue (or to the
// hostile proxy standing for it). Each has its own random stream, so the
// faults a request meets do not depend on how concurrent requests
// interleave.
type simLink struct {
	w      *simWorld
	who    string
	direct bool

	mu        sync.Mutex
	rng       *rand.Rand
	crashDesk func() // crashes the desk mid-operation
	dead      bool   // the desk crashed: everything fails until it restarts
}

func (l *simLink) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	w := l.w
	w.mu.Lock()
	h, f := w.handler, w.faults
	if !l.direct && w.proxy != nil && w.cheated == l.who && h != nil {
		h = w.proxy.Handler(l.who)
	}
	w.mu.Unlock()
	if l.direct {
		if h == nil {
			return nil, errSimDown
		}
		return simServe(h, req, body), nil
	}
	l.mu.Lock()
	var r [7]float64
	for i := range r {
		r[i] = l.rng.Float64()
	}
	delay := time.Duration(l.rng.Int64N(int64(20 * time.Second)))
	dead := l.dead
	l.mu.Unlock()
	what := req.Method + " " + req.URL.Path
	switch {
	case dead:
		return nil, errSimDown
	case h == nil:
		return nil, errSimDown
	case r[0] < f.loseReq:
		w.logf("net: %s %s: request lost", l.who, what)
		return nil, errors.New("sim: request lost")
	case r[5] < f.crashDesk && l.crashDesk != nil:
		w.logf("net: %s %s: desk crashes before sending", l.who, what)
		l.mu.Lock()
		l.dead = true
		l.mu.Unlock()
		l.crashDesk()
		return nil, errSimDown
	}
	resp := simServe(h, req, body)
	if r[1] < f.dup {
		again := simServe(h, req, body)
		w.logf("net: %s %s: duplicated (%d, %d)", l.who, what, resp.StatusCode, again.StatusCode)
		if r[6] < 0.5 {
			resp = again
		}
	}
	if r[2] < f.crashVenue {
		w.logf("net: %s %s: venue crashes after handling (%d), before answering", l.who, what, resp.StatusCode)
		w.mu.Lock()
		w.handler, w.crashed = nil, true
		w.mu.Unlock()
		return nil, errSimDown
	}
	if r[3] < f.loseResp {
		w.logf("net: %s %s: response lost (%d)", l.who, what, resp.StatusCode)
		return nil, errors.New("sim: response lost")
	}
	if r[4] < f.delay {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	if resp.StatusCode >= 500 {
		w.logf("net: %s %s: %d", l.who, what, resp.StatusCode)
	}
	return resp, nil
}

// simServe runs handler h on a copy of req, in memory.
func simServe(h http.Handler, req *http.Request, body []byte) *http.Response {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.RemoteAddr = "192.0.2.1:4711"
	r.RequestURI = req.URL.RequestURI()
	r.Host = req.URL.Host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = req
	return resp
}

// A simDesk is one party's desk across its incarnations.
type simDesk struct {
	name   string
	home   string
	d      *Desk // nil: down
	inc    int
	link   *simLink
	device string
	ctx    context.Context // of the current incarnation: cancelled by a crash
	cancel context.CancelFunc
}

func (w *simWorld) openDesk(ctx context.Context, sd *simDesk) error {
	sd.inc++
	sd.ctx, sd.cancel = context.WithCancel(ctx)
	sd.link = w.link(sd.name, sd.inc, sd.cancel)
	d, err := Open(ctx, sd.home, simPass, Options{Logger: quiet, HTTPClient: &http.Client{Transport: sd.link}})
	if err != nil {
		return err
	}
	sd.d, sd.device = d, d.DeviceID()
	return nil
}

func (sd *simDesk) close() {
	if sd.d != nil {
		sd.cancel()
		sd.d.Close()
		sd.d = nil
	}
}

// crashed reports whether the desk crashed during the step.
func (sd *simDesk) crashed() bool {
	sd.link.mu.Lock()
	defer sd.link.mu.Unlock()
	return sd.link.dead
}

// simAck is an append the venue acknowledged to a desk.
type simAck struct {
	desk    string
	device  string
	index   int64
	payload []byte
}

// simTempRoot is where seeds keep their files: -sim.dir, else /dev/shm
// when it is there (a RAM file system: SQLite's syncs cost nothing, the
// files and their formats are the same), else the default temporary
// directory.
func simTempRoot() string {
	if *simDir != "" {
		return *simDir
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "goodoffices-sim-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return ""
}

// copyDir copies the regular files of a tree.
func copyDir(dst, src string) error {
	return filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o600)
	})
}

// hostStrategies are the cheats a seed's host may play (one per seed, on
// one party, from a random step on); "honest" is most seeds.
var hostStrategies = []string{"honest", "honest", "honest", "honest", "honest", "honest",
	"fork", "alter", "drop", "reorder", "withhold", "eclipse", "rollback", "replay"}

func runSeed(t *testing.T, fx *simFixture, seed uint64, steps int, verbose bool) simResult {
	dir, err := os.MkdirTemp(simTempRoot(), "goodoffices-sim-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := copyDir(dir, fx.dir); err != nil {
		t.Fatal(err)
	}
	cryptotest.SetGlobalRandom(t, seed)
	var res simResult
	var w *simWorld
	// A seed that hangs (a deadlock that the fake clock cannot break) is
	// reported with its trace rather than left to the test timeout.
	dog := time.AfterFunc(simHang, func() {
		var trace []string
		if w != nil {
			w.mu.Lock()
			trace = slices.Clone(w.trace)
			w.mu.Unlock()
		}
		panic(fmt.Sprintf("simulation: seed %d hangs (more than %v of wall time); its trace:\n%s\nreplay: go test ./desk -run Simulation -sim.seed=%d -v",
			seed, simHang, strings.Join(trace, "\n"), seed))
	})
	defer dog.Stop()
	synctest.Test(t, func(t *testing.T) {
		// Start where the fixture ended, so that no clock goes back.
		time.Sleep(fx.elapsed + time.Minute)
		w = &simWorld{dir: dir, rng: rand.New(rand.NewPCG(seed, 0x5eed)), seed: seed, vd: fx.vkey}
		res = w.run(t, fx, steps)
		res.trace = w.trace
	})
	return res
}

func (w *simWorld) run(t *testing.T, fx *simFixture, steps int) simResult {
	ctx := t.Context()
	res := simResult{host: hostStrategies[w.rng.IntN(len(hostStrategies))]}
	w.logf("seed %d: host %s, %d steps", w.seed, res.host, steps)
	if err := w.startVenue(ctx); err != nil {
		res.violations = append(res.violations, "venue does not start: "+err.Error())
		return res
	}
	defer w.stopVenue()
	var desks []*simDesk
	for _, p := range simParties() {
		sd := &simDesk{name: p, home: filepath.Join(w.dir, "desk-"+p)}
		if err := w.openDesk(ctx, sd); err != nil {
			res.violations = append(res.violations, "desk does not open: "+err.Error())
			return res
		}
		desks = append(desks, sd)
	}
	defer func() {
		for _, sd := range desks {
			sd.close()
		}
	}()
	inv := &simInvariants{w: w, honest: res.host == "honest", vkey: fx.vkey}
	// The auditor reads the venue's real log, without faults.
	aud, err := newVenueClient(simURL, &http.Client{Transport: w.direct()})
	if err != nil {
		t.Fatal(err)
	}
	aud.setDevice("", desks[0].d.key)
	inv.auditor = aud
	cheatAt := -1
	if !inv.honest {
		cheatAt = w.rng.IntN(steps)
	}
	var acked []simAck
	var ackMu sync.Mutex
	send := func(sd *simDesk, step, k int) {
		payload := negotiation.NewStatement(fmt.Sprintf("seed %d step %d.%d by %s", w.seed, step, k, sd.name), "", "", "")
		ctx, cancel := context.WithTimeout(sd.ctx, simOpTimeout)
		defer cancel()
		idx, err := sd.d.SendEvent(ctx, simChannel, "", payload)
		if err != nil {
			w.logf("step %d: %s send: %v", step, sd.name, err)
			return
		}
		w.logf("step %d: %s send: acknowledged at %d", step, sd.name, idx)
		ackMu.Lock()
		acked = append(acked, simAck{desk: sd.name, device: sd.device, index: idx, payload: payload})
		ackMu.Unlock()
	}
	syncDesk := func(sd *simDesk, step int) {
		ctx, cancel := context.WithTimeout(sd.ctx, simOpTimeout)
		defer cancel()
		r, err := sd.d.Sync(ctx)
		switch {
		case err != nil:
			w.logf("step %d: %s sync: %v", step, sd.name, err)
		case r.Err() != nil:
			w.logf("step %d: %s sync: alarm: %v", step, sd.name, r.Err())
		default:
			w.logf("step %d: %s sync: %d log(s) not brought up to date %v", step, sd.name, len(r.Errors), r.Errors)
		}
	}
	for step := range steps {
		if step == cheatAt {
			w.startCheat(ctx, res.host, simParties()[w.rng.IntN(len(desks))], inv)
		}
		// The network of this step.
		if w.rng.IntN(3) == 0 {
			w.faults = simFaults{}
		} else {
			w.faults = simFaults{loseReq: 0.05 * w.rng.Float64(), loseResp: 0.1 * w.rng.Float64(), dup: 0.1 * w.rng.Float64(),
				delay: 0.3 * w.rng.Float64(), crashVenue: 0.02 * w.rng.Float64(), crashDesk: 0.02 * w.rng.Float64()}
		}
		perm := w.rng.Perm(len(desks))
		sd, other, third := desks[perm[0]], desks[perm[1]], desks[perm[len(perm)-1]]
		switch op := w.rng.IntN(20); {
		case op < 6:
			send(sd, step, 0)
		case op < 12:
			syncDesk(sd, step)
		case op < 14: // concurrent: responses reorder
			var wg sync.WaitGroup
			wg.Go(func() { send(sd, step, 0) })
			wg.Go(func() { syncDesk(other, step) })
			if w.rng.IntN(2) == 0 && third != other {
				wg.Go(func() { send(third, step, 1) })
			}
			wg.Wait()
		case op < 15:
			w.logf("step %d: %s rotates its keys", step, sd.name)
			ctx, cancel := context.WithTimeout(sd.ctx, simOpTimeout)
			if err := sd.d.Rotate(ctx, simChannel); err != nil {
				w.logf("step %d: %s rotate: %v", step, sd.name, err)
			}
			cancel()
		case op < 16:
			w.logf("step %d: %s crashes and restarts", step, sd.name)
			sd.close()
			if err := w.openDesk(ctx, sd); err != nil {
				res.violations = append(res.violations, fmt.Sprintf("step %d: %s does not reopen: %v", step, sd.name, err))
				return res
			}
		case op < 17:
			w.logf("step %d: the venue crashes and restarts", step)
			w.stopVenue()
			if err := w.startVenue(ctx); err != nil {
				res.violations = append(res.violations, fmt.Sprintf("step %d: the venue does not restart: %v", step, err))
				return res
			}
		case op < 18:
			w.mu.Lock()
			w.diskFull = !w.diskFull
			full := w.diskFull
			w.mu.Unlock()
			w.logf("step %d: the venue's disk full: %v", step, full)
			time.Sleep(2 * time.Second) // the venue reads free space every second
		default:
			d := time.Duration(w.rng.Int64N(int64(2 * time.Minute)))
			w.logf("step %d: time passes (%v)", step, d)
			time.Sleep(d)
		}
		if err := w.restartCrashed(ctx, step, desks); err != nil {
			res.violations = append(res.violations, err.Error())
			return res
		}
		ackMu.Lock()
		as := slices.Clone(acked)
		ackMu.Unlock()
		if v := inv.check(ctx, fmt.Sprintf("step %d", step), desks, as, false); len(v) > 0 {
			res.violations = append(res.violations, v...)
			return res
		}
	}
	// Heal: a sound network and disk, everything up; the desks sync, wait
	// out the bound, and sync again.
	w.mu.Lock()
	w.faults, w.diskFull = simFaults{}, false
	w.mu.Unlock()
	time.Sleep(2 * time.Second)
	w.logf("heal")
	rounds := 3
	if inv.honest {
		// Two rounds confirm everything with an honest host (checked
		// below: every desk confirmed the whole log), and nothing pending
		// means no bound to wait out.
		rounds = 2
	}
	for round := range rounds {
		if err := w.restartCrashed(ctx, steps+round, desks); err != nil {
			res.violations = append(res.violations, err.Error())
			return res
		}
		if round == 2 {
			time.Sleep(simBound + time.Minute)
		}
		for _, sd := range desks {
			syncDesk(sd, steps+round)
		}
	}
	res.violations = append(res.violations, inv.check(ctx, "after healing", desks, acked, true)...)
	if len(res.violations) == 0 {
		res.violations = append(res.violations, w.recoverPhase(ctx, desks, inv.honest, syncDesk)...)
	}
	return res
}

// simFresh is the channel a recovery continues the talks of simChannel in.
const simFresh = "plenary2"

// recoverPhase plays a recovery after an honest seed: the host creates a
// fresh channel, one party recovers the talks into it while the network
// fails as in the steps (desks and the venue crash, requests are lost,
// duplicated and delayed), another desk speaks there, and everything heals.
// Then every desk must continue the same history (one Continuation, of the
// same size), hold the same state of the talks in the fresh channel (the
// old channel's, carried, and what was said since), and refuse to send in
// the old channel.
func (w *simWorld) recoverPhase(ctx context.Context, desks []*simDesk, honest bool, syncDesk func(*simDesk, int)) []string {
	// A cheating host has been caught: it stops, and the party whose desk
	// raised the alarm (or any) recovers.
	w.mu.Lock()
	w.cheated = ""
	w.mu.Unlock()
	tok, err := os.ReadFile(w.venue.AdminFile())
	if err != nil {
		return []string{"recovery: " + err.Error()}
	}
	admin, err := client.New(simURL, client.WithAdmin(strings.TrimSpace(string(tok))), client.WithHTTPClient(&http.Client{Transport: w.direct()}))
	if err != nil {
		return []string{"recovery: " + err.Error()}
	}
	if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: simFresh, Kind: "plenary", Level: "expert", Members: simParties()}); err != nil {
		return []string{"recovery: the host cannot create the fresh channel: " + err.Error()}
	}
	const step = 1000 // in the trace
	perm := w.rng.Perm(len(desks))
	rec, other := desks[perm[0]], desks[perm[1]]
	alarmed := false
	for i, sd := range desks {
		as, err := sd.d.Alarms(ctx)
		if err != nil {
			return []string{"recovery: " + err.Error()}
		}
		if !slices.ContainsFunc(as, func(a Alarm) bool { return a.Log == simChannel && a.Cleared == nil }) {
			continue
		}
		if err := sd.d.ClearAlarmBecause(ctx, simChannel, "the host forked the channel; the talks continue in "+simFresh); err != nil {
			return []string{"recovery: " + err.Error()}
		}
		if !alarmed { // a desk that raised the alarm recovers
			alarmed, rec, other = true, sd, desks[(i+1)%len(desks)]
		}
	}
	w.logf("recovery: %s recovers, %s speaks", rec.name, other.name)
	w.mu.Lock()
	w.faults = simFaults{loseReq: 0.05 * w.rng.Float64(), loseResp: 0.1 * w.rng.Float64(), dup: 0.1 * w.rng.Float64(),
		delay: 0.3 * w.rng.Float64(), crashVenue: 0.02 * w.rng.Float64(), crashDesk: 0.02 * w.rng.Float64()}
	w.mu.Unlock()
	doRecover := func() {
		ctx, cancel := context.WithTimeout(rec.ctx, simOpTimeout)
		defer cancel()
		// A sync since the last attempt may have raised the alarm again
		// (the old channel is still synced until the recovery is made):
		// the delegate clears it again, as 'desk recover' asks.
		if as, err := rec.d.Alarms(ctx); err == nil && slices.ContainsFunc(as, func(a Alarm) bool { return a.Log == simChannel && a.Cleared == nil }) {
			if err := rec.d.ClearAlarmBecause(ctx, simChannel, "the host forked the channel; the talks continue in "+simFresh); err != nil {
				w.logf("recovery: %s clear-alarm: %v", rec.name, err)
			}
		}
		r, err := rec.d.Recover(ctx, simChannel, simFresh, "simulated")
		if err != nil {
			w.logf("recovery: %s recover: %v", rec.name, err)
			return
		}
		w.logf("recovery: %s recovered %s into %s, %d entries", rec.name, r.From, r.To, r.Size)
	}
	speak := func(sd *simDesk) {
		ctx, cancel := context.WithTimeout(sd.ctx, simOpTimeout)
		defer cancel()
		idx, err := sd.d.SendEvent(ctx, simFresh, "", negotiation.NewStatement("seed "+strconv.FormatUint(w.seed, 10)+": in the fresh channel", "", "", ""))
		w.logf("recovery: %s speaks in %s: %d %v", sd.name, simFresh, idx, err)
	}
	var errs []string
	syncAll := func(step int) {
		for _, sd := range desks {
			syncDesk(sd, step)
		}
	}
	heal := func(step int) error {
		w.mu.Lock()
		w.faults = simFaults{}
		w.mu.Unlock()
		w.logf("recovery: heal")
		if err := w.restartCrashed(ctx, step, desks); err != nil {
			return err
		}
		syncAll(step)
		syncAll(step + 1)
		return nil
	}
	// The recovery, while the network fails.
	doRecover()
	for round := range 2 {
		if err := w.restartCrashed(ctx, step+round, desks); err != nil {
			return []string{"recovery: " + err.Error()}
		}
		syncDesk([]*simDesk{other, rec}[round], step+round)
	}
	if err := heal(step + 2); err != nil {
		return []string{"recovery: " + err.Error()}
	}
	if !rec.d.isRecovered(ctx, simChannel) {
		doRecover() // its answer was lost, or it failed before sending
		syncAll(step + 4)
		syncAll(step + 5)
	}
	if !honest && !rec.d.isRecovered(ctx, simChannel) {
		// The cheated party's view cannot be carried (its desk refuses
		// to): another party recovers.
		rec, other = other, rec
		w.logf("recovery: %s recovers instead", rec.name)
		doRecover()
		syncAll(step + 4)
		syncAll(step + 5)
	}
	// Words in the fresh channel, while the network fails.
	w.mu.Lock()
	w.faults = simFaults{loseReq: 0.05 * w.rng.Float64(), loseResp: 0.1 * w.rng.Float64(), dup: 0.1 * w.rng.Float64(),
		delay: 0.3 * w.rng.Float64(), crashVenue: 0.02 * w.rng.Float64(), crashDesk: 0.02 * w.rng.Float64()}
	w.mu.Unlock()
	speak(other)
	if err := w.restartCrashed(ctx, step+6, desks); err != nil {
		return []string{"recovery: " + err.Error()}
	}
	if err := heal(step + 7); err != nil {
		return []string{"recovery: " + err.Error()}
	}

	var want *Continuation
	var wantState []byte
	for _, sd := range desks {
		c, err := sd.d.Continuation(ctx, simFresh)
		if err != nil || c == nil {
			// With a cheating host, a desk whose view of the old channel
			// is not the recovering desk's refuses the notice, loudly.
			as, _ := sd.d.Alarms(ctx)
			if !honest && slices.ContainsFunc(as, func(a Alarm) bool { return a.Log == simFresh && a.Kind == AlarmRecovery }) {
				w.logf("recovery: %s refused the notice with an alarm", sd.name)
				continue
			}
			errs = append(errs, fmt.Sprintf("recovery: %s's desk does not continue %s in %s (%v)", sd.name, simChannel, simFresh, err))
			continue
		}
		if want == nil {
			want = c
		} else if c.From != want.From || c.Size != want.Size {
			errs = append(errs, fmt.Sprintf("recovery: %s's desk continues %+v, another %+v", sd.name, *c, *want))
		}
		st, err := sd.d.Talks(ctx, simFresh, "")
		if err != nil {
			errs = append(errs, fmt.Sprintf("recovery: %s's talks in %s: %v", sd.name, simFresh, err))
			continue
		}
		if !slices.ContainsFunc(st.Agenda, func(it *negotiation.Item) bool { return it.ID == "sim" }) {
			errs = append(errs, fmt.Sprintf("recovery: the agenda item of %s is not carried into %s on %s's desk", simChannel, simFresh, sd.name))
		}
		if b := st.Canonical(); wantState == nil {
			wantState = b
		} else if !bytes.Equal(b, wantState) {
			errs = append(errs, fmt.Sprintf("recovery: %s's state of the talks in %s differs from another desk's", sd.name, simFresh))
		}
		if _, err := sd.d.SendEvent(ctx, simChannel, "", negotiation.NewStatement("in the old channel", "", "", "")); err == nil {
			errs = append(errs, fmt.Sprintf("recovery: %s's desk sent in %s after its talks moved", sd.name, simChannel))
		}
	}
	return errs
}

// restartCrashed restarts the venue and the desks that crashed during the
// step, in the operation or in the background work that followed it.
func (w *simWorld) restartCrashed(ctx context.Context, step int, desks []*simDesk) error {
	w.mu.Lock()
	vcrashed := w.crashed
	w.mu.Unlock()
	if vcrashed {
		w.logf("step %d: the venue restarts", step)
		w.stopVenue()
		if err := w.startVenue(ctx); err != nil {
			return fmt.Errorf("step %d: the venue does not restart: %v", step, err)
		}
	}
	for _, sd := range desks {
		if sd.crashed() {
			w.logf("step %d: %s restarts after its crash", step, sd.name)
			sd.close()
			if err := w.openDesk(ctx, sd); err != nil {
				return fmt.Errorf("step %d: %s does not reopen: %v", step, sd.name, err)
			}
		}
	}
	return nil
}

// startCheat makes the host play strategy against audience from now on.
func (w *simWorld) startCheat(ctx context.Context, strategy, audience string, inv *simInvariants) {
	size := inv.venueSize(ctx)
	if size < 2 {
		w.logf("cheat %s: log too short (%d), the host stays honest", strategy, size)
		return
	}
	skey, err := os.ReadFile(filepath.Join(w.dir, "venue", venue.KeyFile))
	if err != nil {
		panic(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		panic(err)
	}
	px := hv.New(simURL, signer)
	px.SetTransport(w.direct())
	i := w.rng.IntN(int(size))
	var a *hv.Attack
	switch strategy {
	case "fork":
		a = hv.Fork(simChannel, i, []byte("forked entry"))
	case "alter":
		a = hv.AlterByte(simChannel, i)
	case "drop":
		a = hv.Drop(simChannel, i)
	case "reorder":
		a = hv.Reorder(simChannel, i, (i+1)%int(size))
	case "withhold":
		a = hv.Withhold(simChannel, i, w.rng.IntN(2) == 0)
	case "eclipse":
		a = hv.Eclipse(simChannel, i)
	case "rollback":
		// An old checkpoint the venue really signed: the fixture's.
		old, err := os.ReadFile(filepath.Join(w.dir, "fixture.checkpoint"))
		if err != nil {
			w.logf("cheat rollback: no old checkpoint")
			return
		}
		a = hv.Rollback(simChannel, old)
	case "replay":
		a = hv.Replay(simChannel, i)
	}
	px.Set(audience, a)
	w.mu.Lock()
	w.proxy, w.cheated = px, audience
	w.mu.Unlock()
	w.logf("cheat: %s against %s (index %d of %d)", a.Name, audience, i, size)
}

// simInvariants checks the system's invariants.
type simInvariants struct {
	w       *simWorld
	honest  bool
	vkey    string
	auditor *venueClient
	maxSize int64 // largest size the venue served the auditor
}

// venueSize returns the size of the venue's log of the channel, -1 if the
// venue is down.
func (inv *simInvariants) venueSize(ctx context.Context) int64 {
	b, err := inv.auditor.fetcher(simChannel)(ctx, "checkpoint")
	if err != nil {
		return -1
	}
	cp, err := tlog.ParseCheckpoint(checkpointBody(b))
	if err != nil {
		return -1
	}
	return cp.Size
}

// simView is one desk's view of the channel.
type simView struct {
	sd     *simDesk
	st     LogState
	msgs   []Message
	conf   Confirmation
	alarms []Alarm
	talks  []byte
	halted bool // an alarm on the channel
	forked bool // its accepted checkpoint is not the venue's real tree
}

// simKey is what two desks' readings of one entry must agree on: an
// application message's sender and plaintext; a rejected entry; anything
// else of MLS (a commit, or one skipped as sent before a desk joined).
func (m Message) simKey() string {
	switch m.Kind {
	case "application":
		return fmt.Sprintf("application from %s: %q", m.Sender.Device, m.Data)
	case "rejected":
		return "rejected"
	}
	return "mls"
}

// truth returns the venue's real log of the channel: its entries, and a
// function giving the tree hash at each size; nil if the venue is down.
func (inv *simInvariants) truth(ctx context.Context) func(n int64) (xtlog.Hash, bool) {
	vv, err := note.NewVerifier(inv.vkey)
	if err != nil {
		panic(err)
	}
	lc := tlog.NewClient(client.ChannelOrigin("venue.sim", simChannel), vv, inv.auditor.fetcher(simChannel))
	cp, _, err := lc.Checkpoint(ctx)
	if err != nil {
		return nil
	}
	es, err := lc.Entries(ctx, cp, 0, cp.Size)
	if err != nil {
		return nil
	}
	var stored []xtlog.Hash
	hr := xtlog.HashReaderFunc(func(idx []int64) ([]xtlog.Hash, error) {
		out := make([]xtlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range es {
		hs, err := xtlog.StoredHashes(int64(i), e, hr)
		if err != nil {
			panic(err)
		}
		stored = append(stored, hs...)
	}
	return func(n int64) (xtlog.Hash, bool) {
		if n > cp.Size {
			return xtlog.Hash{}, false
		}
		h, err := xtlog.TreeHash(n, hr)
		return h, err == nil
	}
}

// check returns the violated invariants. final: after healing, when every
// honest desk must have caught up.
func (inv *simInvariants) check(ctx context.Context, when string, desks []*simDesk, acked []simAck, final bool) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, when+": "+fmt.Sprintf(format, args...))
	}
	size := inv.venueSize(ctx)
	if size >= 0 && size < inv.maxSize {
		bad("the venue's log shrank from %d to %d", inv.maxSize, size)
	}
	inv.maxSize = max(inv.maxSize, size)
	// No acknowledged entry lost.
	for _, a := range acked {
		if size >= 0 && a.index >= size {
			bad("entry %d acknowledged to %s is not in the venue's log of size %d", a.index, a.desk, size)
		}
	}
	real := inv.truth(ctx)
	var views []*simView
	for _, sd := range desks {
		d := sd.d
		v := &simView{sd: sd}
		var err error
		if v.st, err = d.logState(ctx, d.store, simChannel); err != nil {
			bad("%s: state: %v", sd.name, err)
			continue
		}
		if v.msgs, err = d.Read(ctx, simChannel, 0, 0); err != nil {
			bad("%s: read: %v", sd.name, err)
			continue
		}
		if v.conf, err = d.Confirmation(ctx, simChannel); err != nil {
			bad("%s: confirmation: %v", sd.name, err)
			continue
		}
		if v.alarms, err = d.Alarms(ctx); err != nil {
			bad("%s: alarms: %v", sd.name, err)
			continue
		}
		for _, a := range v.alarms {
			if a.Log == simChannel {
				v.halted = true
			}
			if inv.honest {
				bad("false alarm at %s with an honest host: %v", sd.name, a.Error())
			}
			// Every alarm's proof verifies offline.
			if a.Evidence != "" {
				if data, err := os.ReadFile(filepath.Join(a.Evidence, ProofFile)); err == nil {
					p, err := proof.Parse(data)
					if err == nil {
						_, err = proof.Verify(p, inv.vkey)
					}
					if err != nil {
						bad("%s: the proof of alarm %q does not verify: %v", sd.name, a.Kind, err)
					}
				}
			}
		}
		// The negotiation state: the incremental one is the replayed one.
		st, err := d.Talks(ctx, simChannel, "")
		if err != nil {
			bad("%s: talks: %v", sd.name, err)
			continue
		}
		v.talks = st.Canonical()
		if !final {
			// The replay is checked after healing (it costs a full read).
		} else if rs, err := d.ReplayTalks(ctx, simChannel, ""); err != nil {
			bad("%s: replay talks: %v", sd.name, err)
		} else if !bytes.Equal(rs.Canonical(), v.talks) {
			bad("%s: the state of the talks differs from a replay of its history", sd.name)
		}
		if real != nil && v.st.Checkpoint != nil {
			cp, err := tlog.ParseCheckpoint(checkpointBody(v.st.Checkpoint))
			if err != nil {
				bad("%s: accepted checkpoint: %v", sd.name, err)
			} else if h, ok := real(cp.Size); ok && h != cp.Hash {
				v.forked = true
				if inv.honest {
					bad("%s accepted a checkpoint of size %d that is not the venue's tree", sd.name, cp.Size)
				}
			}
		}
		if int64(len(v.msgs)) != v.st.Next {
			bad("%s: %d messages processed but next is %d", sd.name, len(v.msgs), v.st.Next)
		}
		for i, m := range v.msgs {
			if m.Index != int64(i) {
				bad("%s: message %d has index %d", sd.name, i, m.Index)
				break
			}
		}
		views = append(views, v)
	}
	for i, a := range views {
		for _, b := range views[i+1:] {
			n := min(len(a.msgs), len(b.msgs))
			div := -1
			for k := range n {
				if a.msgs[k].simKey() != b.msgs[k].simKey() {
					div = k
					break
				}
			}
			if div < 0 && a.forked != b.forked {
				div = n // their trees differ
			}
			if div >= 0 {
				if inv.honest && div < n {
					bad("%s and %s diverge at %d with an honest host: %s vs %s", a.sd.name, b.sd.name, div, a.msgs[div].simKey(), b.msgs[div].simKey())
				} else if final && !a.halted && !b.halted {
					bad("%s and %s diverge at %d and neither raised an alarm within the bound", a.sd.name, b.sd.name, div)
				}
			}
			// Confirmed prefixes agree.
			c := min(a.conf.Confirmed, b.conf.Confirmed, int64(n))
			if div >= 0 && int64(div) < c {
				bad("%s and %s both confirmed entry %d but hold different ones", a.sd.name, b.sd.name, div)
			}
			// The state of the talks at equal positions.
			if div < 0 && len(a.msgs) == len(b.msgs) && !bytes.Equal(a.talks, b.talks) {
				bad("%s and %s processed the same %d entries but their states of the talks differ", a.sd.name, b.sd.name, len(a.msgs))
			}
		}
	}
	anyHalted := false
	for _, v := range views {
		anyHalted = anyHalted || v.halted
	}
	for _, v := range views {
		for _, a := range acked {
			if v.halted || a.index >= int64(len(v.msgs)) {
				continue
			}
			if !inv.honest && (!final || anyHalted) {
				// A cheating host can make an entry unreadable (e.g. a
				// frozen view makes its sender write in an ended epoch);
				// then an alarm must be raised within the bound.
				continue
			}
			m := v.msgs[a.index]
			if m.Kind == "skipped" && strings.HasPrefix(m.Note, "a copy of") {
				// The acknowledgement of a request that reached the venue
				// twice may name the copy: the message is the first.
				for _, e := range v.msgs[:a.index] {
					if e.Kind == "application" && e.Sender.Device == a.device && bytes.Equal(e.Data, a.payload) {
						m = e
						break
					}
				}
			}
			if m.Kind != "application" || m.Sender.Device != a.device || !bytes.Equal(m.Data, a.payload) {
				bad("%s holds %s at %d, acknowledged to %s as its statement", v.sd.name, m.simKey(), a.index, a.desk)
			}
		}
		if final && inv.honest && size >= 0 && v.st.Next != size {
			bad("%s processed %d of %d entries after healing (blocked: %q)", v.sd.name, v.st.Next, size, v.st.Blocked)
		}
		if final && inv.honest && size >= 0 && v.conf.Confirmed != size {
			bad("%s confirmed %d of %d entries after healing", v.sd.name, v.conf.Confirmed, size)
		}
	}
	return out
}
