package schedule

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// scenarioSchedule plays the scenario's schedule: the expert round
// (confirmed, then moved), a second working group (cancelled) and the
// leaders' meeting (provisional, then confirmed after both heads signal).
func scenarioSchedule(t testing.TB) (*Schedule, map[string]Meeting) {
	s := caspia(t)
	ms := map[string]Meeting{}
	var err error
	if ms["wg1"], err = s.Propose(expertRound(t), op(0)); err != nil {
		t.Fatal(err)
	}
	if ms["wg1"], err = s.Confirm(ms["wg1"].ID, op(1)); err != nil {
		t.Fatal(err)
	}
	wg2 := expertRound(t)
	wg2.Title, wg2.Channel, wg2.Room = `Working group 2: humanitarian; detained, missing \ persons`, "wg2", "Room B"
	wg2.Start, wg2.End = lt(t, "2026-11-23T14:00"), lt(t, "2026-11-23T17:00")
	if ms["wg2"], err = s.Propose(wg2, op(2)); err != nil {
		t.Fatal(err)
	}
	if ms["wg2"], err = s.Cancel(ms["wg2"].ID, op(3)); err != nil {
		t.Fatal(err)
	}
	if ms["wg1"], err = s.Move(ms["wg1"].ID, "", lt(t, "2026-11-24T09:30"), lt(t, "2026-11-24T12:30"), op(4)); err != nil {
		t.Fatal(err)
	}
	if ms["leaders"], err = s.Propose(leadersMeeting(t), op(5)); err != nil {
		t.Fatal(err)
	}
	return s, ms
}

func render(t testing.TB, f Feed) ([]byte, []icsEvent, map[string]*icsZone) {
	t.Helper()
	b, err := RenderICS(f)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := parseICS(b)
	if err != nil {
		t.Fatalf("strict parse: %v\n%s", err, b)
	}
	evs, zones, err := checkCalendar(cal)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, b)
	}
	return b, evs, zones
}

