package schedule

import (
	"errors"
	"fmt"
	"time"
)

// DefaultZone is the venue's IANA time zone when none is configured
// (the Caspia venue of the scenario).
const DefaultZone = "Asia/Almaty"

// LocalTime is a wall-clock time of the venue, to the minute, without a zone:
// what the host types ("2026-11-23T09:30"). It becomes an instant only
// through [ResolveLocal], which refuses times that do not exist or that occur
// twice in the zone.
type LocalTime struct {
	Year   int
	Month  time.Month
	Day    int
	Hour   int // 0–23
	Minute int // 0–59
}

// Errors of local time resolution. Callers test them with errors.Is; the
// error text names the time and the zone.
var (
	// ErrNonexistentTime reports a wall-clock time skipped by a
	// daylight-saving (or other) transition: it never happens in the zone.
	ErrNonexistentTime = errors.New("local time does not exist in the time zone")
	// ErrAmbiguousTime reports a wall-clock time that occurs twice, when
	// the clocks are set back.
	ErrAmbiguousTime = errors.New("local time occurs twice in the time zone")
	// ErrBadLocalTime reports a malformed or out-of-range local time.
	ErrBadLocalTime = errors.New("malformed local time")
)

const localLayout = "2006-01-02T15:04"

// ParseLocalTime parses a venue wall-clock time in the one accepted form
// "YYYY-MM-DDTHH:MM" (RFC 3339 without seconds and offset; 24-hour clock).
// Years run from 1900 to 9999; anything else, including "24:00", is refused.
func ParseLocalTime(s string) (LocalTime, error) {
	if len(s) != len(localLayout) {
		return LocalTime{}, fmt.Errorf("%w %q: want YYYY-MM-DDTHH:MM", ErrBadLocalTime, truncate(s, 40))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return LocalTime{}, fmt.Errorf("%w %q: want YYYY-MM-DDTHH:MM", ErrBadLocalTime, s)
			}
		case 10:
			if c != 'T' {
				return LocalTime{}, fmt.Errorf("%w %q: want YYYY-MM-DDTHH:MM", ErrBadLocalTime, s)
			}
		case 13:
			if c != ':' {
				return LocalTime{}, fmt.Errorf("%w %q: want YYYY-MM-DDTHH:MM", ErrBadLocalTime, s)
			}
		default:
			if c < '0' || c > '9' {
				return LocalTime{}, fmt.Errorf("%w %q: want YYYY-MM-DDTHH:MM", ErrBadLocalTime, s)
			}
		}
	}
	num := func(a, b int) int {
		n := 0
		for _, c := range s[a:b] {
			n = n*10 + int(c-'0')
		}
		return n
	}
	lt := LocalTime{Year: num(0, 4), Month: time.Month(num(5, 7)), Day: num(8, 10), Hour: num(11, 13), Minute: num(14, 16)}
	if err := lt.Validate(); err != nil {
		return LocalTime{}, err
	}
	return lt, nil
}

