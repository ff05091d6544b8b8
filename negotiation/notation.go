package negotiation

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of the bracket notation. A paragraph longer, deeper or with more
// alternatives than this is refused rather than truncated.
const (
	MaxParagraphBytes = 16 << 10 // bytes of notation in one paragraph
	MaxBracketDepth   = 8        // nesting of brackets
	MaxAlternatives   = 16       // options in one bracketed group
	MaxPartyIDLen     = 64       // bytes in a party identifier (a delegation name)
)

// A Segment is one piece of a paragraph: either plain text (Options is
// empty) or a bracketed group. A group with one option is a bracketed
// segment, "[complete]"; a group with two or more options is a set of
// alternatives, "[complete] [partial]". Options nest.
type Segment struct {
	Text    string   `json:"text,omitempty"`
	Options []Option `json:"options,omitempty"`
}

// An Option is one bracketed alternative, attributed to the party that
// tabled it (empty when the notation did not say).
type Option struct {
	Party    string    `json:"party,omitempty"`
	Segments []Segment `json:"segments"`
}

// IsGroup reports whether s is a bracketed group rather than plain text.
func (s Segment) IsGroup() bool { return len(s.Options) > 0 }

// ParseNotation parses paragraph text in bracket notation, as diplomats write it:
//
//	The Parties agree to a [complete] [partial] cessation of hostilities.
//	[The Parties agree to withdraw heavy weapons [15]{borealia} [30] km.]{borealia}
//
// Grammar (strict; anything else is an error):
//
//	paragraph = segments                     ; no leading or trailing space
//	segments  = 1*( plain / group )
//	group     = option *( " " option )       ; exactly one space between alternatives
//	option    = "[" segments "]" [ "{" party "}" ]
//	party     = ( %x61-7A / DIGIT ) *63( %x61-7A / DIGIT / "-" / "." ) ; a delegation name
//	plain     = 1*( char / "\[" / "\]" / "\{" / "\}" / "\\" )
//
// where char is any Unicode character except the five escaped ones and the
// control characters. An option must not be empty, start or end with a
// space. Brackets nest at most MaxBracketDepth deep; a group has at most
// MaxAlternatives options. Two groups separated by exactly one space are one
// set of alternatives: write two spaces to keep them apart.
//
// RenderNotation is the inverse: for every string s that ParseNotation
// accepts, RenderNotation(ParseNotation(s)) == s.
func ParseNotation(s string) ([]Segment, error) { return parseNotation(s, false) }

// ParseFragment parses a piece of a paragraph, such as the words an
// amendment inserts: like ParseNotation, but it may start or end with a
// space.
func ParseFragment(s string) ([]Segment, error) { return parseNotation(s, true) }

func parseNotation(s string, fragment bool) ([]Segment, error) {
	if len(s) > MaxParagraphBytes {
		return nil, fmt.Errorf("failed to parse paragraph: longer than %d bytes", MaxParagraphBytes)
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("failed to parse paragraph: not valid UTF-8")
	}
	if s == "" {
		return nil, errors.New("failed to parse paragraph: empty")
	}
	if !fragment && (isSpace(s[0]) || isSpace(s[len(s)-1])) {
		return nil, errors.New("failed to parse paragraph: leading or trailing space")
	}
	p := &notationParser{s: s}
	segs, err := p.segments(0)
	if err != nil {
		return nil, fmt.Errorf("failed to parse paragraph at byte %d: %w", p.pos, err)
	}
	if p.pos != len(s) {
		return nil, fmt.Errorf("failed to parse paragraph at byte %d: unmatched %q", p.pos, s[p.pos])
	}
	return segs, nil
}

func isSpace(c byte) bool { return c == ' ' }

type notationParser struct {
	s   string
	pos int
}

// segments parses until the end of input or an unescaped ']' (not consumed).
func (p *notationParser) segments(depth int) ([]Segment, error) {
	var out []Segment
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			out = append(out, Segment{Text: plain.String()})
			plain.Reset()
		}
	}
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case ']':
			flush()
			return out, nil
		case '[':
			flush()
			g, err := p.group(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		case '{', '}':
			return nil, fmt.Errorf("unescaped %q outside an attribution", c)
		case '\\':
			if p.pos+1 >= len(p.s) {
				return nil, errors.New("dangling escape")
			}
			e := p.s[p.pos+1]
			switch e {
			case '[', ']', '{', '}', '\\':
				plain.WriteByte(e)
				p.pos += 2
			default:
				return nil, fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.pos:])
			if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x2028 || r == 0x2029 {
				return nil, fmt.Errorf("control character %U", r)
			}
			plain.WriteString(p.s[p.pos : p.pos+n])
			p.pos += n
		}
	}
	flush()
	return out, nil
}

