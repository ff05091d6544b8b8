package scheduleapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/good-offices/goodoffices/schedule"
)

// getRaw fetches path as the caller with bearer token tok and returns the
// exact body.
func getRaw(t *testing.T, v *testVenue, tok, path string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", v.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s %v", path, resp.StatusCode, b, err)
	}
	return b
}

// ardenSees is everything Arden's devices are shown of the schedule.
type ardenSees struct {
	bodies map[string][]byte // "<device> <path>" -> exact body
	tag    string            // ETag of the long poll
	feeds  map[string][]byte // feed path -> .ics body
	etags  map[string]string // feed path -> HTTP ETag
}

// TestReadinessConfidentialityAPI: only the host sees every party's
// readiness. When Borealia's head signals readiness for a leaders' meeting,
// nothing Arden's devices are shown changes: meeting list and detail
// (readiness, history, updated time, sequence), the long poll (not woken,
// same ETag) and its calendar feeds (same bytes, same ETag). The host sees
// both signals. A change of the meeting itself still reaches Arden
// everywhere.
func TestReadinessConfidentialityAPI(t *testing.T) {
	v := startVenue(t, filepath.Join(t.TempDir(), "s.db"), "Asia/Almaty")
	ctx := t.Context()
	caspiaRooms(t, v.host)
	m, err := v.host.Propose(ctx, MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Leaders' meeting", Talks: "caspia-talks", Channel: "plenary", Level: schedule.LevelLeaders,
		Room: "Hall of Independence", Start: lt(t, "2026-12-01T10:00"), End: lt(t, "2026-12-01T13:00"),
		Languages: []string{"en", "fr", "ru"}, Delegations: []string{"Caspia", "Arden", "Borealia"}, Headcount: 60,
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Arden's calendar feeds: the delegation's (made by the host) and
	// Tomas's own, in his zone.
	df, err := v.host.CreateFeed(ctx, FeedRequest{Delegation: "Arden"})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := v.as(tomas).CreateFeed(ctx, FeedRequest{Zone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	feeds := []string{df.Path, pf.Path}

	// Arden's head signals first: Arden sees its own signal.
	signAt := func() time.Time {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.now
	}
	own, err := v.as(ilse).SignalReady(ctx, ilse.priv, m.Meeting, "Arden", signAt())
	if err != nil {
		t.Fatal(err)
	}
	if len(own.Readiness) != 1 || own.Readiness[0].Delegation != "Arden" || own.History[len(own.History)-1].Delegation != "Arden" {
		t.Fatalf("Arden's head does not see its own signal: %+v", own)
	}
	ardenSignal := own.Updated

	snapshot := func() ardenSees {
		t.Helper()
		s := ardenSees{bodies: map[string][]byte{}, feeds: map[string][]byte{}, etags: map[string]string{}}
		for _, d := range []*delegate{ilse, tomas} {
			for _, p := range []string{
				"/v1/schedule/meetings", "/v1/schedule/meetings?zone=Europe/Berlin",
				"/v1/schedule/meetings/" + m.ID, "/v1/schedule/meetings/" + m.ID + "?zone=Europe/Berlin",
			} {
				s.bodies[d.Person+" "+p] = getRaw(t, v, d.token, p)
			}
		}
		c, err := v.as(tomas).WaitChanges(ctx, "", 0, "")
		if err != nil || !c.Changed {
			t.Fatalf("first poll: %+v %v", c, err)
		}
		s.tag = c.ETag
		for _, p := range feeds {
			status, body, etag := fetch(t, v.srv.URL+p, "")
			if status != http.StatusOK {
				t.Fatalf("feed %s: HTTP %d", p, status)
			}
			s.feeds[p], s.etags[p] = body, etag
		}
		return s
	}
	before := snapshot()
	hostBefore, err := v.host.WaitChanges(ctx, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}

	// Arden's desk waits on the long poll while Borealia's head signals.
	type result struct {
		c   Changes
		err error
	}
	polled := make(chan result, 1)
	pollStart := time.Now()
	go func() {
		c, err := v.as(tomas).WaitChanges(ctx, before.tag, 2*time.Second, "")
		polled <- result{c, err}
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := v.as(oleh).SignalReady(ctx, oleh.priv, m.Meeting, "Borealia", signAt()); err != nil {
		t.Fatal(err)
	}
	r := <-polled
	if r.err != nil || r.c.Changed || r.c.ETag != before.tag || len(r.c.Meetings) != 0 {
		t.Errorf("Arden's long poll was woken by Borealia's readiness: %+v %v", r.c, r.err)
	}
	if d := time.Since(pollStart); d < 1800*time.Millisecond {
		t.Errorf("Arden's long poll answered after %v, before its wait ran out", d)
	}

	after := snapshot()
	if after.tag != before.tag {
		t.Errorf("Arden's change tag moved with Borealia's readiness: %s -> %s", before.tag, after.tag)
	}
	for k, b := range before.bodies {
		if !bytes.Equal(after.bodies[k], b) {
			t.Errorf("%s changed with Borealia's readiness:\nbefore %s\nafter  %s", k, b, after.bodies[k])
		}
	}
	for _, p := range feeds {
		if !bytes.Equal(after.feeds[p], before.feeds[p]) || after.etags[p] != before.etags[p] {
			t.Errorf("feed %s changed with Borealia's readiness:\nbefore %s\nafter  %s", p, before.feeds[p], after.feeds[p])
		}
		if status, _, _ := fetch(t, v.srv.URL+p, before.etags[p]); status != http.StatusNotModified {
			t.Errorf("feed %s with If-None-Match of before: HTTP %d, want 304", p, status)
		}
	}
	// Whatever the order of the bytes, no answer to Arden carries
	// Borealia's signal.
	for k, b := range after.bodies {
		if bytes.Contains(b, []byte(oleh.Person)) {
			t.Errorf("%s names Borealia's head: %s", k, b)
		}
		var views []MeetingView
		if b[0] != '[' {
			views = make([]MeetingView, 1)
			err = json.Unmarshal(b, &views[0])
		} else {
			err = json.Unmarshal(b, &views)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, mv := range views {
			if slices.ContainsFunc(mv.Readiness, func(r schedule.ReadinessRecord) bool { return r.Delegation != "Arden" }) ||
				slices.ContainsFunc(mv.History, func(h schedule.Change) bool { return h.Delegation != "" && h.Delegation != "Arden" }) ||
				mv.MissingReadiness != nil || !mv.Updated.Equal(ardenSignal) {
				t.Errorf("%s shows another party's readiness: %+v", k, mv)
			}
		}
	}

	// The host sees both signals, and its long poll did move.
	hv, err := v.host.Meeting(ctx, m.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var signalled []string
	for _, h := range hv.History {
		if h.Action == schedule.ActionReadiness {
			signalled = append(signalled, h.Delegation)
		}
	}
	if len(hv.Readiness) != 2 || !slices.Equal(signalled, []string{"Arden", "Borealia"}) || len(hv.MissingReadiness) != 0 ||
		!hv.Updated.Equal(hv.History[len(hv.History)-1].At) || hv.Updated.Equal(ardenSignal) {
		t.Errorf("the host does not see both signals: %+v", hv)
	}
	if hl, err := v.host.Meetings(ctx, ""); err != nil || len(hl) != 1 || len(hl[0].Readiness) != 2 {
		t.Errorf("the host's list: %+v %v", hl, err)
	}
	if hc, err := v.host.WaitChanges(ctx, hostBefore.ETag, 0, ""); err != nil || !hc.Changed {
		t.Errorf("the host's long poll did not see Borealia's signal: %+v %v", hc, err)
	}
	// And Borealia sees its own signal, not Arden's.
	bv, err := v.as(iryna).Meeting(ctx, m.ID, "")
	if err != nil || len(bv.Readiness) != 1 || bv.Readiness[0].Delegation != "Borealia" ||
		slices.ContainsFunc(bv.History, func(h schedule.Change) bool { return h.Delegation == "Arden" }) ||
		strings.Contains(string(getRaw(t, v, iryna.token, "/v1/schedule/meetings")), ilse.Person) {
		t.Errorf("Borealia's view: %+v %v", bv, err)
	}

	// A change of the meeting itself reaches Arden: the long poll wakes,
	// the feed's SEQUENCE and STATUS change.
	go func() {
		c, err := v.as(tomas).WaitChanges(ctx, before.tag, 10*time.Second, "")
		polled <- result{c, err}
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := v.host.Confirm(ctx, m.ID, ActionRequest{Note: "all parties ready"}); err != nil {
		t.Fatal(err)
	}
	r = <-polled
	if r.err != nil || !r.c.Changed || len(r.c.Meetings) != 1 {
		t.Fatalf("Arden's long poll after confirmation: %+v %v", r.c, r.err)
	}
	cv := r.c.Meetings[0]
	if cv.Status != schedule.StatusConfirmed || cv.Sequence != 1 || len(cv.Readiness) != 1 ||
		slices.ContainsFunc(cv.History, func(h schedule.Change) bool { return h.Delegation == "Borealia" }) ||
		!cv.Updated.Equal(cv.History[len(cv.History)-1].At) {
		t.Errorf("Arden's view after confirmation: %+v", cv)
	}
	for _, p := range feeds {
		status, body, etag := fetch(t, v.srv.URL+p, before.etags[p])
		ev := decodeFeed(t, body)[schedule.UID(m.ID, "venue.caspia.example")]
		var seq, st string
		if p := ev.Props.Get(ical.PropSequence); p != nil {
			seq = p.Value
		}
		if p := ev.Props.Get(ical.PropStatus); p != nil {
			st = p.Value
		}
		if status != http.StatusOK || etag == before.etags[p] || seq != "1" || st != "CONFIRMED" {
			t.Errorf("feed %s after confirmation: HTTP %d\n%s", p, status, body)
		}
	}
}
