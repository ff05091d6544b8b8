package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Feed is one calendar feed: the meetings one delegation (or one delegate)
// attends.
type Feed struct {
	// Name is the calendar's display name (X-WR-CALNAME, NAME of RFC 7986).
	Name string
	// Domain is the right-hand side of every UID ("m-…@Domain"); it should
	// name the venue and never change. Empty means "goodoffices.invalid".
	Domain string
	// Zone is the venue's zone, in which DTSTART and DTEND are written and
	// for which a VTIMEZONE is generated.
	Zone *time.Location
	// Own is the delegate's zone; when set, each DESCRIPTION shows the
	// time there too. Calendar programs convert on their own as well.
	Own      *time.Location
	Meetings []Meeting
}

// DefaultDomain is the UID domain of a Feed without one.
const DefaultDomain = "goodoffices.invalid"

// ProdID is the PRODID of every feed (RFC 5545 §3.7.3).
const ProdID = "-//Good Offices//goodoffices schedule//EN"

// UID returns the stable iCalendar UID of meeting id in domain (RFC 5545
// §3.8.4.7). It never changes when the meeting does.
func UID(id, domain string) string {
	if domain == "" {
		domain = DefaultDomain
	}
	return id + "@" + domain
}

// RenderICS renders f as an iCalendar object (RFC 5545): a VCALENDAR with
// one VTIMEZONE for the venue's zone, generated from Go's time zone data to
// cover every meeting, and one VEVENT per meeting. Each event has a stable
// UID, SEQUENCE (§3.8.7.4) from the meeting's history, STATUS TENTATIVE
// (draft, provisional), CONFIRMED (confirmed, moved) or CANCELLED, and
// DTSTAMP and LAST-MODIFIED at its last revision, so the same meetings always
// render to the same bytes. Lines end in CRLF and are folded at 75 octets
// without splitting a UTF-8 character (§3.1); TEXT values are escaped
// (§3.3.11).
func RenderICS(f Feed) ([]byte, error) {
	if f.Zone == nil {
		return nil, errors.New("failed to render calendar: no venue time zone")
	}
	if f.Zone.String() == "Local" || f.Zone.String() == "" {
		return nil, errors.New("failed to render calendar: the venue zone must be an IANA zone, not Local")
	}
	if f.Domain == "" {
		f.Domain = DefaultDomain
	}
	if err := checkName("feed domain", f.Domain); err != nil {
		return nil, fmt.Errorf("failed to render calendar: %w", err)
	}
	utc := isUTC(f.Zone)
	w := &icsWriter{}
	w.line("BEGIN:VCALENDAR")
	w.line("VERSION:2.0")
	w.line("PRODID:" + ProdID)
	w.line("CALSCALE:GREGORIAN")
	if f.Name != "" {
		w.line("NAME:" + escapeText(f.Name))
		w.line("X-WR-CALNAME:" + escapeText(f.Name))
	}
	w.line("X-WR-TIMEZONE:" + f.Zone.String())
	w.line("REFRESH-INTERVAL;VALUE=DURATION:PT15M")
	w.line("X-PUBLISHED-TTL:PT15M")
	if len(f.Meetings) > 0 && !utc {
		from, to := f.Meetings[0].Start, f.Meetings[0].End
		for _, m := range f.Meetings {
			if m.Start.Before(from) {
				from = m.Start
			}
			if m.End.After(to) {
				to = m.End
			}
		}
		// Whole years around the meetings: the zone block then changes only
		// when a meeting moves to another year.
		from = time.Date(from.In(f.Zone).Year(), 1, 1, 0, 0, 0, 0, time.UTC).Add(-48 * time.Hour)
		to = time.Date(to.In(f.Zone).Year()+1, 1, 1, 0, 0, 0, 0, time.UTC).Add(48 * time.Hour)
		if err := writeVTimezone(w, f.Zone, from, to); err != nil {
			return nil, err
		}
	}
	for _, m := range f.Meetings {
		if err := writeEvent(w, f, m, utc); err != nil {
			return nil, err
		}
	}
	w.line("END:VCALENDAR")
	return []byte(w.b.String()), nil
}

func isUTC(loc *time.Location) bool {
	return loc == time.UTC || loc.String() == "UTC" || loc.String() == "Etc/UTC"
}

// lastRevision is when the meeting last changed in a way its calendar
// entry shows (readiness signals do not count).
func lastRevision(m Meeting) time.Time {
	for i := len(m.History) - 1; i >= 0; i-- {
		if m.History[i].Action != ActionReadiness {
			return m.History[i].At
		}
	}
	return m.Updated
}

func writeEvent(w *icsWriter, f Feed, m Meeting, utc bool) error {
	if err := checkID(m.ID); err != nil {
		return fmt.Errorf("failed to render calendar: %w", err)
	}
	if !m.End.After(m.Start) {
		return fmt.Errorf("failed to render calendar: meeting %s ends before it starts", m.ID)
	}
	var status string
	switch m.Status {
	case StatusDraft, StatusProvisional:
		status = "TENTATIVE"
	case StatusConfirmed, StatusMoved:
		status = "CONFIRMED"
	case StatusCancelled:
		status = "CANCELLED"
	default:
		return fmt.Errorf("failed to render calendar: meeting %s has unknown status %q", m.ID, m.Status)
	}
	rev := lastRevision(m)
	w.line("BEGIN:VEVENT")
	w.line("UID:" + UID(m.ID, f.Domain))
	w.line("DTSTAMP:" + utcStamp(rev))
	if !m.Created.IsZero() {
		w.line("CREATED:" + utcStamp(m.Created))
	}
	w.line("LAST-MODIFIED:" + utcStamp(rev))
	w.line("SEQUENCE:" + strconv.Itoa(m.Sequence))
	w.line("STATUS:" + status)
	w.line("SUMMARY:" + escapeText(m.Title))
	if utc {
		w.line("DTSTART:" + utcStamp(m.Start))
		w.line("DTEND:" + utcStamp(m.End))
	} else {
		tz := f.Zone.String()
		w.line("DTSTART;TZID=" + tz + ":" + m.Start.In(f.Zone).Format("20060102T150405"))
		w.line("DTEND;TZID=" + tz + ":" + m.End.In(f.Zone).Format("20060102T150405"))
	}
	w.line("LOCATION:" + escapeText(m.Room))
	w.line("CATEGORIES:" + escapeText(string(m.Level)))
	w.line("CLASS:CONFIDENTIAL")
	w.line("TRANSP:OPAQUE")
	w.line("DESCRIPTION:" + escapeText(describe(f, m)))
	w.line("END:VEVENT")
	return nil
}

