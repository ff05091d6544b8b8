package fanout_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// buildBinary builds the goodoffices binary once for the package's tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "goodoffices-fanout-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "goodoffices")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/good-offices/goodoffices/cmd/goodoffices").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// natsServer is a core NATS server of the test's own, which it can stop
// and start again on the same port.
type natsServer struct {
	t    *testing.T
	bin  string
	conf string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin, err := bench.FindNATSServer("")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nats-server needed in CI: %v", err)
		}
		t.Skip(err)
	}
	port, err := bench.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &natsServer{t: t, bin: bin, conf: filepath.Join(t.TempDir(), "nats.conf"), url: fmt.Sprintf("nats://127.0.0.1:%d", port)}
	if err := os.WriteFile(s.conf, fmt.Appendf(nil, "listen: 127.0.0.1:%d\n", port), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-c", s.conf)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	go func() { s.cmd.Wait(); close(done) }()
	for range 100 {
		if conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "nats://")); err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatal("nats-server did not start")
}

func (s *natsServer) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// node starts a venue node on db with NATS at natsURL, sharing the keys of
// first (when not nil).
func node(t *testing.T, db, natsURL string, first *bench.VenueProcess, extra ...string) *bench.VenueProcess {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if first != nil {
		if err := bench.ShareKeys(first.DataDir, dir); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"--db", db, "--rate", "-1", "--log-level", "warn"}, extra...)
	if natsURL != "" {
		args = append(args, "--nats", natsURL)
	}
	p, err := bench.StartVenue(t.Context(), bin, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("venue node %s log:\n%s", p.URL, p.Log())
		}
	})
	return p
}

// world is a venue with one delegation, one channel and devices.
type world struct {
	root    *delegation.RootKey
	name    string
	channel string
	info    client.Info
}

