package schedule

import (
	"errors"
	"os"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func lt(t testing.TB, s string) LocalTime {
	t.Helper()
	v, err := ParseLocalTime(s)
	if err != nil {
		t.Fatalf("ParseLocalTime(%q): %v", s, err)
	}
	return v
}

func TestParseLocalTime(t *testing.T) {
	good := map[string]LocalTime{
		"2026-11-23T09:30": {2026, time.November, 23, 9, 30},
		"2028-02-29T00:00": {2028, time.February, 29, 0, 0},
		"1900-01-01T23:59": {1900, time.January, 1, 23, 59},
	}
	for s, want := range good {
		got, err := ParseLocalTime(s)
		if err != nil || got != want {
			t.Errorf("ParseLocalTime(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("String() = %q, want %q", got.String(), s)
		}
	}
	bad := []string{
		"", "2026-11-23", "2026-11-23 09:30", "2026-11-23T9:30", "2026-11-23T09:30:00",
		"2026-11-23T24:00", "2026-02-29T10:00", "2026-13-01T10:00", "2026-00-10T10:00",
		"2026-11-00T10:00", "2026-11-23T09:60", "+026-11-23T09:30", "2026-11-23T09:30Z",
		"0999-11-23T09:30", "２026-11-23T09:30", "2026-11-31T10:00",
	}
	for _, s := range bad {
		if v, err := ParseLocalTime(s); err == nil || !errors.Is(err, ErrBadLocalTime) {
			t.Errorf("ParseLocalTime(%q) = %v, %v; want ErrBadLocalTime", s, v, err)
		}
	}
}

func TestResolveLocal(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	almaty := mustZone(t, "Asia/Almaty")
	newYork := mustZone(t, "America/New_York")
	lordHowe := mustZone(t, "Australia/Lord_Howe") // half-hour DST
	for _, tc := range []struct {
		zone *time.Location
		in   string
		want string // RFC 3339, or "" with err
		err  error
	}{
		{almaty, "2026-11-23T09:30", "2026-11-23T04:30:00Z", nil},
		{almaty, "2026-03-29T02:30", "2026-03-28T21:30:00Z", nil}, // no DST in Almaty
		// Almaty moved from +06 to +05 at 2024-03-01 00:00: 23:00–24:00
		// on 29 February 2024 happened twice.
		{almaty, "2024-02-29T23:30", "", ErrAmbiguousTime},
		{almaty, "2024-02-29T22:59", "2024-02-29T16:59:00Z", nil},
		{almaty, "2024-03-01T00:00", "2024-02-29T19:00:00Z", nil},
		{berlin, "2026-03-29T01:59", "2026-03-29T00:59:00Z", nil},
		{berlin, "2026-03-29T02:00", "", ErrNonexistentTime},
		{berlin, "2026-03-29T02:30", "", ErrNonexistentTime},
		{berlin, "2026-03-29T03:00", "2026-03-29T01:00:00Z", nil},
		{berlin, "2026-10-25T01:59", "2026-10-24T23:59:00Z", nil},
		{berlin, "2026-10-25T02:00", "", ErrAmbiguousTime},
		{berlin, "2026-10-25T02:59", "", ErrAmbiguousTime},
		{berlin, "2026-10-25T03:00", "2026-10-25T02:00:00Z", nil},
		{newYork, "2026-03-08T02:15", "", ErrNonexistentTime},
		{newYork, "2026-11-01T01:30", "", ErrAmbiguousTime},
		{lordHowe, "2026-10-04T02:15", "", ErrNonexistentTime},
		{lordHowe, "2026-04-05T01:45", "", ErrAmbiguousTime},
		{time.UTC, "2026-03-29T02:30", "2026-03-29T02:30:00Z", nil},
	} {
		got, err := ResolveLocal(lt(t, tc.in), tc.zone)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s in %s: got %v, %v; want %v", tc.in, tc.zone, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("%s in %s: got %v, %v; want %s", tc.in, tc.zone, got.UTC(), err, tc.want)
		}
	}
}

// Every minute of a DST year in Berlin either resolves to an instant whose
// wall clock is that minute, or is refused as nonexistent or ambiguous
// exactly in the hour of the transitions.
func TestResolveLocalWholeYear(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	var gaps, dups int
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.Add(15 * time.Minute) {
		l := LocalTime{d.Year(), d.Month(), d.Day(), d.Hour(), d.Minute()}
		got, err := ResolveLocal(l, berlin)
		switch {
		case errors.Is(err, ErrNonexistentTime):
			gaps++
		case errors.Is(err, ErrAmbiguousTime):
			dups++
		case err != nil:
			t.Fatalf("%v: %v", l, err)
		case LocalOf(got, berlin) != l:
			t.Fatalf("%v resolved to %v", l, got)
		}
	}
	if gaps != 4 || dups != 4 {
		t.Errorf("got %d nonexistent and %d ambiguous quarter hours, want 4 and 4", gaps, dups)
	}
}

func TestOpeningHours(t *testing.T) {
	almaty := mustZone(t, "Asia/Almaty")
	h := OpeningHours{Open: 9 * 60, Close: 18 * 60, Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
	at := func(s string) time.Time {
		v, err := ResolveLocal(lt(t, s), almaty)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		start, end string
		ok         bool
	}{
		{"2026-11-23T09:00", "2026-11-23T18:00", true},  // Monday, full day
		{"2026-11-23T08:59", "2026-11-23T10:00", false}, // too early
		{"2026-11-23T17:00", "2026-11-23T18:01", false}, // too late
		{"2026-11-22T10:00", "2026-11-22T11:00", false}, // Sunday
		{"2026-11-23T17:00", "2026-11-24T10:00", false}, // over night
	} {
		if got := h.within(at(tc.start), at(tc.end), almaty); got != tc.ok {
			t.Errorf("%s–%s: within = %v, want %v", tc.start, tc.end, got, tc.ok)
		}
	}
	allDay := OpeningHours{Open: 0, Close: 24 * 60}
	if !allDay.within(at("2026-11-23T20:00"), at("2026-11-24T00:00"), almaty) {
		t.Error("a meeting ending at midnight is within 00:00–24:00")
	}
	if allDay.within(at("2026-11-23T20:00"), at("2026-11-24T00:30"), almaty) {
		t.Error("a meeting past midnight is not within one day")
	}
	for _, bad := range []OpeningHours{{Open: 600, Close: 600}, {Open: 700, Close: 600}, {Open: 0, Close: 1441}, {Open: 1, Close: 2, Days: []time.Weekday{7}}} {
		if bad.validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	for s, want := range map[string]Clock{"00:00": 0, "09:30": 570, "24:00": 1440} {
		if c, err := ParseClock(s); err != nil || c != want || c.String() != s {
			t.Errorf("ParseClock(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"24:01", "9:30", "09:60", "25:00", "0930", "ab:cd"} {
		if _, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) succeeded", s)
		}
	}
}

func FuzzParseLocalTime(f *testing.F) {
	for _, s := range []string{"2026-11-23T09:30", "2026-02-29T10:00", "2026-03-29T02:30", "x", "9999-12-31T23:59"} {
		f.Add(s)
	}
	berlin := mustZone(f, "Europe/Berlin")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseLocalTime(s)
		if err != nil {
			return
		}
		if v.String() != s {
			t.Fatalf("ParseLocalTime(%q) round-trips to %q", s, v.String())
		}
		if got, err := ResolveLocal(v, berlin); err == nil && LocalOf(got, berlin) != v {
			t.Fatalf("%v resolved to %v", v, got)
		}
	})
}

func TestMachineZone(t *testing.T) {
	none := func(string) (string, error) { return "", os.ErrNotExist }
	noFile := func(string) ([]byte, error) { return nil, os.ErrNotExist }
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, c := range []struct {
		name string
		tz   string
		link func(string) (string, error)
		file func(string) ([]byte, error)
		want string
	}{
		{"TZ", "Europe/Paris", none, noFile, "Europe/Paris"},
		{"TZ with colon", ":Asia/Almaty", none, noFile, "Asia/Almaty"},
		{"bad TZ, link", "Mars/Olympus", func(string) (string, error) { return "/usr/share/zoneinfo/America/New_York", nil }, noFile, "America/New_York"},
		{"file", "", none, func(string) ([]byte, error) { return []byte("Europe/Kyiv\n"), nil }, "Europe/Kyiv"},
		{"nothing", "", none, noFile, "UTC"},
	} {
		if got := machineZone(env(c.tz), c.link, c.file); got != c.want {
			t.Errorf("%s: MachineZone = %q, want %q", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"", "Local", "../etc/passwd", "/etc/localtime", "Mars/Olympus"} {
		if _, err := LoadZone(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("LoadZone(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSetZoneKeptInState(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st.Zone != "" {
		t.Fatalf("zone stored before it was set: %q", st.Zone)
	}
	paris, _ := LoadZone("Europe/Paris")
	if err := s.SetZone(paris); err != nil {
		t.Fatal(err)
	}
	if err := s.SetZone(time.Local); err == nil {
		t.Fatal("SetZone(time.Local) accepted")
	}
	st := s.State()
	if st.Zone != "Europe/Paris" {
		t.Fatalf("State().Zone = %q", st.Zone)
	}
	r, err := Restore(Config{}, st)
	if err != nil || r.Location().String() != "Europe/Paris" {
		t.Fatalf("Restore: %v, zone %v", err, r.Location())
	}
}