func TestRenderICSScenario(t *testing.T) {
	s, ms := scenarioSchedule(t)
	berlin := mustZone(t, "Europe/Berlin")
	f := Feed{Name: "Arden — Caspia talks", Domain: "venue.caspia.example", Zone: s.Location(), Own: berlin, Meetings: s.MeetingsFor("Arden")}
	b, evs, zones := render(t, f)
	t.Logf("\n%s", b)
	if len(evs) != 3 || len(zones) != 1 || zones["Asia/Almaty"] == nil {
		t.Fatalf("%d events, zones %v", len(evs), zones)
	}
	byUID := map[string]icsEvent{}
	for _, e := range evs {
		byUID[e.UID] = e
	}
	for key, want := range map[string]struct {
		status string
		seq    int
	}{"wg1": {"CONFIRMED", 2}, "wg2": {"CANCELLED", 1}, "leaders": {"TENTATIVE", 0}} {
		m := ms[key]
		e, ok := byUID[m.ID+"@venue.caspia.example"]
		if !ok {
			t.Fatalf("no event for %s", key)
		}
		if e.Status != want.status || e.Sequence != want.seq {
			t.Errorf("%s: STATUS %s SEQUENCE %d, want %s %d", key, e.Status, e.Sequence, want.status, want.seq)
		}
		if !e.Start.Equal(m.Start) || !e.End.Equal(m.End) || e.TZID != "Asia/Almaty" {
			t.Errorf("%s: %v–%v via VTIMEZONE, want %v–%v", key, e.Start, e.End, m.Start, m.End)
		}
		if e.Summary != m.Title || e.Location != m.Room || !slices.Equal(e.Categories, []string{string(m.Level)}) {
			t.Errorf("%s: summary %q location %q categories %v", key, e.Summary, e.Location, e.Categories)
		}
		if !strings.Contains(e.Description, "Venue time: "+FormatSpan(m.Start, m.End, s.Location())) ||
			!strings.Contains(e.Description, "Your time: "+FormatSpan(m.Start, m.End, berlin)) {
			t.Errorf("%s: description lacks both zones:\n%s", key, e.Description)
		}
		if !e.Stamp.Equal(lastRevision(m)) {
			t.Errorf("%s: DTSTAMP %v, want %v", key, e.Stamp, lastRevision(m))
		}
	}
	if e := byUID[ms["wg1"].ID+"@venue.caspia.example"]; !strings.Contains(e.Description, "Your time: Tue 24 Nov 2026 05:30–08:30 CET (Europe/Berlin)") {
		t.Errorf("moved expert round in Berlin time:\n%s", e.Description)
	}
	// The same meetings render to the same bytes.
	again, err := RenderICS(f)
	if err != nil || !bytes.Equal(again, b) {
		t.Error("rendering is not deterministic")
	}
	// A readiness signal changes nothing a calendar shows.
	m := ms["leaders"]
	st, sig := signed(t, m, "Arden", t0.Add(6*time.Minute))
	if _, err := s.SignalReadiness(st, sig, pub("Arden"), op(6)); err != nil {
		t.Fatal(err)
	}
	f.Meetings = s.MeetingsFor("Arden")
	if after, _ := RenderICS(f); !bytes.Equal(after, b) {
		t.Error("a readiness signal changed the feed")
	}
	// Confirming changes STATUS and SEQUENCE, not the UID.
	st, sig = signed(t, m, "Borealia", t0.Add(7*time.Minute))
	if _, err := s.SignalReadiness(st, sig, pub("Borealia"), op(7)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(m.ID, op(8)); err != nil {
		t.Fatal(err)
	}
	f.Meetings = s.MeetingsFor("Arden")
	_, evs, _ = render(t, f)
	for _, e := range evs {
		if e.UID == m.ID+"@venue.caspia.example" && (e.Status != "CONFIRMED" || e.Sequence != 1) {
			t.Errorf("confirmed leaders' meeting: %+v", e)
		}
	}
}

// A venue in a DST zone gets STANDARD and DAYLIGHT observances that put
// winter and summer meetings at the right instants, read back through the
// VTIMEZONE alone.
func TestRenderICSVTimezoneDST(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Almaty", "Asia/Kolkata", "America/St_Johns"} {
		t.Run(zone, func(t *testing.T) {
			loc := mustZone(t, zone)
			s, err := New(Config{Zone: loc, Hours: OpeningHours{Open: 0, Close: 24 * 60}})
			if err != nil {
				t.Fatal(err)
			}
			s.AddRoom(Room{Name: "Room", Capacity: 10})
			var want []Meeting
			for i, day := range []string{"2026-01-15", "2026-04-15", "2026-07-15", "2026-10-15", "2027-02-15", "2027-06-30"} {
				m, err := s.Propose(MeetingSpec{Title: "Session " + day, Talks: "t", Level: LevelExpert, Room: "Room",
					Start: lt(t, day+"T09:00"), End: lt(t, day+"T11:30"), Delegations: []string{"A"}, Headcount: 2}, op(i))
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, m)
			}
			b, evs, zones := render(t, Feed{Zone: loc, Meetings: s.Meetings()})
			z := zones[zone]
			if z == nil {
				t.Fatalf("no VTIMEZONE %s", zone)
			}
			for i, e := range evs {
				if !e.Start.Equal(want[i].Start) || !e.End.Equal(want[i].End) {
					t.Errorf("event %d: %v–%v, want %v–%v", i, e.Start, e.End, want[i].Start, want[i].End)
				}
			}
			// Every hour of both years has the offset Go's zone data gives.
			for h := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); h.Year() < 2028; h = h.Add(time.Hour) {
				if _, off := h.In(loc).Zone(); z.offsetAt(h) != off {
					t.Fatalf("at %v the VTIMEZONE gives offset %d, Go %d", h, z.offsetAt(h), off)
				}
			}
			hasDST := slices.Contains(z.dst, true)
			if zone == "Europe/Berlin" && (!hasDST || !bytes.Contains(b, []byte("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT"))) {
				t.Errorf("Berlin's 2026 DAYLIGHT observance is missing:\n%s", b)
			}
			if zone == "Europe/Berlin" && !bytes.Contains(b, []byte("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD")) {
				t.Errorf("Berlin's 2026 STANDARD observance is missing:\n%s", b)
			}
			if zone == "Asia/Almaty" && !bytes.Contains(b, []byte("BEGIN:STANDARD\r\nDTSTART:20240301T000000\r\nTZOFFSETFROM:+0600\r\nTZOFFSETTO:+0500\r\n")) {
				t.Errorf("Almaty's observance since 1 March 2024 is missing:\n%s", b)
			}
		})
	}
}

