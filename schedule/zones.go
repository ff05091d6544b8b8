package schedule

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// FormatSpan writes the interval [start, end) as a person reads it in zone
// loc: "Mon 23 Nov 2026 09:30–12:30 +05 (Asia/Almaty)", with the end's date
// too when it falls on another day, and each end's own zone abbreviation
// when a transition falls inside the interval.
func FormatSpan(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	sa, _ := s.Zone()
	ea, _ := e.Zone()
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	var out string
	switch {
	case sy == ey && sm == em && sd == ed && sa == ea:
		out = fmt.Sprintf("%s–%s %s", s.Format("Mon 2 Jan 2006 15:04"), e.Format("15:04"), sa)
	case sy == ey && sm == em && sd == ed:
		out = fmt.Sprintf("%s %s–%s %s", s.Format("Mon 2 Jan 2006 15:04"), sa, e.Format("15:04"), ea)
	default:
		out = fmt.Sprintf("%s %s – %s %s", s.Format("Mon 2 Jan 2006 15:04"), sa, e.Format("Mon 2 Jan 2006 15:04"), ea)
	}
	return out + " (" + loc.String() + ")"
}

// Times is a meeting's time as shown to one delegate: in the venue's zone,
// which is authoritative, and in the delegate's own.
type Times struct {
	VenueZone string    `json:"venue_zone"`
	Start     time.Time `json:"start"` // in the venue's zone
	End       time.Time `json:"end"`
	Venue     string    `json:"venue"` // FormatSpan in the venue's zone
	OwnZone   string    `json:"own_zone"`
	OwnStart  time.Time `json:"own_start"`
	OwnEnd    time.Time `json:"own_end"`
	Own       string    `json:"own"` // FormatSpan in the delegate's zone
}

// TimesFor returns m's times in the venue's zone and in own, the
// delegate's zone (nil means the venue's).
func TimesFor(m Meeting, venue, own *time.Location) Times {
	if own == nil {
		own = venue
	}
	return Times{
		VenueZone: venue.String(), Start: m.Start.In(venue), End: m.End.In(venue), Venue: FormatSpan(m.Start, m.End, venue),
		OwnZone: own.String(), OwnStart: m.Start.In(own), OwnEnd: m.End.In(own), Own: FormatSpan(m.Start, m.End, own),
	}
}

// LoadZone loads an IANA time zone by name ("Europe/Paris"), strictly:
// "Local", relative paths and names longer than 64 bytes are refused, so
// that a zone name always means the same zone on every machine. The error
// wraps ErrInvalid.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || len(name) > 64 || name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, invalidf("unknown time zone %q (want an IANA name such as Europe/Paris)", truncate(name, 64))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalidf("unknown time zone %q (want an IANA name such as Europe/Paris)", name)
	}
	return loc, nil
}

// MachineZone returns the IANA name of this machine's time zone: $TZ if it
// names one, else the zone /etc/localtime links to, else /etc/timezone,
// else "UTC".
func MachineZone() string {
	return machineZone(os.Getenv, os.Readlink, os.ReadFile)
}

func machineZone(getenv func(string) string, readlink func(string) (string, error), readFile func(string) ([]byte, error)) string {
	if tz := strings.TrimPrefix(getenv("TZ"), ":"); tz != "" {
		if _, err := LoadZone(tz); err == nil {
			return tz
		}
	}
	if target, err := readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if _, err := LoadZone(name); err == nil {
				return name
			}
		}
	}
	if b, err := readFile("/etc/timezone"); err == nil {
		if name := strings.TrimSpace(string(b)); name != "" {
			if _, err := LoadZone(name); err == nil {
				return name
			}
		}
	}
	return "UTC"
}
