package venueui

import (
	stdhtml "html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// danglingSeparators returns the lines of a page's visible text that begin
// or end with a separator, or hold two in a row: what a missing name leaves.
func danglingSeparators(html string) []string {
	html = regexp.MustCompile(`(?s)<title>.*?</title>|</?(p|div|li|td|th|tr|h[1-6]|br|header|footer|main|nav|section|dt|dd|option|label|form|ul|table|caption)\b[^>]*>`).ReplaceAllString(html, "\n")
	text := stdhtml.UnescapeString(regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(html, ""))
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "·") || strings.HasSuffix(line, "·") || strings.Contains(line, "· ·") ||
			strings.HasSuffix(line, " —") || strings.Contains(line, "()") || strings.Contains(line, "( )") {
			out = append(out, line)
		}
	}
	return out
}

// TestVenueUINamesAndZone runs the host's UI outside the demo: no display
// names in the options and no talks name. Names come from the register
// (accredit with a display name) and the venue (--display-name); a
// delegation without one shows its ID once; no page leaves a dangling
// separator. Every time carries the venue's zone, and after the host
// changes the zone (PUT /v1/schedule/zone) the pages show the new one.
func TestVenueUINamesAndZone(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	v, err := venue.New(t.Context(), venue.Config{DataDir: dir, Name: "venue.test", DisplayName: "Caspia venue", Logger: quiet, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, zone, err := v.MountScheduleWith(t.Context(), quiet, venue.ScheduleOptions{Zone: "Asia/Almaty", DefaultZone: "UTC"})
	if err != nil || zone != "Asia/Almaty" {
		t.Fatalf("MountScheduleWith: %q, %v", zone, err)
	}
	vs := httptest.NewServer(v.Handler())
	defer func() { vs.Close(); st.Close(); v.Close() }()
	tok, _ := os.ReadFile(v.AdminFile())
	admin := strings.TrimSpace(string(tok))
	api, _ := client.New(vs.URL, client.WithAdmin(admin))
	arden, _ := delegation.GenerateRoot("arden")
	borealia, _ := delegation.GenerateRoot("borealia")
	if d, err := api.AccreditNamed(t.Context(), "arden", "Federation of Arden", arden.VerifierKey()); err != nil || d.DisplayName != "Federation of Arden" {
		t.Fatalf("accredit with a display name: %+v %v", d, err)
	}
	if _, err := api.AccreditNamed(t.Context(), "dalmor", "Dal\u202emor", arden.VerifierKey()); err == nil {
		t.Fatal("a display name with a bidirectional override was accepted")
	}
	if _, err := api.Accredit(t.Context(), "borealia", borealia.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateChannel(t.Context(), client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	sc := &scheduleapi.Client{BaseURL: vs.URL, Token: admin}
	if _, err := sc.AddRoom(t.Context(), schedule.Room{Name: "Library", Capacity: 8}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(mustLoad(t, "Asia/Almaty")).AddDate(0, 0, 1)
	day := start.Format("2006-01-02")
	m, err := sc.Propose(t.Context(), scheduleapi.MeetingRequest{MeetingSpec: schedule.MeetingSpec{Title: "Expert round", Talks: "t", Level: schedule.LevelExpert, Room: "Library",
		Start: mustLocal(t, day+"T10:00"), End: mustLocal(t, day+"T11:00"), Delegations: []string{"arden", "borealia"}, Headcount: 4}})
	if err != nil {
		t.Fatal(err)
	}

	s, err := New(Options{VenueURL: vs.URL, Admin: admin, Logger: quiet}) // no Names, no Talks, no Zone
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(s.Handler())
	defer ui.Close()
	u, _ := url.Parse(ui.URL)
	s.SetHosts(u.Host)
	c := &http.Client{Jar: &jar{}}
	if r, err := c.Get(ui.URL + "/login?token=" + s.NewLoginToken()); err != nil || r.StatusCode != 200 {
		t.Fatalf("sign in: %v %v", r, err)
	}
	get := func(path string) string {
		req, _ := http.NewRequest("GET", ui.URL+path, nil)
		req.Header.Set("Accept-Language", "en")
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, r.StatusCode, b)
		}
		return stdhtml.UnescapeString(string(b))
	}
	pages := map[string]string{"/": get("/"), "/schedule": get("/schedule"), "/meetings/" + m.ID: get("/meetings/" + m.ID)}
	for path, body := range pages {
		if d := danglingSeparators(body); len(d) > 0 {
			t.Errorf("%s: dangling separators in %q", path, d)
		}
		if !strings.Contains(body, "Times are in the venue's zone, Asia/Almaty (+05).") {
			t.Errorf("%s does not say which zone its times are in", path)
		}
	}
	home := pages["/"]
	for _, want := range []string{"Federation of Arden", "Venue Caspia venue.", `<span class="who">host</span>`} {
		if !strings.Contains(home, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(home, "borealia<br><span") {
		t.Error("a delegation without a display name shows its ID twice")
	}
	if !regexp.MustCompile(`\d\d:\d\d \+05<br><span class="muted">register entry`).MatchString(home) {
		t.Error("the accreditation time does not carry its zone")
	}
	if !strings.Contains(pages["/meetings/"+m.ID], "10:00–11:00 +05") {
		t.Error("the meeting page does not show the meeting in the venue's zone with its abbreviation")
	}

	// The host moves the venue's zone: the same meeting, the same instant,
	// now read in Paris time on every page, which says so.
	postZone := func(zone string) string {
		req, _ := http.NewRequest("POST", ui.URL+"/zone", strings.NewReader(url.Values{"zone": {zone}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ui.URL)
		req.Header.Set("Accept-Language", "en")
		r, err := c.Do(req) // follows the redirect to the schedule with its flash
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return stdhtml.UnescapeString(string(b))
	}
	if body := postZone("Mars/Olympus"); !strings.Contains(body, "Zone not changed: “Mars/Olympus” is not a time zone name such as Europe/Paris.") {
		t.Error("a wrong zone in the form is not refused with the reason")
	}
	if body := postZone("Europe/Paris"); !strings.Contains(body, "The venue's time zone is now Europe/Paris.") {
		t.Error("changing the zone in the form is not confirmed")
	}
	if z, err := sc.Zone(t.Context()); err != nil || z.Zone != "Europe/Paris" || z.Meetings != 1 {
		t.Fatalf("the venue's zone after the form: %+v %v", z, err)
	}
	paris := mustLoad(t, "Europe/Paris")
	want := m.Start.In(paris).Format("15:04") + "–" + m.End.In(paris).Format("15:04")
	abbr, _ := time.Now().In(paris).Zone()
	for _, path := range []string{"/", "/schedule", "/meetings/" + m.ID} {
		body := get(path)
		if !strings.Contains(body, "Times are in the venue's zone, Europe/Paris ("+abbr+").") {
			t.Errorf("%s after the zone changed: footer does not name Europe/Paris", path)
		}
		if path != "/" && !strings.Contains(body, want) {
			t.Errorf("%s after the zone changed lacks the meeting at %s Paris time", path, want)
		}
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustLocal(t *testing.T, s string) schedule.LocalTime {
	t.Helper()
	lt, err := schedule.ParseLocalTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}