func TestRenderICSUTCVenue(t *testing.T) {
	s, err := New(Config{Zone: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	s.AddRoom(Room{Name: "Room", Capacity: 10})
	m, err := s.Propose(MeetingSpec{Title: "x", Talks: "t", Level: LevelExpert, Room: "Room",
		Start: lt(t, "2026-11-23T09:00"), End: lt(t, "2026-11-23T10:00"), Delegations: []string{"A"}, Headcount: 2}, op(0))
	if err != nil {
		t.Fatal(err)
	}
	b, evs, zones := render(t, Feed{Zone: time.UTC, Meetings: []Meeting{m}})
	if len(zones) != 0 || !evs[0].Start.Equal(m.Start) || !bytes.Contains(b, []byte("DTSTART:20261123T090000Z\r\n")) {
		t.Errorf("UTC venue:\n%s", b)
	}
}

func TestRenderICSEmptyAndErrors(t *testing.T) {
	_, evs, zones := render(t, Feed{Zone: mustZone(t, "Asia/Almaty"), Name: "Nothing yet"})
	if len(evs) != 0 || len(zones) != 0 {
		t.Error("empty feed has content")
	}
	if _, err := RenderICS(Feed{}); err == nil {
		t.Error("feed without zone rendered")
	}
	if _, err := RenderICS(Feed{Zone: time.Local}); err == nil {
		t.Error("feed in zone Local rendered")
	}
	if _, err := RenderICS(Feed{Zone: time.UTC, Meetings: []Meeting{{ID: "m-1", Status: "weird", Start: t0, End: t0.Add(time.Hour)}}}); err == nil {
		t.Error("meeting with unknown status rendered")
	}
}

// Long titles in several scripts fold at 75 octets without splitting a
// character, and unfold to what was written.
func TestRenderICSFolding(t *testing.T) {
	s := caspia(t)
	titles := []string{
		strings.Repeat("Ceasefire, separation of forces; \\ exchange ", 6),
		strings.Repeat("Прекращение огня и разъединение сил — ", 5),
		strings.Repeat("停火与部队脱离接触", 12),
		strings.Repeat("🕊️🤝", 20),
		strings.Repeat("x", MaxNameLen),
	}
	for i, title := range titles {
		if len(title) > MaxNameLen {
			title = title[:MaxNameLen]
			for !utf8.ValidString(title) {
				title = title[:len(title)-1]
			}
			title = strings.TrimSpace(title)
		}
		sp := expertRound(t)
		sp.Title, sp.ID = title, "m-fold"+string(rune('a'+i))
		sp.Start, sp.End = lt(t, "2026-11-2"+string(rune('3'+i))+"T09:00"), lt(t, "2026-11-2"+string(rune('3'+i))+"T10:00")
		if _, err := s.Propose(sp, op(i)); err != nil {
			t.Fatal(err)
		}
	}
	b, evs, _ := render(t, Feed{Zone: s.Location(), Name: strings.Repeat("Calendar, of; the talks ", 5), Meetings: s.Meetings()})
	for i, e := range evs {
		m, _ := s.Meeting(strings.TrimSuffix(e.UID, "@"+DefaultDomain))
		if e.Summary != m.Title {
			t.Errorf("event %d: SUMMARY %q, want %q", i, e.Summary, m.Title)
		}
	}
	for _, l := range strings.Split(string(b), "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line of %d octets: %q", len(l), l)
		}
	}
}

