package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/negotiation"
)

func statementFrom(idx int64, who MemberInfo, body string) Message {
	return Message{Channel: "wg1", Index: idx, Kind: "application", Sender: who, Data: negotiation.NewStatement(body, "", "", "")}
}

// searchDesk fills a channel's history with filler and a few distinctive
// messages of every kind, in Latin and Cyrillic script.
func searchDesk(t *testing.T) (*Desk, string) {
	t.Helper()
	dir := t.TempDir()
	d := historyDesk(t, dir)
	arden, borealia := historySenders[0], historySenders[1]
	var ms []Message
	for i := range int64(3000) {
		who := arden
		if i%2 == 1 {
			who = borealia
		}
		ms = append(ms, statementFrom(i, who, fmt.Sprintf("Filler statement number %d on procedure and the agenda of the day.", i)))
	}
	n := int64(len(ms))
	add := func(m Message) { m.Index = n; m.Channel = "wg1"; ms = append(ms, m); n++ }
	add(statementFrom(0, arden, "In October we said the 30 km line is acceptable only with monitors."))
	add(statementFrom(0, borealia, "Делегация Бореалии напоминает о переговорах по линии разграничения в 30 км (line)."))
	add(statementFrom(0, borealia, "Україна? Ні: Бореалія пропонує обмін полоненими до кінця місяця."))
	add(statementFrom(0, arden, "La délégation propose un cessez-le-feu négocié sous contrôle international."))
	add(statementFrom(0, borealia, "Біз келіссөздердің жалғасуын қолдаймыз."))
	add(Message{Sender: arden, Kind: "application", Data: negotiation.NewTableText(negotiation.TableText{ID: "js", Title: "Joint statement on the humanitarian corridor",
		Level: negotiation.LevelExpert, Language: "en", Paragraphs: []string{"The Parties [shall] open a humanitarian corridor near Marisk."}})})
	add(Message{Sender: borealia, Kind: "application", Data: negotiation.NewProposal("js", negotiation.Amendment{Op: negotiation.OpReplace, Para: "p1", Base: 1,
		Notation: "The Parties shall open two humanitarian corridors near Marisk."})})
	add(Message{Sender: arden, Kind: "application", Data: negotiation.NewPosition("js", "p1", 1, negotiation.Reserve, "pending consultations in the capital on Marisk")})
	add(Message{Kind: "commit", Note: "Marisk is not in a commit note", Sender: arden})
	add(Message{Sender: arden, Kind: "application", Data: []byte("plain bytes mentioning Marisk")})
	appendHistory(t, d, ms)
	return d, dir
}

func indexesOf(rs []SearchResult) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.Index)
	}
	return out
}