// Validate reports whether lt is a real calendar date and clock time
// (ignoring time zones).
func (lt LocalTime) Validate() error {
	if lt.Year < 1900 || lt.Year > 9999 || lt.Month < 1 || lt.Month > 12 || lt.Day < 1 ||
		lt.Hour < 0 || lt.Hour > 23 || lt.Minute < 0 || lt.Minute > 59 {
		return fmt.Errorf("%w %s: out of range", ErrBadLocalTime, lt)
	}
	if lt.Day > daysIn(lt.Year, lt.Month) {
		return fmt.Errorf("%w %s: %s %d has %d days", ErrBadLocalTime, lt, lt.Month, lt.Year, daysIn(lt.Year, lt.Month))
	}
	return nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String returns lt in the form ParseLocalTime accepts.
func (lt LocalTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d", lt.Year, int(lt.Month), lt.Day, lt.Hour, lt.Minute)
}

// LocalOf returns the wall-clock time of t in loc, dropping seconds.
func LocalOf(t time.Time, loc *time.Location) LocalTime {
	t = t.In(loc)
	return LocalTime{t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute()}
}

// MarshalText implements encoding.TextMarshaler.
func (lt LocalTime) MarshalText() ([]byte, error) { return []byte(lt.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseLocalTime.
func (lt *LocalTime) UnmarshalText(b []byte) error {
	v, err := ParseLocalTime(string(b))
	if err != nil {
		return err
	}
	*lt = v
	return nil
}

// IsZero reports whether lt is the zero value (no time given).
func (lt LocalTime) IsZero() bool { return lt == LocalTime{} }

// ResolveLocal returns the one instant at which the clocks of loc show lt.
//
// Go's time.Date silently normalizes a time in a gap (spring forward) and
// picks one of two instants in an overlap (fall back); a meeting time must
// not be guessed, so ResolveLocal returns [ErrNonexistentTime] or
// [ErrAmbiguousTime] instead. It finds every UTC offset the zone uses within
// two days of lt, and keeps the candidate instants whose wall clock in loc is
// lt.
func ResolveLocal(lt LocalTime, loc *time.Location) (time.Time, error) {
	if loc == nil {
		return time.Time{}, errors.New("failed to resolve local time: no time zone")
	}
	if err := lt.Validate(); err != nil {
		return time.Time{}, err
	}
	asUTC := time.Date(lt.Year, lt.Month, lt.Day, lt.Hour, lt.Minute, 0, 0, time.UTC)
	offsets := offsetsAround(asUTC, loc)
	var found []time.Time
	for _, off := range offsets {
		cand := asUTC.Add(-time.Duration(off) * time.Second)
		if LocalOf(cand, loc) != lt || cand.In(loc).Second() != 0 {
			continue
		}
		if _, o := cand.In(loc).Zone(); o != off {
			continue
		}
		dup := false
		for _, f := range found {
			dup = dup || f.Equal(cand)
		}
		if !dup {
			found = append(found, cand)
		}
	}
	switch len(found) {
	case 0:
		return time.Time{}, fmt.Errorf("%w: %s is skipped in %s", ErrNonexistentTime, lt, loc)
	case 1:
		return found[0].In(loc), nil
	default:
		return time.Time{}, fmt.Errorf("%w: %s happens twice in %s", ErrAmbiguousTime, lt, loc)
	}
}

// offsetsAround lists the distinct UTC offsets (seconds east) that loc uses
// between two days before and two days after the instant t (read as UTC).
// Real zones change offset at most a few times in four days; the walk is
// bounded anyway.
func offsetsAround(t time.Time, loc *time.Location) []int {
	from, to := t.Add(-48*time.Hour), t.Add(48*time.Hour)
	var offs []int
	cur := from.In(loc)
	for i := 0; i < 16; i++ {
		_, off := cur.Zone()
		seen := false
		for _, o := range offs {
			seen = seen || o == off
		}
		if !seen {
			offs = append(offs, off)
		}
		_, end := cur.ZoneBounds()
		if end.IsZero() || end.After(to) || !end.After(cur) {
			break
		}
		cur = end
	}
	return offs
}

// Clock is a time of day in minutes after midnight, 0 to 1440 (24:00 closes
// a day that runs to midnight).
type Clock int

// ParseClock parses "HH:MM" (00:00 to 24:00).
func ParseClock(s string) (Clock, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%w %q: want HH:MM", ErrBadLocalTime, truncate(s, 20))
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w %q: want HH:MM", ErrBadLocalTime, s)
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%w %q: out of range", ErrBadLocalTime, s)
	}
	return Clock(h*60 + m), nil
}

// String returns c as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalText implements encoding.TextMarshaler.
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseClock.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// OpeningHours are when the venue may hold meetings, in its own zone. A
// meeting must start and end on the same open day between Open and Close.
type OpeningHours struct {
	Open  Clock `json:"open"`
	Close Clock `json:"close"`
	// Days lists the weekdays the venue is open; empty means every day.
	Days []time.Weekday `json:"days,omitempty"`
}

// DefaultOpeningHours are 08:00 to 20:00, every day.
var DefaultOpeningHours = OpeningHours{Open: 8 * 60, Close: 20 * 60}

func (h OpeningHours) validate() error {
	if h.Open < 0 || h.Close > 24*60 || h.Open >= h.Close {
		return fmt.Errorf("failed to configure opening hours: open %s must be before close %s", h.Open, h.Close)
	}
	for _, d := range h.Days {
		if d < time.Sunday || d > time.Saturday {
			return fmt.Errorf("failed to configure opening hours: bad weekday %d", int(d))
		}
	}
	return nil
}

func (h OpeningHours) openOn(d time.Weekday) bool {
	if len(h.Days) == 0 {
		return true
	}
	for _, x := range h.Days {
		if x == d {
			return true
		}
	}
	return false
}

// within reports whether [start, end) in loc lies inside one open day.
func (h OpeningHours) within(start, end time.Time, loc *time.Location) bool {
	s, e := start.In(loc), end.In(loc)
	if !h.openOn(s.Weekday()) {
		return false
	}
	sc := Clock(s.Hour()*60 + s.Minute())
	if sc < h.Open || s.Second() != 0 && sc+1 > h.Close {
		return false
	}
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	ec := Clock(e.Hour()*60 + e.Minute())
	if e.Second() != 0 {
		ec++
	}
	if sy == ey && sm == em && sd == ed {
		return ec <= h.Close
	}
	// Ending exactly at the next midnight counts as 24:00 of the start day.
	next := time.Date(sy, sm, sd+1, 0, 0, 0, 0, loc)
	return e.Equal(next) && h.Close == 24*60
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
