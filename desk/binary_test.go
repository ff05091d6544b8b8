package desk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test of the desk with the real goodoffices binary: a
// venue, two delegations with two devices each, a plenary and each party's
// internal channel.

type cluster struct {
	t        *testing.T
	bin, dir string
	venueURL string
	venueKey string
	env      []string
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "goodoffices")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/good-offices/goodoffices/cmd/goodoffices")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run runs the binary and returns its stdout; it fails the test if the exit
// status is not want.
func (c *cluster) run(want int, args ...string) string {
	c.t.Helper()
	stdout, _ := c.exec(want, args...)
	return stdout
}

// runErr is run returning stdout and stderr together.
func (c *cluster) runErr(want int, args ...string) string {
	c.t.Helper()
	stdout, stderr := c.exec(want, args...)
	return stdout + stderr
}

func (c *cluster) exec(want int, args ...string) (string, string) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	if code != want {
		c.t.Fatalf("goodoffices %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

func startCluster(t *testing.T) *cluster {
	c := &cluster{t: t, bin: buildBinary(t), dir: t.TempDir()}
	c.env = []string{"GOODOFFICES_PASSPHRASE=root secret", "GOODOFFICES_DESK_PASSPHRASE=desk secret"}
	m := c.startBackground("venue", []string{"venue", "--listen", "127.0.0.1:0", "--data", "vdata", "--rate", "-1"},
		`listening on (http://\S+)`, `verifier key: (\S+)`)
	c.venueURL, c.venueKey = m[0], m[1]
	c.env = append(c.env, "GOODOFFICES_VENUE="+c.venueURL)
	return c
}

// startBackground starts the binary with args in the background (stopped
// with SIGINT at the end of the test) and returns, for each pattern, the
// first submatch of the first line of its standard output that matches.
func (c *cluster) startBackground(what string, args []string, patterns ...string) []string {
	found, _ := c.startStoppable(what, args, patterns...)
	return found
}

// signIn opens a desk web's one-time sign-in link and returns its base
// URL and functions that GET a URL and POST a form (as the page does, from
// its own origin) with the session: status and body, after redirects.
func (c *cluster) signIn(link string) (string, func(string) (int, string), func(string, url.Values) (int, string)) {
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	base, _, _ := strings.Cut(link, "/login")
	do := func(req *http.Request) (int, string) {
		c.t.Helper()
		r, err := web.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	get := func(u string) (int, string) {
		c.t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		return do(req)
	}
	post := func(u string, form url.Values) (int, string) {
		c.t.Helper()
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		return do(req)
	}
	if code, body := get(link); code != http.StatusOK {
		c.t.Fatalf("sign-in: %d %s", code, body)
	}
	return base, get, post
}

// startStoppable is startBackground, and returns a function that stops the
// command (an interrupt) and waits for it to exit.
func (c *cluster) startStoppable(what string, args []string, patterns ...string) ([]string, func()) {
	t := c.t
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	sc := bufio.NewScanner(stdout)
	deadline := time.After(20 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	found := make([]string, len(patterns))
	for n := 0; n < len(patterns); {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s exited: %s", what, stderr.String())
			}
			for i, p := range patterns {
				if m := regexp.MustCompile(p).FindStringSubmatch(l); m != nil && found[i] == "" {
					found[i] = m[1]
					n++
				}
			}
		case <-deadline:
			t.Fatalf("%s did not start: %s", what, stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return found, stop
}

// accreditPair creates the root keys of Arden and Borealia, has the host
// accredit both and create channel id of kind with both as members; it
// returns their root-key fingerprints.
func (c *cluster) accreditPair(id, kind string) map[string]string {
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	fps := map[string]string{}
	for _, del := range []string{"arden", "borealia"} {
		out := c.run(0, "delegation", "init", "--name", del, "--key", del+".root")
		fps[del] = c.field(out, "fingerprint")
		c.run(0, append(append([]string{"host", "accredit"}, admin...), del, c.field(out, "verifier key"))...)
	}
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", id, "--kind", kind, "--level", "expert", "--members", "arden,borealia")...)
	return fps
}

func (c *cluster) field(out, name string) string {
	c.t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("no %q in %q", name, out)
	}
	return m[1]
}

// newDesk creates, certifies and enrolls a desk.
func (c *cluster) newDesk(home, del, person, role string) string {
	c.t.Helper()
	c.run(0, "desk", "init", "--home", home, "--delegation", del, "--person", person, "--role", role)
	st := c.run(0, "desk", "status", "--home", home, "--json")
	var s struct{ Device string }
	json.Unmarshal([]byte(st), &s)
	c.run(0, "delegation", "certify", "--key", del+".root", "--device", s.Device, "--person", person, "--role", role, "--level", "expert", "--out", home+".cert")
	c.run(0, "desk", "enroll", "--home", home, "--venue", c.venueURL, "--venue-key", c.venueKey, "--cert", home+".cert")
	return s.Device
}

type readOut struct {
	Messages []struct {
		Index  int64  `json:"index"`
		Kind   string `json:"kind"`
		Text   string `json:"text"`
		Sender struct {
			Person     string `json:"person"`
			Delegation string `json:"delegation"`
		} `json:"sender"`
	} `json:"messages"`
}

func (c *cluster) texts(home, ch string) []string {
	c.t.Helper()
	var r readOut
	if err := json.Unmarshal([]byte(c.run(0, "desk", "read", ch, "--home", home, "--json")), &r); err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, m := range r.Messages {
		if m.Kind == "application" {
			out = append(out, m.Sender.Person+": "+m.Text)
		}
	}
	return out
}

func (c *cluster) syncAll(homes ...string) {
	c.t.Helper()
	for range 2 {
		for _, h := range homes {
			c.run(0, "desk", "sync", "--home", h)
		}
	}
}

func TestBinaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	fps := map[string]string{}
	for _, del := range []string{"arden", "borealia", "caspia"} {
		out := c.run(0, "delegation", "init", "--name", del, "--key", del+".root")
		fps[del] = c.field(out, "fingerprint")
		c.run(0, append(append([]string{"host", "accredit"}, admin...), del, c.field(out, "verifier key"))...)
	}
	for _, ch := range [][]string{
		{"plenary", "plenary", "arden,borealia"},
		{"bilateral", "bilateral", "arden,borealia"},
		{"arden-internal", "delegation-internal", "arden"},
		{"borealia-internal", "delegation-internal", "borealia"},
		{"logistics", "logistics", "arden,borealia,caspia"},
	} {
		c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", ch[0], "--kind", ch[1], "--level", "expert", "--members", ch[2])...)
	}
	c.newDesk("tomas", "arden", "Tomas Reig", "expert")
	c.newDesk("nora", "arden", "Nora Vass", "expert")
	c.newDesk("iryna", "borealia", "Iryna Holt", "expert")
	maks := c.newDesk("maks", "borealia", "Maks Dorn", "expert")
	c.newDesk("arman", "caspia", "Arman Bekov", "logistics") // the host's logistics officer
	all := []string{"tomas", "nora", "iryna", "maks"}
	// Out of band: each delegate compares the other delegations' fingerprints.
	for _, h := range append(all, "arman") {
		own := map[string]string{"tomas": "arden", "nora": "arden", "iryna": "borealia", "maks": "borealia", "arman": "caspia"}[h]
		for _, other := range []string{"arden", "borealia", "caspia"} {
			if other == own {
				continue
			}
			// A wrong fingerprint is refused loudly.
			c.run(3, "desk", "verify-party", other, "--home", h, "--fingerprint", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA")
			c.run(0, "desk", "verify-party", other, "--home", h, "--fingerprint", fps[other])
		}
	}
	c.syncAll(append(all, "arman")...) // stocks key packages on the venue
	// The host's logistics channel: the host is a member of this one only.
	c.run(0, "desk", "send", "logistics", "--home", "arman", "logistics: the plenary moves to the Hall of Independence")
	c.syncAll(append(all, "arman")...)
	for _, h := range []string{"tomas", "iryna"} {
		if got := c.texts(h, "logistics"); len(got) != 1 || !strings.Contains(got[0], "Hall of Independence") {
			t.Errorf("%s reads logistics %q", h, got)
		}
	}
	if out := c.run(0, "desk", "channels", "--home", "arman"); strings.Contains(out, "plenary") || !strings.Contains(out, "logistics") {
		t.Errorf("the host's desk lists:\n%s", out)
	}

	secrets := []string{
		"Arden opens the plenary",
		"Borealia answers in the plenary",
		"bilateral: the prisoners list",
		"arden-internal: hold firm on paragraph 3",
		"borealia-internal: accept 20 km",
		"after Maks left the plenary",
		"Hall of Independence",
	}
	c.run(0, "desk", "send", "plenary", "--home", "tomas", secrets[0])
	c.run(0, "desk", "send", "arden-internal", "--home", "nora", secrets[3])
	c.run(0, "desk", "send", "borealia-internal", "--home", "iryna", secrets[4])
	c.run(0, "desk", "send", "bilateral", "--home", "maks", secrets[2])
	c.syncAll(all...)
	c.run(0, "desk", "send", "plenary", "--home", "iryna", secrets[1])
	c.syncAll(all...)

	want := map[string]map[string]string{
		"plenary":           {"tomas": "Tomas Reig: " + secrets[0] + "|Iryna Holt: " + secrets[1]},
		"bilateral":         {"tomas": "Maks Dorn: " + secrets[2]},
		"arden-internal":    {"tomas": "Nora Vass: " + secrets[3]},
		"borealia-internal": {"maks": "Iryna Holt: " + secrets[4]},
	}
	for ch, w := range want {
		var exp string
		for _, v := range w {
			exp = v
		}
		for _, h := range all {
			got := strings.Join(c.texts(h, ch), "|")
			readable := true
			if ch == "arden-internal" && (h == "iryna" || h == "maks") || ch == "borealia-internal" && (h == "tomas" || h == "nora") {
				readable = false
			}
			if readable && got != exp {
				t.Errorf("%s reads %s: %q, want %q", h, ch, got, exp)
			}
			if !readable && got != "" {
				t.Errorf("%s reads the other party's internal channel %s: %q", h, ch, got)
			}
		}
	}
	// The other party's internal channel is not even listed for them: the
	// venue refuses to serve it.
	if out := c.run(0, "desk", "channels", "--home", "iryna"); strings.Contains(out, "arden-internal") {
		t.Errorf("borealia's desk lists arden-internal:\n%s", out)
	}

	// Iryna removes Maks's device from the plenary; what follows he cannot read.
	c.run(0, "desk", "remove", "plenary", "--home", "iryna", "--device", maks)
	c.run(0, "desk", "send", "plenary", "--home", "tomas", secrets[5])
	c.syncAll(all...)
	if got := c.texts("maks", "plenary"); len(got) != 2 {
		t.Errorf("removed device reads %q", got)
	}
	if got := c.texts("nora", "plenary"); len(got) != 3 || !strings.Contains(got[2], secrets[5]) {
		t.Errorf("nora reads %q", got)
	}
	members := c.run(0, "desk", "members", "plenary", "--home", "tomas")
	if strings.Contains(members, "Maks Dorn") || !strings.Contains(members, "Iryna Holt") {
		t.Errorf("members after removal:\n%s", members)
	}

	// The negotiation engine over the channel: the same state on both sides.
	c.run(0, "desk", "table", "plenary", "--home", "iryna", "--text", "joint-statement", "--title", "Joint Statement",
		"--para", "The Parties reaffirm their commitment to a negotiated settlement.",
		"--para", "The Parties agree to a [complete] [partial] cessation of hostilities.")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "position", "plenary", "--home", "tomas", "--text", "joint-statement", "--para", "p1", "--version", "1", "--stance", "agree")
	c.syncAll("tomas", "iryna")
	ta := c.run(0, "desk", "talks", "plenary", "--home", "tomas", "--json")
	tb := c.run(0, "desk", "talks", "plenary", "--home", "iryna", "--json")
	if ta != tb {
		t.Errorf("the two parties compute different states of the talks")
	}
	md := c.run(0, "desk", "talks", "plenary", "--home", "iryna", "--text", "joint-statement")
	if !strings.Contains(md, "cessation") {
		t.Errorf("talks markdown:\n%s", md)
	}

	// Live delivery: a desk running receives, verifies and decrypts a
	// message without a manual sync.
	ctx, cancel := context.WithCancel(t.Context())
	run := exec.CommandContext(ctx, c.bin, "desk", "run", "--home", "nora", "--interval", "1h")
	run.Dir, run.Env = c.dir, append(os.Environ(), c.env...)
	run.Cancel = func() error { return run.Process.Signal(syscall.SIGINT) }
	var runOut syncBuffer
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); run.Wait() }()
	waitFor(t, func() bool { return strings.Contains(runOut.String(), "running") }, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "live delivery")
	waitFor(t, func() bool {
		got := c.texts("nora", "plenary")
		return len(got) > 0 && strings.HasSuffix(got[len(got)-1], "live delivery")
	}, 10*time.Second)

	// desk tail follows a channel live.
	tctx, tcancel := context.WithCancel(t.Context())
	tail := exec.CommandContext(tctx, c.bin, "desk", "tail", "plenary", "--home", "iryna", "--json")
	tail.Dir, tail.Env = c.dir, append(os.Environ(), c.env...)
	tail.Cancel = func() error { return tail.Process.Signal(syscall.SIGINT) }
	var tailOut syncBuffer
	tail.Stdout, tail.Stderr = &tailOut, &tailOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { tcancel(); tail.Wait() }()
	waitFor(t, func() bool { return strings.Contains(tailOut.String(), secrets[1]) }, 10*time.Second)
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "tailed live")
	waitFor(t, func() bool { return strings.Contains(tailOut.String(), `"text":"tailed live"`) }, 10*time.Second)
	secrets = append(secrets, "tailed live")

	// Status is clean everywhere.
	for _, h := range all {
		c.run(0, "desk", "status", "--home", h)
	}

	// No plaintext at the venue: scan its whole data directory.
	secrets = append(secrets, "live delivery", "cessation of hostilities", "negotiated settlement")
	filepath.WalkDir(filepath.Join(c.dir, "vdata"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("plaintext %q found in the venue's %s", s, p)
			}
		}
		return nil
	})
	// Nor in the desks' homes: everything is encrypted at rest.
	for _, h := range all {
		filepath.WalkDir(filepath.Join(c.dir, h), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("plaintext %q found in desk file %s", s, p)
				}
			}
			return nil
		})
	}
	// A wrong passphrase opens nothing.
	c.env = append(c.env, "GOODOFFICES_DESK_PASSPHRASE=wrong")
	c.run(1, "desk", "status", "--home", "tomas")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, cond func() bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBinaryKilledDuringSync: a desk killed (SIGKILL) at random points of a
