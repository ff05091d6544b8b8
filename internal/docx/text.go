package docx

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/good-offices/goodoffices/negotiation"
)

// signatureStyle is the paragraph style of an adopted text's signature
// page, which Import recognises and does not take for paragraphs.
const signatureStyle = "GoodOfficesSignature"

// partyColors are the colours of the brackets of the first, second, …
// party of the talks (dark enough to read on white, told apart in print).
var partyColors = []string{"1F4E9A", "A6241C", "2E7D32", "7B1FA2", "B45F06", "00838F", "5D4037", "455A64"}

// ExportOptions choose what Export writes.
type ExportOptions struct {
	// Lang exports the authentic language version Lang of an adopted
	// text; "" exports the negotiating text with its brackets.
	Lang string
}

// Export writes text id of the talks as a .docx: numbered paragraphs, each
// bracket coloured for the party that tabled it with a comment naming it,
// each party's position on a paragraph as a comment by that party, and for
// an adopted text a signature page.
func Export(s *negotiation.State, id string, opt ExportOptions) ([]byte, error) {
	t := s.Text(id)
	if t == nil {
		return nil, fmt.Errorf("failed to export: no text %q", id)
	}
	name := func(party string) string {
		for _, p := range s.Config.Parties {
			if p.ID == party && p.Name != "" {
				return p.Name
			}
		}
		if party == "" {
			return "unattributed"
		}
		return party
	}
	color := map[string]string{}
	for i, p := range s.Config.Parties {
		color[p.ID] = partyColors[i%len(partyColors)]
	}
	doc := &Document{
		Title:  t.Title,
		Author: "Good Offices",
		Header: fmt.Sprintf("%s · text %s, version %d · %s level · %s · package %s", s.Config.Talks, t.ID, t.Version, t.Level,
			strings.ReplaceAll(string(t.Status), "_", " "), strings.ReplaceAll(string(t.Package.Status), "_", " ")),
	}
	if opt.Lang != "" {
		return exportLanguage(s, t, opt.Lang, doc, name)
	}
	for _, p := range t.Paragraphs {
		bl := Block{Numbered: true, Runs: segmentRuns(p.Segments, color, name)}
		for _, x := range p.Positions {
			c := fmt.Sprintf("%s: %s (on version %d of this paragraph)", name(x.Party), strings.ReplaceAll(string(x.Stance), "_", " "), x.Version)
			if x.Note != "" {
				c += "\n" + x.Note
			}
			bl.Comments = append(bl.Comments, Comment{Author: name(x.Party), Text: c})
		}
		doc.Blocks = append(doc.Blocks, bl)
	}
	if t.Adoption != nil {
		doc.Blocks = append(doc.Blocks, signaturePage(s, t, name)...)
	}
	return Write(doc)
}

func exportLanguage(s *negotiation.State, t *negotiation.Text, lang string, doc *Document, name func(string) string) ([]byte, error) {
	if t.Adoption == nil {
		return nil, fmt.Errorf("failed to export: text %q is not adopted, so it has no authentic language versions", t.ID)
	}
	var have []string
	for _, l := range t.Adoption.Languages {
		have = append(have, l.Lang)
		if l.Lang != lang {
			continue
		}
		doc.Title = l.Title
		for _, p := range l.Paragraphs {
			doc.Blocks = append(doc.Blocks, Block{Numbered: true, Runs: []Run{{Text: p}}})
		}
		doc.Blocks = append(doc.Blocks, signaturePage(s, t, name)...)
		return Write(doc)
	}
	return nil, fmt.Errorf("failed to export: text %q has no %q version (authentic languages: %s)", t.ID, lang, strings.Join(have, ", "))
}

func signaturePage(s *negotiation.State, t *negotiation.Text, name func(string) string) []Block {
	ad := t.Adoption
	var langs []string
	for _, l := range ad.Languages {
		langs = append(langs, l.Lang)
	}
	out := []Block{
		{Style: "Heading1", PageBreakBefore: true, Runs: []Run{{Text: "Signatures"}}},
		{Style: signatureStyle, Runs: []Run{{Text: fmt.Sprintf("Version %d adopted in %s, each version equally authentic.", ad.Version, strings.Join(langs, ", "))}}},
		{Style: signatureStyle, Runs: []Run{{Text: "Outcome digest (SHA-256): "}, {Text: fmt.Sprintf("%x", ad.Digest), Bold: true}}},
	}
	signed := map[string]bool{}
	for _, sg := range ad.Signatures {
		signed[sg.Party] = true
	}
	for _, p := range s.Config.Parties {
		state := "not yet signed"
		if signed[p.ID] {
			state = "signed with the delegation's root key (verify with: goodoffices verify)"
		}
		out = append(out, Block{Style: signatureStyle, Runs: []Run{{Text: "For " + name(p.ID) + ": ", Bold: true}, {Text: state}}})
	}
	return out
}

