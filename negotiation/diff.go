package negotiation

import (
	"fmt"
	"slices"
	"strings"
)

// A ParaDiff is the change of one paragraph between two text versions.
type ParaDiff struct {
	Para       string   `json:"para"`
	FromNumber int      `json:"from_number,omitempty"` // 0: not in the older version
	ToNumber   int      `json:"to_number,omitempty"`   // 0: not in the newer version
	Change     string   `json:"change"`                // "added", "removed", "changed", "moved", "unchanged"
	Ops        []DiffOp `json:"ops,omitempty"`         // word-level changes of the notation
}

// A DiffOp is a run of the paragraph's notation: kept ("="), inserted ("+")
// or deleted ("-").
type DiffOp struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// WordingAt returns the notation of paragraph id at paragraph version v.
func (t *Text) WordingAt(id string, v int) (string, bool) {
	for _, list := range [][]*Paragraph{t.Paragraphs, t.Removed} {
		for _, p := range list {
			if p.ID == id && v >= 1 && v <= len(p.Wordings) {
				return p.Wordings[v-1].Text, true
			}
		}
	}
	return "", false
}

// Diff compares text versions from and to (any two, either order),
// paragraph by paragraph in the order of the newer numbering, then the
// removed ones.
func (t *Text) Diff(from, to int) ([]ParaDiff, error) {
	if from < 1 || from > len(t.Versions) || to < 1 || to > len(t.Versions) {
		return nil, fmt.Errorf("failed to diff: text %s has versions 1 to %d", t.ID, len(t.Versions))
	}
	a, b := t.Versions[from-1].Paragraphs, t.Versions[to-1].Paragraphs
	old := map[string]int{}
	for i, r := range a {
		old[r.ID] = i
	}
	stay := inOrder(a, b)
	var out []ParaDiff
	seen := map[string]bool{}
	for j, r := range b {
		seen[r.ID] = true
		nw, _ := t.WordingAt(r.ID, r.Version)
		i, ok := old[r.ID]
		if !ok {
			out = append(out, ParaDiff{Para: r.ID, ToNumber: j + 1, Change: "added", Ops: []DiffOp{{"+", nw}}})
			continue
		}
		d := ParaDiff{Para: r.ID, FromNumber: i + 1, ToNumber: j + 1, Change: "unchanged"}
		if a[i].Version != r.Version {
			ow, _ := t.WordingAt(r.ID, a[i].Version)
			d.Change = "changed"
			d.Ops = DiffWords(ow, nw)
		} else if !stay[r.ID] {
			d.Change = "moved"
		}
		out = append(out, d)
	}
	for i, r := range a {
		if !seen[r.ID] {
			ow, _ := t.WordingAt(r.ID, r.Version)
			out = append(out, ParaDiff{Para: r.ID, FromNumber: i + 1, Change: "removed", Ops: []DiffOp{{"-", ow}}})
		}
	}
	return out, nil
}

// lcsTable returns, for sequences x and y, the table whose entry
// i*(len(y)+1)+j is the length of the longest common subsequence of x[i:]
// and y[j:].
func lcsTable[T comparable](x, y []T) []int32 {
	w := len(y) + 1
	lcs := make([]int32, (len(x)+1)*w)
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			switch {
			case x[i] == y[j]:
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				lcs[i*w+j] = lcs[(i+1)*w+j]
			default:
				lcs[i*w+j] = lcs[i*w+j+1]
			}
		}
	}
	return lcs
}

// inOrder returns the paragraphs present in both a and b that keep their
// relative order (a longest common subsequence); the others have moved.
func inOrder(a, b []ParaRef) map[string]bool {
	inB := map[string]bool{}
	for _, r := range b {
		inB[r.ID] = true
	}
	var x, y []string
	for _, r := range a {
		if inB[r.ID] {
			x = append(x, r.ID)
		}
	}
	inX := map[string]bool{}
	for _, id := range x {
		inX[id] = true
	}
	for _, r := range b {
		if inX[r.ID] {
			y = append(y, r.ID)
		}
	}
	w := len(y) + 1
	lcs := lcsTable(x, y)
	stay := map[string]bool{}
	for i, j := 0, 0; i < len(x) && j < len(y); {
		switch {
		case x[i] == y[j]:
			stay[x[i]] = true
			i++
			j++
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			i++
		default:
			j++
		}
	}
	return stay
}

