package venue_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// buildBinary builds the real goodoffices binary into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "goodoffices")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/good-offices/goodoffices/cmd/goodoffices").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// venueProc is a running `goodoffices venue`.
type venueProc struct {
	cmd    *exec.Cmd
	url    string
	vkey   string
	stderr *strings.Builder
	done   chan error
}

func startVenueProc(t *testing.T, bin, data string, extra ...string) *venueProc {
	t.Helper()
	args := append([]string{"venue", "--listen", "127.0.0.1:0", "--data", data, "--name", "venue.e2e", "--rate", "-1", "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &venueProc{cmd: cmd, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{b: p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if _, addr, ok := strings.Cut(line, " listening on "); ok {
			p.url = addr
		}
		if k, ok := strings.CutPrefix(line, "verifier key: "); ok {
			p.vkey = k
		}
		if strings.HasPrefix(line, "admin credential: ") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if p.url == "" || p.vkey == "" {
		t.Fatalf("venue did not start: %s", p.stderr.String())
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *venueProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("venue exited with %v: %s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("venue did not stop on SIGTERM")
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// runCLI runs the binary and returns its standard output.
func runCLI(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("goodoffices %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func field(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	t.Fatalf("no %q in output:\n%s", prefix, out)
	return ""
}

// metric returns the value of a metric without labels from the venue's
// /metrics.
func metric(t *testing.T, url, name string) int64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /metrics:\n%s", name, b)
	return 0
}

type acked struct {
	log   string
	index int64
	entry string
}

// TestEndToEnd runs the real binary: two delegations accredited and their
// devices certified with the CLI, channels convened with the CLI, concurrent
// appends from four devices, and then every log verified only from what its
// tlog-tiles endpoints serve.
func TestEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "venue-data")
	p := startVenueProc(t, bin, data)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	adminFile := filepath.Join(data, venue.AdminFile)
	hostFlags := []string{"--venue", p.url, "--admin-file", adminFile}

	// Delegations: arden's root encrypted with a passphrase, borealia's not.
	roots := map[string]string{}
	envs := map[string][]string{"arden": {"GOODOFFICES_PASSPHRASE=arden secret"}, "borealia": {"GOODOFFICES_PASSPHRASE="}}
	for _, d := range []string{"arden", "borealia"} {
		out := runCLI(t, bin, envs[d], "delegation", "init", "--name", d, "--key", filepath.Join(dir, d+".root"))
		roots[d] = field(t, out, "verifier key: ")
		out = runCLI(t, bin, nil, append([]string{"host", "accredit"}, append(hostFlags, d, roots[d])...)...)
		if fp := field(t, out, "fingerprint: "); fp != delegation.Fingerprint(roots[d]) {
			t.Fatalf("fingerprint %s, want %s", fp, delegation.Fingerprint(roots[d]))
		}
	}
	// Two devices per delegation, certified by the CLI, registered by the client.
	devices := map[string][]*client.Client{}
	for _, d := range []string{"arden", "borealia"} {
		for i := range 2 {
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			cert := filepath.Join(dir, fmt.Sprintf("%s-%d.cert", d, i))
			runCLI(t, bin, envs[d], "delegation", "certify", "--key", filepath.Join(dir, d+".root"), "--device", delegation.DeviceID(pub),
				"--person", fmt.Sprintf("Delegate %d", i), "--role", "expert", "--level", "expert", "--out", cert)
			certBytes, err := os.ReadFile(cert)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := client.New(p.url, client.WithDevice(priv))
			if _, err := c.RegisterDevice(ctx, certBytes); err != nil {
				t.Fatal(err)
			}
			devices[d] = append(devices[d], c)
		}
	}
	channels := map[string][]string{
		"plenary":           {"arden", "borealia"},
		"wg-ceasefire":      {"arden", "borealia"},
		"arden-internal":    {"arden"},
		"borealia-internal": {"borealia"},
	}
	kinds := map[string]string{"plenary": "plenary", "wg-ceasefire": "working-group", "arden-internal": "delegation-internal", "borealia-internal": "delegation-internal"}
	for id, members := range channels {
		runCLI(t, bin, nil, append([]string{"host", "channel", "create"}, append(hostFlags, "--id", id, "--kind", kinds[id], "--level", "expert", "--members", strings.Join(members, ","))...)...)
	}
	if out := runCLI(t, bin, nil, append([]string{"host", "channel", "list"}, hostFlags...)...); !strings.Contains(out, "wg-ceasefire") {
		t.Fatalf("channel list:\n%s", out)
	}

	vfy, err := note.NewVerifier(p.vkey)
	if err != nil {
		t.Fatal(err)
	}
	reader := map[string]*client.Client{} // a member device per channel, for reading
	for id, members := range channels {
		reader[id] = devices[members[0]][0]
	}

	// Watch checkpoints while appending: each must be consistent with the previous.
	var cpMu sync.Mutex
	seenCPs := map[string][]tlog.Checkpoint{}
	stopWatch := make(chan struct{})
	var watchWG sync.WaitGroup
	watchWG.Add(1)
	go func() {
		defer watchWG.Done()
		for {
			for id := range channels {
				cp, _, err := reader[id].Log(id, client.ChannelOrigin("venue.e2e", id), vfy).Checkpoint(ctx)
				if err != nil {
					t.Errorf("watch %s: %v", id, err)
					return
				}
				cpMu.Lock()
				seenCPs[id] = append(seenCPs[id], cp)
				cpMu.Unlock()
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	// Concurrent appends: every device, 4 writers each, to its delegation's channels.
	var mu sync.Mutex
	var acks []acked
	var wg sync.WaitGroup
	for d, cs := range devices {
		for di, c := range cs {
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 30 {
						var mine []string
						for id, members := range channels {
							if members[0] == d || (len(members) > 1 && members[1] == d) {
								mine = append(mine, id)
							}
						}
						id := mine[i%len(mine)]
						e := string(bench.Frame(fmt.Appendf(nil, "%s/%d/%d/%d -> %s", d, di, w, i, id)))
						idx, err := c.Append(ctx, id, []byte(e))
						if err != nil {
							t.Errorf("append: %v", err)
							return
						}
						mu.Lock()
						acks = append(acks, acked{id, idx, e})
						mu.Unlock()
					}
				}()
			}
		}
	}
	wg.Wait()
	close(stopWatch)
	watchWG.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The venue's Go client sends its appends as the HTTP/1.1 lane takes
	// them (internal/lane, SECURITY.md "Who reads a request"): each one
	// was read there, and nothing else was.
	if n := metric(t, p.url, "goodoffices_lane_requests_total"); n != int64(len(acks)) {
		t.Errorf("the lane read %d requests; %d appends were made", n, len(acks))
	}

	// Verify each channel only from its tlog-tiles endpoints.
	byLog := map[string]map[int64]string{}
	for _, a := range acks {
		if byLog[a.log] == nil {
			byLog[a.log] = map[int64]string{}
		}
		if _, dup := byLog[a.log][a.index]; dup {
			t.Fatalf("%s index %d acknowledged twice", a.log, a.index)
		}
		byLog[a.log][a.index] = a.entry
	}
	for id := range channels {
		lc := reader[id].Log(id, client.ChannelOrigin("venue.e2e", id), vfy)
		cp, _, err := lc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != int64(len(byLog[id])) {
			t.Fatalf("%s: size %d, acknowledged %d", id, cp.Size, len(byLog[id]))
		}
		entries, err := lc.Entries(ctx, cp, 0, cp.Size)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for i, e := range entries {
			if string(e) != byLog[id][int64(i)] {
				t.Fatalf("%s entry %d = %q, acknowledged %q", id, i, e, byLog[id][int64(i)])
			}
			if err := lc.VerifyInclusion(ctx, cp, int64(i), e); err != nil {
				t.Fatalf("%s inclusion of %d: %v", id, i, err)
			}
		}
		prev := tlog.Checkpoint{Size: 0, Hash: tlog.EmptyHash}
		cps := append(seenCPs[id], cp)
		for _, c := range cps {
			if err := lc.VerifyConsistency(ctx, prev, c); err != nil {
				t.Fatalf("%s: checkpoint %d not consistent with %d: %v", id, c.Size, prev.Size, err)
			}
			prev = c
		}
		t.Logf("%s: %d entries, %d checkpoints checked for consistency", id, cp.Size, len(cps))
	}
	// The other party's devices cannot read an internal channel.
	var ae *client.Error
	if _, err := devices["borealia"][0].Fetch(ctx, "arden-internal", "checkpoint"); !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("borealia read arden-internal: %v", err)
	}
	// Borealia's head revokes a lost device with the CLI: it is refused at
	// once, and the revocation is in the public revocations log.
	lost := devices["borealia"][1]
	out := runCLI(t, bin, envs["borealia"], "delegation", "revoke", "--key", filepath.Join(dir, "borealia.root"), "--device", lost.DeviceID(), "--venue", p.url)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %s", out)
	}
	if _, err := lost.Append(ctx, "plenary", []byte("from a stolen laptop")); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("revoked device appended: %v", err)
	}
	// The register, by anyone.
	anon, _ := client.New(p.url)
	reg := anon.Log("register", client.RegisterOrigin("venue.e2e"), vfy)
	rcp, _, err := reg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := reg.Entries(ctx, rcp, 0, rcp.Size)
	if err != nil || len(recs) != 2 {
		t.Fatalf("register: %d records, %v", len(recs), err)
	}
	for _, e := range recs {
		r, err := venue.ParseRegisterRecord(e)
		if err != nil || r.RootKey != roots[r.Delegation] {
			t.Fatalf("register record %+v %v", r, err)
		}
	}
	p.stop(t)
}

