package scheduleapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

const adminToken = "goadmin-test-credential"

type delegate struct {
	token string
	Caller
	priv ed25519.PrivateKey
}

func key(name string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, name)
	return ed25519.NewKeyFromSeed(seed)
}

func newDelegate(tok, delegation, person, role string) *delegate {
	k := key(person)
	return &delegate{token: tok, priv: k, Caller: Caller{Delegation: delegation, Person: person, Role: role, Key: k.Public().(ed25519.PublicKey)}}
}

var (
	ilse   = newDelegate("dev-ilse", "Arden", "Ilse Marven", "head")
	tomas  = newDelegate("dev-tomas", "Arden", "Tomas Reig", "expert")
	oleh   = newDelegate("dev-oleh", "Borealia", "Oleh Varta", "head")
	iryna  = newDelegate("dev-iryna", "Borealia", "Iryna Holt", "expert")
	gammaH = newDelegate("dev-gamma", "Gamma", "Gert Ohm", "head")
)

// authenticate stands in for the venue's admin credential and device token
// checks: it maps bearer tokens to callers.
func authenticate(r *http.Request) (Caller, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Caller{}, ErrUnauthenticated
	}
	if tok == adminToken {
		return Caller{Host: true}, nil
	}
	for _, d := range []*delegate{ilse, tomas, oleh, iryna, gammaH} {
		if tok == d.token {
			return d.Caller, nil
		}
	}
	return Caller{}, ErrUnauthenticated
}

type testVenue struct {
	srv     *httptest.Server
	host    *Client
	store   *SQLStore
	now     time.Time
	mu      sync.Mutex
	changes []schedule.Meeting
}

func (v *testVenue) as(d *delegate) *Client {
	return &Client{BaseURL: v.srv.URL, Token: d.token}
}

func startVenue(t *testing.T, path string, zone string) *testVenue {
	t.Helper()
	st, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return startVenueOn(t, st, zone)
}

