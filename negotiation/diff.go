package negotiation

import (
	"fmt"
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
	lcs := make([]int32, (len(x)+1)*w)
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else if lcs[(i+1)*w+j] >= lcs[i*w+j+1] {
				lcs[i*w+j] = lcs[(i+1)*w+j]
			} else {
				lcs[i*w+j] = lcs[i*w+j+1]
			}
		}
	}
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