// TestKillDurability kills the venue with SIGKILL (and, separately, stops it
// with SIGTERM) during concurrent appends from three devices of three
// delegations, several writers each (one delegation over h2c, half of its
// writers through the batch endpoint), and checks, after a restart, that the
// bytes of every acknowledged entry are there at its index, the log
// verifies, and the new checkpoint is consistent with the last one served
// before the kill.
func TestKillDurability(t *testing.T) {
	bin := buildBinary(t)
	t.Run("SIGKILL", func(t *testing.T) { testStopDuringAppends(t, bin, syscall.SIGKILL, durabilityWriters) })
	t.Run("SIGTERM", func(t *testing.T) { testStopDuringAppends(t, bin, syscall.SIGTERM, durabilityWriters) })
}

// TestKillDurabilityLoop is the durability benchmark, not run in CI: with
// GOODOFFICES_DURABILITY_ROUNDS=N it repeats the SIGKILL round N times and
// reports the counts (BENCHMARKS.md); GOODOFFICES_DURABILITY_WRITERS=W
// gives each of the three devices W concurrent writers (default 6; 43 makes
// the 129 of the full benchmark load):
//
//	GOODOFFICES_DURABILITY_ROUNDS=20 GOODOFFICES_DURABILITY_WRITERS=43 go test ./venue -run TestKillDurabilityLoop -v -timeout 1h
func TestKillDurabilityLoop(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GOODOFFICES_DURABILITY_ROUNDS"))
	if n <= 0 {
		t.Skip("set GOODOFFICES_DURABILITY_ROUNDS=N to run N kill -9 rounds")
	}
	writers := durabilityWriters
	if w, _ := strconv.Atoi(os.Getenv("GOODOFFICES_DURABILITY_WRITERS")); w > 0 {
		writers = w
	}
	bin := buildBinary(t)
	var total durabilityCounts
	for i := range n {
		var c durabilityCounts
		t.Run(fmt.Sprintf("round%d", i+1), func(t *testing.T) { c = testStopDuringAppends(t, bin, syscall.SIGKILL, writers) })
		total.acked += c.acked
		total.logged += c.logged
		total.checked += c.checked
	}
	t.Logf("durability: %d kill -9 rounds, 3 devices x %d writers, %d entries acknowledged, %d checked byte for byte, %d in the logs after restart, 0 lost or changed, every log consistent with the last checkpoint served",
		n, writers, total.acked, total.checked, total.logged)
}