func startVenueOn(t *testing.T, st *SQLStore, zone string) *testVenue {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v := &testVenue{store: st, now: time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)}
	svc, err := New(Config{
		Schedule:     schedule.Config{Zone: loc, Host: "Caspia"},
		Store:        st,
		Domain:       "venue.caspia.example",
		Authenticate: authenticate,
		PollInterval: 50 * time.Millisecond,
		Logger:       discardLogger(),
		Now: func() time.Time {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.now = v.now.Add(time.Second)
			return v.now
		},
		OnChange: func(ctx context.Context, m schedule.Meeting) {
			v.mu.Lock()
			v.changes = append(v.changes, m)
			v.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Register(mux)
	v.srv = httptest.NewServer(mux)
	t.Cleanup(v.srv.Close)
	v.host = &Client{BaseURL: v.srv.URL, Token: adminToken}
	return v
}

func lt(t testing.TB, s string) schedule.LocalTime {
	t.Helper()
	v, err := schedule.ParseLocalTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func caspiaRooms(t *testing.T, c *Client) {
	t.Helper()
	for _, r := range []schedule.Room{
		{Name: "Hall of Independence", Capacity: 120, Booths: []string{"en", "fr", "ru"}},
		{Name: "Room A", Capacity: 20}, {Name: "Room B", Capacity: 20}, {Name: "Library", Capacity: 8},
	} {
		if _, err := c.AddRoom(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func expertRound(t *testing.T) MeetingRequest {
	return MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Working group 1: ceasefire", Talks: "caspia-talks", Channel: "wg1", Level: schedule.LevelExpert,
		Room: "Room A", Start: lt(t, "2026-11-23T09:30"), End: lt(t, "2026-11-23T12:30"),
		Languages: []string{"en", "ru"}, Interpretation: schedule.Consecutive,
		Delegations: []string{"Arden", "Borealia"}, Headcount: 10,
	}}
}

func apiErr(t *testing.T, err error, status int) *APIError {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != status {
		t.Fatalf("want HTTP %d, got %v", status, err)
	}
	return ae
}

func TestRoomsAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, v.host)
	rooms, err := v.host.Rooms(ctx)
	if err != nil || len(rooms) != 4 || rooms[0].Name != "Hall of Independence" {
		t.Fatalf("rooms %+v %v", rooms, err)
	}
	apiErr(t, func() error { _, err := v.host.AddRoom(ctx, schedule.Room{Name: "Room A", Capacity: 3}); return err }(), 409)
	apiErr(t, func() error { _, err := v.host.AddRoom(ctx, schedule.Room{Name: "Attic", Capacity: 0}); return err }(), 400)
	apiErr(t, func() error { _, err := v.as(ilse).AddRoom(ctx, schedule.Room{Name: "Attic", Capacity: 3}); return err }(), 403)
	apiErr(t, func() error { _, err := (&Client{BaseURL: v.srv.URL}).Rooms(ctx); return err }(), 401)
	if _, err := v.host.Propose(ctx, expertRound(t)); err != nil {
		t.Fatal(err)
	}
	ae := apiErr(t, func() error {
		_, err := v.host.UpdateRoom(ctx, schedule.Room{Name: "Room A", Capacity: 4}, nil)
		return err
	}(), 409)
	if len(ae.Conflicts) != 1 || ae.Conflicts[0].Kind != schedule.ConflictCapacity {
		t.Errorf("conflicts %+v", ae.Conflicts)
	}
	apiErr(t, v.host.RemoveRoom(ctx, "Room A"), 409)
	apiErr(t, v.host.RemoveRoom(ctx, "Nowhere"), 404)
	if err := v.host.RemoveRoom(ctx, "Library"); err != nil {
		t.Fatal(err)
	}
	// Unknown fields and trailing junk are refused.
	for _, body := range []string{`{"name":"X","capacity":3,"seats":4}`, `{"name":"X","capacity":3} {}`, `{"name":`} {
		req, _ := http.NewRequest("POST", v.srv.URL+"/v1/schedule/rooms", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: HTTP %d", body, resp.StatusCode)
		}
	}
}

func TestConflictRulesAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, v.host)
	first, err := v.host.Propose(ctx, expertRound(t))
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != schedule.StatusDraft || first.Times.Venue != "Mon 23 Nov 2026 09:30–12:30 +05 (Asia/Almaty)" {
		t.Fatalf("proposed %+v", first)
	}
	mod := func(f func(*MeetingRequest)) MeetingRequest {
		r := expertRound(t)
		f(&r)
		return r
	}
	for name, tc := range map[string]struct {
		req  MeetingRequest
		want schedule.ConflictKind
	}{
		"room double-booked": {mod(func(r *MeetingRequest) { r.Delegations = []string{"Gamma"} }), schedule.ConflictRoomBooked},
		"delegation busy": {mod(func(r *MeetingRequest) {
			r.Room, r.Delegations = "Room B", []string{"Arden", "Gamma"}
		}), schedule.ConflictDelegationBusy},
		"over capacity": {mod(func(r *MeetingRequest) {
			r.Room, r.Delegations, r.Headcount = "Library", []string{"Gamma"}, 9
			r.Languages, r.Interpretation = nil, ""
		}), schedule.ConflictCapacity},
		"no booth": {mod(func(r *MeetingRequest) {
			r.Room, r.Delegations, r.Interpretation = "Room B", []string{"Gamma"}, schedule.Simultaneous
		}), schedule.ConflictNoBooth},
		"outside hours": {mod(func(r *MeetingRequest) {
			r.Room, r.Delegations = "Room B", []string{"Gamma"}
			r.Start, r.End = lt(t, "2026-11-23T19:00"), lt(t, "2026-11-23T21:00")
		}), schedule.ConflictOutsideHours},
	} {
		t.Run(name, func(t *testing.T) {
			// The dry run reports it.
			cs, err := v.host.Check(ctx, tc.req)
			if err != nil || len(cs) != 1 || cs[0].Kind != tc.want {
				t.Fatalf("check: %+v %v", cs, err)
			}
			ae := apiErr(t, func() error { _, err := v.host.Propose(ctx, tc.req); return err }(), 409)
			if len(ae.Conflicts) != 1 || ae.Conflicts[0].Kind != tc.want || !strings.Contains(ae.Message, string(tc.want)) {
				t.Fatalf("conflicts %+v: %s", ae.Conflicts, ae.Message)
			}
			if (tc.want == schedule.ConflictRoomBooked || tc.want == schedule.ConflictDelegationBusy) && ae.Conflicts[0].With != first.ID {
				t.Errorf("conflict with %q, want %q", ae.Conflicts[0].With, first.ID)
			}
			t.Log(ae.Message)
			req := tc.req
			req.Override, req.Note = []schedule.ConflictKind{tc.want}, "host accepts: "+name
			m, err := v.host.Propose(ctx, req)
			if err != nil {
				t.Fatalf("overridden: %v", err)
			}
			if !slices.Equal(m.Overrides, []schedule.ConflictKind{tc.want}) || m.History[0].Note != req.Note {
				t.Errorf("override not recorded: %+v", m.History[0])
			}
			// Clear the way for the next rule.
			if _, err := v.host.Cancel(ctx, m.ID, ActionRequest{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	ms, err := v.host.Meetings(ctx, "")
	if err != nil || len(ms) != 6 {
		t.Fatalf("%d meetings, %v", len(ms), err)
	}
}

func TestBadInputAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Europe/Berlin")
	ctx := t.Context()
	if _, err := v.host.AddRoom(ctx, schedule.Room{Name: "Saal", Capacity: 20}); err != nil {
		t.Fatal(err)
	}
	base := expertRound(t)
	base.Room = "Saal"
	for name, tc := range map[string]struct {
		f      func(*MeetingRequest)
		status int
		text   string
	}{
		"nonexistent time": {func(r *MeetingRequest) {
			r.Start, r.End = lt(t, "2026-03-29T02:30"), lt(t, "2026-03-29T09:00")
		}, 400, "does not exist"},
		"repeated time": {func(r *MeetingRequest) {
			r.Start, r.End = lt(t, "2026-10-25T02:30"), lt(t, "2026-10-25T09:00")
		}, 400, "occurs twice"},
		"end before start": {func(r *MeetingRequest) { r.End = lt(t, "2026-11-23T08:00") }, 400, "not after start"},
		"unknown room":     {func(r *MeetingRequest) { r.Room = "Ballroom" }, 404, "unknown room"},
		"unknown level":    {func(r *MeetingRequest) { r.Level = "summit" }, 400, "unknown level"},
	} {
		req := base
		tc.f(&req)
		ae := apiErr(t, func() error { _, err := v.host.Propose(ctx, req); return err }(), tc.status)
		if !strings.Contains(ae.Message, tc.text) {
			t.Errorf("%s: %q lacks %q", name, ae.Message, tc.text)
		}
	}
	// A malformed time is refused while decoding.
	r, _ := http.NewRequest("POST", v.srv.URL+"/v1/schedule/meetings", strings.NewReader(`{"title":"x","start":"2026-11-23 09:30"}`))
	r.Header.Set("Authorization", "Bearer "+adminToken)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("malformed local time")) {
		t.Errorf("HTTP %d %s", resp.StatusCode, body)
	}
	if ms, _ := v.host.Meetings(ctx, ""); len(ms) != 0 {
		t.Errorf("refused meetings were saved: %d", len(ms))
	}
	apiErr(t, func() error { _, err := v.host.Confirm(ctx, "m-nothing", ActionRequest{}); return err }(), 404)
	apiErr(t, func() error { _, err := v.host.Meetings(ctx, "Mars/Olympus"); return err }(), 400)
}

func signReadiness(t *testing.T, d *delegate, m MeetingView, at time.Time) ([]byte, []byte) {
	t.Helper()
	st, sig, err := schedule.SignReadiness(d.priv, schedule.Readiness{Talks: m.Talks, Meeting: m.ID, Level: m.Level, Delegation: d.Delegation, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return st, sig
}

func TestReadinessGateAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, v.host)
	req := MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Leaders' meeting", Talks: "caspia-talks", Channel: "plenary", Level: schedule.LevelLeaders,
		Room: "Hall of Independence", Start: lt(t, "2026-12-01T10:00"), End: lt(t, "2026-12-01T13:00"),
		Languages: []string{"en", "fr", "ru"}, Delegations: []string{"Caspia", "Arden", "Borealia"}, Headcount: 60,
	}}
	m, err := v.host.Propose(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != schedule.StatusProvisional || !slices.Equal(m.MissingReadiness, []string{"Arden", "Borealia"}) {
		t.Fatalf("proposed %+v", m)
	}
	ae := apiErr(t, func() error {
		_, err := v.host.Confirm(ctx, m.ID, ActionRequest{Override: schedule.ConflictKinds})
		return err
	}(), 409)
	if !slices.Equal(ae.Missing, []string{"Arden", "Borealia"}) {
		t.Fatalf("missing %v", ae.Missing)
	}
	at := v.now
	st, sig := signReadiness(t, ilse, m, at)
	// Refusals: an expert of Arden, the other party's head, the host, a
	// forged signature, a statement for another meeting.
	tst, tsig := signReadiness(t, tomas, m, at)
	apiErr(t, func() error { _, err := v.as(tomas).SignalReadiness(ctx, m.ID, tst, tsig); return err }(), 403)
	apiErr(t, func() error { _, err := v.as(oleh).SignalReadiness(ctx, m.ID, st, sig); return err }(), 403)
	apiErr(t, func() error { _, err := v.host.SignalReadiness(ctx, m.ID, st, sig); return err }(), 403)
	forged := ed25519.Sign(key("Mallory"), st)
	ae = apiErr(t, func() error { _, err := v.as(ilse).SignalReadiness(ctx, m.ID, st, forged); return err }(), 400)
	if ae.Message != "invalid readiness statement" {
		t.Errorf("forgery error says too much: %q", ae.Message)
	}
	apiErr(t, func() error { _, err := v.as(ilse).SignalReadiness(ctx, "m-other", st, sig); return err }(), 400)
	gst, gsig := signReadiness(t, gammaH, m, at)
	apiErr(t, func() error { _, err := v.as(gammaH).SignalReadiness(ctx, m.ID, gst, gsig); return err }(), 403)

	got, err := v.as(ilse).SignalReadiness(ctx, m.ID, st, sig)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != schedule.StatusProvisional || len(got.Readiness) != 1 || got.MissingReadiness != nil {
		t.Fatalf("after Arden: %+v", got)
	}
	// Borealia's desk does not see Arden's signal; the host sees who is missing.
	bv, err := v.as(iryna).Meeting(ctx, m.ID, "Europe/Kyiv")
	if err != nil || len(bv.Readiness) != 0 || bv.MissingReadiness != nil || bv.Times.OwnZone != "Europe/Kyiv" {
		t.Fatalf("Borealia's view: %+v %v", bv, err)
	}
	hv, _ := v.host.Meeting(ctx, m.ID, "")
	if !slices.Equal(hv.MissingReadiness, []string{"Borealia"}) {
		t.Fatalf("host's view: missing %v", hv.MissingReadiness)
	}
	apiErr(t, func() error { _, err := v.host.Confirm(ctx, m.ID, ActionRequest{}); return err }(), 409)
	if _, err := v.as(oleh).SignalReady(ctx, oleh.priv, m.Meeting, "Borealia", at); err != nil {
		t.Fatal(err)
	}
	c, err := v.host.Confirm(ctx, m.ID, ActionRequest{Note: "both heads ready"})
	if err != nil || c.Status != schedule.StatusConfirmed || c.Sequence != 1 {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	// Desks were notified of every change: proposal, two signals, confirmation.
	v.mu.Lock()
	n := len(v.changes)
	v.mu.Unlock()
	if n != 4 {
		t.Errorf("%d change notifications, want 4", n)
	}
}

func TestVisibilityAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, v.host)
	req := expertRound(t)
	req.Delegations = []string{"Arden", "Gamma"}
	m, err := v.host.Propose(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	apiErr(t, func() error { _, err := v.as(oleh).Meeting(ctx, m.ID, ""); return err }(), 404)
	if ms, err := v.as(oleh).Meetings(ctx, ""); err != nil || len(ms) != 0 {
		t.Fatalf("Borealia sees %d meetings, %v", len(ms), err)
	}
	if ms, err := v.as(tomas).Meetings(ctx, "Europe/Berlin"); err != nil || len(ms) != 1 || ms[0].Times.Own != "Mon 23 Nov 2026 05:30–08:30 CET (Europe/Berlin)" {
		t.Fatalf("Arden's list: %+v %v", ms, err)
	}
	apiErr(t, func() error { _, err := v.as(tomas).Propose(ctx, expertRound(t)); return err }(), 403)
	apiErr(t, func() error { _, err := v.as(tomas).Cancel(ctx, m.ID, ActionRequest{}); return err }(), 403)
}

func fetch(t *testing.T, url, etag string) (int, []byte, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("ETag")
}

func decodeFeed(t *testing.T, b []byte) map[string]ical.Event {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("go-ical: %v\n%s", err, b)
	}
	out := map[string]ical.Event{}
	for _, e := range cal.Events() {
		uid, _ := e.Props.Text(ical.PropUID)
		out[uid] = e
	}
	return out
}

func TestFeedsAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, v.host)
	m, err := v.host.Propose(ctx, expertRound(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.host.Confirm(ctx, m.ID, ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	// The host makes Arden's delegation feed; Tomas makes his own, in his zone.
	df, err := v.host.CreateFeed(ctx, FeedRequest{Delegation: "Arden"})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := v.as(tomas).CreateFeed(ctx, FeedRequest{Zone: "Europe/Berlin"})
	if err != nil || pf.Person != "Tomas Reig" || pf.Delegation != "Arden" {
		t.Fatalf("personal feed %+v %v", pf, err)
	}
	apiErr(t, func() error { _, err := v.as(tomas).CreateFeed(ctx, FeedRequest{Delegation: "Borealia"}); return err }(), 403)
	// A delegate cannot pile up feeds without end.
	for range MaxFeedsPerDelegate {
		if _, err := v.as(iryna).CreateFeed(ctx, FeedRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	apiErr(t, func() error { _, err := v.as(iryna).CreateFeed(ctx, FeedRequest{}); return err }(), 409)
	apiErr(t, func() error {
		_, err := v.host.CreateFeed(ctx, FeedRequest{Delegation: "Arden", Zone: "Nowhere/Land"})
		return err
	}(), 400)
	if df.Token == pf.Token || len(df.Token) != 43 || !strings.HasSuffix(df.Path, ".ics") {
		t.Fatalf("tokens %q %q", df.Token, pf.Token)
	}
	// The token is not stored.
	fs, _ := v.store.Feeds(ctx)
	for _, f := range fs {
		if bytes.Contains(f.TokenHash, []byte(df.Token)) || string(f.TokenHash) == df.Token {
			t.Fatal("token stored in clear")
		}
	}

	status, body, etag := fetch(t, v.srv.URL+pf.Path, "")
	if status != 200 {
		t.Fatalf("HTTP %d %s", status, body)
	}
	evs := decodeFeed(t, body)
	uid := m.ID + "@venue.caspia.example"
	e, ok := evs[uid]
	if !ok || len(evs) != 1 {
		t.Fatalf("events %v", evs)
	}
	start, _ := e.DateTimeStart(nil)
	if !start.Equal(m.Start) {
		t.Errorf("start %v, want %v", start, m.Start)
	}
	desc, _ := e.Props.Text(ical.PropDescription)
	if !strings.Contains(desc, "Your time: Mon 23 Nov 2026 05:30–08:30 CET (Europe/Berlin)") {
		t.Errorf("personal feed lacks Berlin time:\n%s", desc)
	}
	if s, _ := fetchStatus(t, v.srv.URL+pf.Path, etag); s != 304 {
		t.Errorf("If-None-Match: HTTP %d", s)
	}

	// A move shows up with a higher SEQUENCE and the same UID; a
	// cancellation as STATUS:CANCELLED.
	if _, err := v.host.Move(ctx, m.ID, MoveRequest{Start: lt(t, "2026-11-23T14:00"), End: lt(t, "2026-11-23T17:00")}); err != nil {
		t.Fatal(err)
	}
	_, body, _ = fetch(t, v.srv.URL+df.Path, "")
	e = decodeFeed(t, body)[uid]
	if seq, _ := e.Props.Get(ical.PropSequence).Int(); seq != 2 {
		t.Errorf("SEQUENCE %d after a move, want 2", seq)
	}
	if start, _ := e.DateTimeStart(nil); start.In(time.UTC).Hour() != 9 {
		t.Errorf("moved start %v", start)
	}
	if _, err := v.host.Cancel(ctx, m.ID, ActionRequest{Note: "postponed"}); err != nil {
		t.Fatal(err)
	}
	_, body, _ = fetch(t, v.srv.URL+df.Path, "")
	e = decodeFeed(t, body)[uid]
	if st, _ := e.Status(); st != ical.EventCancelled {
		t.Errorf("STATUS %v after cancellation", st)
	}

	// Revocation: the URL stops working at once, like an unknown one.
	if err := v.as(iryna).RevokeFeed(ctx, pf.ID); err == nil {
		t.Fatal("Borealia revoked Arden's feed")
	}
	if err := v.as(tomas).RevokeFeed(ctx, pf.ID); err != nil {
		t.Fatal(err)
	}
	s1, b1, _ := fetch(t, v.srv.URL+pf.Path, "")
	s2, b2, _ := fetch(t, v.srv.URL+"/v1/calendar/"+strings.Repeat("A", 43)+".ics", "")
	if s1 != 404 || s2 != 404 || !bytes.Equal(b1, b2) {
		t.Errorf("revoked: %d %s; unknown: %d %s", s1, b1, s2, b2)
	}
	if s, _, _ := fetch(t, v.srv.URL+df.Path, ""); s != 200 {
		t.Errorf("the delegation feed was revoked too: %d", s)
	}
	apiErr(t, v.host.RevokeFeed(ctx, "f-nothing"), 404)
	if fs, err := v.as(tomas).Feeds(ctx); err != nil || len(fs) != 1 || fs[0].Revoked.IsZero() {
		t.Errorf("Tomas's feeds %+v %v", fs, err)
	}
}

func fetchStatus(t *testing.T, url, etag string) (int, []byte) {
	s, b, _ := fetch(t, url, etag)
	return s, b
}

// Two venue nodes on one database: both try to book Room A at once; the
// store's compare-and-swap lets exactly one win, and the other is refused
// by the rules after reloading.
func TestTwoNodesCannotDoubleBook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	open := func() *SQLStore {
		st, err := OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	twoNodes(t, open)
}

// The same on PostgreSQL, as many venue nodes behind a load balancer use it.
func TestTwoNodesCannotDoubleBookPostgres(t *testing.T) {
	url := pgtest.Schema(t, pgtest.URL(t))
	open := func() *SQLStore {
		st, err := OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	twoNodes(t, open)
	// Feeds on PostgreSQL: create, find by token hash, revoke.
	st := open()
	f := FeedRecord{ID: "f-1", TokenHash: hashToken("tok"), Delegation: "arden", Created: time.Unix(1700000000, 0).UTC()}
	if err := st.PutFeed(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	got, err := st.FeedByToken(t.Context(), hashToken("tok"))
	if err != nil || got.ID != "f-1" || !got.Created.Equal(f.Created) {
		t.Fatalf("feed %+v %v", got, err)
	}
	if err := st.RevokeFeed(t.Context(), "f-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeFeed(t.Context(), "f-2", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking an unknown feed: %v", err)
	}
	if got, _ := st.FeedByToken(t.Context(), hashToken("tok")); got.Revoked.IsZero() {
		t.Fatal("not revoked")
	}
}

func twoNodes(t *testing.T, open func() *SQLStore) {
	a := startVenueOn(t, open(), "Asia/Almaty")
	b := startVenueOn(t, open(), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, a.host)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		node := a
		if i%2 == 1 {
			node = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := expertRound(t)
			req.Delegations = []string{"Delegation " + string(rune('A'+i))}
			_, errs[i] = node.host.Propose(ctx, req)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		ae := apiErr(t, err, 409)
		if ae.Conflicts[0].Kind != schedule.ConflictRoomBooked {
			t.Errorf("unexpected refusal %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d nodes booked Room A at the same time", ok)
	}
	// And the state survives a restart.
	c := startVenueOn(t, open(), "Asia/Almaty")
	if ms, err := c.host.Meetings(ctx, ""); err != nil || len(ms) != 1 {
		t.Fatalf("after restart: %d meetings, %v", len(ms), err)
	}
}

// A desk long-polls for changes to its delegation's meetings: it is woken
// by a change through its own node and, within the poll interval, through
// another node; it is not told when only other delegations' meetings change.
func TestChangesAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a := startVenue(t, path, "Asia/Almaty")
	b := startVenue(t, path, "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, a.host)
	desk := b.as(iryna) // Borealia, on node b

	first, err := desk.WaitChanges(ctx, "", 0, "")
	if err != nil || !first.Changed || len(first.Meetings) != 0 || first.ETag == "" {
		t.Fatalf("first poll: %+v %v", first, err)
	}
	// Nothing changes: the poll ends after its wait, unchanged.
	start := time.Now()
	same, err := desk.WaitChanges(ctx, first.ETag, time.Second, "")
	if err != nil || same.Changed || same.ETag != first.ETag || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("idle poll: %+v %v after %v", same, err, time.Since(start))
	}
	// A meeting of others only (Arden and Gamma): Borealia is not told.
	other := expertRound(t)
	other.Delegations = []string{"Arden", "Gamma"}
	if _, err := a.host.Propose(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, err := desk.WaitChanges(ctx, first.ETag, time.Second, ""); err != nil || got.Changed {
		t.Fatalf("told of another delegation's meeting: %+v %v", got, err)
	}
	// A meeting Borealia attends, proposed through node a while the desk
	// waits on node b.
	type result struct {
		c   Changes
		err error
		at  time.Time
	}
	res := make(chan result, 1)
	go func() {
		c, err := desk.WaitChanges(ctx, first.ETag, 20*time.Second, "Europe/Kyiv")
		res <- result{c, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond)
	mine := expertRound(t)
	mine.Room, mine.Delegations = "Room B", []string{"Borealia"}
	proposed := time.Now()
	m, err := a.host.Propose(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || !r.c.Changed || len(r.c.Meetings) != 1 || r.c.Meetings[0].ID != m.ID || r.c.Meetings[0].Times.OwnZone != "Europe/Kyiv" {
		t.Fatalf("woken with %+v %v", r.c, r.err)
	}
	if d := r.at.Sub(proposed); d > 5*time.Second {
		t.Errorf("notified after %v", d)
	}
	// Through its own node it is woken at once, e.g. by a cancellation.
	go func() {
		c, err := desk.WaitChanges(ctx, r.c.ETag, 20*time.Second, "")
		res <- result{c, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := b.host.Cancel(ctx, m.ID, ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	r = <-res
	if r.err != nil || !r.c.Changed || r.c.Meetings[0].Status != schedule.StatusCancelled {
		t.Fatalf("after cancel: %+v %v", r.c, r.err)
	}
	// Bad wait.
	req, _ := http.NewRequest("GET", b.srv.URL+"/v1/schedule/changes?wait=soon", nil)
	req.Header.Set("Authorization", "Bearer "+iryna.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("wait=soon: HTTP %d", resp.StatusCode)
	}
}
