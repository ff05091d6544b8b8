package desk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// schedVenue is a real venue with its schedule mounted (SQLite in a
// temporary directory), behind a handler that records the paths desks ask.
type schedVenue struct {
	t     *testing.T
	v     *venue.Venue
	srv   *httptest.Server
	admin *client.Client
	host  *scheduleapi.Client

	mu    sync.Mutex
	paths []string
}

func startSchedVenue(t *testing.T) *schedVenue {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(dir+"/"+venue.ScheduleConfigFile, []byte(`{"host":"caspia"}`), 0o600)
	v, err := venue.New(t.Context(), venue.Config{DataDir: dir, Name: "venue.test", Logger: quiet, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := v.MountSchedule(t.Context(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	sv := &schedVenue{t: t, v: v}
	h := v.Handler()
	sv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sv.mu.Lock()
		sv.paths = append(sv.paths, r.Method+" "+r.URL.Path)
		sv.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		sv.srv.CloseClientConnections()
		sv.srv.Close()
		v.Close()
		st.Close()
	})
	tok, err := os.ReadFile(v.AdminFile())
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(tok))
	if sv.admin, err = client.New(sv.srv.URL, client.WithAdmin(admin)); err != nil {
		t.Fatal(err)
	}
	sv.host = &scheduleapi.Client{BaseURL: sv.srv.URL, Token: admin}
	return sv
}

func (sv *schedVenue) requests() []string {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return slices.Clone(sv.paths)
}

// desk creates and enrolls a desk whose certificate has the given role.
func (sv *schedVenue) desk(p *party, person, role string) *Desk {
	t := sv.t
	t.Helper()
	ctx := t.Context()
	d, err := Init(ctx, t.TempDir(), []byte("pass"), Profile{Delegation: p.name, Person: person, Role: role, Level: "leaders"}, Options{Logger: quiet})
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
	cert, err := p.root.Certify(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Enroll(ctx, sv.srv.URL, sv.v.VerifierKey(), cert); err != nil {
		t.Fatal(err)
	}
	return d
}

func (sv *schedVenue) accredit(name string) *party {
	sv.t.Helper()
	root, err := delegation.GenerateRoot(name)
	if err != nil {
		sv.t.Fatal(err)
	}
	if _, err := sv.admin.Accredit(sv.t.Context(), name, root.VerifierKey()); err != nil {
		sv.t.Fatal(err)
	}
	return &party{name: name, root: root}
}

func mustLocal(t *testing.T, s string) schedule.LocalTime {
	t.Helper()
	lt, err := schedule.ParseLocalTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

// TestSignalReadyThroughVenue checks the readiness gate from the desk's
// side against a real venue: a non-head's desk sends nothing at all; the
// heads' signals are recorded; each delegation is shown its own readiness
// only; the watch reports the confirmation.
func TestSignalReadyThroughVenue(t *testing.T) {
	sv := startSchedVenue(t)
	ctx := t.Context()
	arden, borealia := sv.accredit("arden"), sv.accredit("borealia")
	sv.accredit("caspia")
	expert := sv.desk(arden, "Tomas Reig", "expert")
	ilse := sv.desk(arden, "Ilse Marven", "head")
	oleh := sv.desk(borealia, "Oleh Varta", "head")

	if _, err := sv.host.AddRoom(ctx, schedule.Room{Name: "Hall of Independence", Capacity: 120, Booths: []string{"en", "ru"}}); err != nil {
		t.Fatal(err)
	}
	m, err := sv.host.Propose(ctx, scheduleapi.MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Leaders' meeting", Talks: "caspia-talks", Level: schedule.LevelLeaders, Room: "Hall of Independence",
		Start: mustLocal(t, "2026-12-01T10:00"), End: mustLocal(t, "2026-12-01T13:00"),
		Languages: []string{"en", "ru"}, Delegations: []string{"caspia", "arden", "borealia"}, Headcount: 40}})
	if err != nil {
		t.Fatal(err)
	}

	// The expert's desk refuses and sends nothing to the venue.
	before := len(sv.requests())
	if _, err := expert.SignalReady(ctx, m.ID, ScheduleOptions{}); !errors.Is(err, ErrNotHead) {
		t.Fatalf("expert: %v", err)
	}
	if after := sv.requests(); len(after) != before {
		t.Fatalf("a non-head's desk contacted the venue: %v", after[before:])
	}

	// A watch of the expert's desk (same delegation as Ilse).
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	changes := make(chan ScheduleChange, 16)
	done := make(chan error, 1)
	go func() {
		done <- expert.WatchSchedule(wctx, ScheduleOptions{HostDelegation: "caspia"}, func(sc ScheduleChange) error {
			changes <- sc
			return nil
		})
	}()
	first := waitChange(t, changes)
	if !first.First || len(first.Meetings) != 1 || first.Meetings[0].Ready || first.Meetings[0].Status != schedule.StatusProvisional {
		t.Fatalf("first watch answer %+v", first)
	}

	sm, err := ilse.SignalReady(ctx, m.ID, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !sm.Ready || sm.Status != schedule.StatusProvisional {
		t.Errorf("after Ilse's signal: %+v", sm)
	}
	if c := waitChange(t, changes); !slices.ContainsFunc(c.Changes, func(s string) bool { return strings.Contains(s, "readiness is recorded") }) {
		t.Errorf("watch after Ilse's signal: %v", c.Changes)
	}
	if _, err := oleh.SignalReady(ctx, m.ID, ScheduleOptions{}); err != nil {
		t.Fatal(err)
	}
	// Borealia's signal is not shown to Arden: the watch stays silent until
	// the host confirms.
	if _, err := sv.host.Confirm(ctx, m.ID, scheduleapi.ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	c := waitChange(t, changes)
	if len(c.Changes) != 1 || !strings.Contains(c.Changes[0], "provisional -> confirmed") {
		t.Errorf("watch after confirmation: %v", c.Changes)
	}
	stop()
	if err := <-done; err == nil {
		t.Error("watch ended without an error")
	}

	ms, err := oleh.Meetings(ctx, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || !ms[0].Ready || ms[0].Status != schedule.StatusConfirmed || len(ms[0].Readiness) != 1 || ms[0].Readiness[0].Delegation != "borealia" {
		t.Errorf("Oleh sees %+v", ms)
	}
	for _, h := range ms[0].History {
		if h.Delegation == "arden" {
			t.Errorf("Borealia is shown Arden's readiness: %+v", h)
		}
	}

	// A revoked device is refused, and its watch ends instead of retrying.
	rev, err := borealia.root.Revoke(oleh.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.admin.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := oleh.Meetings(ctx, ScheduleOptions{}); err == nil {
		t.Error("a revoked device still reads the schedule")
	}
	wctx2, stop2 := context.WithTimeout(ctx, 20*time.Second)
	defer stop2()
	err = oleh.WatchSchedule(wctx2, ScheduleOptions{}, func(ScheduleChange) error { return nil })
	if err == nil || wctx2.Err() != nil || !strings.Contains(err.Error(), "authenticate") {
		t.Errorf("watch of a revoked device: %v (context: %v)", err, wctx2.Err())
	}
}

func waitChange(t *testing.T, ch <-chan ScheduleChange) ScheduleChange {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("no schedule change within 30s")
	}
	return ScheduleChange{}
}

// readinessRecord returns a record as the venue stores it.
func readinessRecord(t *testing.T, m schedule.Meeting, del string, level schedule.Level) schedule.ReadinessRecord {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	at := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	st, sig, err := schedule.SignReadiness(key, schedule.Readiness{Talks: m.Talks, Meeting: m.ID, Level: level, Delegation: del, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return schedule.ReadinessRecord{Delegation: del, SignedAt: at, Received: at, Statement: st, Signature: sig}
}

func TestViewMeeting(t *testing.T) {
	almaty, _ := time.LoadLocation("Asia/Almaty")
	vienna, _ := time.LoadLocation("Europe/Vienna")
	start := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	m := schedule.Meeting{ID: "m-1", Title: "Leaders", Talks: "t", Level: schedule.LevelLeaders, Room: "Hall",
		Start: start, End: start.Add(3 * time.Hour), Delegations: []string{"caspia", "arden", "borealia"},
		Status: schedule.StatusProvisional}
	opts := ScheduleOptions{Zone: vienna, HostDelegation: "caspia"}

	v := ViewMeeting(m, "arden", almaty, opts)
	if !v.Gated || !v.Party || v.Ready || len(v.Waiting) != 3 || !strings.Contains(v.Waiting[0], "arden") {
		t.Errorf("not ready: %+v", v)
	}
	if v.Times.Venue != "Tue 1 Dec 2026 10:00–13:00 +05 (Asia/Almaty)" || v.Times.Own != "Tue 1 Dec 2026 06:00–09:00 CET (Europe/Vienna)" {
		t.Errorf("times %q %q", v.Times.Venue, v.Times.Own)
	}

	// Arden's signal counts; a signal for another level does not (the
	// meeting was raised from ministerial); another party's is not Arden's.
	ready := m
	ready.Readiness = []schedule.ReadinessRecord{readinessRecord(t, m, "arden", schedule.LevelLeaders)}
	if v := ViewMeeting(ready, "arden", almaty, opts); !v.Ready || len(v.Waiting) != 2 {
		t.Errorf("ready: %+v", v)
	}
	raised := m
	raised.Readiness = []schedule.ReadinessRecord{readinessRecord(t, m, "arden", schedule.LevelMinisterial)}
	if v := ViewMeeting(raised, "arden", almaty, opts); v.Ready {
		t.Errorf("a ministerial signal counted for a leaders' meeting: %+v", v)
	}
	other := m
	other.Readiness = []schedule.ReadinessRecord{readinessRecord(t, m, "borealia", schedule.LevelLeaders)}
	if v := ViewMeeting(other, "arden", almaty, opts); v.Ready {
		t.Errorf("Borealia's signal counted for Arden: %+v", v)
	}
	garbled := ready
	garbled.Readiness = []schedule.ReadinessRecord{ready.Readiness[0]}
	garbled.Readiness[0].Statement = append([]byte("x"), garbled.Readiness[0].Statement...)
	if v := ViewMeeting(garbled, "arden", almaty, opts); v.Ready {
		t.Errorf("a garbled statement counted: %+v", v)
	}

	// The host's own delegation needs no signal; it still waits for the parties.
	if v := ViewMeeting(m, "caspia", almaty, opts); v.Party || len(v.Waiting) != 2 || strings.Contains(v.Waiting[0], "caspia") {
		t.Errorf("host: %+v", v)
	}
	// Only provisional meetings wait.
	for _, s := range []schedule.Status{schedule.StatusConfirmed, schedule.StatusMoved, schedule.StatusCancelled} {
		x := m
		x.Status = s
		if v := ViewMeeting(x, "arden", almaty, opts); v.Waiting != nil {
			t.Errorf("%s meeting waits: %v", s, v.Waiting)
		}
	}
	expert := m
	expert.Level, expert.Status = schedule.LevelExpert, schedule.StatusDraft
	if v := ViewMeeting(expert, "arden", almaty, opts); v.Gated || v.Party || v.Waiting != nil {
		t.Errorf("expert draft: %+v", v)
	}
	// Other parties' readiness is left out of the history.
	hist := m
	hist.History = []schedule.Change{{Action: "proposed"}, {Action: "readiness", Delegation: "borealia"}, {Action: "readiness", Delegation: "arden"}}
	if v := ViewMeeting(hist, "arden", almaty, opts); len(v.History) != 2 || v.History[1].Delegation != "arden" || len(hist.History) != 3 {
		t.Errorf("history %+v (input %d entries)", v.History, len(hist.History))
	}
}

func TestDiffMeetings(t *testing.T) {
	almaty, _ := time.LoadLocation("Asia/Almaty")
	start := time.Date(2026, 11, 23, 4, 30, 0, 0, time.UTC)
	a := schedule.Meeting{ID: "m-a", Title: "WG1", Talks: "t", Level: schedule.LevelExpert, Room: "Room A", Start: start, End: start.Add(3 * time.Hour),
		Delegations: []string{"arden"}, Status: schedule.StatusConfirmed, Sequence: 1, History: []schedule.Change{{Action: "proposed"}, {Action: "confirmed"}}}
	b := a
	b.ID, b.Title = "m-b", "WG2"
	view := func(ms ...schedule.Meeting) []ScheduledMeeting {
		var out []ScheduledMeeting
		for _, m := range ms {
			out = append(out, ViewMeeting(m, "arden", almaty, ScheduleOptions{}))
		}
		return out
	}
	if d := DiffMeetings(view(a), view(a)); d != nil {
		t.Errorf("no change: %v", d)
	}
	moved := a.Clone()
	moved.Status, moved.Sequence, moved.Start, moved.End, moved.Room = schedule.StatusMoved, 2, start.Add(24*time.Hour), start.Add(27*time.Hour), "Room B"
	moved.History = append(moved.History, schedule.Change{Action: "moved", Fields: []string{"room", "start", "end"}, Note: "flooded"})
	want := []string{
		`m-a "WG1": confirmed -> moved; now Tue 24 Nov 2026 09:30–12:30 +05 (Asia/Almaty); room Room A -> Room B; last change: moved (room, start, end) "flooded"`,
		`m-b "WG2": new, confirmed, Mon 23 Nov 2026 09:30–12:30 +05 (Asia/Almaty)`,
	}
	if d := DiffMeetings(view(a), view(moved, b)); !slices.Equal(d, want) {
		t.Errorf("diff:\n%q\nwant\n%q", d, want)
	}
	if d := DiffMeetings(view(a, b), view(b)); len(d) != 1 || d[0] != `m-a "WG1": no longer concerns your delegation` {
		t.Errorf("removed: %q", d)
	}
}

// FuzzViewMeeting feeds meetings as a venue might send them (JSON, any
// content) to what the desk shows: it must never panic, and only a
// provisional meeting waits for anything.
func FuzzViewMeeting(f *testing.F) {
	seed := schedule.Meeting{ID: "m-1", Title: "Leaders", Talks: "t", Level: schedule.LevelLeaders, Room: "Hall",
		Start: time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		Delegations: []string{"caspia", "arden"}, Status: schedule.StatusProvisional,
		History: []schedule.Change{{Action: "readiness", Delegation: "borealia"}}}
	seedReady := seed
	seedReady.Readiness = []schedule.ReadinessRecord{{Delegation: "arden", Statement: []byte("goodoffices readiness v1\ntalks t\nmeeting m-1\nlevel leaders\ndelegation arden\ntime 2026-11-22T17:00:00Z\n"), Signature: make([]byte, 64)}}
	for _, m := range []schedule.Meeting{seed, seedReady} {
		b, _ := json.Marshal(scheduleapi.MeetingView{Meeting: m, Times: schedule.Times{VenueZone: "Asia/Almaty"}})
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","status":"confirmed","times":{"venue_zone":"Local"}}`))
	f.Add([]byte(`{"times":{"venue_zone":"../../etc/passwd"},"readiness":[{"delegation":"arden","statement":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var mv scheduleapi.MeetingView
		if json.Unmarshal(data, &mv) != nil {
			return
		}
		v := ViewMeeting(mv.Meeting, "arden", venueZone(mv), ScheduleOptions{HostDelegation: "caspia"})
		if mv.Status != schedule.StatusProvisional && v.Waiting != nil {
			t.Fatalf("a %s meeting waits: %v", mv.Status, v.Waiting)
		}
		for _, h := range v.History {
			if h.Action == "readiness" && h.Delegation != "arden" {
				t.Fatalf("another party's readiness shown: %+v", h)
			}
		}
		DiffMeetings([]ScheduledMeeting{v}, []ScheduledMeeting{v})
		DiffMeetings(nil, []ScheduledMeeting{v})
	})
}
