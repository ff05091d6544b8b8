package schedule

// A strict RFC 5545 reader used only by the tests, to check what RenderICS
// writes: line endings and lengths (§3.1), content-line grammar (§3.1,
// §3.2), component nesting (§3.4, §3.6), TEXT escapes (§3.3.11), required
// properties, and local times resolved through the VTIMEZONE's own
// observances (§3.6.5) rather than through Go's zone data.

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type icsProp struct {
	Name   string
	Params map[string][]string
	Value  string
}

type icsComp struct {
	Name  string
	Props []icsProp
	Comps []*icsComp
}

func (c *icsComp) all(name string) []icsProp {
	var out []icsProp
	for _, p := range c.Props {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// one returns the single property name, or an error if it is missing or
// repeated.
func (c *icsComp) one(name string) (icsProp, error) {
	ps := c.all(name)
	if len(ps) != 1 {
		return icsProp{}, fmt.Errorf("%s has %d %s properties, want 1", c.Name, len(ps), name)
	}
	return ps[0], nil
}

func (c *icsComp) sub(name string) []*icsComp {
	var out []*icsComp
	for _, s := range c.Comps {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

const maxICS = 1 << 20

// parseICS reads one iCalendar object strictly.
func parseICS(b []byte) (*icsComp, error) {
	if len(b) > maxICS {
		return nil, errors.New("too long")
	}
	s := string(b)
	if !strings.HasSuffix(s, "\r\n") {
		return nil, errors.New("does not end with CRLF")
	}
	phys := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	var logical []string
	for i, l := range phys {
		if strings.ContainsAny(l, "\r\n") {
			return nil, fmt.Errorf("line %d: bare CR or LF", i+1)
		}
		if len(l) > 75 {
			return nil, fmt.Errorf("line %d: %d octets, more than 75", i+1, len(l))
		}
		if !utf8.ValidString(l) {
			return nil, fmt.Errorf("line %d: not UTF-8 on its own (a fold split a character?)", i+1)
		}
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			if len(logical) == 0 {
				return nil, errors.New("first line is a continuation")
			}
			logical[len(logical)-1] += l[1:]
			continue
		}
		logical = append(logical, l)
	}
	var stack []*icsComp
	var root *icsComp
	for i, l := range logical {
		p, err := parseContentLine(l)
		if err != nil {
			return nil, fmt.Errorf("content line %d %q: %w", i+1, truncate(l, 60), err)
		}
		switch p.Name {
		case "BEGIN":
			if root != nil && len(stack) == 0 {
				return nil, errors.New("content after END:VCALENDAR")
			}
			if len(p.Params) > 0 || !isName(p.Value) {
				return nil, fmt.Errorf("bad BEGIN %q", p.Value)
			}
			c := &icsComp{Name: p.Value}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.Comps = append(top.Comps, c)
			} else {
				root = c
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].Name != p.Value || len(p.Params) > 0 {
				return nil, fmt.Errorf("END:%s does not close the open component", p.Value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, fmt.Errorf("property %s outside any component", p.Name)
			}
			top := stack[len(stack)-1]
			top.Props = append(top.Props, p)
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, errors.New("unterminated or missing component")
	}
	if root.Name != "VCALENDAR" {
		return nil, fmt.Errorf("top component is %s", root.Name)
	}
	return root, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isCTL(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// parseContentLine reads name *(";" param) ":" value (§3.1).
func parseContentLine(l string) (icsProp, error) {
	i := strings.IndexAny(l, ";:")
	if i <= 0 || !isName(l[:i]) {
		return icsProp{}, errors.New("bad property name")
	}
	p := icsProp{Name: strings.ToUpper(l[:i]), Params: map[string][]string{}}
	rest := l[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !isName(rest[:eq]) {
			return icsProp{}, errors.New("bad parameter name")
		}
		name := strings.ToUpper(rest[:eq])
		if _, dup := p.Params[name]; dup {
			return icsProp{}, fmt.Errorf("parameter %s repeated", name)
		}
		rest = rest[eq+1:]
		for {
			var v string
			if strings.HasPrefix(rest, `"`) {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return icsProp{}, errors.New("unterminated quoted parameter")
				}
				v, rest = rest[1:1+end], rest[2+end:]
				if strings.ContainsFunc(v, isCTL) {
					return icsProp{}, errors.New("control character in quoted parameter")
				}
			} else {
				end := strings.IndexAny(rest, `;:,"`)
				if end < 0 {
					return icsProp{}, errors.New("parameter runs to end of line")
				}
				if rest[end] == '"' {
					return icsProp{}, errors.New("DQUOTE inside parameter value")
				}
				v, rest = rest[:end], rest[end:]
				if strings.ContainsFunc(v, isCTL) {
					return icsProp{}, errors.New("control character in parameter")
				}
			}
			p.Params[name] = append(p.Params[name], v)
			if rest == "" {
				return icsProp{}, errors.New("missing ':'")
			}
			if rest[0] != ',' {
				break
			}
			rest = rest[1:]
		}
		if rest[0] != ';' && rest[0] != ':' {
			return icsProp{}, errors.New("junk after parameter")
		}
	}
	if rest[0] != ':' {
		return icsProp{}, errors.New("missing ':'")
	}
	p.Value = rest[1:]
	if strings.ContainsFunc(p.Value, isCTL) {
		return icsProp{}, errors.New("control character in value")
	}
	return p, nil
}

// unescapeText decodes a single TEXT value (§3.3.11); an unescaped comma or
// semicolon, or an unknown escape, is an error.
func unescapeText(s string) (string, error) {
	vs, err := unescapeTextList(s)
	if err != nil {
		return "", err
	}
	if len(vs) != 1 {
		return "", errors.New("unescaped comma in a single TEXT value")
	}
	return vs[0], nil
}

func unescapeTextList(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			switch s[i] {
			case '\\', ';', ',':
				b.WriteByte(s[i])
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				return nil, fmt.Errorf("bad escape \\%c", s[i])
			}
		case ';':
			return nil, errors.New("unescaped semicolon in TEXT")
		case ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String()), nil
}

func parseUTCOffset(s string) (int, error) {
	if (len(s) != 5 && len(s) != 7) || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	n := 0
	parts := []int{}
	for i := 1; i < len(s); i += 2 {
		v, err := strconv.Atoi(s[i : i+2])
		if err != nil || s[i] < '0' || s[i] > '9' || s[i+1] < '0' || s[i+1] > '9' {
			return 0, fmt.Errorf("bad UTC offset %q", s)
		}
		parts = append(parts, v)
	}
	if parts[0] > 23 || parts[1] > 59 || len(parts) == 3 && (parts[2] > 59 || parts[2] == 0) {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	n = parts[0]*3600 + parts[1]*60
	if len(parts) == 3 {
		n += parts[2]
	}
	if s[0] == '-' {
		if n == 0 {
			return 0, errors.New("-0000 is not a valid UTC offset")
		}
		n = -n
	}
	return n, nil
}

// parseDateTime reads a DATE-TIME (§3.3.5): form 1 (floating) or form 2
// (UTC, with Z). It returns the wall clock as a UTC time and whether it had Z.
func parseDateTime(s string) (time.Time, bool, error) {
	utc := strings.HasSuffix(s, "Z")
	v := strings.TrimSuffix(s, "Z")
	t, err := time.Parse("20060102T150405", v)
	if err != nil || t.Format("20060102T150405") != v {
		return time.Time{}, false, fmt.Errorf("bad DATE-TIME %q", s)
	}
	return t, utc, nil
}

// icsZone is a VTIMEZONE as its observances define it.
type icsZone struct {
	onsets []time.Time // UTC, sorted
	from   []int
	to     []int
	names  []string
	dst    []bool
}

func readZone(c *icsComp) (string, *icsZone, error) {
	tzid, err := c.one("TZID")
	if err != nil {
		return "", nil, err
	}
	type obs struct {
		onset    time.Time
		from, to int
		name     string
		dst      bool
	}
	var list []obs
	for _, sc := range c.Comps {
		if sc.Name != "STANDARD" && sc.Name != "DAYLIGHT" {
			return "", nil, fmt.Errorf("unexpected %s in VTIMEZONE", sc.Name)
		}
		if len(sc.all("RRULE"))+len(sc.all("RDATE")) > 0 {
			return "", nil, errors.New("RRULE/RDATE observances are not supported by this test reader")
		}
		ds, err := sc.one("DTSTART")
		if err != nil {
			return "", nil, err
		}
		local, utc, err := parseDateTime(ds.Value)
		if err != nil || utc || len(ds.Params) > 0 {
			return "", nil, fmt.Errorf("observance DTSTART %q must be a local time: %v", ds.Value, err)
		}
		fp, err := sc.one("TZOFFSETFROM")
		if err != nil {
			return "", nil, err
		}
		tp, err := sc.one("TZOFFSETTO")
		if err != nil {
			return "", nil, err
		}
		from, err := parseUTCOffset(fp.Value)
		if err != nil {
			return "", nil, err
		}
		to, err := parseUTCOffset(tp.Value)
		if err != nil {
			return "", nil, err
		}
		var name string
		if ns := sc.all("TZNAME"); len(ns) == 1 {
			name, err = unescapeText(ns[0].Value)
			if err != nil {
				return "", nil, err
			}
		}
		list = append(list, obs{local.Add(-time.Duration(from) * time.Second), from, to, name, sc.Name == "DAYLIGHT"})
	}
	if len(list) == 0 {
		return "", nil, errors.New("VTIMEZONE without observances")
	}
	sort.Slice(list, func(i, j int) bool { return list[i].onset.Before(list[j].onset) })
	z := &icsZone{}
	for i, o := range list {
		if i > 0 && o.onset.Equal(list[i-1].onset) {
			return "", nil, errors.New("two observances start at the same instant")
		}
		if i > 0 && o.from != list[i-1].to {
			return "", nil, fmt.Errorf("observance at %v starts from %d, but the previous one ends at %d", o.onset, o.from, list[i-1].to)
		}
		z.onsets = append(z.onsets, o.onset)
		z.from = append(z.from, o.from)
		z.to = append(z.to, o.to)
		z.names = append(z.names, o.name)
		z.dst = append(z.dst, o.dst)
	}
	return tzid.Value, z, nil
}

func (z *icsZone) offsetAt(t time.Time) int {
	off := z.from[0]
	for i, o := range z.onsets {
		if !o.After(t) {
			off = z.to[i]
		}
	}
	return off
}

// resolve returns the one instant at which the zone's wall clock shows
// local (given as a UTC time).
func (z *icsZone) resolve(local time.Time) (time.Time, error) {
	offs := map[int]bool{}
	for i := range z.onsets {
		offs[z.from[i]], offs[z.to[i]] = true, true
	}
	var found []time.Time
	for off := range offs {
		t := local.Add(-time.Duration(off) * time.Second)
		if z.offsetAt(t) == off {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		return time.Time{}, fmt.Errorf("local time %v has %d instants in the VTIMEZONE", local, len(found))
	}
	return found[0], nil
}

// icsEvent is a checked VEVENT.
type icsEvent struct {
	UID, Summary, Location, Description, Status string
	Categories                                  []string
	Sequence                                    int
	Start, End, Stamp                           time.Time
	TZID                                        string
}

// checkCalendar applies the RFC's rules for what RenderICS writes and
// returns the events.
func checkCalendar(cal *icsComp) ([]icsEvent, map[string]*icsZone, error) {
	if v, err := cal.one("VERSION"); err != nil || v.Value != "2.0" {
		return nil, nil, fmt.Errorf("VERSION must be 2.0: %v", err)
	}
	if _, err := cal.one("PRODID"); err != nil {
		return nil, nil, err
	}
	zones := map[string]*icsZone{}
	for _, c := range cal.sub("VTIMEZONE") {
		id, z, err := readZone(c)
		if err != nil {
			return nil, nil, err
		}
		if zones[id] != nil {
			return nil, nil, fmt.Errorf("VTIMEZONE %s twice", id)
		}
		zones[id] = z
	}
	for _, c := range cal.Comps {
		if c.Name != "VTIMEZONE" && c.Name != "VEVENT" {
			return nil, nil, fmt.Errorf("unexpected component %s", c.Name)
		}
	}
	uids := map[string]bool{}
	var evs []icsEvent
	for _, c := range cal.sub("VEVENT") {
		var e icsEvent
		if len(c.Comps) > 0 {
			return nil, nil, errors.New("VEVENT with subcomponents")
		}
		for _, name := range []string{"UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "SUMMARY", "LOCATION", "DESCRIPTION", "CATEGORIES"} {
			p, err := c.one(name)
			if err != nil {
				return nil, nil, err
			}
			switch name {
			case "UID":
				e.UID = p.Value
				if uids[e.UID] {
					return nil, nil, fmt.Errorf("UID %s twice", e.UID)
				}
				uids[e.UID] = true
			case "DTSTAMP":
				t, utc, err := parseDateTime(p.Value)
				if err != nil || !utc {
					return nil, nil, fmt.Errorf("DTSTAMP must be UTC: %q", p.Value)
				}
				e.Stamp = t
			case "DTSTART", "DTEND":
				local, utc, err := parseDateTime(p.Value)
				if err != nil {
					return nil, nil, err
				}
				tz := p.Params["TZID"]
				var t time.Time
				switch {
				case utc && len(tz) == 0:
					t = local
				case !utc && len(tz) == 1:
					z := zones[tz[0]]
					if z == nil {
						return nil, nil, fmt.Errorf("TZID %s has no VTIMEZONE", tz[0])
					}
					if t, err = z.resolve(local); err != nil {
						return nil, nil, err
					}
					e.TZID = tz[0]
				default:
					return nil, nil, fmt.Errorf("%s %q: want UTC or one TZID", name, p.Value)
				}
				if name == "DTSTART" {
					e.Start = t
				} else {
					e.End = t
				}
			case "SEQUENCE":
				n, err := strconv.Atoi(p.Value)
				if err != nil || n < 0 || strconv.Itoa(n) != p.Value {
					return nil, nil, fmt.Errorf("bad SEQUENCE %q", p.Value)
				}
				e.Sequence = n
			case "STATUS":
				switch p.Value {
				case "TENTATIVE", "CONFIRMED", "CANCELLED":
				default:
					return nil, nil, fmt.Errorf("bad VEVENT STATUS %q", p.Value)
				}
				e.Status = p.Value
			case "CATEGORIES":
				if e.Categories, err = unescapeTextList(p.Value); err != nil {
					return nil, nil, err
				}
			default:
				v, err := unescapeText(p.Value)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", name, err)
				}
				switch name {
				case "SUMMARY":
					e.Summary = v
				case "LOCATION":
					e.Location = v
				case "DESCRIPTION":
					e.Description = v
				}
			}
		}
		if !e.End.After(e.Start) {
			return nil, nil, fmt.Errorf("event %s ends before it starts", e.UID)
		}
		evs = append(evs, e)
	}
	return evs, zones, nil
}
