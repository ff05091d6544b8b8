package schedule

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// ConflictKind names a scheduling rule. A conflict is refused unless the
// request overrides its kind explicitly.
type ConflictKind string

// The conflict rules.
const (
	// ConflictRoomBooked: the room holds another active meeting that
	// overlaps.
	ConflictRoomBooked ConflictKind = "room-booked"
	// ConflictDelegationBusy: an attending delegation is in another active
	// meeting that overlaps.
	ConflictDelegationBusy ConflictKind = "delegation-busy"
	// ConflictCapacity: the expected headcount exceeds the room's seats.
	ConflictCapacity ConflictKind = "capacity"
	// ConflictNoBooth: simultaneous interpretation into a language the
	// room has no booth for.
	ConflictNoBooth ConflictKind = "no-booth"
	// ConflictOutsideHours: the meeting is not within the venue's opening
	// hours on one open day.
	ConflictOutsideHours ConflictKind = "outside-hours"
)

// ConflictKinds lists every rule.
var ConflictKinds = []ConflictKind{ConflictRoomBooked, ConflictDelegationBusy, ConflictCapacity, ConflictNoBooth, ConflictOutsideHours}

// ParseConflictKind accepts a rule's name.
func ParseConflictKind(s string) (ConflictKind, error) {
	for _, k := range ConflictKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", invalidf("unknown conflict kind %q: want one of room-booked, delegation-busy, capacity, no-booth, outside-hours", truncate(s, 40))
}

// Conflict is one broken rule, with a reason a host can act on.
type Conflict struct {
	Kind   ConflictKind `json:"kind"`
	Reason string       `json:"reason"`
	// With is the other meeting's ID for room-booked and delegation-busy.
	With string `json:"with,omitempty"`
}

// ConflictError is returned when a request breaks rules it did not
// override. Nothing was changed.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	b.WriteString("refused: ")
	for i, c := range e.Conflicts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Reason)
		b.WriteString(" [" + string(c.Kind) + "]")
	}
	b.WriteString(" (override explicitly if intended)")
	return b.String()
}

// Kinds returns the kinds of the conflicts, without duplicates.
func (e *ConflictError) Kinds() []ConflictKind {
	var ks []ConflictKind
	for _, c := range e.Conflicts {
		if !slices.Contains(ks, c.Kind) {
			ks = append(ks, c.Kind)
		}
	}
	return ks
}

// NotReadyError is returned when a gated meeting is confirmed before every
// attending party's head has signalled readiness. It is not overridable.
type NotReadyError struct {
	Meeting string
	Missing []string // delegations that have not signalled readiness
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("meeting %s stays provisional: no readiness signal yet from the head of delegation of %s",
		e.Meeting, strings.Join(e.Missing, ", "))
}

// Sentinel errors of the schedule's operations.
var (
	ErrUnknownRoom    = errors.New("unknown room")
	ErrUnknownMeeting = errors.New("unknown meeting")
	ErrRoomExists     = errors.New("room already exists")
	ErrMeetingExists  = errors.New("meeting already exists")
	ErrRoomInUse      = errors.New("room has active meetings")
	// ErrTransition reports an operation the meeting's status does not
	// allow (confirming a cancelled meeting, moving it, …).
	ErrTransition = errors.New("not allowed in the meeting's status")
	// ErrNotAttending reports a readiness signal from a delegation that does
	// not attend the meeting, or from the host.
	ErrNotAttending = errors.New("delegation does not attend the meeting as a party")
)

// Config configures a schedule.
type Config struct {
	// Zone is the venue's time zone; nil loads DefaultZone (Asia/Almaty)
	// from the system's or Go's embedded time zone database.
	Zone *time.Location
	// Hours are the opening hours; the zero value means
	// DefaultOpeningHours.
	Hours OpeningHours
	// Host is the host's own delegation ID, if the host attends meetings:
	// it needs no readiness signal.
	Host string
	// MaxClockSkew bounds how far in the future (relative to the
	// operation's time) a readiness statement's time may be; zero means
	// five minutes.
	MaxClockSkew time.Duration
}

// Schedule holds the venue's rooms and meetings and enforces the rules on
// every change. It is a value in memory: the caller persists what the
// operations return (or State) and serializes access; a Schedule is not safe
// for concurrent use.
//
// Every operation either succeeds completely or returns an error and leaves
// the schedule as it was.
type Schedule struct {
	loc      *time.Location
	zoneSet  bool // the zone was set explicitly (SetZone or a restored State), so State keeps it
	hours    OpeningHours
	host     string
	skew     time.Duration
	rooms    map[string]Room
	meetings map[string]*Meeting
}

