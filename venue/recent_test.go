package venue

import (
	"fmt"
	"slices"
	"testing"
)

// TestNextRecent appends batches of every size to a log's recent entries
// and checks after each that they end at the log's size, hold at least the
// last maxRecent (or all) and at most 2×maxRecent entries, and that a slice
// taken from an earlier state, as readers take it, still reads the same.
func TestNextRecent(t *testing.T) {
	var all [][]byte
	var st *logState
	type view struct {
		first int64
		got   [][]byte
	}
	var views []view
	for round, n := range []int{1, 3, 255, 1, 256, 2, 511, 1, 600, 7, 0, 1, 300, 1} {
		added := make([][]byte, n)
		for i := range added {
			added[i] = fmt.Appendf(nil, "entry %d", len(all)+i)
		}
		all = append(all, added...)
		size := int64(len(all))
		st = &logState{size: size, recent: nextRecent(st, size, added)}
		if l := len(st.recent); l > 2*maxRecent || l < min(maxRecent, len(all)) {
			t.Fatalf("round %d: %d recent entries of %d", round, l, len(all))
		}
		first := size - int64(len(st.recent))
		for i, e := range st.recent {
			if string(e) != string(all[first+int64(i)]) {
				t.Fatalf("round %d: recent[%d] = %q, want %q", round, i, e, all[first+int64(i)])
			}
		}
		views = append(views, view{first, st.recent[:len(st.recent):len(st.recent)]})
		for _, v := range views {
			if !slices.EqualFunc(v.got, all[v.first:v.first+int64(len(v.got))], func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Fatalf("round %d: a reader's earlier slice changed", round)
			}
		}
	}
	// A state that does not continue the previous one starts afresh.
	st = &logState{size: 10, recent: nextRecent(st, 10, [][]byte{[]byte("x")})}
	if len(st.recent) != 1 {
		t.Fatalf("after a gap: %d recent entries, want 1", len(st.recent))
	}
}
