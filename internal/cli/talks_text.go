package cli

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
)

// The talks in a terminal: 'desk talks' and 'desk read' print the IDs a
// delegate must type (paragraphs p3 and their versions, proposals A1,
// statements S1) in plain text, with colour only when standard output is a
// terminal that wants it. Scripts use --json.

// paint colours terminal text; its zero value (off) leaves text plain.
type paint struct{ on bool }

// colourEnabled reports whether the command's output is a terminal that
// takes colour: not when NO_COLOR is set (https://no-color.org), TERM is
// "dumb" or standard output is a file or a pipe.
var colourEnabled = func(env *Env) bool {
	if env.Getenv("NO_COLOR") != "" || env.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := env.Stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newPaint(env *Env) paint { return paint{on: colourEnabled(env)} }

// SGR codes (ECMA-48 §8.3.117).
const (
	sgrBold   = "1"
	sgrDim    = "2"
	sgrRed    = "31"
	sgrGreen  = "32"
	sgrYellow = "33"
)

// partyColours tell the parties' bracketed material apart.
var partyColours = []string{"36", "35", "34", "33"}

func (p paint) with(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p paint) bold(s string) string { return p.with(sgrBold, s) }
func (p paint) dim(s string) string  { return p.with(sgrDim, s) }

// status colours a paragraph or proposal status by how far it is from
// agreement.
func (p paint) status(s string) string {
	w := strings.ReplaceAll(s, "_", " ")
	switch s {
	case string(negotiation.ParaAgreed), string(negotiation.ProposalAccepted), string(negotiation.TextAdopted):
		return p.with(sgrGreen, w)
	case string(negotiation.ParaObjected), string(negotiation.ProposalDeclined):
		return p.with(sgrRed, w)
	case string(negotiation.ParaReserved), string(negotiation.ParaBracketed), string(negotiation.ParaAgreedAdReferendum), string(negotiation.ProposalOpen):
		return p.with(sgrYellow, w)
	}
	return w
}

// textRenderer renders the bracket notation of a state's paragraphs.
type textRenderer struct {
	paint
	parties map[string]int // party -> colour index
}

func newTextRenderer(pt paint, st *negotiation.State) textRenderer {
	r := textRenderer{paint: pt, parties: map[string]int{}}
	for i, p := range st.Config.Parties {
		r.parties[p.ID] = i
	}
	return r
}

// segments renders a paragraph as readable text: a bracketed passage in
// square brackets, alternatives separated by " | ", and the delegation
// that tabled them after the closing bracket, ‹arden›; with colour, each
// delegation's material in its own colour. No Markdown, no escapes.
func (r textRenderer) segments(segs []negotiation.Segment) string {
	var b strings.Builder
	for _, s := range segs {
		if !s.IsGroup() {
			b.WriteString(s.Text)
			continue
		}
		same := s.Options[0].Party
		for _, o := range s.Options[1:] {
			if o.Party != same {
				same = ""
			}
		}
		col := ""
		if same != "" {
			col = partyColours[r.parties[same]%len(partyColours)]
		}
		b.WriteString(r.bold("["))
		for i, o := range s.Options {
			if i > 0 {
				b.WriteString(r.bold(" | "))
			}
			inner := r.segments(o.Segments)
			if same == "" && o.Party != "" {
				inner += r.dim("‹" + o.Party + "›")
				inner = r.with(partyColours[r.parties[o.Party]%len(partyColours)], inner)
			} else if col != "" {
				inner = r.with(col, inner)
			}
			b.WriteString(inner)
		}
		b.WriteString(r.bold("]"))
		if same != "" {
			b.WriteString(r.with(col, "‹"+same+"›"))
		}
	}
	return b.String()
}

// wrap breaks s into lines of at most width visible characters (escape
// sequences do not count), each after the first starting with indent.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	col := 0
	for i, w := range strings.Split(s, " ") {
		n := visibleLen(w)
		if i > 0 {
			if col+1+n > width && col > len(indent) {
				b.WriteString("\n" + indent)
				col = len(indent)
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}

var sgrRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// pad pads s with spaces to n visible characters.
func pad(s string, n int) string {
	if v := visibleLen(s); v < n {
		return s + strings.Repeat(" ", n-v)
	}
	return s
}

func visibleLen(s string) int { return utf8.RuneCountInString(sgrRE.ReplaceAllString(s, "")) }

// clip shortens plain s to n visible characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

const textWidth = 78

// writeTalksSummary prints the state of the talks in a channel: every text
// with its paragraphs (ID, version, status), the proposals and the last
// statements, each with the ID that commands take.
func writeTalksSummary(w io.Writer, pt paint, ch string, st *negotiation.State) {
	r := newTextRenderer(pt, st)
	fmt.Fprintf(w, "talks in %s: %d texts, %d proposals, %d statements; package %s\n",
		ch, len(st.Texts), len(st.Proposals), len(st.Statements), pt.status(string(st.Package.Status)))
	for _, t := range st.Texts {
		fmt.Fprintf(w, "\n  text %s %q v%d (%s) — goodoffices desk talks %s --text %s\n", pt.bold(t.ID), t.Title, t.Version, pt.status(string(t.Status)), ch, t.ID)
		for _, p := range t.Paragraphs {
			// One line each: clipped, and then without colour (a cut
			// would split an escape sequence).
			line := r.segments(p.Segments)
			if plain := (textRenderer{parties: r.parties}).segments(p.Segments); utf8.RuneCountInString(plain) > 42 {
				line = clip(plain, 42)
			}
			fmt.Fprintf(w, "    %s v%-3d %s %s\n", pt.bold(fmt.Sprintf("%-4s", p.ID)), p.Version, pad(pt.status(string(p.Status)), 20), line)
		}
	}
	if len(st.Proposals) > 0 {
		fmt.Fprintln(w)
	}
	for _, p := range st.Proposals {
		fmt.Fprintf(w, "  proposal %s by %s on %s: %s — %s\n", pt.bold(p.ID), p.By, p.Text, pt.status(string(p.Status)),
			negotiation.Describe(negotiation.NewProposal(p.Text, p.Amendment)))
	}
	const lastStatements = 10
	ss := st.Statements
	if len(ss) > 0 {
		fmt.Fprintln(w)
	}
	if len(ss) > lastStatements {
		fmt.Fprintf(w, "  (%d earlier statements: goodoffices desk read %s)\n", len(ss)-lastStatements, ch)
		ss = ss[len(ss)-lastStatements:]
	}
	for _, s := range ss {
		fmt.Fprintf(w, "  statement %s %s (%s)%s: %s\n", pt.bold(s.ID), s.Person, s.Delegation, statementContext(s), clip(oneLine(s.Body), 60))
	}
}

func statementContext(s *negotiation.Statement) string {
	var c []string
	if s.ReplyTo != "" {
		c = append(c, "replying to "+s.ReplyTo)
	}
	if s.AboutText != "" {
		a := "about " + s.AboutText
		if s.AboutPara != "" {
			a += " " + s.AboutPara
		}
		c = append(c, a)
	}
	if len(c) == 0 {
		return ""
	}
	return ", " + strings.Join(c, ", ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeText prints one text for a terminal: every paragraph with its ID,
// version, status, wording and positions, the stances the rules allow on
// it now, the proposals on the text, what is still open, the concordance
// and the adoption; and the commands that act on it.
func writeText(w io.Writer, pt paint, ch string, st *negotiation.State, id string) error {
	t := st.Text(id)
	if t == nil {
		return fmt.Errorf("no text %q in %s (goodoffices desk talks %s lists them)", id, ch, ch)
	}
	r := newTextRenderer(pt, st)
	fmt.Fprintf(w, "%s\n", pt.bold(t.Title))
	fmt.Fprintf(w, "text %s, version %d, %s level, %s; tabled by %s; package %s\n\n",
		t.ID, t.Version, t.Level, pt.status(string(t.Status)), t.TabledBy, pt.status(string(t.Package.Status)))
	const indent = "           "
	for _, p := range t.Paragraphs {
		head := fmt.Sprintf("%-4s v%-3d", p.ID, p.Version)
		fmt.Fprintf(w, "%s  %s\n", pt.bold(head), wrap(r.segments(p.Segments), textWidth, indent))
		var pos []string
		for _, party := range st.Config.Parties {
			e := party.ID + " " + pt.dim("no position")
			for _, x := range p.Positions {
				if x.Party == party.ID {
					e = party.ID + " " + pt.status(string(x.Stance))
					if x.Note != "" {
						e += " (" + clip(oneLine(x.Note), 60) + ")"
					}
				}
			}
			pos = append(pos, e)
		}
		fmt.Fprintf(w, "%s%s: %s\n", indent, pt.status(string(p.Status)), wrap(strings.Join(pos, "; "), textWidth-len(indent), indent+"  "))
		if t.Status == negotiation.TextNegotiating {
			var allowed []string
			for _, s := range p.Stances() {
				allowed = append(allowed, string(s))
			}
			why := ""
			if negotiation.HasBrackets(p.Segments) {
				why = " (brackets remain)"
			}
			fmt.Fprintf(w, "%s%s\n", indent, pt.dim("stances now: "+strings.Join(allowed, ", ")+why))
		}
	}
	var props []*negotiation.Proposal
	for _, p := range st.Proposals {
		if p.Text == t.ID {
			props = append(props, p)
		}
	}
	if len(props) > 0 {
		fmt.Fprintf(w, "\n%s\n", pt.bold("Proposals"))
		for _, p := range props {
			fmt.Fprintf(w, "%-4s %s by %s: %s\n", pt.bold(p.ID), pt.status(string(p.Status)), p.By,
				wrap(negotiation.Describe(negotiation.NewProposal(p.Text, p.Amendment)), textWidth, "     "))
			if p.Status == negotiation.ProposalOpen && p.Preview != "" {
				if segs, err := negotiation.ParseNotation(p.Preview); err == nil {
					fmt.Fprintf(w, "     would read: %s\n", wrap(r.segments(segs), textWidth, "       "))
				}
			}
			for _, a := range p.Responses {
				fmt.Fprintf(w, "     %s: %s\n", a.Party, strings.ReplaceAll(string(a.Response), "_", " "))
			}
			if p.Reason != "" {
				fmt.Fprintf(w, "     %s\n", pt.dim(p.Reason))
			}
		}
	}
	if len(t.Package.Blocks) > 0 {
		fmt.Fprintf(w, "\n%s\n", pt.bold("Still open"))
		for _, b := range t.Package.Blocks {
			who := b.Party
			if who == "" {
				who = "unattributed"
			}
			fmt.Fprintf(w, "  paragraph %d: %s (%s)\n", b.Number, who, b.Reason)
		}
	}
	if c := st.Concordance(t.ID); c != nil && len(c.Langs) > 0 {
		fmt.Fprintf(w, "\n%s\n", pt.bold("Concordance"))
		for i, lang := range c.Langs {
			var open int
			for _, row := range c.Rows {
				if row.Cells[i].Status != negotiation.ConcordanceConcordant {
					open++
				}
			}
			state := "concordant, confirmed by every party"
			if open > 0 {
				state = fmt.Sprintf("%d parts not yet concordant (goodoffices desk concordance %s --text %s)", open, ch, t.ID)
			}
			fmt.Fprintf(w, "  %s: %s\n", lang, state)
		}
	}
	if ad := t.Adoption; ad != nil {
		var langs []string
		for _, l := range ad.Languages {
			langs = append(langs, l.Lang)
		}
		fmt.Fprintf(w, "\n%s\nversion %d in %s, equally authentic; digest %x\n", pt.bold("Adoption"), ad.Version, strings.Join(langs, ", "), ad.Digest)
		for _, p := range st.Config.Parties {
			signed := pt.with(sgrYellow, "not yet signed")
			for _, sg := range ad.Signatures {
				if sg.Party == p.ID {
					signed = pt.with(sgrGreen, "signed with its root key")
				}
			}
			fmt.Fprintf(w, "  %s: %s\n", p.ID, signed)
		}
	}
	if t.Status == negotiation.TextNegotiating && len(t.Paragraphs) > 0 {
		p := t.Paragraphs[len(t.Paragraphs)-1]
		fmt.Fprintf(w, "\n%s\n", pt.dim("Commands take these IDs, e.g.:"))
		fmt.Fprintf(w, "%s\n", pt.dim(fmt.Sprintf("  goodoffices desk position %s --text %s --para %s --version %d --stance %s", ch, t.ID, p.ID, p.Version, p.Stances()[0])))
		fmt.Fprintf(w, "%s\n", pt.dim(fmt.Sprintf("  goodoffices desk propose %s --text %s --para %s --base %d --op replace --notation '…'", ch, t.ID, p.ID, p.Version)))
		for _, pr := range props {
			if pr.Status == negotiation.ProposalOpen {
				fmt.Fprintf(w, "%s\n", pt.dim(fmt.Sprintf("  goodoffices desk respond %s --proposal %s --response accept", ch, pr.ID)))
				break
			}
		}
	}
	return nil
}

// refOf returns the record of the engine for a message of the channel,
// found by log index in the state's log (in log order), or nil.
func refOf(st *negotiation.State, ch string, idx int64) *negotiation.Record {
	if st == nil {
		return nil
	}
	lo, hi := 0, len(st.Log)
	for lo < hi {
		m := (lo + hi) / 2
		if st.Log[m].LogIndex < uint64(idx) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo; i < len(st.Log) && st.Log[i].LogIndex == uint64(idx); i++ {
		if st.Log[i].Channel == ch {
			return &st.Log[i]
		}
	}
	return nil
}

var shownRef = regexp.MustCompile(`^[SA][0-9]+$`)

// readLine is one message of 'desk read' for a terminal: index, time, the
// ID commands take (S3 for a statement, A1 for a proposal), sender and
// what it says or does, in words; a move the rules refused says so.
func readLine(pt paint, m desk.Message, rec *negotiation.Record, st *negotiation.State, pending string) string {
	who := m.Sender.Person
	if m.Sender.Delegation != "" {
		who += " (" + m.Sender.Delegation + ")"
	}
	if who == "" {
		who = "-"
	}
	id, what, tail := "", "", ""
	switch {
	case m.Kind != "application":
		what = pt.dim("[" + m.Kind + "] " + m.Note)
	default:
		what = negotiation.Describe(m.Data)
		if rec != nil {
			if rec.Result == negotiation.ResultApplied && shownRef.MatchString(rec.Ref) {
				id = rec.Ref
			}
			if rec.Result != negotiation.ResultApplied {
				tail = "  " + pt.with(sgrRed, "(refused by the rules of the talks: "+rec.Reason+")")
			}
		}
		if st != nil && strings.HasPrefix(id, "S") {
			for _, s := range st.Statements {
				if s.ID == id {
					if c := statementContext(s); c != "" {
						who += " [" + strings.TrimPrefix(c, ", ") + "]"
					}
					break
				}
			}
		}
	}
	if pending != "" {
		pending = pt.with(sgrYellow, pending)
	}
	if m.HandedOver != "" {
		tail += "  " + pt.with(sgrYellow, "[HANDED OVER by "+m.HandedOver+"]")
	}
	return fmt.Sprintf("%5d  %s  %s %s: %s%s%s", m.Index, pt.dim(m.Received.Local().Format("2006-01-02 15:04")), pt.bold(fmt.Sprintf("%-4s", id)), who, what, tail, pending)
}