// New returns an empty schedule.
func New(cfg Config) (*Schedule, error) {
	if cfg.Zone == nil {
		loc, err := time.LoadLocation(DefaultZone)
		if err != nil {
			return nil, fmt.Errorf("failed to load time zone %s: %w", DefaultZone, err)
		}
		cfg.Zone = loc
	}
	if cfg.Hours.Open == 0 && cfg.Hours.Close == 0 && len(cfg.Hours.Days) == 0 {
		cfg.Hours = DefaultOpeningHours
	}
	if err := cfg.Hours.validate(); err != nil {
		return nil, err
	}
	if cfg.Host != "" {
		if err := checkName("host delegation", cfg.Host); err != nil {
			return nil, err
		}
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = 5 * time.Minute
	}
	return &Schedule{
		loc: cfg.Zone, hours: cfg.Hours, host: cfg.Host, skew: cfg.MaxClockSkew,
		rooms: map[string]Room{}, meetings: map[string]*Meeting{},
	}, nil
}

// Location returns the venue's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// SetZone makes loc the venue's time zone. Meetings keep their instants:
// only the wall-clock times shown in the venue's zone, and the opening
// hours (which are wall-clock times), move with it. From now on State
// records the zone, so that it outlives the configuration's default.
func (s *Schedule) SetZone(loc *time.Location) error {
	if loc == nil || loc.String() == "Local" || loc.String() == "" {
		return invalidf("the venue's time zone must be an IANA zone name such as Europe/Paris")
	}
	s.loc, s.zoneSet = loc, true
	return nil
}

// Hours returns the venue's opening hours.
func (s *Schedule) Hours() OpeningHours { return s.hours }

// State is everything a schedule holds, for persistence (it marshals to
// JSON). Restore rebuilds a schedule from it.
type State struct {
	// Zone is the venue's IANA time zone when it was set explicitly
	// (SetZone); empty means the configuration's.
	Zone     string    `json:"zone,omitempty"`
	Rooms    []Room    `json:"rooms"`
	Meetings []Meeting `json:"meetings"`
}

// State returns a deep copy of the schedule's rooms and meetings, sorted,
// and its zone if it was set explicitly.
func (s *Schedule) State() State {
	st := State{Rooms: s.Rooms(), Meetings: s.Meetings()}
	if s.zoneSet {
		st.Zone = s.loc.String()
	}
	return st
}

// Restore returns a schedule with the rooms and meetings of st, as saved
// earlier. It checks each room and meeting for well-formedness but does not
// re-apply the conflict rules (the saved schedule may hold overrides).
func Restore(cfg Config, st State) (*Schedule, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if st.Zone != "" {
		loc, err := LoadZone(st.Zone)
		if err != nil {
			return nil, fmt.Errorf("failed to restore schedule: %w", err)
		}
		s.loc, s.zoneSet = loc, true
	}
	for _, r := range st.Rooms {
		if err := s.AddRoom(r); err != nil {
			return nil, fmt.Errorf("failed to restore schedule: %w", err)
		}
	}
	for _, m := range st.Meetings {
		if err := s.checkStored(m); err != nil {
			return nil, fmt.Errorf("failed to restore schedule: meeting %q: %w", m.ID, err)
		}
		if _, dup := s.meetings[m.ID]; dup {
			return nil, fmt.Errorf("failed to restore schedule: %w: %q", ErrMeetingExists, m.ID)
		}
		c := m.Clone()
		s.meetings[m.ID] = &c
	}
	return s, nil
}

func (s *Schedule) checkStored(m Meeting) error {
	if err := checkID(m.ID); err != nil {
		return err
	}
	if _, ok := s.rooms[m.Room]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownRoom, m.Room)
	}
	switch m.Status {
	case StatusDraft, StatusProvisional, StatusConfirmed, StatusMoved, StatusCancelled:
	default:
		return invalidf("unknown status %q", m.Status)
	}
	if _, err := ParseLevel(string(m.Level)); err != nil {
		return invalidf("%v", err)
	}
	if !m.End.After(m.Start) {
		return invalidf("end is not after start")
	}
	return nil
}

