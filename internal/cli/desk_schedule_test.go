package cli

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// dsCluster is a real venue and the real binary, for the desk's schedule
// commands.
type dsCluster struct {
	t        *testing.T
	bin, dir string
	url, key string
	env      []string
}

func (c *dsCluster) run(args ...string) (int, string, string) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

func (c *dsCluster) must(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 0 {
		c.t.Fatalf("goodoffices %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// host runs a host command with the admin credential.
func (c *dsCluster) host(args ...string) string {
	c.t.Helper()
	// Flags go after the command's words (and sub-command).
	at := 2
	if args[1] == "rooms" || args[1] == "meetings" || args[1] == "feeds" {
		at = 3
	}
	return c.must(append(append(append([]string{}, args[:at]...), "--admin-file", filepath.Join("vdata", venue.AdminFile)), args[at:]...)...)
}

func startDSCluster(t *testing.T) *dsCluster {
	t.Helper()
	c := &dsCluster{t: t, dir: t.TempDir()}
	c.bin = filepath.Join(c.dir, "goodoffices")
	if out, err := exec.Command("go", "build", "-o", c.bin, "../../cmd/goodoffices").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c.env = []string{"GOODOFFICES_PASSPHRASE=root secret", "GOODOFFICES_DESK_PASSPHRASE=desk secret", "TZ="}
	data := filepath.Join(c.dir, "vdata")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, venue.ScheduleConfigFile), []byte(`{"zone":"Asia/Almaty","open":"08:00","close":"20:00","host":"caspia"}`), 0o600)
	srv := exec.Command(c.bin, "venue", "--listen", "127.0.0.1:0", "--data", data, "--rate", "-1", "--name", "venue.caspia.example")
	stdout, _ := srv.StdoutPipe()
	var stderr bytes.Buffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
			<-done
		}
	})
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	vkey := regexp.MustCompile(`verifier key: (\S+)`)
	sc := bufio.NewScanner(stdout)
	for (c.url == "" || c.key == "") && sc.Scan() {
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			c.url = m[1]
		}
		if m := vkey.FindStringSubmatch(sc.Text()); m != nil {
			c.key = m[1]
		}
	}
	go func() {
		io.Copy(io.Discard, stdout)
		srv.Wait()
		close(done)
	}()
	if c.url == "" || c.key == "" {
		t.Fatalf("venue did not start: %s", stderr.String())
	}
	c.env = append(c.env, "GOODOFFICES_VENUE="+c.url)
	return c
}

// newDesk creates a desk, has it certified with the delegation's root
// (from 'delegation init') and enrolls it.
func (c *dsCluster) newDesk(home, del, person, role, level string) {
	c.t.Helper()
	c.must("desk", "init", "--home", home, "--delegation", del, "--person", person, "--role", role, "--level", level)
	var s struct{ Device string }
	json.Unmarshal([]byte(c.must("desk", "status", "--home", home, "--json")), &s)
	c.must("delegation", "certify", "--key", del+".root", "--device", s.Device, "--person", person, "--role", role, "--level", level, "--out", home+".cert")
	c.must("desk", "enroll", "--home", home, "--venue", c.url, "--venue-key", c.key, "--cert", home+".cert")
}

