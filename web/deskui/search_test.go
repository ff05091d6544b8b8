package deskui

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

// TestSearchBoxAndResults: every page has the search box; the search page
// lists results linking to the message in its channel; a query on a desk
// without history finds nothing and says so.
func TestSearchBoxAndResults(t *testing.T) {
	s, _ := newServer(t)
	m, tx := scenarioModel(t)
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/joint-statement", nil), "text", tx.Title, m, s.textData(m, tx))
	if page := w.Body.String(); !strings.Contains(page, `role="search"`) || !strings.Contains(page, `action="/search"`) {
		t.Fatal("the text page has no search box")
	}
	d := searchData{Q: desk.SearchQuery{Text: `"30 km line"`}, Searched: true, Kinds: desk.SearchKinds, Results: []desk.SearchResult{
		{Channel: "wg1", Index: 42, Kind: desk.KindStatement, Delegation: "borealia", Person: "Iryna Holt", Received: time.Now(), Snippet: "the 30 km line <b>"},
	}}
	w = httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/search?q=%2230+km+line%22", nil), "search", "Search", m, d)
	page := w.Body.String()
	for _, want := range []string{`href="/channels/wg1?at=42#m42"`, "the 30 km line &lt;b&gt;", `value="&#34;30 km line&#34;"`, "Results: 1,"} {
		if !strings.Contains(page, want) {
			t.Errorf("search page lacks %q", want)
		}
	}
	// Through the handler, on a real (empty) desk.
	w = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/search?q=ceasefire&kind=statement&from=2026-10-01&to=2026-10-31", nil)
	s.search(w, r)
	if got := text(w.Body.String()); !strings.Contains(got, "Results: 0,") {
		t.Fatalf("search on an empty desk: %s", got)
	}
	w = httptest.NewRecorder()
	s.search(w, httptest.NewRequest("GET", "/search?q=x&from=October", nil))
	if got := text(w.Body.String()); !strings.Contains(got, "Dates are written YYYY-MM-DD") {
		t.Fatalf("a bad date was not refused: %s", got)
	}
}

func TestStatementByID(t *testing.T) {
	m, _ := scenarioModel(t)
	st := m.States["wg1"]
	if len(st.Statements) < 2 {
		t.Fatal("the scenario has fewer than 2 statements")
	}
	for i, want := range st.Statements {
		if got := statementByID(st, want.ID); got != want {
			t.Fatalf("statement %d: got %v", i, got)
		}
	}
	for _, id := range []string{"", "S0", "S", "A1", "S99999", "S-1", "s1"} {
		if statementByID(st, id) != nil {
			t.Fatalf("%q found a statement", id)
		}
	}
}