// tokenize splits s into words and runs of spaces, keeping brackets as
// tokens of their own so that a diff shows them clearly.
func tokenize(s string) []string {
	var out []string
	start := 0
	kind := func(c byte) int {
		switch {
		case c == ' ':
			return 1
		case c == '[' || c == ']':
			return 2
		}
		return 0
	}
	for i := 1; i <= len(s); i++ {
		if i == len(s) || kind(s[i]) != kind(s[start]) || kind(s[i]) == 2 {
			out = append(out, s[start:i])
			start = i
		}
	}
	return out
}

// maxDiffCells bounds the work of a word diff; beyond it the diff is one
// deletion and one insertion.
const maxDiffCells = 4 << 20

// DiffWords returns a word-level diff from a to b (longest common
// subsequence of tokens).
func DiffWords(a, b string) []DiffOp {
	if a == b {
		return []DiffOp{{"=", a}}
	}
	x, y := tokenize(a), tokenize(b)
	if len(x)*len(y) > maxDiffCells {
		return []DiffOp{{"-", a}, {"+", b}}
	}
	// lcs[i][j] = length of the LCS of x[i:] and y[j:].
	w := len(y) + 1
	lcs := lcsTable(x, y)
	var out []DiffOp
	emit := func(op, tok string) {
		if n := len(out); n > 0 && out[n-1].Op == op {
			out[n-1].Text += tok
			return
		}
		out = append(out, DiffOp{op, tok})
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			emit("=", x[i])
			i++
			j++
		case j < len(y) && (i == len(x) || lcs[i*w+j+1] >= lcs[(i+1)*w+j]):
			emit("+", y[j])
			j++
		default:
			emit("-", x[i])
			i++
		}
	}
	return out
}

// FormatDiff renders ops in a terse form: {-deleted-}{+inserted+}.
func FormatDiff(ops []DiffOp) string {
	var b strings.Builder
	for _, o := range ops {
		switch o.Op {
		case "=":
			b.WriteString(o.Text)
		case "+":
			b.WriteString("{+" + o.Text + "+}")
		case "-":
			b.WriteString("{-" + o.Text + "-}")
		}
	}
	return b.String()
}

// A DiffToken is one token of a paragraph's bracket notation as a reader
// sees it: a word (with the punctuation attached to it), a run of spaces,
// or a bracket. Escapes are undone ("\[" is the word character "[") and a
// bracket carries the party that tabled its option, instead of the raw
// "]{party}" of the notation.
type DiffToken struct {
	Kind  string `json:"kind"` // "word", "space", "open", "close"
	Text  string `json:"text,omitempty"`
	Party string `json:"party,omitempty"` // of a bracket; empty when the notation did not say
}

// A DiffRun is a run of tokens kept ("="), inserted ("+") or deleted ("-").
type DiffRun struct {
	Op     string      `json:"op"`
	Tokens []DiffToken `json:"tokens"`
}