// segmentRuns renders segments in bracket notation as runs: each option's
// brackets and words in its party's colour, with a comment naming the
// party that tabled it around the whole option.
func segmentRuns(segs []negotiation.Segment, color map[string]string, name func(string) string) []Run {
	var out []Run
	var walk func(segs []negotiation.Segment, col string)
	walk = func(segs []negotiation.Segment, col string) {
		for _, s := range segs {
			if !s.IsGroup() {
				out = append(out, Run{Text: s.Text, Color: col})
				continue
			}
			for i, o := range s.Options {
				if i > 0 {
					out = append(out, Run{Text: " ", Color: col})
				}
				c := col
				open := Run{Text: "[", Bold: true}
				if o.Party != "" {
					c = color[o.Party]
					open.Open = []Comment{{Author: name(o.Party), Text: "Tabled by " + name(o.Party)}}
				}
				open.Color = c
				out = append(out, open)
				walk(o.Segments, c)
				cl := Run{Text: "]", Bold: true, Color: c}
				if o.Party != "" {
					cl.Close = 1
				}
				out = append(out, cl)
			}
		}
	}
	walk(segs, "")
	return out
}

// An Imported text is what Import makes of a .docx: a title and paragraphs
// in bracket notation, ready to be tabled, and what it could not map.
type Imported struct {
	Title      string
	Paragraphs []string // bracket notation, valid for negotiation.ParseNotation
	Issues     []Issue
}

// Fatal reports whether an issue makes the paragraphs wrong (as opposed to
// incomplete): such a document must not be tabled.
func (im *Imported) Fatal() bool {
	for _, i := range im.Issues {
		if i.Fatal {
			return true
		}
	}
	return false
}

// manualNumber is a paragraph number typed by hand: "1.", "12)", "(3)".
var manualNumber = regexp.MustCompile(`^(\(\d{1,3}\)|\d{1,3}[.)])\s+`)

// Import reads a .docx written in Word as a negotiating text. The first
// paragraph in the Title style (or a first Heading 1) is the title; every
// other non-empty body paragraph is a paragraph of the text, its number
// (typed or automatic) dropped. Square brackets keep their meaning: "[a]
// [b]" are alternatives, attributed to whoever tables the text. Braces and
// backslashes are taken literally. A paragraph whose brackets do not
// balance, and tracked changes, are fatal issues; headings, tables, images,
// footnotes and comments are reported as not imported.
func Import(data []byte) (*Imported, error) {
	f, err := Read(data)
	if err != nil {
		return nil, err
	}
	im := &Imported{Issues: f.Issues}
	signatures := false
	for _, p := range f.Paragraphs {
		txt := normalise(p.Text)
		if txt == "" {
			continue
		}
		style := strings.ToLower(p.Style)
		switch {
		case p.Style == signatureStyle:
			if !signatures {
				signatures = true
				im.Issues = append(im.Issues, Issue{Paragraph: p.Number, What: "the signature page of an adopted text is not imported"})
			}
			continue
		case im.Title == "" && len(im.Paragraphs) == 0 && (style == "title" || style == "heading1"):
			im.Title = txt
			continue
		case style == "title" || style == "subtitle" || strings.HasPrefix(style, "heading"):
			im.Issues = append(im.Issues, Issue{Paragraph: p.Number, What: fmt.Sprintf("a heading (%q) is not imported as a paragraph", short(txt))})
			continue
		}
		txt = manualNumber.ReplaceAllString(txt, "")
		notation := escapeLiteral(txt)
		if _, err := negotiation.ParseNotation(notation); err != nil {
			im.Issues = append(im.Issues, Issue{Paragraph: p.Number, Fatal: true, What: fmt.Sprintf("%q: %s", short(txt), strings.TrimPrefix(err.Error(), "failed to parse paragraph"))})
			continue
		}
		im.Paragraphs = append(im.Paragraphs, notation)
	}
	if len(im.Paragraphs) == 0 && !im.Fatal() {
		return nil, errors.New("failed to import: the document has no paragraphs of text")
	}
	sort.SliceStable(im.Issues, func(i, j int) bool { return im.Issues[i].Paragraph < im.Issues[j].Paragraph })
	return im, nil
}

// normalise turns Word's spacing into the notation's: no-break and other
// Unicode spaces become plain spaces, and the ends are trimmed.
func normalise(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u00a0', '\u2007', '\u202f', '\u2002', '\u2003', '\u2009':
			return ' '
		case '\u00ad', '\u200b': // soft hyphen, zero-width space
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// escapeLiteral escapes the notation's characters other than the square
// brackets, which keep their meaning.
func escapeLiteral(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `{`, `\{`, `}`, `\}`)
	return r.Replace(s)
}

func short(s string) string {
	const n = 60
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
