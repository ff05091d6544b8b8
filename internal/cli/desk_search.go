package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

func init() {
	register(&command{name: "desk search", summary: "search the decrypted history (full text, with filters)", run: runDeskSearch})
}

func runDeskSearch(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk search", `[--channel C] [--party P] [--person NAME] [--kind K] [--from DATE] [--to DATE] [--limit N] [--json] QUERY...`, `
Searches the history this desk has verified and decrypted: statements,
tabled texts (titles and paragraphs), proposals, positions and any other
message, in every channel or one. The search runs on the desk only; the
venue never sees a query. All words must match; a word matches the words it
begins, after a light stemming of common Russian, Ukrainian, Kazakh, English
and French endings ("переговоров" finds "переговорах"), case and accents
ignored; "a quoted phrase" matches its words in sequence.

The index is kept in memory only, never on disk: it is built from the
encrypted store the first time a channel is searched, then kept up to date.
Results are newest first, one per line: channel, log index (read it in
context with 'desk read CHANNEL --from INDEX'), time received, sender, kind
and the text around the match.

Examples:
  goodoffices desk search '"30 km line"' --party borealia
  goodoffices desk search переговоры --channel plenary --from 2026-10-01 --to 2026-11-01
  goodoffices desk search corridor --kind proposal --json`)
	f := addDeskFlags(fs, true)
	channel := fs.String("channel", "", "only this `channel`")
	party := fs.String("party", "", "only messages of this `delegation`")
	person := fs.String("person", "", "only messages of this `person` (as in the sender's certificate)")
	kind := fs.String("kind", "", "only this `kind`: "+strings.Join(desk.SearchKinds, ", "))
	from := fs.String("from", "", "only messages received on or after this `date` (YYYY-MM-DD, or RFC 3339)")
	to := fs.String("to", "", "only messages received before this `date` (YYYY-MM-DD: before the end of that day, or RFC 3339)")
	limit := fs.Int("limit", 50, "at most `N` results")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q := desk.SearchQuery{Text: strings.Join(fs.Args(), " "), Channel: *channel, Party: *party, Person: *person, Kind: *kind, Limit: *limit}
	if strings.TrimSpace(q.Text) == "" {
		fs.Usage()
		return &UsageError{Msg: "the QUERY is required"}
	}
	var err error
	if q.From, err = parseDay(*from, false); err != nil {
		return &UsageError{Msg: "--from: " + err.Error()}
	}
	if q.To, err = parseDay(*to, true); err != nil {
		return &UsageError{Msg: "--to: " + err.Error()}
	}
	if *limit < 1 || *limit > 1000 {
		return &UsageError{Msg: "--limit must be between 1 and 1000"}
	}
	if q.Kind != "" && !contains(desk.SearchKinds, q.Kind) {
		return &UsageError{Msg: fmt.Sprintf("--kind must be one of %s", strings.Join(desk.SearchKinds, ", "))}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	rs, err := d.Search(ctx, q)
	if err != nil {
		if err == desk.ErrEmptyQuery {
			return &UsageError{Msg: err.Error()}
		}
		return err
	}
	if *f.json {
		if rs == nil {
			rs = []desk.SearchResult{}
		}
		return deskJSON(env.Stdout, map[string]any{"results": rs})
	}
	for _, r := range rs {
		fmt.Fprintf(env.Stdout, "%s %5d  %s  %s (%s) [%s]: %s\n", r.Channel, r.Index, r.Received.Local().Format("2006-01-02 15:04"),
			r.Person, r.Delegation, r.Kind, r.Snippet)
	}
	if len(rs) == 0 {
		fmt.Fprintln(env.Stdout, "no message found")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseDay reads a date (YYYY-MM-DD, local time) or an RFC 3339 time; with
// end, a date means the end of that day.
func parseDay(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// isTerminal reports whether w is a terminal (for progress bars).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws the progress of a desk's sync on w, a terminal:
//
//	plenary  [=========>          ]  45,312/100,000 entries  6,120/s  9s left
type progressBar struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
	log  string
	done bool
}

func (b *progressBar) update(p desk.SyncProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Log != b.log && b.log != "" {
		fmt.Fprintln(b.w)
	}
	b.log = p.Log
	fin := p.Done >= p.Total
	if !fin && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	filled := 0
	if p.Total > 0 {
		filled = int(int64(width) * min(p.Done, p.Total) / p.Total)
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	left := "-"
	if l := p.Left(); l > 0 {
		left = l.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%-16s [%s] %s/%s entries  %s/s  %s left ", p.Log, bar, thousands(p.Done), thousands(p.Total), thousands(int64(p.Rate())), left)
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log != "" {
		fmt.Fprintln(b.w)
	}
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