// AddRoom adds a room.
func (s *Schedule) AddRoom(r Room) error {
	r, err := ValidateRoom(r)
	if err != nil {
		return err
	}
	for name := range s.rooms {
		if strings.EqualFold(name, r.Name) {
			return fmt.Errorf("%w: %q", ErrRoomExists, name)
		}
	}
	s.rooms[r.Name] = r.clone()
	return nil
}

// UpdateRoom replaces the room with r's name. If the change makes active
// meetings break the capacity or booth rule, it is refused with a
// ConflictError unless those kinds are overridden.
func (s *Schedule) UpdateRoom(r Room, override []ConflictKind) error {
	r, err := ValidateRoom(r)
	if err != nil {
		return err
	}
	old, ok := s.rooms[r.Name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownRoom, r.Name)
	}
	s.rooms[r.Name] = r
	var cs []Conflict
	for _, m := range s.sortedMeetings() {
		if !m.Status.Active() || m.Room != r.Name {
			continue
		}
		for _, c := range s.roomConflicts(m, r) {
			if !slices.Contains(override, c.Kind) {
				cs = append(cs, c)
			}
		}
	}
	if len(cs) > 0 {
		s.rooms[r.Name] = old
		return &ConflictError{Conflicts: cs}
	}
	s.rooms[r.Name] = r.clone()
	return nil
}

// RemoveRoom removes a room that no active meeting uses.
func (s *Schedule) RemoveRoom(name string) error {
	if _, ok := s.rooms[name]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownRoom, name)
	}
	for _, m := range s.sortedMeetings() {
		if m.Status.Active() && m.Room == name {
			return fmt.Errorf("%w: %q is booked for %s (%s)", ErrRoomInUse, name, m.ID, m.Title)
		}
	}
	delete(s.rooms, name)
	return nil
}

// Room returns the room with the given name.
func (s *Schedule) Room(name string) (Room, error) {
	r, ok := s.rooms[name]
	if !ok {
		return Room{}, fmt.Errorf("%w %q", ErrUnknownRoom, name)
	}
	return r.clone(), nil
}

