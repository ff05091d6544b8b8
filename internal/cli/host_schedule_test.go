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
	"strings"
	"syscall"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// TestHostScheduleBinary builds the scenario's schedule with the real
// goodoffices binary: a venue, the host's rooms and meetings through the
// CLI, both heads signalling readiness from their (certified) devices, the
// leaders' meeting confirmed, and a delegate's calendar feed.
func TestHostScheduleBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "goodoffices")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/goodoffices").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, "schedule.json"), []byte(`{"zone":"Asia/Almaty","open":"08:00","close":"20:00","host":"caspia"}`), 0o600)

	srv := exec.Command(bin, "venue", "--listen", "127.0.0.1:0", "--data", data, "--name", "venue.caspia.example")
	stdout, _ := srv.StdoutPipe()
	var stderr bytes.Buffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
		}
	})
	url := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), " listening on "); ok {
			url = after
			break
		}
	}
	go func() {
		io.Copy(io.Discard, stdout)
		done <- srv.Wait()
	}()
	if url == "" {
		t.Fatalf("venue did not start: %s", stderr.String())
	}
	adminFile := filepath.Join(data, venue.AdminFile)
	run := func(args ...string) (int, string, string) {
		t.Helper()
		// Connection flags after the command's words (and sub-command).
		at := 2
		if args[1] == "rooms" || args[1] == "meetings" || args[1] == "feeds" {
			at = 3
		}
		args = append(append(append([]string{}, args[:at]...), "--venue", url, "--admin-file", adminFile), args[at:]...)
		cmd := exec.Command(bin, args...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), o.String(), e.String()
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(args...)
		if code != 0 {
			t.Fatalf("goodoffices %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}

	// Accredit the parties (their root keys stay with their heads).
	roots := map[string]*delegation.RootKey{}
	for _, d := range []string{"caspia", "arden", "borealia"} {
		root, err := delegation.GenerateRoot(d)
		if err != nil {
			t.Fatal(err)
		}
		roots[d] = root
		must("host", "accredit", d, root.VerifierKey())
	}

	// Rooms.
	must("host", "rooms", "add", "Hall of Independence", "--capacity", "120", "--booths", "en,fr,ru", "--equipment", "podium,recording")
	must("host", "rooms", "add", "Room A", "--capacity", "20")
	must("host", "rooms", "add", "Room B", "--capacity", "20")
	must("host", "rooms", "add", "Library", "--capacity", "8")
	var rooms []schedule.Room
	if err := json.Unmarshal([]byte(must("host", "rooms", "list", "--json")), &rooms); err != nil || len(rooms) != 4 {
		t.Fatalf("rooms %v %v", rooms, err)
	}
	if out := must("host", "rooms", "list"); !strings.Contains(out, "Hall of Independence  120    EN,FR,RU") {
		t.Errorf("rooms table:\n%s", out)
	}
	if code, _, errOut := run("host", "rooms", "add", "Attic"); code != ExitUsage || !strings.Contains(errOut, "--capacity") {
		t.Errorf("room without capacity: exit %d %s", code, errOut)
	}

	// The expert round.
	expertArgs := []string{"host", "meetings", "propose", "--title", "Working group 1: ceasefire (expert round)",
		"--talks", "caspia-talks", "--channel", "wg1", "--level", "expert", "--room", "Room A",
		"--start", "2026-11-23T09:30", "--end", "2026-11-23T12:30", "--languages", "en,ru", "--interpretation", "consecutive",
		"--delegations", "arden,borealia", "--headcount", "10", "--json"}
	var expert scheduleapi.MeetingView
	if err := json.Unmarshal([]byte(must(expertArgs...)), &expert); err != nil || expert.Status != schedule.StatusDraft {
		t.Fatalf("expert round %+v %v", expert, err)
	}
	if out := must("host", "meetings", "confirm", expert.ID); !strings.Contains(out, "confirmed") || !strings.Contains(out, "Mon 23 Nov 2026 09:30–12:30 +05 (Asia/Almaty)") {
		t.Errorf("confirm output:\n%s", out)
	}
	// The same room at the same time is refused, with the reason and the way out.
	code, _, errOut := run(expertArgs...)
	if code != ExitFailure || !strings.Contains(errOut, `room "Room A" is already booked`) || !strings.Contains(errOut, "--override room-booked,delegation-busy") {
		t.Fatalf("double booking: exit %d\n%s", code, errOut)
	}
	// Malformed times are refused before the venue is asked.
	if code, _, errOut := run("host", "meetings", "move", expert.ID, "--start", "2026-11-23 09:30", "--end", "2026-11-23T12:30"); code != ExitUsage || !strings.Contains(errOut, "--start") {
		t.Errorf("malformed time: exit %d %s", code, errOut)
	}
	if out := must("host", "meetings", "check", "--title", "x", "--talks", "t", "--level", "expert", "--room", "Library",
		"--start", "2026-11-23T19:00", "--end", "2026-11-23T21:00", "--delegations", "arden", "--headcount", "9"); !strings.Contains(out, "[capacity]") ||
		!strings.Contains(out, "[outside-hours]") || strings.Contains(out, "[delegation-busy]") {
		t.Errorf("check output:\n%s", out)
	}

	// The leaders' meeting is provisional until both heads are ready.
	var leaders scheduleapi.MeetingView
	if err := json.Unmarshal([]byte(must("host", "meetings", "propose", "--title", "Leaders' meeting: political framework",
		"--talks", "caspia-talks", "--channel", "plenary", "--level", "leaders", "--room", "Hall of Independence",
		"--start", "2026-12-01T10:00", "--end", "2026-12-01T13:00", "--languages", "en,fr,ru",
		"--delegations", "caspia,arden,borealia", "--headcount", "60", "--json")), &leaders); err != nil || leaders.Status != schedule.StatusProvisional {
		t.Fatalf("leaders' meeting %+v %v", leaders, err)
	}
	code, _, errOut = run("host", "meetings", "confirm", leaders.ID)
	if code != ExitFailure || !strings.Contains(errOut, "stays provisional") || !strings.Contains(errOut, "arden, borealia") {
		t.Fatalf("early confirm: exit %d %s", code, errOut)
	}
	for d, head := range map[string]string{"arden": "Ilse Marven", "borealia": "Oleh Varta"} {
		signalReadiness(t, url, roots[d], d, head, leaders.ID)
	}
	out := must("host", "meetings", "confirm", leaders.ID, "--note", "both heads ready")
	if !strings.Contains(out, "confirmed") {
		t.Fatalf("confirm:\n%s", out)
	}
	if out := must("host", "meetings", "show", leaders.ID); !strings.Contains(out, "ready arden, borealia; waiting for -") || !strings.Contains(out, `"both heads ready"`) {
		t.Errorf("show:\n%s", out)
	}
	if out := must("host", "meetings", "list", "--zone", "Europe/Berlin"); !strings.Contains(out, "Tue 1 Dec 2026 06:00–09:00 CET (Europe/Berlin)") {
		t.Errorf("list:\n%s", out)
	}

	// A delegate's calendar feed, read by a calendar library; then revoked.
	var feed struct {
		Feed scheduleapi.FeedRecord `json:"feed"`
		URL  string                 `json:"url"`
	}
	if err := json.Unmarshal([]byte(must("host", "feeds", "create", "--delegation", "arden", "--person", "Tomas Reig", "--zone", "Europe/Berlin", "--json")), &feed); err != nil {
		t.Fatal(err)
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
	if evs := cal.Events(); len(evs) != 2 {
		t.Fatalf("%d events in Arden's feed", len(evs))
	}
	must("host", "feeds", "revoke", feed.Feed.ID)
	if resp, err := http.Get(feed.URL); err != nil || resp.StatusCode != 404 {
		t.Fatalf("revoked feed: %v %v", resp.StatusCode, err)
	}
	if out := must("host", "feeds", "list"); !strings.Contains(out, "revoked") {
		t.Errorf("feeds list:\n%s", out)
	}
	// Cancel the expert round; the history tells the story.
	must("host", "meetings", "cancel", expert.ID, "--note", "postponed")
	if out := must("host", "meetings", "show", expert.ID); !strings.Contains(out, "cancelled") || !strings.Contains(out, `"postponed"`) {
		t.Errorf("show cancelled:\n%s", out)
	}
}

// signReadiness certifies and registers a head's device, authenticates it
// with the venue and posts the head's signed readiness statement, as the
// head's desk does.
func signalReadiness(t *testing.T, url string, root *delegation.RootKey, deleg, person, meeting string) {
	t.Helper()
	ctx := t.Context()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	cert, err := root.Certify(&delegation.Certificate{Delegation: deleg, Person: person, Role: "head", Level: "leaders",
		Device: pub, NotBefore: now.Add(-time.Hour).Truncate(time.Second), NotAfter: now.Add(time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := client.New(url, client.WithDevice(priv))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.RegisterDevice(ctx, cert); err != nil {
		t.Fatal(err)
	}
	var info client.Info
	info, err = dc.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, in, out any) {
		b, _ := json.Marshal(in)
		resp, err := http.Post(url+path, "application/json", bytes.NewReader(b))
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
		"signature": ed25519.Sign(priv, venue.AuthMessage(info.Name, ch.Challenge))}, &tok)
	st, sig, err := schedule.SignReadiness(priv, schedule.Readiness{Talks: "caspia-talks", Meeting: meeting,
		Level: schedule.LevelLeaders, Delegation: deleg, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	desk := &scheduleapi.Client{BaseURL: url, Token: tok.Token}
	if _, err := desk.SignalReadiness(ctx, meeting, st, sig); err != nil {
		t.Fatalf("readiness of %s: %v", deleg, err)
	}
}
