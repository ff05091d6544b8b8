package schedule_test

// The feed read by a maintained iCalendar library we did not write
// (github.com/emersion/go-ical, a test-only dependency): events, times in
// the venue's zone, updates (SEQUENCE) and cancellations come out right.

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/good-offices/goodoffices/schedule"
)

func TestFeedReadByGoICal(t *testing.T) {
	almaty, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, err := schedule.New(schedule.Config{Zone: almaty, Host: "Caspia"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []schedule.Room{
		{Name: "Hall of Independence", Capacity: 120, Booths: []string{"en", "fr", "ru"}},
		{Name: "Room A", Capacity: 20}, {Name: "Room B", Capacity: 20},
	} {
		if err := s.AddRoom(r); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	op := func(min int) schedule.Op {
		return schedule.Op{Actor: "host", At: at.Add(time.Duration(min) * time.Minute)}
	}
	local := func(s string) schedule.LocalTime {
		v, err := schedule.ParseLocalTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	wg1, err := s.Propose(schedule.MeetingSpec{
		Title: "Working group 1, ceasefire; expert round", Talks: "caspia-talks", Channel: "wg1", Level: schedule.LevelExpert,
		Room: "Room A", Start: local("2026-11-23T09:30"), End: local("2026-11-23T12:30"),
		Languages: []string{"en", "ru"}, Interpretation: schedule.Consecutive,
		Delegations: []string{"Arden", "Borealia"}, Headcount: 10,
	}, op(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = s.Confirm(wg1.ID, op(1)); err != nil {
		t.Fatal(err)
	}
	if wg1, err = s.Move(wg1.ID, "Room B", local("2026-11-23T14:00"), local("2026-11-23T17:00"), op(2)); err != nil {
		t.Fatal(err)
	}
	wg2, err := s.Propose(schedule.MeetingSpec{
		Title: "Working group 2: humanitarian", Talks: "caspia-talks", Level: schedule.LevelExpert,
		Room: "Room A", Start: local("2026-11-24T09:30"), End: local("2026-11-24T12:30"),
		Delegations: []string{"Arden", "Borealia"}, Headcount: 10,
	}, op(3))
	if err != nil {
		t.Fatal(err)
	}
	if wg2, err = s.Cancel(wg2.ID, op(4)); err != nil {
		t.Fatal(err)
	}
	leaders, err := s.Propose(schedule.MeetingSpec{
		Title: "Leaders' meeting", Talks: "caspia-talks", Level: schedule.LevelLeaders,
		Room: "Hall of Independence", Start: local("2026-12-01T10:00"), End: local("2026-12-01T13:00"),
		Languages: []string{"en", "fr", "ru"}, Delegations: []string{"Caspia", "Arden", "Borealia"}, Headcount: 60,
	}, op(5))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{"Arden", "Borealia"} {
		seed := make([]byte, ed25519.SeedSize)
		copy(seed, d)
		key := ed25519.NewKeyFromSeed(seed)
		st, sig, err := schedule.SignReadiness(key, schedule.Readiness{Talks: "caspia-talks", Meeting: leaders.ID,
			Level: schedule.LevelLeaders, Delegation: d, Time: at.Add(time.Duration(6+i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignalReadiness(st, sig, key.Public().(ed25519.PublicKey), op(6+i)); err != nil {
			t.Fatal(err)
		}
	}
	if leaders, err = s.Confirm(leaders.ID, op(8)); err != nil {
		t.Fatal(err)
	}

	b, err := schedule.RenderICS(schedule.Feed{Name: "Arden", Domain: "venue.caspia.example", Zone: almaty, Own: berlin, Meetings: s.MeetingsFor("Arden")})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("go-ical: %v\n%s", err, b)
	}
	if v, _ := cal.Props.Text(ical.PropVersion); v != "2.0" {
		t.Errorf("VERSION %q", v)
	}
	var tzids []string
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			id, _ := c.Props.Text(ical.PropTimezoneID)
			tzids = append(tzids, id)
			if len(c.Children) == 0 {
				t.Error("VTIMEZONE without observances")
			}
		}
	}
	if strings.Join(tzids, ",") != "Asia/Almaty" {
		t.Errorf("VTIMEZONEs %v", tzids)
	}
	events := cal.Events()
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	want := map[string]struct {
		m      schedule.Meeting
		status ical.EventStatus
		seq    int
	}{
		wg1.ID + "@venue.caspia.example":     {wg1, ical.EventConfirmed, 2},
		wg2.ID + "@venue.caspia.example":     {wg2, ical.EventCancelled, 1},
		leaders.ID + "@venue.caspia.example": {leaders, ical.EventConfirmed, 1},
	}
	for _, e := range events {
		uid, _ := e.Props.Text(ical.PropUID)
		w, ok := want[uid]
		if !ok {
			t.Fatalf("unexpected UID %q", uid)
		}
		delete(want, uid)
		if st, err := e.Status(); err != nil || st != w.status {
			t.Errorf("%s: STATUS %v %v, want %v", uid, st, err, w.status)
		}
		if seq, err := e.Props.Get(ical.PropSequence).Int(); err != nil || seq != w.seq {
			t.Errorf("%s: SEQUENCE %d %v, want %d", uid, seq, err, w.seq)
		}
		if sum, _ := e.Props.Text(ical.PropSummary); sum != w.m.Title {
			t.Errorf("%s: SUMMARY %q, want %q", uid, sum, w.m.Title)
		}
		if loc, _ := e.Props.Text(ical.PropLocation); loc != w.m.Room {
			t.Errorf("%s: LOCATION %q, want %q", uid, loc, w.m.Room)
		}
		start, err1 := e.DateTimeStart(nil)
		end, err2 := e.DateTimeEnd(nil)
		if err1 != nil || err2 != nil || !start.Equal(w.m.Start) || !end.Equal(w.m.End) {
			t.Errorf("%s: %v–%v (%v %v), want %v–%v", uid, start, end, err1, err2, w.m.Start, w.m.End)
		}
		if start.Location().String() != "Asia/Almaty" {
			t.Errorf("%s: start read in zone %s", uid, start.Location())
		}
		desc, _ := e.Props.Text(ical.PropDescription)
		if !strings.Contains(desc, "Your time: "+schedule.FormatSpan(w.m.Start, w.m.End, berlin)) {
			t.Errorf("%s: description without the delegate's zone:\n%s", uid, desc)
		}
	}
	if mv := want; len(mv) != 0 {
		t.Errorf("events missing: %v", mv)
	}
	// go-ical writes back what it read; our strictness survives its round trip.
	var out bytes.Buffer
	if err := ical.NewEncoder(&out).Encode(cal); err != nil {
		t.Fatalf("go-ical re-encode: %v", err)
	}
}