func setup(t *testing.T, url, admin string) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{name: "arden", channel: "plenary"}
	var err error
	if w.root, err = delegation.GenerateRoot(w.name); err != nil {
		t.Fatal(err)
	}
	ac, err := client.New(url, client.WithAdmin(admin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Accredit(ctx, w.name, w.root.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreateChannel(ctx, client.ChannelSpec{ID: w.channel, Kind: "plenary", Level: "expert", Members: []string{w.name}}); err != nil {
		t.Fatal(err)
	}
	if w.info, err = ac.Info(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// device registers a new device of the delegation through url.
func (w *world) device(t *testing.T, url, person string) *client.Client {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	cert, err := w.root.Certify(&delegation.Certificate{Delegation: w.name, Person: person, Role: "expert", Level: "expert",
		Device: pub, NotBefore: now.Add(-time.Minute).Truncate(time.Second), NotAfter: now.Add(time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(url, client.WithDevice(priv))
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := c.RegisterDevice(t.Context(), cert)
		if err == nil {
			break
		}
		// The other node may not know of the accreditation yet.
		var ae *client.Error
		if !errors.As(err, &ae) || t.Context().Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.Authenticate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

// appendRetrying appends, retrying while the venue says it may.
func appendRetrying(ctx context.Context, c *client.Client, channel string, entry []byte) (int64, error) {
	for {
		i, err := c.Append(ctx, channel, entry)
		var ae *client.Error
		if err != nil && errors.As(err, &ae) && ae.Retryable() && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return i, err
	}
}

// collect reads entry events of channel from sub until it has n of them
// or the deadline passes.
func collect(t *testing.T, sub *client.Subscription, channel string, n int, within time.Duration) []client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	var out []client.Event
	for len(out) < n {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		if ev.Type == "entry" && ev.Log == channel {
			out = append(out, ev)
		}
	}
	return out
}

// TestTwoNodes runs two real venue processes on one PostgreSQL database with
// NATS between them: concurrent appends to one channel from both nodes make
// one log, without fork or gap, that verifies from either node; a desk
// subscribed to node 2 sees node 1's appends at once; and after NATS was
// down for a while, subscribers catch up without gaps.
func TestTwoNodes(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	ns := startNATS(t)
	// Long poll interval: NATS (or its reconnect catch-up) must do the work.
	n1 := node(t, db, ns.url, nil, "--poll", "1m")
	n2 := node(t, db, ns.url, n1, "--poll", "1m")
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()

	reader := w.device(t, n2.URL, "reader")
	sub, err := reader.Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if ev, err := sub.Next(ctx); err != nil || ev.Type != "ready" {
		t.Fatalf("first event %+v, %v", ev, err)
	}

	// Concurrent appends to the same channel through both nodes.
	const perWriter = 25
	var writers []*client.Client
	for i := range 4 {
		url := n1.URL
		if i%2 == 1 {
			url = n2.URL
		}
		writers = append(writers, w.device(t, url, fmt.Sprintf("writer%d", i)))
	}
	var mu sync.Mutex
	acked := map[int64][]byte{}
	var wg sync.WaitGroup
	for i, c := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perWriter {
				e := bench.Frame(fmt.Appendf(nil, "writer %d entry %d", i, j))
				idx, err := appendRetrying(ctx, c, w.channel, e)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := acked[idx]; dup {
					t.Errorf("index %d acknowledged twice: %q and %q", idx, prev, e)
				}
				acked[idx] = e
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	total := int64(len(writers) * perWriter)
	for i := range total {
		if acked[i] == nil {
			t.Fatalf("no entry acknowledged at index %d: a gap", i)
		}
	}
	// The subscriber on node 2 got every entry, in order, once.
	evs := collect(t, sub, w.channel, int(total), 20*time.Second)
	for i, ev := range evs {
		if ev.Index != int64(i) || !bytes.Equal(ev.Entry, acked[int64(i)]) {
			t.Fatalf("event %d: index %d %q, want %q", i, ev.Index, ev.Entry, acked[int64(i)])
		}
	}
	// The log verifies from both nodes, and their checkpoints are consistent.
	verifier, err := note.NewVerifier(w.info.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	origin := client.ChannelOrigin(w.info.Name, w.channel)
	verifyLog(t, writers[0].Log(w.channel, origin, verifier), acked, total)
	verifyLog(t, writers[1].Log(w.channel, origin, verifier), acked, total)

	// At once: an append on node 1 reaches the subscriber on node 2 long
	// before the stream's heartbeat or a poll would.
	start := time.Now()
	idx, err := appendRetrying(ctx, writers[0], w.channel, bench.Frame([]byte("at once")))
	if err != nil {
		t.Fatal(err)
	}
	ev := collect(t, sub, w.channel, 1, 10*time.Second)[0]
	if ev.Index != idx || string(ev.Entry) != string(bench.Frame([]byte("at once"))) {
		t.Fatalf("got %+v, want index %d", ev, idx)
	}
	// Without fan-out it would wait for the stream's 15 s heartbeat.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("node 2 saw node 1's append after %s", d)
	}
	acked[idx] = bench.Frame([]byte("at once"))
	total++

	// NATS down for a while: appends on node 1 go on; when NATS is back,
	// the subscriber on node 2 catches up without gaps or duplicates.
	ns.stop()
	const whileDown = 20
	for j := range whileDown {
		e := bench.Frame(fmt.Appendf(nil, "while NATS was down %d", j))
		idx, err := appendRetrying(ctx, writers[0], w.channel, e)
		if err != nil {
			t.Fatal(err)
		}
		acked[idx] = e
	}
	time.Sleep(time.Second)
	ns.start()
	evs = collect(t, sub, w.channel, whileDown, 12*time.Second)
	for i, ev := range evs {
		want := total + int64(i)
		if ev.Index != want || !bytes.Equal(ev.Entry, acked[want]) {
			t.Fatalf("after NATS came back, event %d: index %d, want %d", i, ev.Index, want)
		}
	}
	total += whileDown
	verifyLog(t, writers[3].Log(w.channel, origin, verifier), acked, total)
}

// verifyLog checks, only from what a node serves, that the log holds
// exactly the acknowledged entries, each included in the signed checkpoint.
func verifyLog(t *testing.T, lc *tlog.Client, acked map[int64][]byte, total int64) {
	t.Helper()
	ctx := t.Context()
	// A node learns of the other node's last appends through a notice that
	// may still be on its way: allow it a moment.
	var cp tlog.Checkpoint
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		cp, _, err = lc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cp.Size != total {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, total)
	}
	es, err := lc.Entries(ctx, cp, 0, total)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if !bytes.Equal(e, acked[int64(i)]) {
			t.Fatalf("entry %d = %q, acknowledged %q", i, e, acked[int64(i)])
		}
	}
}

// TestThreeNodesKill runs three venue nodes on one database and NATS,
// with writers on every node appending concurrently to shared channels,
// and kills one node (SIGKILL) in the middle: every append that any node
// acknowledged is in the log at its index, no entry is there twice, and the
// logs verify from the surviving nodes.
func TestThreeNodesKill(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	ns := startNATS(t)
	n1 := node(t, db, ns.url, nil)
	n2 := node(t, db, ns.url, n1)
	n3 := node(t, db, ns.url, n1)
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()
	ac, _ := client.New(n1.URL, client.WithAdmin(admin))
	channels := []string{w.channel, "wg-1"}
	if _, err := ac.CreateChannel(ctx, client.ChannelSpec{ID: "wg-1", Kind: "working-group", Level: "expert", Members: []string{w.name}}); err != nil {
		t.Fatal(err)
	}

	type ack struct {
		channel string
		index   int64
	}
	var mu sync.Mutex
	acked := map[ack][]byte{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	nodes := []*bench.VenueProcess{n1, n2, n3}
	for i := range 6 {
		c := w.device(t, nodes[i%3].URL, fmt.Sprintf("writer%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				ch := channels[j%2]
				e := bench.Frame(fmt.Appendf(nil, "writer %d entry %d", i, j))
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				idx, err := c.Append(actx, ch, e)
				cancel()
				if err != nil {
					// Unknown outcome (the node died) or refused: not
					// acknowledged. Writers of the dead node stop.
					if i%3 == 2 {
						select {
						case <-n3.Done():
							return
						default:
						}
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mu.Lock()
				k := ack{ch, idx}
				if prev, dup := acked[k]; dup {
					t.Errorf("%s index %d acknowledged for %q and %q", ch, idx, prev, e)
				}
				acked[k] = e
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	n3.Kill()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	verifier, err := note.NewVerifier(w.info.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	reader := w.device(t, n2.URL, "reader")
	for _, ch := range channels {
		lc := reader.Log(ch, client.ChannelOrigin(w.info.Name, ch), verifier)
		cp, _, err := lc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		es, err := lc.Entries(ctx, cp, 0, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, e := range es {
			if seen[string(e)] {
				t.Fatalf("%s: entry %q twice in the log", ch, e)
			}
			seen[string(e)] = true
			if want, ok := acked[ack{ch, int64(i)}]; ok && !bytes.Equal(e, want) {
				t.Fatalf("%s: index %d holds %q, acknowledged %q", ch, i, e, want)
			}
		}
		n := 0
		for k := range acked {
			if k.channel == ch {
				n++
				if k.index >= cp.Size {
					t.Fatalf("%s: acknowledged index %d past the log's end %d", ch, k.index, cp.Size)
				}
			}
		}
		if n == 0 {
			t.Fatalf("%s: nothing acknowledged", ch)
		}
		t.Logf("%s: %d entries, %d acknowledged", ch, cp.Size, n)
		// The other surviving node serves a consistent checkpoint.
		lc1 := w.device(t, n1.URL, "reader-"+ch).Log(ch, client.ChannelOrigin(w.info.Name, ch), verifier)
		cp1, _, err := lc1.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		older, newer := cp1, cp
		if older.Size > newer.Size {
			older, newer = newer, older
		}
		if err := lc.VerifyConsistency(ctx, older, newer); err != nil {
			t.Fatalf("%s: checkpoints of node 1 and node 2 inconsistent: %v", ch, err)
		}
	}
}

// TestThreeNodesDesks: desks of two parties, each enrolled with a different
// node of one venue (three nodes, one PostgreSQL, NATS), hold a
// conversation in a shared and a delegation-internal channel; every desk
// reads the same history, and every log verifies from every node.
func TestThreeNodesDesks(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	ns := startNATS(t)
	n1 := node(t, db, ns.url, nil)
	n2 := node(t, db, ns.url, n1)
	n3 := node(t, db, ns.url, n1)
	nodes := []*bench.VenueProcess{n1, n2, n3}
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ac, err := client.New(n1.URL, client.WithAdmin(admin))
	if err != nil {
		t.Fatal(err)
	}
	info, err := ac.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]*delegation.RootKey{}
	for _, name := range []string{"arden", "borealia"} {
		if roots[name], err = delegation.GenerateRoot(name); err != nil {
			t.Fatal(err)
		}
		if _, err := ac.Accredit(ctx, name, roots[name].VerifierKey()); err != nil {
			t.Fatal(err)
		}
	}
	newDesk := func(del, person string, n *bench.VenueProcess) *desk.Desk {
		d, err := desk.Init(ctx, t.TempDir(), []byte("pass "+person), desk.Profile{Delegation: del, Person: person, Role: "expert", Level: "expert"}, desk.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		req, err := d.CertificateRequest()
		if err != nil {
			t.Fatal(err)
		}
		c, err := delegation.ParseCertificate(req)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := roots[del].Certify(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Enroll(ctx, n.URL, info.VerifierKey, cert); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a1 := newDesk("arden", "Tomas Reig", n1)
	a2 := newDesk("arden", "Nora Vass", n2)
	b1 := newDesk("borealia", "Iryna Holt", n3)
	desks := []*desk.Desk{a1, a2, b1}
	for _, spec := range []client.ChannelSpec{
		{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}},
		{ID: "arden-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"arden"}},
	} {
		if _, err := ac.CreateChannel(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	sync := func() {
		t.Helper()
		for range 2 {
			for _, d := range desks {
				res, err := d.Sync(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if res.Err() != nil {
					t.Fatalf("alarm at %s: %v", d.Profile().Person, res.Err())
				}
			}
		}
	}
	texts := func(d *desk.Desk, ch string) string {
		t.Helper()
		ms, err := d.Read(ctx, ch, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			if m.Kind == "application" {
				out = append(out, m.Sender.Person+": "+string(m.Data))
			}
		}
		return strings.Join(out, "|")
	}
	// until syncs every desk until each reads want in ch (a node learns of
	// another node's appends through NATS, a moment later).
	until := func(ch, want string, ds ...*desk.Desk) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			sync()
			ok := true
			for _, d := range ds {
				ok = ok && texts(d, ch) == want
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				for _, d := range ds {
					t.Errorf("%s reads %s: %q", d.Profile().Person, ch, texts(d, ch))
				}
				t.Fatalf("want %q", want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, d := range desks {
		sync()
		ps, _ := d.Parties(ctx)
		for _, p := range ps {
			if _, err := d.VerifyParty(ctx, p.Name, p.Fingerprint); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := a1.Send(ctx, "plenary", []byte("Good morning from Arden")); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Send(ctx, "arden-internal", []byte("Hold firm on paragraph 3")); err != nil {
		// a2 may need a sync to have joined the channel's group first.
		sync()
		if _, err := a2.Send(ctx, "arden-internal", []byte("Hold firm on paragraph 3")); err != nil {
			t.Fatal(err)
		}
	}
	until("plenary", "Tomas Reig: Good morning from Arden", a1, a2, b1)
	if _, err := b1.Send(ctx, "plenary", []byte("Borealia agrees ad referendum")); err != nil {
		t.Fatal(err)
	}
	until("plenary", "Tomas Reig: Good morning from Arden|Iryna Holt: Borealia agrees ad referendum", a1, a2, b1)
	until("arden-internal", "Nora Vass: Hold firm on paragraph 3", a1, a2)
	if got := texts(b1, "arden-internal"); got != "" {
		t.Fatalf("borealia reads arden's internal channel: %q", got)
	}

	// Every log verifies from every node, with consistent checkpoints.
	verifier, err := note.NewVerifier(info.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{root: roots["arden"], name: "arden", info: info}
	for _, ch := range []string{"plenary", "arden-internal"} {
		var first *tlog.Checkpoint
		var firstEntries [][]byte
		for i, n := range nodes {
			c := w.device(t, n.URL, fmt.Sprintf("auditor-%s-%d", ch, i))
			lc := c.Log(ch, client.ChannelOrigin(info.Name, ch), verifier)
			cp, _, err := lc.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			es, err := lc.Entries(ctx, cp, 0, cp.Size)
			if err != nil {
				t.Fatalf("%s from node %d: %v", ch, i+1, err)
			}
			if first == nil {
				first, firstEntries = &cp, es
				continue
			}
			if cp.Size != first.Size || cp.Hash != first.Hash {
				t.Fatalf("%s: node %d serves size %d, node 1 size %d", ch, i+1, cp.Size, first.Size)
			}
			for j := range es {
				if !bytes.Equal(es[j], firstEntries[j]) {
					t.Fatalf("%s: entry %d differs between nodes", ch, j)
				}
			}
		}
	}
	// The register too, public, from every node.
	for i, n := range nodes {
		c, _ := client.New(n.URL)
		lc := c.Log("register", client.RegisterOrigin(info.Name), verifier)
		cp, _, err := lc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != 2 {
			t.Fatalf("register from node %d: size %d, want 2", i+1, cp.Size)
		}
		if _, err := lc.Entries(ctx, cp, 0, cp.Size); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTwoNodesPolling: without NATS, nodes say at start that they poll, and
// a subscriber on node 2 still gets node 1's appends, within a poll.
func TestTwoNodesPolling(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	n1 := node(t, db, "", nil, "--poll", "200ms", "--log-level", "info")
	n2 := node(t, db, "", n1, "--poll", "200ms", "--log-level", "debug")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(n2.Log(), "polling the database every 200ms"); {
		if time.Now().After(deadline) {
			t.Fatalf("node does not say that it polls:\n%s", n2.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()
	sub, err := w.device(t, n2.URL, "reader").Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if ev, err := sub.Next(ctx); err != nil || ev.Type != "ready" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	writer := w.device(t, n1.URL, "writer")
	for i := range 5 {
		start := time.Now()
		idx, err := appendRetrying(ctx, writer, w.channel, bench.Frame(fmt.Appendf(nil, "polled %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ev := collect(t, sub, w.channel, 1, 5*time.Second)[0]
		if ev.Index != idx || ev.Index != int64(i) {
			t.Fatalf("event index %d, want %d", ev.Index, idx)
		}
		t.Logf("append %d reached node 2 after %s", i, time.Since(start))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("append %d reached node 2 after %s", i, d)
		}
	}
}

// TestDatabaseConnectionsKilled kills a venue node's database connections
// (as a PostgreSQL restart does) while devices append through it: appends
// either succeed or fail with a retryable error (503), every acknowledged
// entry is in the log at its index, and the node serves again afterwards.
func TestDatabaseConnectionsKilled(t *testing.T) {
	base := pgtest.URL(t)
	db := pgtest.Schema(t, base) + "&application_name=gotest_venue_killed"
	n1 := node(t, db, "", nil)
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	var mu sync.Mutex
	acked := map[int64][]byte{}
	retryable, other := 0, 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		c := w.device(t, n1.URL, fmt.Sprintf("writer%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				e := bench.Frame(fmt.Appendf(nil, "writer %d entry %d", i, j))
				idx, err := c.Append(ctx, w.channel, e)
				mu.Lock()
				var ae *client.Error
				switch {
				case err == nil:
					acked[idx] = e
				case errors.As(err, &ae) && ae.Retryable():
					retryable++
				default:
					other++
					t.Errorf("append failed with a non-retryable error: %v", err)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	for range 3 {
		time.Sleep(400 * time.Millisecond)
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gotest_venue_killed'`); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d acknowledged, %d retryable failures", len(acked), retryable)
	if t.Failed() {
		t.FailNow()
	}
	verifier, err := note.NewVerifier(w.info.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	reader := w.device(t, n1.URL, "reader")
	lc := reader.Log(w.channel, client.ChannelOrigin(w.info.Name, w.channel), verifier)
	cp, _, err := lc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, err := lc.Entries(ctx, cp, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	for idx, e := range acked {
		if idx >= cp.Size || !bytes.Equal(es[idx], e) {
			t.Fatalf("acknowledged entry %d (%q) not in the log", idx, e)
		}
	}
	// An append whose commit succeeded but whose answer was lost with the
	// connection is there without having been acknowledged; none is there
	// twice.
	seen := map[string]bool{}
	for _, e := range es {
		if seen[string(e)] {
			t.Fatalf("entry %q twice", e)
		}
		seen[string(e)] = true
	}
}