// describe is the human summary in DESCRIPTION: everything the venue knows
// of the meeting, which is metadata only.
func describe(f Feed, m Meeting) string {
	var b strings.Builder
	levelNote := ""
	switch m.Status {
	case StatusProvisional:
		levelNote = " (provisional until every head of delegation signals readiness)"
	case StatusDraft:
		levelNote = " (draft)"
	case StatusMoved:
		levelNote = " (moved)"
	case StatusCancelled:
		levelNote = " (CANCELLED)"
	}
	fmt.Fprintf(&b, "Level: %s%s\n", m.Level, levelNote)
	fmt.Fprintf(&b, "Talks: %s\n", m.Talks)
	if m.Channel != "" {
		fmt.Fprintf(&b, "Channel: %s\n", m.Channel)
	}
	fmt.Fprintf(&b, "Room: %s\n", m.Room)
	fmt.Fprintf(&b, "Venue time: %s\n", FormatSpan(m.Start, m.End, f.Zone))
	if f.Own != nil && f.Own.String() != f.Zone.String() {
		fmt.Fprintf(&b, "Your time: %s\n", FormatSpan(m.Start, m.End, f.Own))
	}
	fmt.Fprintf(&b, "Delegations: %s\n", strings.Join(m.Delegations, ", "))
	if len(m.Languages) > 0 {
		fmt.Fprintf(&b, "Interpretation: %s (%s)\n", strings.ToUpper(strings.Join(m.Languages, ", ")), m.Interpretation)
	}
	fmt.Fprintf(&b, "Expected headcount: %d", m.Headcount)
	return b.String()
}

func utcStamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// writeVTimezone writes a VTIMEZONE (RFC 5545 §3.6.5) for loc covering
// [from, to]: one observance for the offset in effect at from, starting at
// its real onset, and one per transition up to to. Each observance's DTSTART
// is the onset as a wall clock in the offset before it (TZOFFSETFROM), as
// §3.6.5 requires; it is STANDARD or DAYLIGHT as Go's zone data says.
func writeVTimezone(w *icsWriter, loc *time.Location, from, to time.Time) error {
	w.line("BEGIN:VTIMEZONE")
	w.line("TZID:" + loc.String())
	cur := from.In(loc)
	start, end := cur.ZoneBounds()
	if start.IsZero() {
		name, off := cur.Zone()
		writeObservance(w, cur.IsDST(), name, off, off, "19700101T000000")
	} else {
		writeTransition(w, start)
	}
	for n := 0; !end.IsZero() && !end.After(to); n++ {
		if n > 1000 {
			return fmt.Errorf("failed to render calendar: zone %s changes too often", loc)
		}
		writeTransition(w, end)
		_, end = end.ZoneBounds()
	}
	w.line("END:VTIMEZONE")
	return nil
}

// writeTransition writes the observance beginning at instant t.
func writeTransition(w *icsWriter, t time.Time) {
	name, to := t.Zone()
	_, fromOff := t.Add(-time.Second).Zone()
	onset := t.UTC().Add(time.Duration(fromOff) * time.Second).Format("20060102T150405")
	writeObservance(w, t.IsDST(), name, fromOff, to, onset)
}

func writeObservance(w *icsWriter, dst bool, name string, from, to int, dtstart string) {
	kind := "STANDARD"
	if dst {
		kind = "DAYLIGHT"
	}
	w.line("BEGIN:" + kind)
	w.line("DTSTART:" + dtstart)
	w.line("TZOFFSETFROM:" + utcOffset(from))
	w.line("TZOFFSETTO:" + utcOffset(to))
	if name != "" {
		w.line("TZNAME:" + escapeText(name))
	}
	w.line("END:" + kind)
}

// utcOffset formats seconds east of UTC as RFC 5545 §3.3.14 UTC-OFFSET:
// +HHMM, or +HHMMSS when there are seconds; zero is "+0000", never "-0000".
func utcOffset(sec int) string {
	sign := byte('+')
	if sec < 0 {
		sign, sec = '-', -sec
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon,
// comma and newline; other control characters (which validation keeps out
// of names) are dropped, since TEXT may not hold them.
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type icsWriter struct{ b strings.Builder }

// line writes one content line, folded so that no physical line exceeds 75
// octets (RFC 5545 §3.1): a continuation starts with one space, which counts
// towards its 75, and a fold never splits a UTF-8 sequence.
func (w *icsWriter) line(s string) {
	const limit = 75
	n := 0
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		if n+size > limit {
			w.b.WriteString("\r\n ")
			n = 1
		}
		w.b.WriteString(s[i : i+size])
		n += size
		i += size
	}
	w.b.WriteString("\r\n")
}