// durabilityWriters is the number of concurrent writers per device.
const durabilityWriters = 6

// durabilityMinAcked is how many acknowledged appends a round waits for
// before it stops the venue.
const durabilityMinAcked = 300

type durabilityCounts struct{ acked, checked, logged int }

// testStopDuringAppends stops the venue with sig during concurrent appends
// (writers per device), restarts it and checks that nothing acknowledged
// was lost. Two devices take acknowledgements as soon as their entries are
// durable, before a checkpoint covers them (sequencing apart from
// integration); the third waits for the checkpoint, as desks do. After a
// restart every acknowledged entry must be under the checkpoint served
// (the venue integrates what it acknowledged before it serves anything).
// After SIGTERM the venue must also exit cleanly.
func testStopDuringAppends(t *testing.T, bin string, sig syscall.Signal, writers int) durabilityCounts {
	data := filepath.Join(t.TempDir(), "venue-data")
	p := startVenueProc(t, bin, data)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cred, _ := os.ReadFile(filepath.Join(data, venue.AdminFile))
	admin, _ := client.New(p.url, client.WithAdmin(string(cred)))
	dels := []string{"arden", "borealia", "caspia"}
	roots := map[string]*delegation.RootKey{}
	for _, d := range dels {
		root, _ := delegation.GenerateRoot(d)
		if _, err := admin.Accredit(ctx, d, root.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		roots[d] = root
	}
	logs := []string{"plenary", "wg"}
	for _, id := range logs {
		if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: id, Kind: "plenary", Level: "expert", Members: dels}); err != nil {
			t.Fatal(err)
		}
	}
	var devs []*client.Client
	var privs []ed25519.PrivateKey
	for _, d := range dels {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		cert := certFor(t, roots[d], pub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		opts := []client.Option{client.WithDevice(priv)}
		if d == "caspia" {
			// One delegation's writers share one HTTP/2 (h2c) connection,
			// and half of them append in batches (below).
			opts = append(opts, client.WithH2C())
		} else {
			opts = append(opts, client.WithDurableAcks())
		}
		dev, _ := client.New(p.url, opts...)
		if _, err := dev.RegisterDevice(ctx, cert); err != nil {
			t.Fatal(err)
		}
		devs, privs = append(devs, dev), append(privs, priv)
	}
	vfy, _ := note.NewVerifier(p.vkey)

	var mu sync.Mutex
	var acks []acked
	lastServed := map[string]tlog.Checkpoint{}
	var wg sync.WaitGroup
	for d, dev := range devs {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					id := logs[(d+w+i)%2]
					// Random bytes of varying length, so that a torn or
					// shifted write cannot pass for the original.
					e := make([]byte, 16+(i*37+w*11)%1000)
					rand.Read(e)
					copy(e, fmt.Sprintf("d%dw%d-%d;", d, w, i))
					e = bench.Frame(e)
					if d == 2 && w%2 == 0 {
						// Half of one delegation's writers use the batch
						// endpoint: three entries, acknowledged together.
						es := [][]byte{e, bench.Frame(append([]byte("b1;"), e...)), bench.Frame(append([]byte("b2;"), e...))}
						idx, err := dev.AppendBatch(ctx, id, es)
						if err != nil {
							return // the venue died
						}
						mu.Lock()
						for k, x := range idx {
							acks = append(acks, acked{id, x, string(es[k])})
						}
						mu.Unlock()
						continue
					}
					idx, err := dev.Append(ctx, id, e)
					if err != nil {
						return // the venue died
					}
					mu.Lock()
					acks = append(acks, acked{id, idx, string(e)})
					mu.Unlock()
				}
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			for _, id := range logs {
				cp, _, err := devs[0].Log(id, client.ChannelOrigin("venue.e2e", id), vfy).Checkpoint(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				lastServed[id] = cp
				mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	// Kill once enough appends are acknowledged, not after a fixed time:
	// on a loaded machine 1.5 s may see only a few dozen. The writers keep
	// going meanwhile, so the kill still lands under load.
	waitAcked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acks)
	}
	minRun := time.After(1500 * time.Millisecond)
	for ran := false; !ran || waitAcked() < durabilityMinAcked; {
		select {
		case <-minRun:
			ran = true
		case <-ctx.Done():
			t.Fatalf("only %d appends acknowledged in %v, want %d before the kill", waitAcked(), 2*time.Minute, durabilityMinAcked)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The appends of single entries over HTTP/1.1 go through the venue's
	// lane (internal/lane): the write path under test is that one too.
	if n := metric(t, p.url, "goodoffices_lane_requests_total"); n == 0 {
		t.Fatal("the lane read no append before the stop")
	}
	p.cmd.Process.Signal(sig) // SIGKILL: no chance to flush anything
	exitErr := <-p.done
	wg.Wait()
	if sig == syscall.SIGTERM && exitErr != nil {
		t.Fatalf("venue did not shut down cleanly on SIGTERM: %v\n%s", exitErr, p.stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acks) < durabilityMinAcked {
		t.Fatalf("only %d appends acknowledged before the kill", len(acks))
	}

	p2 := startVenueProc(t, bin, data)
	if p2.vkey != p.vkey {
		t.Fatal("venue key changed across restart")
	}
	dev2, _ := client.New(p2.url, client.WithDevice(privs[0]))
	// Appends work after the restart.
	if _, err := dev2.Append(ctx, "plenary", bench.Frame([]byte("after restart"))); err != nil {
		t.Fatal(err)
	}
	byLog := map[string]map[int64]string{}
	for _, a := range acks {
		if byLog[a.log] == nil {
			byLog[a.log] = map[int64]string{}
		}
		if prev, dup := byLog[a.log][a.index]; dup && prev != a.entry {
			t.Fatalf("%s: index %d acknowledged for two different entries", a.log, a.index)
		}
		byLog[a.log][a.index] = a.entry
	}
	counts := durabilityCounts{acked: len(acks)}
	for _, id := range logs {
		lc := dev2.Log(id, client.ChannelOrigin("venue.e2e", id), vfy)
		cp, _, err := lc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := lc.VerifyConsistency(ctx, lastServed[id], cp); err != nil {
			t.Fatalf("%s: checkpoint after restart (%d) not consistent with the last served before the kill (%d): %v", id, cp.Size, lastServed[id].Size, err)
		}
		entries, err := lc.Entries(ctx, cp, 0, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		for idx, e := range byLog[id] {
			if idx >= cp.Size || string(entries[idx]) != e {
				t.Fatalf("%s: acknowledged entry %d (%q...) lost or changed after the stop", id, idx, e[:min(len(e), 12)])
			}
			counts.checked++
		}
		counts.logged += int(cp.Size)
		t.Logf("%s: %d acknowledged, %d in the log after restart", id, len(byLog[id]), cp.Size)
	}
	p2.stop(t)
	return counts
}

// TestCosignatureSurvivesKill: the venue serves a round's checkpoints
// before they are durable (integrate.go, "Lazy checkpoints"), so it makes
// a checkpoint durable before it keeps a cosignature of it. A desk
// cosigns the checkpoint of size 1, one more entry is acknowledged, and
// the venue is killed before its applier's next round: after the restart
// it serves a checkpoint of size 2 and still the cosigned one of size 1.
// (Without the durable write the checkpoint of size 1 is lost in most
// runs, and the cosignature with it.)
func TestCosignatureSurvivesKill(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "venue-data")
	p := startVenueProc(t, bin, data)
	ctx := t.Context()
	priv, cert := ardenPlenary(t, ctx, p.url, data)
	dev, _ := client.New(p.url, client.WithDevice(priv))
	if _, err := dev.RegisterDevice(ctx, cert); err != nil {
		t.Fatal(err)
	}
	// Appends wait for their checkpoint, as desks' do.
	if _, err := dev.Append(ctx, "plenary", bench.Frame([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	cp1, err := dev.Fetch(ctx, "plenary", "checkpoint")
	if err != nil || !strings.Contains(string(cp1), "\n1\n") {
		t.Fatalf("checkpoint after one append: %q %v", cp1, err)
	}
	if err := dev.AddCosignature(ctx, "plenary", cosignAs(t, "arden", priv, cp1)); err != nil {
		t.Fatal(err)
	}
	durable, _ := client.New(p.url, client.WithDevice(priv), client.WithDurableAcks())
	if _, err := durable.Append(ctx, "plenary", bench.Frame([]byte("two"))); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done

	p2 := startVenueProc(t, bin, data)
	dev2, _ := client.New(p2.url, client.WithDevice(priv))
	cp, err := dev2.Fetch(ctx, "plenary", "checkpoint")
	if err != nil || !strings.Contains(string(cp), "\n2\n") {
		t.Fatalf("checkpoint after the restart: %q %v, want size 2", cp, err)
	}
	cs, err := dev2.Cosignatures(ctx, "plenary")
	if err != nil || len(cs.Checkpoints) != 1 || !strings.Contains(cs.Checkpoints[0], "\n1\n") || !strings.Contains(cs.Checkpoints[0], "— arden/") {
		t.Fatalf("cosignatures after the restart: %+v %v, want the one of size 1", cs, err)
	}
	p2.stop(t)
}

// ardenPlenary accredits the delegation arden at the venue at url (whose
// data directory is data), creates the channel plenary with arden as its
// member, and returns a fresh device key of arden's and its certificate.
func ardenPlenary(t *testing.T, ctx context.Context, url, data string) (ed25519.PrivateKey, []byte) {
	t.Helper()
	cred, _ := os.ReadFile(filepath.Join(data, venue.AdminFile))
	admin, _ := client.New(url, client.WithAdmin(string(cred)))
	root, _ := delegation.GenerateRoot("arden")
	if _, err := admin.Accredit(ctx, "arden", root.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return priv, certFor(t, root, pub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}
