package deskui

import (
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

// progressView is the sync under way, in the page footer.
type progressView struct {
	Log         string
	Done, Total int64
	Rate        int64
	Left        string
}

type searchData struct {
	Q        desk.SearchQuery
	From, To string // as typed (YYYY-MM-DD)
	Channels []string
	Parties  []string
	Kinds    []string
	Searched bool
	Results  []desk.SearchResult
	Took     string
	Err      string
}

// search is the search page: the form, and the results of the query in
// the URL, each linking to the message in its channel.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	m, err := s.load(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	d := searchData{Kinds: desk.SearchKinds, From: q.Get("from"), To: q.Get("to"),
		Q: desk.SearchQuery{Text: q.Get("q"), Channel: q.Get("channel"), Party: q.Get("party"), Person: q.Get("person"), Kind: q.Get("kind"), Limit: 100}}
	for _, c := range m.Channels {
		d.Channels = append(d.Channels, c.ID)
	}
	for _, p := range m.Status.Parties {
		d.Parties = append(d.Parties, p.Name)
	}
	sort.Strings(d.Parties)
	day := func(v string, end bool) (time.Time, bool) {
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.ParseInLocation("2006-01-02", v, time.Local)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	var ok1, ok2 bool
	d.Q.From, ok1 = day(d.From, false)
	d.Q.To, ok2 = day(d.To, true)
	switch {
	case !ok1 || !ok2:
		d.Err = s.tr(r, "Dates are written YYYY-MM-DD.")
	case len(d.Q.Text) > 500:
		d.Err = s.tr(r, "The query is too long.")
	case d.Q.Text != "":
		t0 := time.Now()
		d.Results, err = s.d.Search(r.Context(), d.Q)
		d.Took = time.Since(t0).Round(100 * time.Microsecond).String()
		switch {
		case errors.Is(err, desk.ErrEmptyQuery):
			d.Err = s.tr(r, "Type at least one word to search for.")
		case err != nil:
			d.Err = err.Error()
		default:
			d.Searched = true
		}
	}
	s.render(w, r, "search", s.tr(r, "Search"), m, d)
}
