package venueui

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// TestHostActions drives the host's forms against a real venue: accredit
// a delegation after seeing its fingerprint, add a room, propose a meeting
// that breaks a rule (refused with the reason, nothing changed), propose it
// again with that rule overridden, move, confirm and cancel.
func TestHostActions(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	v, err := venue.New(t.Context(), venue.Config{DataDir: dir, Name: "venue.test", Logger: quiet, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := v.MountSchedule(t.Context(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	vs := httptest.NewServer(v.Handler())
	defer func() { vs.Close(); st.Close(); v.Close() }()
	tok, _ := os.ReadFile(v.AdminFile())
	admin := strings.TrimSpace(string(tok))
	api, _ := client.New(vs.URL, client.WithAdmin(admin))
	sc := &scheduleapi.Client{BaseURL: vs.URL, Token: admin}

	s, err := New(Options{VenueURL: vs.URL, Admin: admin, Talks: "Test talks", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(s.Handler())
	defer ui.Close()
	u, _ := url.Parse(ui.URL)
	s.SetHosts(u.Host)
	c := &http.Client{Jar: &jar{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", ui.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ui.URL)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return r, string(b)
	}
	flash := func(r *http.Response) string {
		loc, _ := url.Parse(r.Header.Get("Location"))
		return loc.Query().Get("flash")
	}
	if r, _ := post("/login", url.Values{"credential": {admin}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}

	// Accreditation: a cross-site form is refused; the first step shows
	// the fingerprint and accredits nothing; the second needs the tick.
	root, _ := delegation.GenerateRoot("dalmor")
	form := url.Values{"name": {"dalmor"}, "root_key": {root.VerifierKey()}}
	if r, _ := post("/accredit", form, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site accreditation: %d", r.StatusCode)
	}
	r, body := post("/accredit", form, nil)
	fp := delegation.Fingerprint(root.VerifierKey())
	if r.StatusCode != 200 || !strings.Contains(body, fp) {
		t.Fatalf("preview: %d, fingerprint %s missing", r.StatusCode, fp)
	}
	if ds, _ := api.Delegations(t.Context()); len(ds) != 0 {
		t.Fatal("the preview accredited")
	}
	form.Set("step", "accredit")
	if r, _ = post("/accredit", form, nil); r.StatusCode != 200 {
		t.Fatalf("accredit without the comparison tick: %d", r.StatusCode)
	}
	form.Set("compared", "yes")
	if r, _ = post("/accredit", form, nil); r.StatusCode != http.StatusSeeOther || !strings.Contains(flash(r), "accredited") {
		t.Fatalf("accredit: %d %q", r.StatusCode, flash(r))
	}
	if ds, _ := api.Delegations(t.Context()); len(ds) != 1 || ds[0].Name != "dalmor" {
		t.Fatalf("register: %+v", ds)
	}
	other, _ := delegation.GenerateRoot("other")
	if r, _ = post("/accredit", url.Values{"name": {"arden"}, "root_key": {other.VerifierKey()}}, nil); !strings.Contains(flash(r), "not “arden”") {
		t.Errorf("a key named for another delegation: %q", flash(r))
	}
	root2, _ := delegation.GenerateRoot("arden")
	api.Accredit(t.Context(), "arden", root2.VerifierKey())

	// Rooms.
	if r, _ = post("/rooms", url.Values{"name": {"Library"}, "capacity": {"8"}, "booths": {"EN, ru"}}, nil); !strings.Contains(flash(r), "added") {
		t.Fatalf("add room: %q", flash(r))
	}
	if r, _ = post("/rooms", url.Values{"name": {"Broken"}, "capacity": {"none"}}, nil); !strings.Contains(flash(r), "seats") {
		t.Errorf("bad capacity: %q", flash(r))
	}
	rooms, _ := sc.Rooms(t.Context())
	if len(rooms) != 1 || len(rooms[0].Booths) != 2 || rooms[0].Booths[0] != "en" {
		t.Fatalf("rooms: %+v", rooms)
	}

	// A meeting for 20 people in an 8-seat room is refused with the reason;
	// with capacity overridden it is proposed.
	loc, _ := time.LoadLocation(schedule.DefaultZone)
	day := time.Now().In(loc).AddDate(0, 0, 2)
	at := func(h int) string {
		return schedule.LocalOf(time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, loc), loc).String()
	}
	mf := url.Values{"title": {"Leaders' summit"}, "level": {"leaders"}, "room": {"Library"}, "start": {at(10)}, "end": {at(12)},
		"headcount": {"20"}, "delegation": {"arden", "dalmor"}}
	r, body = post("/meetings", mf, nil)
	if r.StatusCode != http.StatusConflict || !strings.Contains(body, "capacity") || !strings.Contains(body, `name="override" value="capacity"`) {
		t.Fatalf("over capacity: %d %s", r.StatusCode, body)
	}
	if !strings.Contains(body, `value="Leaders&#39; summit"`) {
		t.Error("the refused form lost its values")
	}
	if ms, _ := sc.Meetings(t.Context(), ""); len(ms) != 0 {
		t.Fatal("a refused proposal changed the schedule")
	}
	mf.Set("override", "capacity")
	r, _ = post("/meetings", mf, nil)
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(flash(r), "Overridden: room too small") {
		t.Fatalf("override: %d %q", r.StatusCode, flash(r))
	}
	mpath := r.Header.Get("Location")
	mpath = mpath[:strings.IndexByte(mpath, '?')]
	ms, _ := sc.Meetings(t.Context(), "")
	if len(ms) != 1 || ms[0].Status != schedule.StatusProvisional {
		t.Fatalf("meetings: %+v", ms)
	}
	// The meeting page shows each party's readiness; confirming before
	// both heads are ready is refused (the gate is not overridable).
	gr, err := c.Get(ui.URL + mpath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(gr.Body)
	gr.Body.Close()
	if !strings.Contains(string(b), "not yet ready") || !strings.Contains(string(b), "dalmor") {
		t.Errorf("meeting page lacks readiness: %s", b)
	}
	r, body = post(mpath+"/confirm", url.Values{}, nil)
	if r.StatusCode != http.StatusConflict || !strings.Contains(body, "awaiting") {
		t.Errorf("confirm before readiness: %d", r.StatusCode)
	}
	// Change its details. A bad value is refused, the form keeps what was
	// typed; the capacity override the host accepted for this time and
	// room still holds for 30 people.
	upd := url.Values{"title": {"Leaders' summit (extended)"}, "level": {"leaders"}, "room": {"Library"}, "start": {at(10)}, "end": {at(12)},
		"headcount": {"thirty"}, "delegation": {"arden", "dalmor"}}
	r, body = post(mpath+"/update", upd, nil)
	if r.StatusCode != http.StatusConflict || !strings.Contains(body, "Not changed") || !strings.Contains(body, "(extended)") {
		t.Fatalf("bad update: %d", r.StatusCode)
	}
	upd.Set("headcount", "30")
	if r, _ = post(mpath+"/update", upd, nil); r.StatusCode != http.StatusSeeOther || !strings.Contains(flash(r), "Changed") {
		t.Fatalf("update: %d %q", r.StatusCode, flash(r))
	}
	if ms, _ := sc.Meetings(t.Context(), ""); len(ms) != 1 || ms[0].Headcount != 30 || ms[0].Title != "Leaders' summit (extended)" {
		t.Fatalf("after update: %+v", ms)
	}
	// Move it later the same day (capacity overridden again), then cancel.
	r, body = post(mpath+"/move", url.Values{"room": {"Library"}, "start": {at(14)}, "end": {at(16)}}, nil)
	if r.StatusCode != http.StatusConflict || !strings.Contains(body, "capacity") {
		t.Fatalf("move without override: %d", r.StatusCode)
	}
	r, _ = post(mpath+"/move", url.Values{"room": {"Library"}, "start": {at(14)}, "end": {at(16)}, "override": {"capacity"}}, nil)
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(flash(r), "Moved") {
		t.Fatalf("move: %d %q", r.StatusCode, flash(r))
	}
	r, _ = post(mpath+"/cancel", url.Values{"note": {"postponed"}}, nil)
	if !strings.Contains(flash(r), "cancelled") {
		t.Fatalf("cancel: %q", flash(r))
	}
	ms, _ = sc.Meetings(t.Context(), "")
	if len(ms) != 1 || ms[0].Status != schedule.StatusCancelled || ms[0].Start.In(loc).Hour() != 14 {
		t.Fatalf("after move and cancel: %+v", ms)
	}
	// Rooms: one that no active meeting uses can be removed.
	post("/rooms", url.Values{"name": {"Annex"}, "capacity": {"4"}}, nil)
	if r, _ = post("/rooms/remove", url.Values{"name": {"Annex"}}, nil); !strings.Contains(flash(r), "removed") {
		t.Errorf("remove room: %q", flash(r))
	}
	if r, _ = post("/rooms/remove", url.Values{"name": {"Nowhere"}}, nil); !strings.Contains(flash(r), "not removed") {
		t.Errorf("remove unknown room: %q", flash(r))
	}
	if rooms, _ := sc.Rooms(t.Context()); len(rooms) != 1 {
		t.Errorf("rooms after removal: %+v", rooms)
	}
	if r, _ = post(mpath+"/explode", url.Values{}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown action: %d", r.StatusCode)
	}
}