// The test reader agrees with the RFC's own examples, so the checks above
// check what the RFC says.
func TestICSReaderOnRFCExamples(t *testing.T) {
	// RFC 5545 §3.1: a folded DESCRIPTION.
	p, err := parseICS([]byte("BEGIN:VCALENDAR\r\nDESCRIPTION:This is a lo\r\n ng description\r\n  that exists on a long line.\r\nEND:VCALENDAR\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := p.one("DESCRIPTION"); d.Value != "This is a long description that exists on a long line." {
		t.Errorf("unfolded %q", d.Value)
	}
	// RFC 5545 §3.3.11: escaped TEXT.
	v, err := unescapeText(`Project XYZ Final Review\nConference Room - 3B\nCome Prepared.`)
	if err != nil || v != "Project XYZ Final Review\nConference Room - 3B\nCome Prepared." {
		t.Errorf("unescaped %q, %v", v, err)
	}
	// RFC 5545 §3.2: parameters, quoted and listed.
	cl, err := parseContentLine(`ATTENDEE;DELEGATED-TO="mailto:jdoe@example.com","mailto:jqpublic@example.com":mailto:jsmith@example.com`)
	if err != nil || len(cl.Params["DELEGATED-TO"]) != 2 || cl.Value != "mailto:jsmith@example.com" {
		t.Errorf("parameters: %+v %v", cl, err)
	}
	// RFC 5545 §3.3.14: offsets.
	for s, want := range map[string]int{"-0500": -18000, "+0100": 3600, "+051048": 18648} {
		if got, err := parseUTCOffset(s); err != nil || got != want {
			t.Errorf("offset %s = %d, %v", s, got, err)
		}
	}
	for _, bad := range []string{
		"BEGIN:VCALENDAR\nEND:VCALENDAR\n",                                          // bare LF
		"BEGIN:VCALENDAR\r\nSUMMARY:a,b\r\nEND:VCALENDAR",                           // no final CRLF
		"BEGIN:VCALENDAR\r\nX:" + strings.Repeat("a", 74) + "\r\nEND:VCALENDAR\r\n", // 76 octets
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n",                      // bad nesting
		" BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",                                     // continuation first
		"BEGIN:VCALENDAR\r\nX;P=a\"b:c\r\nEND:VCALENDAR\r\n",                        // DQUOTE in paramtext
		"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nX:\xd0\r\n \x9f\r\nEND:VCALENDAR\r\n", // fold splits a character
	} {
		if _, err := parseICS([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	for _, bad := range []string{`a;b`, `a\`, `a\x`} {
		if _, err := unescapeText(bad); err == nil {
			t.Errorf("unescaped %q", bad)
		}
	}
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"a,b;c\\d\ne": `a\,b\;c\\d\ne`,
		"tab\there":   "tab\there",
		"bell\a":      "bell",
		"Ünïcödé":     "Ünïcödé",
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRenderICS renders meetings with arbitrary titles, rooms and feed
// names: whatever validation accepts must come out of the strict reader
// exactly as it went in.
func FuzzRenderICS(f *testing.F) {
	f.Add("Working group 1: ceasefire", "Room A", "Arden, delegation feed")
	f.Add(`a\,b;c\nd`, "Зал Независимости", "🕊️")
	f.Add(strings.Repeat("é", 100), "Library", strings.Repeat("x;", 80))
	loc := mustZone(f, "Europe/Berlin")
	f.Fuzz(func(t *testing.T, title, room, name string) {
		s, err := New(Config{Zone: loc, Hours: OpeningHours{Open: 0, Close: 24 * 60}})
		if err != nil {
			t.Fatal(err)
		}
		if s.AddRoom(Room{Name: room, Capacity: 10}) != nil {
			return
		}
		m, err := s.Propose(MeetingSpec{Title: title, Talks: "t", Level: LevelExpert, Room: room,
			Start: lt(t, "2026-07-01T09:00"), End: lt(t, "2026-07-01T10:00"), Delegations: []string{"A"}, Headcount: 1}, op(0))
		if err != nil {
			return
		}
		b, err := RenderICS(Feed{Zone: loc, Name: name, Meetings: []Meeting{m}})
		if err != nil {
			t.Fatal(err)
		}
		cal, err := parseICS(b)
		if err != nil {
			t.Fatalf("strict parse: %v\n%s", err, b)
		}
		evs, _, err := checkCalendar(cal)
		if err != nil {
			t.Fatalf("check: %v\n%s", err, b)
		}
		if len(evs) != 1 || evs[0].Summary != title || evs[0].Location != room || !evs[0].Start.Equal(m.Start) {
			t.Fatalf("round trip: %+v", evs)
		}
		if n, err := cal.one("NAME"); name != "" && err == nil {
			if got, err := unescapeText(n.Value); err != nil || got != escapeTextRoundTrip(name) {
				t.Fatalf("NAME %q -> %q, %v", name, got, err)
			}
		}
	})
}

// escapeTextRoundTrip is what a TEXT value reads back as after escapeText
// (control characters other than newline and tab are dropped).
func escapeTextRoundTrip(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\n' || r == '\t' || !(r < 0x20 || r == 0x7f || r == utf8.RuneError) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FuzzParseICS keeps the test reader itself from panicking on junk.
func FuzzParseICS(f *testing.F) {
	s, _ := scenarioSchedule(f)
	b, _ := RenderICS(Feed{Zone: s.Location(), Meetings: s.Meetings()})
	f.Add(b)
	f.Add([]byte("BEGIN:VCALENDAR\r\nX;A=\"b\",c:d\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cal, err := parseICS(in)
		if err == nil {
			checkCalendar(cal)
		}
	})
}
