package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Level is the level at which a meeting is held. Summits are prepared at
// the expert level first; ministerial and leaders' meetings pass the
// readiness gate.
type Level string

// The levels of a meeting, lowest first.
const (
	LevelExpert          Level = "expert"
	LevelSeniorOfficials Level = "senior-officials"
	LevelMinisterial     Level = "ministerial"
	LevelLeaders         Level = "leaders"
)

// Levels lists every level, lowest first.
var Levels = []Level{LevelExpert, LevelSeniorOfficials, LevelMinisterial, LevelLeaders}

// ParseLevel accepts a level's name ("expert", "senior-officials",
// "ministerial", "leaders").
func ParseLevel(s string) (Level, error) {
	for _, l := range Levels {
		if string(l) == s {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown level %q: want one of expert, senior-officials, ministerial, leaders", truncate(s, 40))
}

// Gated reports whether meetings at level l are provisional until every
// attending party's head of delegation has signalled readiness.
func (l Level) Gated() bool { return l == LevelMinisterial || l == LevelLeaders }

// Status is where a meeting stands in its life:
//
//	draft ──────────┐                 (expert, senior officials)
//	provisional ────┼──> confirmed ──> moved ──> moved …
//	                │         │          │
//	                └─────────┴──────────┴──> cancelled
//
// A ministerial or leaders' meeting starts provisional and is confirmed only
// through the readiness gate; other meetings start as drafts. Moving a draft
// or provisional meeting keeps its status; moving a confirmed one makes it
// moved (still binding, at the new time or room). Cancelled is final.
type Status string

// The statuses of a meeting.
const (
	StatusDraft       Status = "draft"
	StatusProvisional Status = "provisional"
	StatusConfirmed   Status = "confirmed"
	StatusMoved       Status = "moved"
	StatusCancelled   Status = "cancelled"
)

// Active reports whether a meeting with status s holds its room and its
// delegations' time (every status but cancelled).
func (s Status) Active() bool { return s != StatusCancelled && s != "" }

// Binding reports whether the meeting has been confirmed (confirmed or moved).
func (s Status) Binding() bool { return s == StatusConfirmed || s == StatusMoved }

// Interpretation modes. Simultaneous interpretation needs a booth for each
// language in the room; consecutive (or whispered) interpretation does not.
const (
	Simultaneous = "simultaneous"
	Consecutive  = "consecutive"
)

// Room is a room of the venue.
type Room struct {
	Name     string `json:"name"`
	Capacity int    `json:"capacity"`
	// Booths lists the languages of its interpretation booths, as lower-case
	// ISO 639 codes ("en", "fr", "ru").
	Booths    []string `json:"booths,omitempty"`
	Equipment []string `json:"equipment,omitempty"`
}

// Meeting is one meeting of the talks, as the venue keeps it. Start and End
// are instants; the venue shows them in its zone and each delegate in theirs.
type Meeting struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Talks   string    `json:"talks"`
	Channel string    `json:"channel,omitempty"`
	Level   Level     `json:"level"`
	Room    string    `json:"room"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Languages are the interpretation languages (lower-case ISO 639).
	Languages []string `json:"languages,omitempty"`
	// Interpretation is Simultaneous or Consecutive; empty when there are
	// no languages.
	Interpretation string   `json:"interpretation,omitempty"`
	Delegations    []string `json:"delegations"`
	Headcount      int      `json:"headcount"`
	// Interpreters are the device IDs of the interpreters the host books
	// for the meeting; with a channel, the venue lets them use the
	// channel's log. They join its encrypted group only once every party
	// has consented (the desks' rule, not the host's).
	Interpreters []string `json:"interpreters,omitempty"`

	Status Status `json:"status"`
	// Sequence is the iCalendar SEQUENCE (RFC 5545 §3.8.7.4): 0 when
	// proposed, one more on each later change other than a readiness
	// signal.
	Sequence int       `json:"sequence"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// Overrides are the conflicts the host knowingly accepted for the
	// meeting's current time and room.
	Overrides []ConflictKind `json:"overrides,omitempty"`
	// Readiness holds the heads' signed readiness statements received for
	// this meeting, one per delegation (the latest).
	Readiness []ReadinessRecord `json:"readiness,omitempty"`
	History   []Change          `json:"history"`
}

// Change is one entry of a meeting's history.
type Change struct {
	Sequence int       `json:"sequence"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor,omitempty"`
	Action   string    `json:"action"` // proposed, updated, moved, confirmed, cancelled, readiness
	Status   Status    `json:"status"` // after the change
	// Start, End and Room after the change.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Room  string    `json:"room"`
	// Fields names what an update changed ("title", "room", "start", …).
	Fields     []string       `json:"fields,omitempty"`
	Overrides  []ConflictKind `json:"overrides,omitempty"`
	Delegation string         `json:"delegation,omitempty"` // of a readiness signal
	Note       string         `json:"note,omitempty"`
}

// Clone returns a deep copy of m.
func (m Meeting) Clone() Meeting {
	m.Languages = slices.Clone(m.Languages)
	m.Delegations = slices.Clone(m.Delegations)
	m.Interpreters = slices.Clone(m.Interpreters)
	m.Overrides = slices.Clone(m.Overrides)
	m.Readiness = slices.Clone(m.Readiness)
	for i := range m.Readiness {
		m.Readiness[i].Statement = slices.Clone(m.Readiness[i].Statement)
		m.Readiness[i].Signature = slices.Clone(m.Readiness[i].Signature)
	}
	m.History = slices.Clone(m.History)
	for i := range m.History {
		m.History[i].Fields = slices.Clone(m.History[i].Fields)
		m.History[i].Overrides = slices.Clone(m.History[i].Overrides)
	}
	return m
}

func (r Room) clone() Room {
	r.Booths = slices.Clone(r.Booths)
	r.Equipment = slices.Clone(r.Equipment)
	return r
}

// Attends reports whether delegation d attends m.
func (m Meeting) Attends(d string) bool { return slices.Contains(m.Delegations, d) }

// Limits on names and lists, so that a request cannot grow the schedule
// without bound.
const (
	MaxNameLen   = 200 // bytes of a title, room, talks, channel, delegation or equipment name
	MaxListLen   = 64  // languages, delegations, booths or equipment items
	MaxHeadcount = 100000
	MaxNoteLen   = 1000
)

// ErrInvalid reports a malformed request: a bad name, an unknown room or
// level, an end before the start. It is never overridable.
var ErrInvalid = errors.New("invalid request")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// checkName accepts a non-empty UTF-8 name of at most MaxNameLen bytes with
// no control characters, no bidirectional controls (U+202E and the like,
// which make a name read differently from what it is) and no surrounding
// spaces.
func checkName(what, s string) error {
	if s == "" {
		return invalidf("%s is empty", what)
	}
	if len(s) > MaxNameLen {
		return invalidf("%s is longer than %d bytes", what, MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return invalidf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return invalidf("%s %q contains a control character", what, s)
		}
		if unicode.Is(unicode.Bidi_Control, r) {
			return invalidf("%s %q contains a bidirectional control character (%U)", what, s, r)
		}
	}
	if strings.TrimSpace(s) != s {
		return invalidf("%s %q has leading or trailing space", what, s)
	}
	return nil
}

// normLanguages checks and normalizes language codes: two or three ASCII
// letters (ISO 639-1 or 639-2), lower-cased, without duplicates.
func normLanguages(what string, in []string) ([]string, error) {
	if len(in) > MaxListLen {
		return nil, invalidf("more than %d %s", MaxListLen, what)
	}
	out := make([]string, 0, len(in))
	for _, l := range in {
		if len(l) < 2 || len(l) > 3 {
			return nil, invalidf("%s %q is not an ISO 639 language code (two or three letters)", what, truncate(l, 20))
		}
		for i := 0; i < len(l); i++ {
			c := l[i] | 0x20
			if c < 'a' || c > 'z' {
				return nil, invalidf("%s %q is not an ISO 639 language code (two or three letters)", what, l)
			}
		}
		l = strings.ToLower(l)
		if slices.Contains(out, l) {
			return nil, invalidf("%s %q is listed twice", what, l)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// MaxInterpreters is the most interpreters booked for one meeting (the
// venue lets at most as many use a channel).
const MaxInterpreters = 16

// checkDevices checks a list of device IDs (as delegation.DeviceID
// writes them: unpadded base64url): at most MaxInterpreters, distinct.
func checkDevices(what string, in []string) ([]string, error) {
	if len(in) > MaxInterpreters {
		return nil, invalidf("more than %d %ss", MaxInterpreters, what)
	}
	var out []string
	for _, s := range in {
		ok := len(s) >= 16 && len(s) <= 64
		for _, r := range s {
			ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}
		if !ok {
			return nil, invalidf("%s %q is not a device ID", what, truncate(s, 64))
		}
		if slices.Contains(out, s) {
			return nil, invalidf("%s %q is listed twice", what, s)
		}
		out = append(out, s)
	}
	return out, nil
}

func checkNames(what string, in []string) ([]string, error) {
	if len(in) > MaxListLen {
		return nil, invalidf("more than %d %s", MaxListLen, what)
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if err := checkName(what, s); err != nil {
			return nil, err
		}
		if slices.Contains(out, s) {
			return nil, invalidf("%s %q is listed twice", what, s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ValidateRoom checks a room and returns it normalized (languages
// lower-cased).
func ValidateRoom(r Room) (Room, error) {
	if err := checkName("room name", r.Name); err != nil {
		return Room{}, err
	}
	if r.Capacity < 1 || r.Capacity > MaxHeadcount {
		return Room{}, invalidf("capacity of room %q must be between 1 and %d, not %d", r.Name, MaxHeadcount, r.Capacity)
	}
	var err error
	if r.Booths, err = normLanguages("booth language", r.Booths); err != nil {
		return Room{}, err
	}
	if r.Equipment, err = checkNames("equipment", r.Equipment); err != nil {
		return Room{}, err
	}
	return r, nil
}