// deviceAPI registers a device certified by del's root (loaded from the
// file 'delegation init' wrote) with role, and returns its key and a
// schedule client acting as it: what a desk does, minus the desk's checks.
func (c *dsCluster) deviceAPI(del, person, role string) (ed25519.PrivateKey, *scheduleapi.Client) {
	t := c.t
	t.Helper()
	root, err := delegation.LoadRoot(filepath.Join(c.dir, del+".root"), []byte("root secret"))
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	cert, err := root.Certify(&delegation.Certificate{Delegation: del, Person: person, Role: role, Level: "leaders",
		Device: pub, NotBefore: now.Add(-time.Hour).Truncate(time.Second), NotAfter: now.Add(time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := client.New(c.url, client.WithDevice(priv))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.RegisterDevice(t.Context(), cert); err != nil {
		t.Fatal(err)
	}
	info, err := dc.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, in, out any) {
		b, _ := json.Marshal(in)
		resp, err := http.Post(c.url+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, err)
		}
	}
	var ch struct{ Challenge string }
	post("/v1/auth/challenge", struct{}{}, &ch)
	var tok struct{ Token string }
	post("/v1/auth/token", map[string]any{"device": delegation.DeviceID(pub), "challenge": ch.Challenge,
		"signature": ed25519.Sign(priv, client.AuthMessage(info.Name, ch.Challenge))}, &tok)
	return priv, &scheduleapi.Client{BaseURL: c.url, Token: tok.Token}
}

func (c *dsCluster) schedule(home string, args ...string) []desk.ScheduledMeeting {
	c.t.Helper()
	var ms []desk.ScheduledMeeting
	out := c.must(append([]string{"desk", "schedule", "--home", home, "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		c.t.Fatalf("desk schedule --json: %v\n%s", err, out)
	}
	return ms
}

func findMeeting(t *testing.T, ms []desk.ScheduledMeeting, id string) desk.ScheduledMeeting {
	t.Helper()
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("meeting %s not in %d meetings", id, len(ms))
	return desk.ScheduledMeeting{}
}

// TestDeskScheduleBinary plays the scenario's schedule from the desks,
// with the real binary and a real venue: the leaders' meeting stays
// provisional until both heads run 'desk ready', then the host confirms
// it; a delegate sees every change with 'desk schedule' (and live with
// --watch); readiness from a non-head or with a forged signature is
// refused; a delegate's own calendar feed works until revoked.
func TestDeskScheduleBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startDSCluster(t)
	for _, del := range []string{"caspia", "arden", "borealia"} {
		out := c.must("delegation", "init", "--name", del, "--key", del+".root")
		vk := regexp.MustCompile(`verifier key: (\S+)`).FindStringSubmatch(out)
		c.host("host", "accredit", del, vk[1])
	}
	c.newDesk("ilse", "arden", "Ilse Marven", "head", "leaders")
	c.newDesk("tomas", "arden", "Tomas Reig", "expert", "expert")
	c.newDesk("oleh", "borealia", "Oleh Varta", "head", "leaders")
	c.newDesk("iryna", "borealia", "Iryna Holt", "expert", "expert")

	// Before anything is scheduled.
	if out := c.must("desk", "schedule", "--home", "tomas"); !strings.Contains(out, "no meetings concern your delegation") {
		t.Errorf("empty schedule:\n%s", out)
	}

	c.host("host", "rooms", "add", "Hall of Independence", "--capacity", "120", "--booths", "en,fr,ru")
	c.host("host", "rooms", "add", "Room A", "--capacity", "20")
	var expert, leaders scheduleapi.MeetingView
	json.Unmarshal([]byte(c.host("host", "meetings", "propose", "--title", "Working group 1: ceasefire (expert round)",
		"--talks", "caspia-talks", "--channel", "wg1", "--level", "expert", "--room", "Room A",
		"--start", "2026-11-23T09:30", "--end", "2026-11-23T12:30", "--languages", "en,ru", "--interpretation", "consecutive",
		"--delegations", "arden,borealia", "--headcount", "10", "--json")), &expert)
	c.host("host", "meetings", "confirm", expert.ID)
	json.Unmarshal([]byte(c.host("host", "meetings", "propose", "--title", "Leaders' meeting: political framework",
		"--talks", "caspia-talks", "--channel", "plenary", "--level", "leaders", "--room", "Hall of Independence",
		"--start", "2026-12-01T10:00", "--end", "2026-12-01T13:00", "--languages", "en,fr,ru",
		"--delegations", "caspia,arden,borealia", "--headcount", "60", "--json")), &leaders)
	if expert.ID == "" || leaders.Status != schedule.StatusProvisional {
		t.Fatalf("proposals: %+v %+v", expert, leaders)
	}

	// A delegate follows the schedule live.
	watch := startDSWatch(t, c, "tomas")
	jsonWatch := startDSWatch(t, c, "iryna", "--json")
	// 'desk run' reports schedule changes beside the logs it keeps in sync.
	run := startWatcher(t, c, []string{"desk", "run", "--home", "tomas"}, "running; Ctrl-C to stop")

	// What an expert of Arden sees, in the venue's zone and in Vienna's.
	ms := c.schedule("tomas", "--zone", "Europe/Vienna", "--host-delegation", "caspia")
	if len(ms) != 2 || ms[0].ID != expert.ID || ms[1].ID != leaders.ID {
		t.Fatalf("tomas sees %+v", ms)
	}
	lm := ms[1]
	if lm.Status != schedule.StatusProvisional || !lm.Gated || !lm.Party || lm.Ready || len(lm.Waiting) != 3 ||
		!strings.Contains(lm.Waiting[0], "head of delegation of arden") {
		t.Errorf("leaders' meeting as tomas sees it: %+v", lm)
	}
	if lm.Times.Venue != "Tue 1 Dec 2026 10:00–13:00 +05 (Asia/Almaty)" || lm.Times.Own != "Tue 1 Dec 2026 06:00–09:00 CET (Europe/Vienna)" {
		t.Errorf("times: %q / %q", lm.Times.Venue, lm.Times.Own)
	}
	if ms[0].Status != schedule.StatusConfirmed || ms[0].Waiting != nil || ms[0].Gated {
		t.Errorf("expert round: %+v", ms[0])
	}
	out := c.must("desk", "schedule", "--home", "tomas", "--zone", "Europe/Vienna")
	for _, want := range []string{"PROVISIONAL (leaders level", "CONFIRMED (expert level", "Mon 23 Nov 2026 05:30–08:30 CET (Europe/Vienna)",
		"Mon 23 Nov 2026 09:30–12:30 +05 (Asia/Almaty)", "not yet signalled by your head of delegation", "the host's confirmation", "goodoffices desk ready " + leaders.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("desk schedule lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := c.run("desk", "schedule", "--home", "tomas", "--zone", "Mars/Olympus"); code != ExitUsage || !strings.Contains(errOut, "unknown time zone") {
		t.Errorf("bad zone: exit %d %s", code, errOut)
	}

	// A non-head is refused by the desk, before anything is sent...
	code, _, errOut := c.run("desk", "ready", leaders.ID, "--home", "tomas")
	if code != ExitFailure || !strings.Contains(errOut, "only the head of delegation") || !strings.Contains(errOut, "nothing was sent") {
		t.Fatalf("tomas ready: exit %d %s", code, errOut)
	}
	// ... and by the venue, whatever a modified desk sends: an expert's
	// own signed statement, a head speaking for another party, a forged
	// signature, a statement for another meeting.
	expertKey, expertAPI := c.deviceAPI("arden", "Pieter Ost", "adviser")
	ctx := t.Context()
	if _, err := expertAPI.SignalReady(ctx, expertKey, leaders.Meeting, "arden", time.Now()); !apiStatus(err, 403) {
		t.Errorf("non-head readiness: %v", err)
	}
	headKey, headAPI := c.deviceAPI("borealia", "Oleh Varta", "head")
	if _, err := headAPI.SignalReady(ctx, headKey, leaders.Meeting, "arden", time.Now()); !apiStatus(err, 403) {
		t.Errorf("readiness for another party: %v", err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := headAPI.SignalReady(ctx, otherKey, leaders.Meeting, "borealia", time.Now()); !apiStatus(err, 400) || !strings.Contains(err.Error(), "invalid readiness statement") {
		t.Errorf("forged readiness: %v", err)
	}
	st, sig, _ := schedule.SignReadiness(headKey, schedule.Readiness{Talks: leaders.Talks, Meeting: expert.ID, Level: schedule.LevelLeaders, Delegation: "borealia", Time: time.Now()})
	if _, err := headAPI.SignalReadiness(ctx, leaders.ID, st, sig); !apiStatus(err, 400) {
		t.Errorf("statement for another meeting: %v", err)
	}
	if out := c.host("host", "meetings", "show", leaders.ID); !strings.Contains(out, "ready -; waiting for arden, borealia") {
		t.Fatalf("after refused signals the venue records no readiness:\n%s", out)
	}
	// Readiness is only for ministerial and leaders' meetings.
	if code, _, errOut := c.run("desk", "ready", expert.ID, "--home", "ilse"); code != ExitFailure || !strings.Contains(errOut, "only ministerial and leaders'") {
		t.Errorf("ready for an expert meeting: exit %d %s", code, errOut)
	}
	if code, _, errOut := c.run("desk", "ready", "m-nosuchmeeting", "--home", "ilse"); code != ExitFailure || !strings.Contains(errOut, "unknown meeting") {
		t.Errorf("ready for an unknown meeting: exit %d %s", code, errOut)
	}
	if code, _, _ := c.run("desk", "ready", "--home", "ilse"); code != ExitUsage {
		t.Errorf("ready without a meeting: exit %d", code)
	}

	// Arden's head signals readiness from the desk; the meeting waits for Borealia.
	out = c.must("desk", "ready", leaders.ID, "--home", "ilse", "--zone", "Europe/Vienna")
	if !strings.Contains(out, "readiness of arden for meeting "+leaders.ID+" recorded") || !strings.Contains(out, "your head of delegation has signalled readiness") {
		t.Errorf("ilse ready:\n%s", out)
	}
	code, _, errOut = c.run("host", "meetings", "confirm", "--admin-file", filepath.Join("vdata", venue.AdminFile), leaders.ID)
	if code != ExitFailure || !strings.Contains(errOut, "stays provisional") || !strings.Contains(errOut, "borealia") || strings.Contains(errOut, "arden") {
		t.Fatalf("confirm with one head ready: exit %d %s", code, errOut)
	}
	lm = findMeeting(t, c.schedule("tomas", "--host-delegation", "caspia"), leaders.ID)
	if lm.Status != schedule.StatusProvisional || !lm.Ready || len(lm.Waiting) != 2 || !strings.Contains(lm.Waiting[0], "other parties") {
		t.Errorf("after Arden's signal tomas sees %+v", lm)
	}
	// Borealia's delegate sees only Borealia's readiness: none yet.
	lm = findMeeting(t, c.schedule("iryna"), leaders.ID)
	if lm.Ready || len(lm.Readiness) != 0 || !strings.Contains(lm.Waiting[0], "borealia") {
		t.Errorf("iryna sees %+v", lm)
	}

	// Borealia's head too; then the host confirms.
	c.must("desk", "ready", leaders.ID, "--home", "oleh")
	c.host("host", "meetings", "confirm", leaders.ID, "--note", "both heads ready")
	lm = findMeeting(t, c.schedule("tomas"), leaders.ID)
	if lm.Status != schedule.StatusConfirmed || lm.Waiting != nil || !lm.Ready {
		t.Errorf("confirmed meeting as tomas sees it: %+v", lm)
	}
	if out := c.must("desk", "schedule", "--home", "iryna"); !strings.Contains(out, "CONFIRMED (leaders level") || !strings.Contains(out, `confirmed "both heads ready"`) {
		t.Errorf("iryna's schedule:\n%s", out)
	}

	// The host moves the expert round: the watcher sees every change.
	c.host("host", "meetings", "move", expert.ID, "--start", "2026-11-24T09:30", "--end", "2026-11-24T12:30", "--note", "room A unavailable")
	watch.expect(leaders.ID + ` "Leaders' meeting: political framework": provisional -> confirmed`)
	run.expect(`schedule: ` + leaders.ID + ` "Leaders' meeting: political framework": provisional -> confirmed`)
	jsonWatch.expect(`"first":false`)
	jsonWatch.expect(`provisional -> confirmed`)
	for _, l := range jsonWatch.seen {
		var sc desk.ScheduleChange
		if err := json.Unmarshal([]byte(l), &sc); err != nil || len(sc.Meetings) != 2 || sc.ETag == "" {
			t.Errorf("--watch --json line %q: %v", l, err)
		}
	}
	watch.expect(expert.ID + ` "Working group 1: ceasefire (expert round)": confirmed -> moved; now Tue 24 Nov 2026 09:30–12:30 +05 (Asia/Almaty); last change: moved`)
	// Arden is not told of Borealia's readiness signal, neither by the
	// watcher nor in the meeting's history.
	for _, l := range watch.seen {
		if strings.HasSuffix(l, ": last change: readiness") {
			t.Errorf("the watcher told Arden of another party's readiness: %s", l)
		}
	}
	for _, h := range findMeeting(t, c.schedule("tomas"), leaders.ID).History {
		if h.Delegation == "borealia" {
			t.Errorf("Arden's view shows Borealia's readiness: %+v", h)
		}
	}
	if ms := c.schedule("tomas"); findMeeting(t, ms, expert.ID).Status != schedule.StatusMoved {
		t.Errorf("moved: %+v", ms)
	}

	// The delegate's own calendar feed, read by a calendar library.
	var feed struct {
		Feed scheduleapi.FeedRecord `json:"feed"`
		URL  string                 `json:"url"`
	}
	if err := json.Unmarshal([]byte(c.must("desk", "feed", "create", "--home", "tomas", "--zone", "Europe/Vienna", "--json")), &feed); err != nil {
		t.Fatal(err)
	}
	if feed.Feed.Person != "Tomas Reig" || feed.Feed.Delegation != "arden" || !strings.HasPrefix(feed.URL, c.url+"/v1/calendar/") {
		t.Fatalf("feed %+v", feed)
	}
	resp, err := http.Get(feed.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("feed: %d %v\n%s", resp.StatusCode, err, body)
	}
	statuses := map[string]string{}
	for _, ev := range cal.Events() {
		uid, _ := ev.Props.Text(ical.PropUID)
		s, _ := ev.Props.Text(ical.PropStatus)
		statuses[uid] = s
	}
	if len(statuses) != 2 {
		t.Errorf("feed events: %v", statuses)
	}
	for uid, s := range statuses {
		if s != "CONFIRMED" {
			t.Errorf("event %s status %s", uid, s)
		}
	}
	if out := c.must("desk", "feed", "list", "--home", "tomas"); !strings.Contains(out, feed.Feed.ID) || !strings.Contains(out, "active") {
		t.Errorf("feed list:\n%s", out)
	}
	// Another delegate does not see, and cannot revoke, Tomas's feed.
	if out := c.must("desk", "feed", "list", "--home", "iryna"); strings.Contains(out, feed.Feed.ID) {
		t.Errorf("iryna sees tomas's feed:\n%s", out)
	}
	if code, _, _ := c.run("desk", "feed", "revoke", feed.Feed.ID, "--home", "iryna"); code != ExitFailure {
		t.Errorf("iryna revoked tomas's feed: exit %d", code)
	}
	c.must("desk", "feed", "revoke", feed.Feed.ID, "--home", "tomas")
	if resp, err := http.Get(feed.URL); err != nil || resp.StatusCode != 404 {
		t.Fatalf("revoked feed: %v %v", resp, err)
	}
	if code, _, _ := c.run("desk", "feed", "revoke", "--home", "tomas"); code != ExitUsage {
		t.Errorf("revoke without id: exit %d", code)
	}
	if code, _, _ := c.run("desk", "feed", "subscribe", "--home", "tomas"); code != ExitUsage {
		t.Errorf("unknown feed subcommand: exit %d", code)
	}

	// Cancelling reaches the watcher too; Ctrl-C ends the watch cleanly.
	c.host("host", "meetings", "cancel", expert.ID, "--note", "postponed")
	watch.expect(`moved -> cancelled; last change: cancelled "postponed"`)
	watch.stop()
	jsonWatch.stop()
}

func apiStatus(err error, status int) bool {
	var ae *scheduleapi.APIError
	return errors.As(err, &ae) && ae.Status == status
}

// dsWatch is a running 'desk schedule --watch'.
type dsWatch struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	seen  []string
}

func startDSWatch(t *testing.T, c *dsCluster, home string, extra ...string) *dsWatch {
	t.Helper()
	first := "watching for changes"
	if len(extra) > 0 {
		first = `"first":true`
	}
	return startWatcher(t, c, append([]string{"desk", "schedule", "--watch", "--home", home}, extra...), first)
}

// startWatcher starts a long-running desk command and waits for its first
// line containing first.
func startWatcher(t *testing.T, c *dsCluster, args []string, first string) *dsWatch {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &dsWatch{t: t, cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
	}()
	go func() {
		cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.done
	})
	w.expect(first)
	return w
}

// expect waits until the watcher printed a line containing s.
func (w *dsWatch) expect(s string) {
	w.t.Helper()
	for _, l := range w.seen {
		if strings.Contains(l, s) {
			return
		}
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				w.t.Fatalf("watch ended before printing %q; printed:\n%s", s, strings.Join(w.seen, "\n"))
			}
			w.seen = append(w.seen, l)
			if strings.Contains(l, s) {
				return
			}
		case <-deadline:
			w.t.Fatalf("watch did not print %q within 30s; printed:\n%s", s, strings.Join(w.seen, "\n"))
		}
	}
}

// stop interrupts the watcher as Ctrl-C does and checks that it exits 0.
func (w *dsWatch) stop() {
	w.t.Helper()
	w.cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.t.Fatal("watch did not stop on interrupt")
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		w.t.Errorf("watch exit %d", code)
	}
}