// notationTokens splits paragraph notation into the tokens a reader sees
// (see DiffToken). It never fails: notation that does not parse still
// splits into words, spaces and brackets.
func notationTokens(s string) []DiffToken {
	var out []DiffToken
	var word strings.Builder
	var open []int // indexes in out of the brackets not yet closed
	flush := func() {
		if word.Len() > 0 {
			out = append(out, DiffToken{Kind: "word", Text: word.String()})
			word.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			word.WriteByte(s[i+1])
			i += 2
		case c == '[':
			flush()
			open = append(open, len(out))
			out = append(out, DiffToken{Kind: "open"})
			i++
		case c == ']':
			flush()
			i++
			party := ""
			if i < len(s) && s[i] == '{' {
				if j := strings.IndexByte(s[i:], '}'); j > 0 {
					party, i = s[i+1:i+j], i+j+1
				}
			}
			if n := len(open); n > 0 {
				out[open[n-1]].Party = party
				open = open[:n-1]
			}
			out = append(out, DiffToken{Kind: "close", Party: party})
		case c == ' ':
			flush()
			j := i
			for j < len(s) && s[j] == ' ' {
				j++
			}
			out = append(out, DiffToken{Kind: "space", Text: s[i:j]})
			i = j
		default:
			word.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

// DiffNotation returns a diff from paragraph notation a to b by whole
// words: a word that changes is deleted and inserted whole, never split
// inside, and brackets are tokens of their own, with their party (a change
// of attribution is a change). The runs alternate between kept, deleted
// and inserted tokens; a space between two changed words belongs to the
// change. Beyond maxDiffCells it is one deletion and one insertion.
func DiffNotation(a, b string) []DiffRun {
	x, y := notationTokens(a), notationTokens(b)
	if a == b {
		if len(x) == 0 {
			return nil
		}
		return []DiffRun{{Op: "=", Tokens: x}}
	}
	// An opening bracket matches without its party: a change of
	// attribution shows once, on the closing bracket, and a kept opening
	// bracket takes the newer party (y's token is kept).
	key := func(t DiffToken) DiffToken {
		if t.Kind == "open" {
			t.Party = ""
		}
		return t
	}
	xk, yk := make([]DiffToken, len(x)), make([]DiffToken, len(y))
	for i, t := range x {
		xk[i] = key(t)
	}
	for i, t := range y {
		yk[i] = key(t)
	}
	type step struct {
		op  string
		tok DiffToken
	}
	var steps []step
	if len(x)*len(y) > maxDiffCells {
		for _, t := range x {
			steps = append(steps, step{"-", t})
		}
		for _, t := range y {
			steps = append(steps, step{"+", t})
		}
	} else {
		w := len(y) + 1
		lcs := lcsTable(xk, yk)
		for i, j := 0, 0; i < len(x) || j < len(y); {
			switch {
			case i < len(x) && j < len(y) && xk[i] == yk[j]:
				steps = append(steps, step{"=", y[j]})
				i++
				j++
			case i < len(x) && (j == len(y) || lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
				steps = append(steps, step{"-", x[i]})
				i++
			default:
				steps = append(steps, step{"+", y[j]})
				j++
			}
		}
	}
	// A lone kept space between two changes belongs to the change: a
	// reader sees a phrase replaced, not words struck out one by one.
	var joined []step
	for k, st := range steps {
		if st.op == "=" && st.tok.Kind == "space" && k > 0 && k+1 < len(steps) && steps[k-1].op != "=" && steps[k+1].op != "=" {
			joined = append(joined, step{"-", st.tok}, step{"+", st.tok})
			continue
		}
		joined = append(joined, st)
	}
	// Runs: each kept stretch, and between two of them one deletion
	// followed by one insertion.
	var out []DiffRun
	for k := 0; k < len(joined); {
		if joined[k].op == "=" {
			r := DiffRun{Op: "="}
			for ; k < len(joined) && joined[k].op == "="; k++ {
				r.Tokens = append(r.Tokens, joined[k].tok)
			}
			out = append(out, r)
			continue
		}
		del, ins := DiffRun{Op: "-"}, DiffRun{Op: "+"}
		for ; k < len(joined) && joined[k].op != "="; k++ {
			if joined[k].op == "-" {
				del.Tokens = append(del.Tokens, joined[k].tok)
			} else {
				ins.Tokens = append(ins.Tokens, joined[k].tok)
			}
		}
		// Tokens both sides share at the edges of a change are kept.
		for len(del.Tokens) > 0 && len(ins.Tokens) > 0 && key(del.Tokens[0]) == key(ins.Tokens[0]) {
			if n := len(out); n > 0 && out[n-1].Op == "=" {
				out[n-1].Tokens = append(out[n-1].Tokens, ins.Tokens[0])
			} else {
				out = append(out, DiffRun{Op: "=", Tokens: []DiffToken{ins.Tokens[0]}})
			}
			del.Tokens, ins.Tokens = del.Tokens[1:], ins.Tokens[1:]
		}
		var tail []DiffToken
		for len(del.Tokens) > 0 && len(ins.Tokens) > 0 && key(del.Tokens[len(del.Tokens)-1]) == key(ins.Tokens[len(ins.Tokens)-1]) {
			tail = append([]DiffToken{ins.Tokens[len(ins.Tokens)-1]}, tail...)
			del.Tokens, ins.Tokens = del.Tokens[:len(del.Tokens)-1], ins.Tokens[:len(ins.Tokens)-1]
		}
		for _, r := range []DiffRun{del, ins} {
			if len(r.Tokens) > 0 {
				out = append(out, r)
			}
		}
		if len(tail) > 0 {
			if k < len(joined) { // the kept stretch that follows takes them
				joined = slices.Insert(joined, k, make([]step, len(tail))...)
				for i, t := range tail {
					joined[k+i] = step{"=", t}
				}
			} else {
				out = append(out, DiffRun{Op: "=", Tokens: tail})
			}
		}
	}
	return out
}
