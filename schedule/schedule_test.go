package schedule

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)

func op(min int, override ...ConflictKind) Op {
	return Op{Actor: "host", At: t0.Add(time.Duration(min) * time.Minute), Override: override}
}

// caspia returns a schedule with the scenario's rooms, in Asia/Almaty.
func caspia(t testing.TB) *Schedule {
	t.Helper()
	s, err := New(Config{Zone: mustZone(t, "Asia/Almaty"), Host: "Caspia"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Room{
		{Name: "Hall of Independence", Capacity: 120, Booths: []string{"EN", "fr", "ru"}, Equipment: []string{"podium", "recording"}},
		{Name: "Room A", Capacity: 20},
		{Name: "Room B", Capacity: 20},
		{Name: "Library", Capacity: 8},
	} {
		if err := s.AddRoom(r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func expertRound(t testing.TB) MeetingSpec {
	return MeetingSpec{
		Title: "Working group 1: ceasefire (expert round)", Talks: "caspia-talks", Channel: "wg1",
		Level: LevelExpert, Room: "Room A", Start: lt(t, "2026-11-23T09:30"), End: lt(t, "2026-11-23T12:30"),
		Languages: []string{"en", "ru"}, Interpretation: Consecutive,
		Delegations: []string{"Arden", "Borealia"}, Headcount: 10,
	}
}

func conflictKinds(t *testing.T, err error) []ConflictKind {
	t.Helper()
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ConflictError, got %v", err)
	}
	return ce.Kinds()
}

func TestRooms(t *testing.T) {
	s := caspia(t)
	r, err := s.Room("Hall of Independence")
	if err != nil || !slices.Equal(r.Booths, []string{"en", "fr", "ru"}) {
		t.Fatalf("booths not normalized: %+v %v", r, err)
	}
	if err := s.AddRoom(Room{Name: "room a", Capacity: 3}); !errors.Is(err, ErrRoomExists) {
		t.Errorf("duplicate room (case-insensitive): %v", err)
	}
	for _, bad := range []Room{
		{Name: "", Capacity: 3}, {Name: "X", Capacity: 0}, {Name: "X", Capacity: -1},
		{Name: "X\n", Capacity: 3}, {Name: " X", Capacity: 3}, {Name: "X", Capacity: 3, Booths: []string{"english"}},
		{Name: "X", Capacity: 3, Booths: []string{"en", "EN"}}, {Name: strings.Repeat("x", MaxNameLen+1), Capacity: 1},
		{Name: "X\u2028Y", Capacity: 3}, {Name: "X", Capacity: 3, Equipment: []string{""}},
	} {
		if err := s.AddRoom(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddRoom(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if len(s.Rooms()) != 4 {
		t.Errorf("bad rooms were added: %v", s.Rooms())
	}
	m, err := s.Propose(expertRound(t), op(0))
	if err != nil {
		t.Fatal(err)
	}
	if free, _ := s.Free("Room A", m.Start, m.End); free {
		t.Error("Room A is booked but reported free")
	}
	if free, _ := s.Free("Room B", m.Start, m.End); !free {
		t.Error("Room B is free but reported booked")
	}
	if err := s.RemoveRoom("Room A"); !errors.Is(err, ErrRoomInUse) {
		t.Errorf("removing a booked room: %v", err)
	}
	// Shrinking Room A below the meeting's headcount is a capacity conflict.
	err = s.UpdateRoom(Room{Name: "Room A", Capacity: 5}, nil)
	if k := conflictKinds(t, err); !slices.Equal(k, []ConflictKind{ConflictCapacity}) {
		t.Errorf("kinds %v", k)
	}
	if r, _ := s.Room("Room A"); r.Capacity != 20 {
		t.Errorf("refused update changed the room: %+v", r)
	}
	if err := s.UpdateRoom(Room{Name: "Room A", Capacity: 5}, []ConflictKind{ConflictCapacity}); err != nil {
		t.Errorf("overridden update: %v", err)
	}
	if err := s.RemoveRoom("Library"); err != nil {
		t.Error(err)
	}
	if _, err := s.Room("Library"); !errors.Is(err, ErrUnknownRoom) {
		t.Error("removed room still there")
	}
}

func TestProposeValidation(t *testing.T) {
	s := caspia(t)
	mod := func(f func(*MeetingSpec)) MeetingSpec {
		sp := expertRound(t)
		f(&sp)
		return sp
	}
	berlinSchedule, err := New(Config{Zone: mustZone(t, "Europe/Berlin"), Hours: OpeningHours{Open: 0, Close: 24 * 60}})
	if err != nil {
		t.Fatal(err)
	}
	berlinSchedule.AddRoom(Room{Name: "Room A", Capacity: 20})
	for name, tc := range map[string]struct {
		s    *Schedule
		spec MeetingSpec
		want error
	}{
		"end before start": {s, mod(func(m *MeetingSpec) { m.End = lt(t, "2026-11-23T09:00") }), ErrInvalid},
		"end equals start": {s, mod(func(m *MeetingSpec) { m.End = m.Start }), ErrInvalid},
		"unknown room":     {s, mod(func(m *MeetingSpec) { m.Room = "Ballroom" }), ErrUnknownRoom},
		"no room":          {s, mod(func(m *MeetingSpec) { m.Room = "" }), ErrInvalid},
		"unknown level":    {s, mod(func(m *MeetingSpec) { m.Level = "summit" }), ErrInvalid},
		"empty title":      {s, mod(func(m *MeetingSpec) { m.Title = "" }), ErrInvalid},
		"no delegations":   {s, mod(func(m *MeetingSpec) { m.Delegations = nil }), ErrInvalid},
		"dup delegation":   {s, mod(func(m *MeetingSpec) { m.Delegations = []string{"Arden", "Arden"} }), ErrInvalid},
		"zero headcount":   {s, mod(func(m *MeetingSpec) { m.Headcount = 0 }), ErrInvalid},
		"bad language":     {s, mod(func(m *MeetingSpec) { m.Languages = []string{"e1"} }), ErrInvalid},
		"bad mode":         {s, mod(func(m *MeetingSpec) { m.Interpretation = "telepathic" }), ErrInvalid},
		"mode w/o langs":   {s, mod(func(m *MeetingSpec) { m.Languages = nil }), ErrInvalid},
		"no start":         {s, mod(func(m *MeetingSpec) { m.Start = LocalTime{} }), ErrInvalid},
		"bad ID":           {s, mod(func(m *MeetingSpec) { m.ID = "M/1" }), ErrInvalid},
		"too long":         {s, mod(func(m *MeetingSpec) { m.End = lt(t, "2026-11-25T12:30") }), ErrInvalid},
		"Berlin gap": {berlinSchedule, mod(func(m *MeetingSpec) {
			m.Start, m.End = lt(t, "2026-03-29T02:30"), lt(t, "2026-03-29T04:00")
		}), ErrNonexistentTime},
		"Berlin overlap": {berlinSchedule, mod(func(m *MeetingSpec) {
			m.Start, m.End = lt(t, "2026-10-25T00:30"), lt(t, "2026-10-25T02:30")
		}), ErrAmbiguousTime},
		"Almaty overlap": {s, mod(func(m *MeetingSpec) {
			m.Start, m.End = lt(t, "2024-02-29T23:30"), lt(t, "2024-03-01T01:00")
		}), ErrAmbiguousTime},
	} {
		_, err := tc.s.Propose(tc.spec, op(0, ConflictKinds...))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if len(s.Meetings())+len(berlinSchedule.Meetings()) != 0 {
		t.Error("a refused meeting was saved")
	}
	if _, err := s.Propose(expertRound(t), Op{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("operation without time: %v", err)
	}
	if _, err := s.Propose(expertRound(t), Op{At: t0, Override: []ConflictKind{"everything"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown override: %v", err)
	}
}

// A DST schedule accepts the unambiguous hour around the transitions and
// measures durations in real time.
func TestBerlinMeetingAcrossTransition(t *testing.T) {
	s, err := New(Config{Zone: mustZone(t, "Europe/Berlin"), Hours: OpeningHours{Open: 0, Close: 24 * 60}})
	if err != nil {
		t.Fatal(err)
	}
	s.AddRoom(Room{Name: "Saal", Capacity: 20})
	sp := MeetingSpec{Title: "Night session", Talks: "t", Level: LevelExpert, Room: "Saal",
		Start: lt(t, "2026-10-25T01:00"), End: lt(t, "2026-10-25T04:00"), Delegations: []string{"A"}, Headcount: 2}
	m, err := s.Propose(sp, op(0))
	if err != nil {
		t.Fatal(err)
	}
	if d := m.End.Sub(m.Start); d != 4*time.Hour {
		t.Errorf("01:00–04:00 on the night clocks go back lasts %v, want 4h", d)
	}
}

func TestConflictRules(t *testing.T) {
	type tc struct {
		name   string
		before []MeetingSpec // proposed first, successfully
		spec   MeetingSpec
		want   []ConflictKind
	}
	base := expertRound(t)
	with := func(f func(*MeetingSpec)) MeetingSpec {
		sp := expertRound(t)
		sp.Languages = slices.Clone(sp.Languages)
		f(&sp)
		return sp
	}
	cases := []tc{
		{name: "room double-booked", before: []MeetingSpec{base}, spec: with(func(m *MeetingSpec) {
			m.Delegations = []string{"Gamma"}
			m.Start, m.End = lt(t, "2026-11-23T12:00"), lt(t, "2026-11-23T13:00")
		}), want: []ConflictKind{ConflictRoomBooked}},
		{name: "delegation in two meetings", before: []MeetingSpec{base}, spec: with(func(m *MeetingSpec) {
			m.Room, m.Delegations = "Room B", []string{"Borealia", "Gamma"}
			m.Start, m.End = lt(t, "2026-11-23T11:00"), lt(t, "2026-11-23T14:00")
		}), want: []ConflictKind{ConflictDelegationBusy}},
		{name: "headcount over capacity", spec: with(func(m *MeetingSpec) { m.Headcount = 21 }),
			want: []ConflictKind{ConflictCapacity}},
		{name: "language without booth", spec: with(func(m *MeetingSpec) { m.Interpretation = Simultaneous }),
			want: []ConflictKind{ConflictNoBooth}},
		{name: "one booth missing", spec: with(func(m *MeetingSpec) {
			m.Room, m.Languages, m.Interpretation = "Hall of Independence", []string{"en", "de"}, ""
		}), want: []ConflictKind{ConflictNoBooth}},
		{name: "before opening", spec: with(func(m *MeetingSpec) { m.Start = lt(t, "2026-11-23T07:30") }),
			want: []ConflictKind{ConflictOutsideHours}},
		{name: "after closing", spec: with(func(m *MeetingSpec) { m.End = lt(t, "2026-11-23T20:30") }),
			want: []ConflictKind{ConflictOutsideHours}},
		{name: "everything at once", before: []MeetingSpec{base}, spec: with(func(m *MeetingSpec) {
			m.Room, m.Headcount, m.Languages, m.Interpretation = "Library", 9, []string{"fr"}, Simultaneous
			m.Start, m.End = lt(t, "2026-11-23T07:00"), lt(t, "2026-11-23T10:00")
		}), want: []ConflictKind{ConflictOutsideHours, ConflictCapacity, ConflictNoBooth, ConflictDelegationBusy}},
		{name: "back to back is fine", before: []MeetingSpec{base}, spec: with(func(m *MeetingSpec) {
			m.Start, m.End = lt(t, "2026-11-23T12:30"), lt(t, "2026-11-23T13:30")
		})},
		{name: "cancelled meeting frees room", before: []MeetingSpec{base}, spec: base},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := caspia(t)
			for _, b := range c.before {
				m, err := s.Propose(b, op(0))
				if err != nil {
					t.Fatal(err)
				}
				if c.name == "cancelled meeting frees room" {
					if _, err := s.Cancel(m.ID, op(1)); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := s.State()
			m, err := s.Propose(c.spec, op(2))
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			got := conflictKinds(t, err)
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("conflicts %v, want %v (%v)", got, want, err)
			}
			t.Logf("refused: %v", err)
			if after := s.State(); len(after.Meetings) != len(before.Meetings) {
				t.Fatal("refused meeting was saved")
			}
			// Overriding all but one kind still refuses.
			if len(c.want) > 1 {
				if _, err := s.Propose(c.spec, op(3, c.want[1:]...)); err == nil {
					t.Fatal("partial override accepted")
				}
			}
			// Overriding every kind accepts, and records the overrides.
			m, err = s.Propose(c.spec, Op{Actor: "host", At: t0, Override: c.want, Note: "host accepts"})
			if err != nil {
				t.Fatalf("overridden: %v", err)
			}
			got = slices.Clone(m.Overrides)
			slices.Sort(got)
			if !slices.Equal(got, want) || !slices.Equal(m.History[0].Overrides, m.Overrides) {
				t.Errorf("overrides recorded %v, history %v; want %v", m.Overrides, m.History[0].Overrides, want)
			}
		})
	}
}

func TestHostDelegationIsNeverBusy(t *testing.T) {
	s := caspia(t)
	a := expertRound(t)
	a.Delegations = []string{"Caspia", "Arden"}
	if _, err := s.Propose(a, op(0)); err != nil {
		t.Fatal(err)
	}
	b := expertRound(t)
	b.Room, b.Delegations = "Room B", []string{"Caspia", "Borealia"}
	if _, err := s.Propose(b, op(1)); err != nil {
		t.Fatalf("the host staffs parallel meetings: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	s := caspia(t)
	m, err := s.Propose(expertRound(t), op(0))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusDraft || m.Sequence != 0 || !strings.HasPrefix(m.ID, "m-") || len(m.ID) != 18 {
		t.Fatalf("proposed: %+v", m)
	}
	if m.Start.In(s.Location()).Format("15:04 MST") != "09:30 +05" {
		t.Errorf("start %v", m.Start)
	}
	if m, err = s.Confirm(m.ID, op(1)); err != nil || m.Status != StatusConfirmed || m.Sequence != 1 {
		t.Fatalf("confirm: %+v %v", m, err)
	}
	if _, err := s.Confirm(m.ID, op(2)); !errors.Is(err, ErrTransition) {
		t.Errorf("confirming twice: %v", err)
	}
	// A title change of a confirmed meeting keeps it confirmed.
	sp := SpecOf(m, s.Location())
	sp.Title = "WG1: ceasefire and separation of forces"
	if m, err = s.Update(m.ID, sp, op(3)); err != nil || m.Status != StatusConfirmed || m.Sequence != 2 {
		t.Fatalf("update: %+v %v", m, err)
	}
	// An update that changes nothing is no revision.
	if m2, err := s.Update(m.ID, sp, op(4)); err != nil || m2.Sequence != 2 || len(m2.History) != 3 {
		t.Fatalf("no-op update: %+v %v", m2, err)
	}
	// Moving it makes it moved; a second move keeps it moved.
	if m, err = s.Move(m.ID, "Room B", lt(t, "2026-11-23T14:00"), lt(t, "2026-11-23T17:00"), op(5)); err != nil ||
		m.Status != StatusMoved || m.Sequence != 3 || m.Room != "Room B" {
		t.Fatalf("move: %+v %v", m, err)
	}
	if m, err = s.Move(m.ID, "", lt(t, "2026-11-23T15:00"), lt(t, "2026-11-23T18:00"), op(6)); err != nil ||
		m.Status != StatusMoved || m.Room != "Room B" || m.Sequence != 4 {
		t.Fatalf("second move: %+v %v", m, err)
	}
	if _, err := s.Move(m.ID, "Nowhere", lt(t, "2026-11-23T15:00"), lt(t, "2026-11-23T18:00"), op(7)); !errors.Is(err, ErrUnknownRoom) {
		t.Fatalf("move to an unknown room: %v", err)
	}
	if _, err := s.Move(m.ID, "", lt(t, "2026-11-23T15:00"), lt(t, "2026-11-23T14:00"), op(7)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("move to end before start: %v", err)
	}
	if m, err = s.Cancel(m.ID, Op{Actor: "host", At: t0.Add(8 * time.Minute), Note: "postponed"}); err != nil ||
		m.Status != StatusCancelled || m.Sequence != 5 {
		t.Fatalf("cancel: %+v %v", m, err)
	}
	for name, err := range map[string]error{
		"cancel twice":      func() error { _, err := s.Cancel(m.ID, op(9)); return err }(),
		"confirm cancelled": func() error { _, err := s.Confirm(m.ID, op(9)); return err }(),
		"update cancelled":  func() error { _, err := s.Update(m.ID, sp, op(9)); return err }(),
	} {
		if !errors.Is(err, ErrTransition) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var actions []string
	for i, c := range m.History {
		actions = append(actions, c.Action+"/"+string(c.Status))
		if c.Sequence != i {
			t.Errorf("history %d has sequence %d", i, c.Sequence)
		}
	}
	want := "proposed/draft confirmed/confirmed updated/confirmed moved/moved moved/moved cancelled/cancelled"
	if strings.Join(actions, " ") != want {
		t.Errorf("history %s\nwant    %s", strings.Join(actions, " "), want)
	}
	if f := m.History[3].Fields; !slices.Equal(f, []string{"room", "start", "end"}) {
		t.Errorf("move fields %v", f)
	}
	if m.History[5].Note != "postponed" || m.History[5].Actor != "host" {
		t.Errorf("cancel entry %+v", m.History[5])
	}
	if _, err := s.Confirm("m-nonexistent", op(9)); !errors.Is(err, ErrUnknownMeeting) {
		t.Errorf("unknown meeting: %v", err)
	}
}

// Overrides stay with a meeting while it stays put and must be given again
// when it moves.
func TestOverridesAndMoves(t *testing.T) {
	s := caspia(t)
	sp := expertRound(t)
	sp.Headcount = 25
	m, err := s.Propose(sp, op(0, ConflictCapacity))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(m.ID, op(1)); err != nil {
		t.Fatalf("confirm keeps the override: %v", err)
	}
	_, err = s.Move(m.ID, "", lt(t, "2026-11-23T13:00"), lt(t, "2026-11-23T15:00"), op(2))
	if k := conflictKinds(t, err); !slices.Equal(k, []ConflictKind{ConflictCapacity}) {
		t.Fatalf("kinds %v", k)
	}
	if got, _ := s.Meeting(m.ID); !got.Start.Equal(m.Start) || got.Status != StatusConfirmed {
		t.Fatal("a refused move changed the meeting")
	}
	if _, err := s.Move(m.ID, "Hall of Independence", lt(t, "2026-11-23T13:00"), lt(t, "2026-11-23T15:00"), op(2)); err != nil {
		t.Fatalf("move to a big room: %v", err)
	}
	// Another meeting cannot take the room of a moved one.
	other := expertRound(t)
	other.Room, other.Delegations = "Hall of Independence", []string{"Gamma"}
	other.Start, other.End = lt(t, "2026-11-23T14:00"), lt(t, "2026-11-23T16:00")
	if k := conflictKinds(t, func() error { _, err := s.Propose(other, op(3)); return err }()); !slices.Equal(k, []ConflictKind{ConflictRoomBooked}) {
		t.Fatalf("kinds %v", k)
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := caspia(t)
	m, err := s.Propose(expertRound(t), op(0))
	if err != nil {
		t.Fatal(err)
	}
	s.Confirm(m.ID, op(1))
	b, err := json.Marshal(s.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	s2, err := Restore(Config{Zone: s.Location(), Host: "Caspia"}, st)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(s2.State())
	if string(b) != string(b2) {
		t.Fatalf("state changed in a round trip:\n%s\n%s", b, b2)
	}
	// The restored schedule still enforces the rules.
	if _, err := s2.Propose(expertRound(t), op(2)); err == nil {
		t.Fatal("restored schedule accepted a double booking")
	}
	st.Meetings[0].Room = "Ballroom"
	if _, err := Restore(Config{Zone: s.Location()}, st); !errors.Is(err, ErrUnknownRoom) {
		t.Errorf("restore with unknown room: %v", err)
	}
	// Returned meetings are copies.
	got, _ := s.Meeting(m.ID)
	got.Delegations[0] = "Mallory"
	if again, _ := s.Meeting(m.ID); again.Delegations[0] != "Arden" {
		t.Error("caller mutated the schedule through a returned meeting")
	}
}

func TestMeetingsFor(t *testing.T) {
	s := caspia(t)
	a, _ := s.Propose(expertRound(t), op(0))
	sp := expertRound(t)
	sp.Room, sp.Delegations, sp.Headcount = "Library", []string{"Arden", "Gamma"}, 6
	sp.Start, sp.End = lt(t, "2026-11-23T14:00"), lt(t, "2026-11-23T15:00")
	b, err := s.Propose(sp, op(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Cancel(a.ID, op(2))
	ids := func(ms []Meeting) (out []string) {
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if got := ids(s.MeetingsFor("Arden")); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("Arden: %v", got)
	}
	if got := ids(s.MeetingsFor("Borealia")); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("Borealia: %v", got)
	}
	if got := s.MeetingsFor("Nobody"); len(got) != 0 {
		t.Errorf("Nobody: %v", got)
	}
}

func TestTimesFor(t *testing.T) {
	s := caspia(t)
	m, err := s.Propose(expertRound(t), op(0))
	if err != nil {
		t.Fatal(err)
	}
	tm := TimesFor(m, s.Location(), mustZone(t, "Europe/Berlin"))
	if tm.Venue != "Mon 23 Nov 2026 09:30–12:30 +05 (Asia/Almaty)" {
		t.Errorf("venue %q", tm.Venue)
	}
	if tm.Own != "Mon 23 Nov 2026 05:30–08:30 CET (Europe/Berlin)" {
		t.Errorf("own %q", tm.Own)
	}
	tm = TimesFor(m, s.Location(), mustZone(t, "America/Los_Angeles"))
	if tm.Own != "Sun 22 Nov 2026 20:30 PST – Sun 22 Nov 2026 23:30 PST (America/Los_Angeles)" &&
		tm.Own != "Sun 22 Nov 2026 20:30–23:30 PST (America/Los_Angeles)" {
		t.Errorf("own %q", tm.Own)
	}
	if got := FormatSpan(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), mustZone(t, "Europe/Berlin")); got != "Sun 25 Oct 2026 02:30 CEST–02:30 CET (Europe/Berlin)" {
		t.Errorf("span across fall back: %q", got)
	}
}

// keys returns deterministic Ed25519 keys for the heads.
func headKey(name string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, name)
	return ed25519.NewKeyFromSeed(seed)
}

func TestCheckSpec(t *testing.T) {
	s := caspia(t)
	m, err := s.Propose(expertRound(t), op(0))
	if err != nil {
		t.Fatal(err)
	}
	sp := expertRound(t)
	sp.Delegations = []string{"Gamma"}
	cs, err := s.CheckSpec(sp)
	if err != nil || len(cs) != 1 || cs[0].Kind != ConflictRoomBooked || cs[0].With != m.ID {
		t.Fatalf("dry run: %+v %v", cs, err)
	}
	// Checking the meeting's own spec (an update) leaves it out.
	if cs, err := s.CheckSpec(SpecOf(m, s.Location())); err != nil || len(cs) != 0 {
		t.Fatalf("own spec: %+v %v", cs, err)
	}
	sp.End = sp.Start
	if _, err := s.CheckSpec(sp); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad spec: %v", err)
	}
	if len(s.Meetings()) != 1 {
		t.Fatal("a dry run changed the schedule")
	}
}
