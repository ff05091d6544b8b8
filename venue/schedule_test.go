package venue_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// schedVenue is a real venue (SQLite store, admin credential, device
// certificates and tokens) with the schedule mounted.
type schedVenue struct {
	v     *venue.Venue
	srv   *httptest.Server
	admin string
	host  *scheduleapi.Client
	roots map[string]*delegation.RootKey
}

func startSchedVenue(t *testing.T, config string) *schedVenue {
	t.Helper()
	dir := t.TempDir()
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, venue.ScheduleConfigFile), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	v, err := venue.New(t.Context(), venue.Config{DataDir: dir, Name: "venue.caspia.example",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closer, err := v.MountSchedule(t.Context(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	t.Cleanup(func() {
		srv.Close()
		v.Close()
		closer.Close()
	})
	cred, err := os.ReadFile(v.AdminFile())
	if err != nil {
		t.Fatal(err)
	}
	sv := &schedVenue{v: v, srv: srv, admin: strings.TrimSpace(string(cred)), roots: map[string]*delegation.RootKey{}}
	sv.host = &scheduleapi.Client{BaseURL: srv.URL, Token: sv.admin}
	return sv
}

// accredit creates a delegation's root key and accredits it.
func (sv *schedVenue) accredit(t *testing.T, name string) {
	t.Helper()
	root, err := delegation.GenerateRoot(name)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := client.New(sv.srv.URL, client.WithAdmin(sv.admin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Accredit(t.Context(), name, root.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	sv.roots[name] = root
}

// device certifies and registers a delegate's device and returns its key
// and a bearer token obtained through the venue's challenge.
func (sv *schedVenue) device(t *testing.T, deleg, person, role, level string) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	cert, err := sv.roots[deleg].Certify(&delegation.Certificate{Delegation: deleg, Person: person, Role: role, Level: level,
		Device: pub, NotBefore: now.Add(-time.Hour).Truncate(time.Second), NotAfter: now.Add(24 * time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(sv.srv.URL, client.WithDevice(priv))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterDevice(t.Context(), cert); err != nil {
		t.Fatal(err)
	}
	var ch struct{ Challenge string }
	postJSON(t, sv.srv.URL+"/v1/auth/challenge", nil, &ch)
	var tok struct{ Token string }
	postJSON(t, sv.srv.URL+"/v1/auth/token", map[string]any{
		"device": delegation.DeviceID(pub), "challenge": ch.Challenge,
		"signature": ed25519.Sign(priv, venue.AuthMessage(sv.v.Name(), ch.Challenge)),
	}, &tok)
	if tok.Token == "" {
		t.Fatal("no device token")
	}
	return priv, tok.Token
}

func postJSON(t *testing.T, url string, in, out any) {
	t.Helper()
	var body io.Reader = http.NoBody
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest("POST", url, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: HTTP %d %s", url, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

func schedLocal(t *testing.T, s string) schedule.LocalTime {
	t.Helper()
	v, err := schedule.ParseLocalTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantStatus(t *testing.T, err error, status int) *scheduleapi.APIError {
	t.Helper()
	var ae *scheduleapi.APIError
	if !errors.As(err, &ae) || ae.Status != status {
		t.Fatalf("want HTTP %d, got %v", status, err)
	}
	return ae
}

// The scenario through the real venue: rooms, the expert round, the
// leaders' meeting confirmed only after both heads' desks signal readiness
// with their certified device keys, and calendar feeds.
func TestScheduleOnVenue(t *testing.T) {
	sv := startSchedVenue(t, `{"zone":"Asia/Almaty","open":"08:00","close":"20:00","host":"caspia"}`)
	ctx := t.Context()
	for _, d := range []string{"caspia", "arden", "borealia"} {
		sv.accredit(t, d)
	}
	ilseKey, ilseTok := sv.device(t, "arden", "Ilse Marven", "head", "leaders")
	_, tomasTok := sv.device(t, "arden", "Tomas Reig", "expert", "expert")
	olehKey, olehTok := sv.device(t, "borealia", "Oleh Varta", "head", "leaders")
	as := func(tok string) *scheduleapi.Client { return &scheduleapi.Client{BaseURL: sv.srv.URL, Token: tok} }

	for _, r := range []schedule.Room{
		{Name: "Hall of Independence", Capacity: 120, Booths: []string{"en", "fr", "ru"}},
		{Name: "Room A", Capacity: 20}, {Name: "Room B", Capacity: 20}, {Name: "Library", Capacity: 8},
	} {
		if _, err := sv.host.AddRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Only the host manages rooms; no credential, no entry.
	wantStatus(t, func() error { _, err := as(tomasTok).AddRoom(ctx, schedule.Room{Name: "X", Capacity: 1}); return err }(), 403)
	wantStatus(t, func() error { _, err := as("").Rooms(ctx); return err }(), 401)
	wantStatus(t, func() error { _, err := as("goadmin-wrong").Rooms(ctx); return err }(), 401)

	expert, err := sv.host.Propose(ctx, scheduleapi.MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Working group 1: ceasefire (expert round)", Talks: "caspia-talks", Channel: "wg1", Level: schedule.LevelExpert,
		Room: "Room A", Start: schedLocal(t, "2026-11-23T09:30"), End: schedLocal(t, "2026-11-23T12:30"),
		Languages: []string{"en", "ru"}, Interpretation: schedule.Consecutive,
		Delegations: []string{"arden", "borealia"}, Headcount: 10,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.host.Confirm(ctx, expert.ID, scheduleapi.ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	leaders, err := sv.host.Propose(ctx, scheduleapi.MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Leaders' meeting: political framework", Talks: "caspia-talks", Channel: "plenary", Level: schedule.LevelLeaders,
		Room: "Hall of Independence", Start: schedLocal(t, "2026-12-01T10:00"), End: schedLocal(t, "2026-12-01T13:00"),
		Languages: []string{"en", "fr", "ru"}, Delegations: []string{"caspia", "arden", "borealia"}, Headcount: 60,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ae := wantStatus(t, func() error { _, err := sv.host.Confirm(ctx, leaders.ID, scheduleapi.ActionRequest{}); return err }(), 409)
	if !slices.Equal(ae.Missing, []string{"arden", "borealia"}) {
		t.Fatalf("missing %v", ae.Missing)
	}
	sign := func(k ed25519.PrivateKey, d string) ([]byte, []byte) {
		st, sig, err := schedule.SignReadiness(k, schedule.Readiness{Talks: "caspia-talks", Meeting: leaders.ID,
			Level: schedule.LevelLeaders, Delegation: d, Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return st, sig
	}
	// An expert's device cannot signal, even with the head's statement; a
	// head cannot sign for the other party; a statement signed by another
	// key than the certified one is refused.
	ist, isig := sign(ilseKey, "arden")
	wantStatus(t, func() error { _, err := as(tomasTok).SignalReadiness(ctx, leaders.ID, ist, isig); return err }(), 403)
	bst, bsig := sign(ilseKey, "borealia")
	wantStatus(t, func() error { _, err := as(ilseTok).SignalReadiness(ctx, leaders.ID, bst, bsig); return err }(), 403)
	fst, fsig := sign(olehKey, "borealia")
	wantStatus(t, func() error { _, err := as(ilseTok).SignalReadiness(ctx, leaders.ID, fst, fsig); return err }(), 403)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	xst, xsig := sign(other, "borealia")
	wantStatus(t, func() error { _, err := as(olehTok).SignalReadiness(ctx, leaders.ID, xst, xsig); return err }(), 400)

	if _, err := as(ilseTok).SignalReadiness(ctx, leaders.ID, ist, isig); err != nil {
		t.Fatal(err)
	}
	if _, err := as(olehTok).SignalReadiness(ctx, leaders.ID, fst, fsig); err != nil {
		t.Fatal(err)
	}
	conf, err := sv.host.Confirm(ctx, leaders.ID, scheduleapi.ActionRequest{Note: "both heads ready"})
	if err != nil || conf.Status != schedule.StatusConfirmed {
		t.Fatalf("confirm: %+v %v", conf, err)
	}
	// The stored statements verify with the certified head keys.
	for _, r := range conf.Readiness {
		k := ilseKey
		if r.Delegation == "borealia" {
			k = olehKey
		}
		if _, err := schedule.VerifyReadiness(k.Public().(ed25519.PublicKey), r.Statement, r.Signature); err != nil {
			t.Errorf("readiness of %s: %v", r.Delegation, err)
		}
	}

	// Tomas subscribes to his own feed, in Berlin time.
	feed, err := as(tomasTok).CreateFeed(ctx, scheduleapi.FeedRequest{Zone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(sv.srv.URL + feed.Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("feed: HTTP %d %s", resp.StatusCode, body)
	}
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	for _, e := range cal.Events() {
		uid, _ := e.Props.Text(ical.PropUID)
		st, _ := e.Props.Text(ical.PropStatus)
		uids[uid] = st
	}
	if uids[expert.ID+"@venue.caspia.example"] != "CONFIRMED" || uids[leaders.ID+"@venue.caspia.example"] != "CONFIRMED" || len(uids) != 2 {
		t.Errorf("feed events %v", uids)
	}
	if err := as(tomasTok).RevokeFeed(ctx, feed.ID); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(sv.srv.URL + feed.Path); err != nil || resp.StatusCode != 404 {
		t.Errorf("revoked feed still served: %v %v", resp.StatusCode, err)
	}
}

func TestScheduleConfigFile(t *testing.T) {
	for _, bad := range []string{`{"zone":"Mars/Olympus"}`, `{"open":"25:00"}`, `{"days":["Funday"]}`, `{"zone":"Asia/Almaty","x":1}`, `{"open":"20:00","close":"08:00"}`, `{"db":"mysql://x"}`} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, venue.ScheduleConfigFile), []byte(bad), 0o600)
		if _, err := venue.LoadScheduleConfig(dir); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, venue.ScheduleConfigFile), []byte(`{"zone":"Europe/Berlin","open":"09:00","close":"18:00","days":["Mon","Fri"],"host":"caspia"}`), 0o600)
	c, err := venue.LoadScheduleConfig(dir)
	if err != nil || c.Zone.String() != "Europe/Berlin" || c.Hours.Open != 540 || len(c.Hours.Days) != 2 || c.Host != "caspia" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = venue.LoadScheduleConfig(t.TempDir())
	if err != nil || c.Zone.String() != "Asia/Almaty" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}

// Two venue nodes with schedule.json naming one PostgreSQL database share
// one schedule.
func TestScheduleSharedPostgres(t *testing.T) {
	url := pgtest.Schema(t, pgtest.URL(t))
	cfg := `{"zone":"Asia/Almaty","db":"` + url + `"}`
	a := startSchedVenue(t, cfg)
	b := startSchedVenue(t, cfg)
	ctx := t.Context()
	if _, err := a.host.AddRoom(ctx, schedule.Room{Name: "Room A", Capacity: 20}); err != nil {
		t.Fatal(err)
	}
	rooms, err := b.host.Rooms(ctx)
	if err != nil || len(rooms) != 1 || rooms[0].Name != "Room A" {
		t.Fatalf("node b sees %+v, %v", rooms, err)
	}
	wantStatus(t, func() error { _, err := b.host.AddRoom(ctx, schedule.Room{Name: "Room A", Capacity: 5}); return err }(), 409)
}