// TestSearch: Latin and Cyrillic words and phrases are found, inflected
// forms too; filters (channel, party, person, kind, dates) are respected;
// results are newest first and say where the message is.
func TestSearch(t *testing.T) {
	ctx := context.Background()
	d, _ := searchDesk(t)
	search := func(q SearchQuery) []SearchResult {
		t.Helper()
		rs, err := d.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	one := func(q SearchQuery, want int64) {
		t.Helper()
		rs := search(q)
		if len(rs) != 1 || rs[0].Index != want {
			t.Fatalf("query %+v: got %v, want [%d]", q, indexesOf(rs), want)
		}
	}
	one(SearchQuery{Text: `"30 km line"`}, 3000)
	one(SearchQuery{Text: `october`}, 3000)
	one(SearchQuery{Text: `переговоров`}, 3001)                   // "переговорах": the stem matches
	one(SearchQuery{Text: `"линии разграничения"`}, 3001)         // a Cyrillic phrase
	one(SearchQuery{Text: `полонені`}, 3002)                      // Ukrainian: "полоненими"
	one(SearchQuery{Text: `negocie cessez`}, 3003)                // French, diacritics folded
	one(SearchQuery{Text: `КЕЛІССӨЗДЕР`}, 3004)                   // Kazakh, case folded
	one(SearchQuery{Text: `corridor`, Kind: KindText}, 3005)      // the title and paragraphs of a text
	one(SearchQuery{Text: `corridors`, Kind: KindProposal}, 3006) // the notation of a proposal
	one(SearchQuery{Text: `consultations`, Kind: KindPosition}, 3007)
	one(SearchQuery{Text: `marisk`, Kind: KindMessage}, 3009)
	if got := indexesOf(search(SearchQuery{Text: `marisk`})); !slices.Equal(got, []int64{3009, 3007, 3006, 3005}) {
		t.Fatalf("marisk: got %v (newest first, never a commit note)", got)
	}
	if rs := search(SearchQuery{Text: `"line 30 km"`}); len(rs) != 0 {
		t.Fatalf("a phrase out of order matched: %v", indexesOf(rs))
	}
	// Filters.
	if got := indexesOf(search(SearchQuery{Text: `marisk`, Party: "borealia"})); !slices.Equal(got, []int64{3006}) {
		t.Fatalf("party filter: %v", got)
	}
	if got := indexesOf(search(SearchQuery{Text: `marisk`, Person: "Tomas-Reig"})); !slices.Equal(got, []int64{3009, 3007, 3005}) {
		t.Fatalf("person filter: %v", got)
	}
	if rs := search(SearchQuery{Text: `marisk`, Channel: "plenary"}); len(rs) != 0 {
		t.Fatalf("channel filter: %v", indexesOf(rs))
	}
	if rs := search(SearchQuery{Text: `marisk`, From: time.Now().Add(time.Hour)}); len(rs) != 0 {
		t.Fatalf("date filter (from): %v", indexesOf(rs))
	}
	if rs := search(SearchQuery{Text: `marisk`, To: time.Now().Add(-time.Hour)}); len(rs) != 0 {
		t.Fatalf("date filter (to): %v", indexesOf(rs))
	}
	if rs := search(SearchQuery{Text: `marisk`, From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}); len(rs) != 4 {
		t.Fatalf("date range: %v", indexesOf(rs))
	}
	if rs := search(SearchQuery{Text: `filler procedure`, Limit: 7}); len(rs) != 7 || rs[0].Index != 2999 {
		t.Fatalf("limit: %v", indexesOf(rs))
	}
	rs := search(SearchQuery{Text: `line 30`})
	if len(rs) != 2 || rs[0].Index != 3001 || rs[0].Channel != "wg1" || rs[0].Delegation != "borealia" ||
		rs[1].Index != 3000 || rs[1].Delegation != "arden" || rs[1].Kind != KindStatement || rs[1].Snippet != "In October we said the 30 km line is acceptable only with monitors." {
		t.Fatalf("results: %+v", rs)
	}
	if _, err := d.Search(ctx, SearchQuery{Text: ` " , `}); !errors.Is(err, ErrEmptyQuery) {
		t.Fatalf("empty query: %v", err)
	}
	if _, err := d.Search(ctx, SearchQuery{Text: "x", Kind: "gossip"}); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
	// New entries are found on the next search.
	appendHistory(t, d, []Message{statementFrom(3010, historySenders[0], "A brand new zebra crossing.")})
	one(SearchQuery{Text: `zebra`}, 3010)
}

// TestSearchIndexNotAtRest: after searching, no file of the desk's home
// holds the plaintext of a distinctive phrase (the history is sealed, and
// the index lives in memory only).
func TestSearchIndexNotAtRest(t *testing.T) {
	ctx := context.Background()
	d, dir := searchDesk(t)
	for _, q := range []string{"Marisk", "переговоров", "cessez", "30 km"} {
		if rs, err := d.Search(ctx, SearchQuery{Text: q}); err != nil || len(rs) == 0 {
			t.Fatalf("%s: %v %v", q, rs, err)
		}
	}
	d.store.Close()
	n := 0
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		n++
		b, _ := os.ReadFile(p)
		for _, phrase := range []string{"Marisk", "marisk", "переговор", "разграничения", "cessez", "monitors", "corridor"} {
			if bytes.Contains(b, []byte(phrase)) {
				t.Errorf("%s holds %q in clear", filepath.Base(p), phrase)
			}
		}
		return nil
	})
	if n == 0 {
		t.Fatal("no file in the desk home: the test looked in the wrong place")
	}
}

func TestTokens(t *testing.T) {
	got := Tokens("Ceasefire: the 30-km LINE, Переговоры/Ёлка; négocié œuvre Қазақ")
	want := []string{"ceasefire", "the", "30", "km", "line", "переговоры", "елка", "negocie", "oeuvre", "қазақ"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
