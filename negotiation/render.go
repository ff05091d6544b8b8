package negotiation

import (
	"fmt"
	"strings"
)

// Markdown renders text id as Markdown: the numbered paragraphs with their
// brackets and attributions visible, each paragraph's status and the
// parties' positions, the package view, and for an adopted text the
// authentic languages and who has signed.
func (s *State) Markdown(id string) (string, error) {
	t := s.Text(id)
	if t == nil {
		return "", fmt.Errorf("failed to render: %w %q", errNoSuchText, id)
	}
	name := func(party string) string {
		if p := s.index().parties[party]; p != nil && p.Name != "" {
			return p.Name
		}
		if party == "" {
			return "unattributed"
		}
		return party
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", mdEscape(t.Title))
	fmt.Fprintf(&b, "_Text `%s`, version %d, %s level, %s; tabled by %s. Package: %s._\n\n",
		t.ID, t.Version, t.Level, t.Status, mdEscape(name(t.TabledBy)), strings.ReplaceAll(string(t.Package.Status), "_", " "))
	for _, p := range t.Paragraphs {
		fmt.Fprintf(&b, "%d. %s\n", p.Number, mdSegments(p.Segments))
		var pos []string
		for _, x := range p.Positions {
			e := mdEscape(name(x.Party)) + ": " + strings.ReplaceAll(string(x.Stance), "_", " ")
			if x.Note != "" {
				e += " (" + mdEscape(oneLine(x.Note)) + ")"
			}
			pos = append(pos, e)
		}
		if len(pos) == 0 {
			pos = []string{"no positions yet"}
		}
		fmt.Fprintf(&b, "   - _%s; %s_\n", strings.ReplaceAll(string(p.Status), "_", " "), strings.Join(pos, "; "))
	}
	if len(t.Package.Blocks) > 0 {
		b.WriteString("\n## Open\n\n")
		for _, bl := range t.Package.Blocks {
			fmt.Fprintf(&b, "- paragraph %d: %s (%s)\n", bl.Number, mdEscape(name(bl.Party)), bl.Reason)
		}
	}
	if c := s.Concordance(t.ID); len(c.Langs) > 0 {
		b.WriteString("\n## Concordance\n\n")
		for i, lang := range c.Langs {
			var missing, stale, pending int
			for _, r := range c.Rows {
				switch r.Cells[i].Status {
				case ConcordanceMissing:
					missing++
				case ConcordanceStale:
					stale++
				case ConcordancePending:
					pending++
				}
			}
			state := "concordant: confirmed by every party"
			if missing+stale+pending > 0 {
				state = fmt.Sprintf("%d missing, %d stale, %d awaiting confirmation", missing, stale, pending)
			}
			fmt.Fprintf(&b, "- %s: %s\n", lang, state)
		}
	}
	if ad := t.Adoption; ad != nil {
		b.WriteString("\n## Adoption\n\n")
		var langs []string
		for _, l := range ad.Languages {
			langs = append(langs, l.Lang)
		}
		fmt.Fprintf(&b, "Version %d adopted in %s, equally authentic. Digest `%x`.\n\n", ad.Version, strings.Join(langs, ", "), ad.Digest)
		for _, p := range s.Config.Parties {
			signed := "not yet signed"
			for _, sg := range ad.Signatures {
				if sg.Party == p.ID {
					signed = "signed with its root key"
				}
			}
			fmt.Fprintf(&b, "- %s: %s\n", mdEscape(name(p.ID)), signed)
		}
	}
	return b.String(), nil
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// mdEscape escapes the characters Markdown would otherwise interpret
// inside a line (text never starts a line here).
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mdSegments(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		if !s.IsGroup() {
			b.WriteString(mdEscape(s.Text))
			continue
		}
		for i, o := range s.Options {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString("**\\[**")
			b.WriteString(mdSegments(o.Segments))
			b.WriteString("**\\]**")
			if o.Party != "" {
				b.WriteString("<sub>" + mdEscape(o.Party) + "</sub>")
			}
		}
	}
	return b.String()
}