// group parses one or more options; p.pos is at '['.
func (p *notationParser) group(depth int) (Segment, error) {
	if depth > MaxBracketDepth {
		return Segment{}, fmt.Errorf("brackets nested deeper than %d", MaxBracketDepth)
	}
	var g Segment
	for {
		p.pos++ // '['
		start := p.pos
		inner, err := p.segments(depth)
		if err != nil {
			return Segment{}, err
		}
		if p.pos >= len(p.s) {
			return Segment{}, errors.New("unclosed bracket")
		}
		if len(inner) == 0 {
			return Segment{}, errors.New("empty bracket")
		}
		if isSpace(p.s[start]) || isSpace(p.s[p.pos-1]) {
			return Segment{}, errors.New("space just inside a bracket")
		}
		p.pos++ // ']'
		opt := Option{Segments: inner}
		if p.pos < len(p.s) && p.s[p.pos] == '{' {
			end := strings.IndexByte(p.s[p.pos:], '}')
			if end < 0 {
				return Segment{}, errors.New("unclosed attribution")
			}
			party := p.s[p.pos+1 : p.pos+end]
			if err := checkID(party, MaxPartyIDLen); err != nil {
				return Segment{}, fmt.Errorf("bad attribution: %w", err)
			}
			opt.Party = party
			p.pos += end + 1
		}
		g.Options = append(g.Options, opt)
		if len(g.Options) > MaxAlternatives {
			return Segment{}, fmt.Errorf("more than %d alternatives", MaxAlternatives)
		}
		if p.pos+1 < len(p.s) && p.s[p.pos] == ' ' && p.s[p.pos+1] == '[' {
			p.pos++
			continue
		}
		return g, nil
	}
}

// checkID accepts identifiers as delegation names are spelled (see
// package delegation): a-z, 0-9, '-' and '.', starting with a letter or digit.
func checkID(id string, max int) error {
	if id == "" {
		return errors.New("empty identifier")
	}
	if len(id) > max {
		return fmt.Errorf("identifier longer than %d bytes", max)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '.') && i > 0) {
			return fmt.Errorf("identifier %q: only a-z, 0-9, '-' and '.' allowed, starting with a letter or digit", id)
		}
	}
	return nil
}

// RenderNotation writes segments in bracket notation (see ParseNotation).
func RenderNotation(segs []Segment) string {
	var b strings.Builder
	renderSegments(&b, segs)
	return b.String()
}

func renderSegments(b *strings.Builder, segs []Segment) {
	for _, s := range segs {
		if !s.IsGroup() {
			for i := 0; i < len(s.Text); i++ {
				switch c := s.Text[i]; c {
				case '[', ']', '{', '}', '\\':
					b.WriteByte('\\')
					b.WriteByte(c)
				default:
					b.WriteByte(c)
				}
			}
			continue
		}
		for i, o := range s.Options {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('[')
			renderSegments(b, o.Segments)
			b.WriteByte(']')
			if o.Party != "" {
				b.WriteByte('{')
				b.WriteString(o.Party)
				b.WriteByte('}')
			}
		}
	}
}

// PlainText returns the text of segments without brackets, and false if
// any bracket remains (a bracketed text has no single plain reading).
func PlainText(segs []Segment) (string, bool) {
	var b strings.Builder
	for _, s := range segs {
		if s.IsGroup() {
			return "", false
		}
		b.WriteString(s.Text)
	}
	return b.String(), true
}

// HasBrackets reports whether any segment is a bracketed group.
func HasBrackets(segs []Segment) bool {
	for _, s := range segs {
		if s.IsGroup() {
			return true
		}
	}
	return false
}

// bracketParties returns the parties whose bracketed options remain in
// segs, in first-seen order; "" stands for unattributed brackets.
func bracketParties(segs []Segment, seen map[string]bool, out []string) []string {
	for _, s := range segs {
		for _, o := range s.Options {
			if !seen[o.Party] {
				seen[o.Party] = true
				out = append(out, o.Party)
			}
			out = bracketParties(o.Segments, seen, out)
		}
	}
	return out
}

// attribute sets party on every option that has no attribution.
func attribute(segs []Segment, party string) {
	for i := range segs {
		for j := range segs[i].Options {
			if segs[i].Options[j].Party == "" {
				segs[i].Options[j].Party = party
			}
			attribute(segs[i].Options[j].Segments, party)
		}
	}
}

// attributions calls f for every attributed option.
func attributions(segs []Segment, f func(party string) error) error {
	for _, s := range segs {
		for _, o := range s.Options {
			if o.Party != "" {
				if err := f(o.Party); err != nil {
					return err
				}
			}
			if err := attributions(o.Segments, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func cloneSegments(segs []Segment) []Segment {
	if segs == nil {
		return nil
	}
	out := make([]Segment, len(segs))
	for i, s := range segs {
		out[i].Text = s.Text
		if s.Options != nil {
			out[i].Options = make([]Option, len(s.Options))
			for j, o := range s.Options {
				out[i].Options[j] = Option{Party: o.Party, Segments: cloneSegments(o.Segments)}
			}
		}
	}
	return out
}