// Rooms returns every room, sorted by name.
func (s *Schedule) Rooms() []Room {
	out := make([]Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Meeting returns the meeting with the given ID.
func (s *Schedule) Meeting(id string) (Meeting, error) {
	m, ok := s.meetings[id]
	if !ok {
		return Meeting{}, fmt.Errorf("%w %q", ErrUnknownMeeting, truncate(id, 64))
	}
	return m.Clone(), nil
}

// Meetings returns every meeting, cancelled ones included, by start time.
func (s *Schedule) Meetings() []Meeting {
	ms := s.sortedMeetings()
	out := make([]Meeting, len(ms))
	for i, m := range ms {
		out[i] = m.Clone()
	}
	return out
}

// MeetingsFor returns the meetings delegation d attends, cancelled ones
// included (a calendar must learn of the cancellation), by start time.
func (s *Schedule) MeetingsFor(d string) []Meeting {
	var out []Meeting
	for _, m := range s.sortedMeetings() {
		if m.Attends(d) {
			out = append(out, m.Clone())
		}
	}
	return out
}

// Free reports whether room is free of active meetings during [start, end).
func (s *Schedule) Free(room string, start, end time.Time) (bool, error) {
	if _, ok := s.rooms[room]; !ok {
		return false, fmt.Errorf("%w %q", ErrUnknownRoom, room)
	}
	for _, m := range s.meetings {
		if m.Status.Active() && m.Room == room && overlaps(m.Start, m.End, start, end) {
			return false, nil
		}
	}
	return true, nil
}

func (s *Schedule) sortedMeetings() []*Meeting {
	out := make([]*Meeting, 0, len(s.meetings))
	for _, m := range s.meetings {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// MeetingSpec is what the host asks for when proposing or updating a
// meeting. Start and End are wall-clock times of the venue.
type MeetingSpec struct {
	// ID is optional when proposing: empty asks for a fresh random ID.
	ID             string    `json:"id,omitempty"`
	Title          string    `json:"title"`
	Talks          string    `json:"talks"`
	Channel        string    `json:"channel,omitempty"`
	Level          Level     `json:"level"`
	Room           string    `json:"room"`
	Start          LocalTime `json:"start"`
	End            LocalTime `json:"end"`
	Languages      []string  `json:"languages,omitempty"`
	Interpretation string    `json:"interpretation,omitempty"`
	Delegations    []string  `json:"delegations"`
	Headcount      int       `json:"headcount"`
	Interpreters   []string  `json:"interpreters,omitempty"`
}

// SpecOf returns the spec that describes m as it stands, in zone loc.
func SpecOf(m Meeting, loc *time.Location) MeetingSpec {
	return MeetingSpec{
		ID: m.ID, Title: m.Title, Talks: m.Talks, Channel: m.Channel, Level: m.Level, Room: m.Room,
		Start: LocalOf(m.Start, loc), End: LocalOf(m.End, loc),
		Languages: slices.Clone(m.Languages), Interpretation: m.Interpretation,
		Delegations: slices.Clone(m.Delegations), Headcount: m.Headcount,
		Interpreters: slices.Clone(m.Interpreters),
	}
}

// Op describes who makes a change, when, and which conflicts they knowingly
// accept.
type Op struct {
	Actor string
	At    time.Time
	// Override lists conflict kinds to accept instead of refusing.
	Override []ConflictKind
	Note     string
}

func (op Op) check() error {
	if op.At.IsZero() {
		return invalidf("operation without a time")
	}
	if op.Actor != "" {
		if err := checkName("actor", op.Actor); err != nil {
			return err
		}
	}
	if len(op.Note) > MaxNoteLen {
		return invalidf("note longer than %d bytes", MaxNoteLen)
	}
	for _, k := range op.Override {
		if _, err := ParseConflictKind(string(k)); err != nil {
			return err
		}
	}
	return nil
}

// build validates spec and returns the meeting's fields (not its life
// cycle).
func (s *Schedule) build(spec MeetingSpec) (Meeting, error) {
	var m Meeting
	if err := checkName("title", spec.Title); err != nil {
		return m, err
	}
	if err := checkName("talks", spec.Talks); err != nil {
		return m, err
	}
	if spec.Channel != "" {
		if err := checkName("channel", spec.Channel); err != nil {
			return m, err
		}
	}
	if _, err := ParseLevel(string(spec.Level)); err != nil {
		return m, invalidf("%v", err)
	}
	if spec.Room == "" {
		return m, invalidf("no room given")
	}
	if _, ok := s.rooms[spec.Room]; !ok {
		return m, fmt.Errorf("%w %q", ErrUnknownRoom, truncate(spec.Room, 64))
	}
	if spec.Start.IsZero() || spec.End.IsZero() {
		return m, invalidf("start and end times are required")
	}
	start, err := ResolveLocal(spec.Start, s.loc)
	if err != nil {
		return m, fmt.Errorf("%w: start: %w", ErrInvalid, err)
	}
	end, err := ResolveLocal(spec.End, s.loc)
	if err != nil {
		return m, fmt.Errorf("%w: end: %w", ErrInvalid, err)
	}
	if !end.After(start) {
		return m, invalidf("end %s is not after start %s", spec.End, spec.Start)
	}
	if end.Sub(start) > 24*time.Hour {
		return m, invalidf("a meeting may last at most 24 hours")
	}
	langs, err := normLanguages("interpretation language", spec.Languages)
	if err != nil {
		return m, err
	}
	mode := spec.Interpretation
	switch {
	case len(langs) == 0 && mode != "":
		return m, invalidf("interpretation mode %q without languages", truncate(mode, 20))
	case len(langs) > 0 && mode == "":
		mode = Simultaneous
	case len(langs) > 0 && mode != Simultaneous && mode != Consecutive:
		return m, invalidf("interpretation must be %q or %q, not %q", Simultaneous, Consecutive, truncate(mode, 20))
	}
	dels, err := checkNames("delegation", spec.Delegations)
	if err != nil {
		return m, err
	}
	if len(dels) == 0 {
		return m, invalidf("no attending delegation")
	}
	if spec.Headcount < 1 || spec.Headcount > MaxHeadcount {
		return m, invalidf("headcount must be between 1 and %d, not %d", MaxHeadcount, spec.Headcount)
	}
	interp, err := checkDevices("interpreter", spec.Interpreters)
	if err != nil {
		return m, err
	}
	if len(interp) > 0 && len(langs) == 0 {
		return m, invalidf("interpreters booked for a meeting without interpretation languages")
	}
	if len(interp) > 0 && spec.Channel == "" {
		return m, invalidf("interpreters booked for a meeting without a channel: name the channel they interpret in")
	}
	return Meeting{
		Title: spec.Title, Talks: spec.Talks, Channel: spec.Channel, Level: spec.Level, Room: spec.Room,
		Start: start, End: end, Languages: langs, Interpretation: mode, Delegations: dels, Headcount: spec.Headcount,
		Interpreters: interp,
	}, nil
}

// Check returns every rule m breaks against the schedule (ignoring m's own
// entry and cancelled meetings), overridden or not. Proposing runs it; a
// host may call it first to see what a change would hit.
func (s *Schedule) Check(m Meeting) []Conflict {
	var cs []Conflict
	if !s.hours.within(m.Start, m.End, s.loc) {
		cs = append(cs, Conflict{Kind: ConflictOutsideHours, Reason: fmt.Sprintf(
			"%s is outside the venue's opening hours (%s–%s %s)",
			FormatSpan(m.Start, m.End, s.loc), s.hours.Open, s.hours.Close, s.hoursDays())})
	}
	if r, ok := s.rooms[m.Room]; ok {
		cs = append(cs, s.roomConflicts(&m, r)...)
	}
	for _, o := range s.sortedMeetings() {
		if o.ID == m.ID || !o.Status.Active() || !overlaps(o.Start, o.End, m.Start, m.End) {
			continue
		}
		if o.Room == m.Room {
			cs = append(cs, Conflict{Kind: ConflictRoomBooked, With: o.ID, Reason: fmt.Sprintf(
				"room %q is already booked %s for %q (%s, %s)",
				m.Room, FormatSpan(o.Start, o.End, s.loc), o.Title, o.ID, o.Status)})
		}
		for _, d := range m.Delegations {
			if d != s.host && o.Attends(d) {
				cs = append(cs, Conflict{Kind: ConflictDelegationBusy, With: o.ID, Reason: fmt.Sprintf(
					"delegation %q is already in %q (%s) %s",
					d, o.Title, o.ID, FormatSpan(o.Start, o.End, s.loc))})
			}
		}
	}
	return cs
}

// CheckSpec validates spec and returns every rule it would break, without
// changing anything. If spec.ID names an existing meeting, that meeting is
// left out of the comparison, as an update would.
func (s *Schedule) CheckSpec(spec MeetingSpec) ([]Conflict, error) {
	m, err := s.build(spec)
	if err != nil {
		return nil, err
	}
	m.ID = spec.ID
	return s.Check(m), nil
}

func (s *Schedule) hoursDays() string {
	if len(s.hours.Days) == 0 {
		return "every day"
	}
	var ds []string
	for _, d := range s.hours.Days {
		ds = append(ds, d.String()[:3])
	}
	return strings.Join(ds, ", ")
}

func (s *Schedule) roomConflicts(m *Meeting, r Room) []Conflict {
	var cs []Conflict
	if m.Headcount > r.Capacity {
		cs = append(cs, Conflict{Kind: ConflictCapacity, Reason: fmt.Sprintf(
			"headcount %d exceeds the %d seats of room %q", m.Headcount, r.Capacity, r.Name)})
	}
	if m.Interpretation == Simultaneous {
		var missing []string
		for _, l := range m.Languages {
			if !slices.Contains(r.Booths, l) {
				missing = append(missing, strings.ToUpper(l))
			}
		}
		if len(missing) > 0 {
			booths := "none"
			if len(r.Booths) > 0 {
				booths = strings.ToUpper(strings.Join(r.Booths, ", "))
			}
			cs = append(cs, Conflict{Kind: ConflictNoBooth, Reason: fmt.Sprintf(
				"room %q has no interpretation booth for %s (booths: %s)", r.Name, strings.Join(missing, ", "), booths)})
		}
	}
	return cs
}

func overlaps(aStart, aEnd, bStart, bEnd time.Time) bool {
	return aStart.Before(bEnd) && bStart.Before(aEnd)
}

// unresolved returns the conflicts of m not in allowed.
func unresolved(cs []Conflict, allowed []ConflictKind) []Conflict {
	var out []Conflict
	for _, c := range cs {
		if !slices.Contains(allowed, c.Kind) {
			out = append(out, c)
		}
	}
	return out
}

// usedOverrides returns the kinds in allowed that cs actually needs.
func usedOverrides(cs []Conflict, allowed []ConflictKind) []ConflictKind {
	var out []ConflictKind
	for _, k := range ConflictKinds {
		if !slices.Contains(allowed, k) {
			continue
		}
		for _, c := range cs {
			if c.Kind == k {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// idEncoding spells meeting IDs: lower-case base32 without padding.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randRead is replaced in tests that need fixed IDs.
var randRead = rand.Read

func newID() string {
	var b [10]byte
	randRead(b[:])
	return "m-" + idEncoding.EncodeToString(b[:])
}

// checkID accepts meeting IDs of 1–64 characters from [a-z0-9-], the form
// used in iCalendar UIDs and URLs.
func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return invalidf("meeting ID must be 1 to 64 characters")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return invalidf("meeting ID %q may hold only a-z, 0-9 and '-'", truncate(id, 64))
		}
	}
	return nil
}

// Propose adds a meeting: a draft, or provisional at a gated level. The
// meeting must be well-formed and break no rule that op does not override.
func (s *Schedule) Propose(spec MeetingSpec, op Op) (Meeting, error) {
	if err := op.check(); err != nil {
		return Meeting{}, err
	}
	m, err := s.build(spec)
	if err != nil {
		return Meeting{}, err
	}
	m.ID = spec.ID
	if m.ID == "" {
		m.ID = newID()
	}
	if err := checkID(m.ID); err != nil {
		return Meeting{}, err
	}
	if _, dup := s.meetings[m.ID]; dup {
		return Meeting{}, fmt.Errorf("%w: %q", ErrMeetingExists, m.ID)
	}
	cs := s.Check(m)
	if bad := unresolved(cs, op.Override); len(bad) > 0 {
		return Meeting{}, &ConflictError{Conflicts: bad}
	}
	m.Status = StatusDraft
	if m.Level.Gated() {
		m.Status = StatusProvisional
	}
	m.Overrides = usedOverrides(cs, op.Override)
	m.Created, m.Updated = op.At.UTC(), op.At.UTC()
	m.History = []Change{s.change(&m, op, "proposed", nil)}
	s.meetings[m.ID] = &m
	return m.Clone(), nil
}

func (s *Schedule) change(m *Meeting, op Op, action string, fields []string) Change {
	return Change{
		Sequence: m.Sequence, At: op.At.UTC(), Actor: op.Actor, Action: action, Status: m.Status,
		Start: m.Start, End: m.End, Room: m.Room, Fields: fields,
		Overrides: slices.Clone(m.Overrides), Note: op.Note,
	}
}

// Update replaces a meeting's fields with spec (spec.ID is ignored; the
// meeting keeps its ID). The result must break no rule that op does not
// override. A confirmed meeting whose time or room changes becomes moved.
// Changing the level of a meeting that is confirmed is refused: cancel it
// and propose a new one.
func (s *Schedule) Update(id string, spec MeetingSpec, op Op) (Meeting, error) {
	if err := op.check(); err != nil {
		return Meeting{}, err
	}
	cur, ok := s.meetings[id]
	if !ok {
		return Meeting{}, fmt.Errorf("%w %q", ErrUnknownMeeting, truncate(id, 64))
	}
	if cur.Status == StatusCancelled {
		return Meeting{}, fmt.Errorf("%w: meeting %s is cancelled", ErrTransition, id)
	}
	nm, err := s.build(spec)
	if err != nil {
		return Meeting{}, err
	}
	fields := changedFields(cur, &nm)
	if len(fields) == 0 {
		return cur.Clone(), nil
	}
	if cur.Status.Binding() && nm.Level != cur.Level {
		return Meeting{}, fmt.Errorf("%w: the level of confirmed meeting %s cannot change; cancel it and propose a new one", ErrTransition, id)
	}
	m := cur.Clone()
	m.Title, m.Talks, m.Channel, m.Level, m.Room = nm.Title, nm.Talks, nm.Channel, nm.Level, nm.Room
	m.Start, m.End, m.Languages, m.Interpretation = nm.Start, nm.End, nm.Languages, nm.Interpretation
	m.Interpreters = nm.Interpreters
	m.Delegations, m.Headcount = nm.Delegations, nm.Headcount
	moved := slices.ContainsFunc(fields, func(f string) bool { return f == "room" || f == "start" || f == "end" })
	// Overrides granted earlier still count unless the meeting moved, which
	// asks the host to decide again.
	allowed := op.Override
	if !moved {
		allowed = append(slices.Clone(m.Overrides), op.Override...)
	}
	cs := s.Check(m)
	if bad := unresolved(cs, allowed); len(bad) > 0 {
		return Meeting{}, &ConflictError{Conflicts: bad}
	}
	if m.Status.Binding() && m.Level.Gated() {
		if missing := s.missingReadiness(&m); len(missing) > 0 {
			return Meeting{}, &NotReadyError{Meeting: id, Missing: missing}
		}
	}
	if !m.Level.Gated() && m.Status == StatusProvisional {
		m.Status = StatusDraft
	} else if m.Level.Gated() && m.Status == StatusDraft {
		m.Status = StatusProvisional
	}
	action := "updated"
	if moved {
		action = "moved"
		if m.Status.Binding() {
			m.Status = StatusMoved
		}
	}
	m.Overrides = usedOverrides(cs, allowed)
	m.Sequence++
	m.Updated = op.At.UTC()
	m.History = append(m.History, s.change(&m, op, action, fields))
	*cur = m
	return m.Clone(), nil
}

// Move changes a meeting's room and times, keeping everything else; an
// empty room keeps the current one.
func (s *Schedule) Move(id, room string, start, end LocalTime, op Op) (Meeting, error) {
	cur, ok := s.meetings[id]
	if !ok {
		return Meeting{}, fmt.Errorf("%w %q", ErrUnknownMeeting, truncate(id, 64))
	}
	spec := SpecOf(*cur, s.loc)
	if room != "" {
		spec.Room = room
	}
	spec.Start, spec.End = start, end
	return s.Update(id, spec, op)
}

func changedFields(a, b *Meeting) []string {
	var f []string
	add := func(name string, changed bool) {
		if changed {
			f = append(f, name)
		}
	}
	add("title", a.Title != b.Title)
	add("talks", a.Talks != b.Talks)
	add("channel", a.Channel != b.Channel)
	add("level", a.Level != b.Level)
	add("room", a.Room != b.Room)
	add("start", !a.Start.Equal(b.Start))
	add("end", !a.End.Equal(b.End))
	add("languages", !slices.Equal(a.Languages, b.Languages))
	add("interpreters", !slices.Equal(a.Interpreters, b.Interpreters))
	add("interpretation", a.Interpretation != b.Interpretation)
	add("delegations", !slices.Equal(a.Delegations, b.Delegations))
	add("headcount", a.Headcount != b.Headcount)
	return f
}

// Confirm confirms a draft or provisional meeting. A gated meeting needs a
// valid readiness signal from every attending party's head (else
// NotReadyError); every meeting is checked against the rules again, with
// the overrides it already has plus op's.
func (s *Schedule) Confirm(id string, op Op) (Meeting, error) {
	if err := op.check(); err != nil {
		return Meeting{}, err
	}
	cur, ok := s.meetings[id]
	if !ok {
		return Meeting{}, fmt.Errorf("%w %q", ErrUnknownMeeting, truncate(id, 64))
	}
	if cur.Status != StatusDraft && cur.Status != StatusProvisional {
		return Meeting{}, fmt.Errorf("%w: meeting %s is %s, only a draft or provisional meeting can be confirmed", ErrTransition, id, cur.Status)
	}
	m := cur.Clone()
	if m.Level.Gated() {
		if missing := s.missingReadiness(&m); len(missing) > 0 {
			return Meeting{}, &NotReadyError{Meeting: id, Missing: missing}
		}
	}
	allowed := append(slices.Clone(m.Overrides), op.Override...)
	cs := s.Check(m)
	if bad := unresolved(cs, allowed); len(bad) > 0 {
		return Meeting{}, &ConflictError{Conflicts: bad}
	}
	m.Overrides = usedOverrides(cs, allowed)
	m.Status = StatusConfirmed
	m.Sequence++
	m.Updated = op.At.UTC()
	m.History = append(m.History, s.change(&m, op, "confirmed", nil))
	*cur = m
	return m.Clone(), nil
}

// Cancel cancels a meeting in any status but cancelled. The meeting stays
// in the schedule (and in calendar feeds, with STATUS:CANCELLED).
func (s *Schedule) Cancel(id string, op Op) (Meeting, error) {
	if err := op.check(); err != nil {
		return Meeting{}, err
	}
	cur, ok := s.meetings[id]
	if !ok {
		return Meeting{}, fmt.Errorf("%w %q", ErrUnknownMeeting, truncate(id, 64))
	}
	if cur.Status == StatusCancelled {
		return Meeting{}, fmt.Errorf("%w: meeting %s is already cancelled", ErrTransition, id)
	}
	m := cur.Clone()
	m.Status = StatusCancelled
	m.Sequence++
	m.Updated = op.At.UTC()
	m.History = append(m.History, s.change(&m, op, "cancelled", nil))
	*cur = m
	return m.Clone(), nil
}

// Parties returns the delegations of m whose head must signal readiness:
// every attending delegation but the host's.
func (s *Schedule) Parties(m Meeting) []string {
	var out []string
	for _, d := range m.Delegations {
		if d != s.host {
			out = append(out, d)
		}
	}
	return out
}

func (s *Schedule) missingReadiness(m *Meeting) []string {
	var missing []string
	for _, d := range s.Parties(*m) {
		if !slices.ContainsFunc(m.Readiness, func(r ReadinessRecord) bool { return r.Delegation == d && s.readinessCounts(m, r) }) {
			missing = append(missing, d)
		}
	}
	return missing
}

// readinessCounts reports whether a stored record still speaks for m's
// current level (a statement for a ministerial meeting does not confirm it
// once it is raised to leaders' level).
func (s *Schedule) readinessCounts(m *Meeting, r ReadinessRecord) bool {
	st, err := ParseReadiness(r.Statement)
	return err == nil && st.Level == m.Level && st.Meeting == m.ID && st.Talks == m.Talks && st.Delegation == r.Delegation
}

// Missing returns the parties of meeting id that have not yet signalled
// readiness for its current level (none for ungated levels).
func (s *Schedule) Missing(id string) ([]string, error) {
	m, ok := s.meetings[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownMeeting, truncate(id, 64))
	}
	if !m.Level.Gated() {
		return nil, nil
	}
	return s.missingReadiness(m), nil
}

// SignalReadiness records a head of delegation's readiness statement for a
// gated meeting. headKey is the Ed25519 public key of the device of the
// named delegation's head, which the caller (the venue) takes from that
// delegation's certificate: the schedule cannot know who heads a
// delegation, it only checks the signature, that the statement names this
// meeting, its talks and its level, that the delegation attends as a party,
// and that the statement is not from the future. A newer statement of the
// same delegation replaces an older one; an older one is refused as stale.
//
// Signalling readiness does not confirm the meeting; the host confirms.
func (s *Schedule) SignalReadiness(statement, sig []byte, headKey ed25519.PublicKey, op Op) (Meeting, error) {
	if err := op.check(); err != nil {
		return Meeting{}, err
	}
	r, err := VerifyReadiness(headKey, statement, sig)
	if err != nil {
		return Meeting{}, err
	}
	cur, ok := s.meetings[r.Meeting]
	if !ok {
		return Meeting{}, fmt.Errorf("%w %q", ErrUnknownMeeting, r.Meeting)
	}
	switch {
	case cur.Status == StatusCancelled:
		return Meeting{}, fmt.Errorf("%w: meeting %s is cancelled", ErrTransition, cur.ID)
	case !cur.Level.Gated():
		return Meeting{}, fmt.Errorf("%w: meeting %s is at %s level, which needs no readiness signal", ErrTransition, cur.ID, cur.Level)
	case r.Level != cur.Level:
		return Meeting{}, invalidf("statement is for a %s meeting, meeting %s is at %s level", r.Level, cur.ID, cur.Level)
	case r.Talks != cur.Talks:
		return Meeting{}, invalidf("statement is for talks %q, meeting %s belongs to %q", r.Talks, cur.ID, cur.Talks)
	case r.Delegation == s.host || !cur.Attends(r.Delegation):
		return Meeting{}, fmt.Errorf("%w: %q in meeting %s", ErrNotAttending, r.Delegation, cur.ID)
	case r.Time.After(op.At.Add(s.skew)):
		return Meeting{}, invalidf("statement is dated %s, in the future", r.Time.Format(time.RFC3339))
	}
	m := cur.Clone()
	rec := ReadinessRecord{Delegation: r.Delegation, SignedAt: r.Time, Received: op.At.UTC(),
		Statement: slices.Clone(statement), Signature: slices.Clone(sig)}
	i := slices.IndexFunc(m.Readiness, func(x ReadinessRecord) bool { return x.Delegation == r.Delegation })
	switch {
	case i < 0:
		m.Readiness = append(m.Readiness, rec)
	case m.Readiness[i].SignedAt.After(r.Time):
		return Meeting{}, invalidf("statement of %s is older than the one already recorded", r.Delegation)
	default:
		m.Readiness[i] = rec
	}
	m.Updated = op.At.UTC()
	ch := s.change(&m, op, ActionReadiness, nil)
	ch.Delegation = r.Delegation
	m.History = append(m.History, ch)
	*cur = m
	return m.Clone(), nil
}