// sync restarts into a consistent state: every message processed exactly
// once, in order, no alarm (a message processed twice would be a reused MLS
// key generation).
func TestBinaryKilledDuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	out := c.run(0, "delegation", "init", "--name", "arden", "--key", "arden.root")
	c.run(0, append(append([]string{"host", "accredit"}, admin...), "arden", c.field(out, "verifier key"))...)
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "wg1", "--kind", "working-group", "--level", "expert", "--members", "arden")...)
	c.newDesk("tomas", "arden", "Tomas Reig", "expert")
	c.newDesk("nora", "arden", "Nora Vass", "expert")
	c.syncAll("tomas", "nora")
	const n = 40
	for i := range n {
		c.run(0, "desk", "send", "wg1", "--home", "tomas", "message", strings.Repeat("x", i%7), "number", string(rune('A'+i%26)), itoa(i))
	}
	// Kill nora's sync again and again at increasing delays.
	var progress []int64
	for i := 0; i < 60 && (len(progress) == 0 || progress[len(progress)-1] < n+1); i++ {
		cmd := exec.Command(c.bin, "desk", "sync", "--home", "nora")
		cmd.Dir, cmd.Env = c.dir, append(os.Environ(), c.env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(250+6*i) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		var st struct {
			Logs []struct {
				Log  string `json:"log"`
				Size int64  `json:"size"`
				Next int64  `json:"next"`
			} `json:"logs"`
		}
		json.Unmarshal([]byte(c.run(0, "desk", "status", "--home", "nora", "--json")), &st)
		for _, l := range st.Logs {
			if l.Log == "wg1" {
				progress = append(progress, l.Next)
			}
		}
	}
	t.Logf("entries processed after each kill: %v", progress)
	c.syncAll("nora")
	got := c.texts("nora", "wg1")
	if len(got) != n {
		t.Fatalf("nora has %d messages after the kills, want %d: %q", len(got), n, got)
	}
	for i, m := range got {
		if !strings.HasSuffix(m, " "+itoa(i)) {
			t.Fatalf("message %d is %q", i, m)
		}
	}
	c.run(0, "desk", "status", "--home", "nora")
}

func itoa(i int) string { return strconv.Itoa(i) }
