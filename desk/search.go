package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/good-offices/goodoffices/negotiation"
)

// Search in the encrypted history.
//
// # Design: an index in memory only
//
// The desk searches the decrypted history on the desk itself; the venue
// never sees a query. The full-text index is never written anywhere: it is
// built in memory from the decrypted store (the history is decrypted once,
// at sync, and kept sealed under the store key, see Read) the first time a
// channel is searched after the desk is opened, and advanced with the new
// entries on each later search. A plaintext index next to the encrypted
// database would give away what the encryption hides; an index kept only in
// memory gives away nothing at rest, at the cost of building it once per
// channel per session (about a second per 100,000 messages on a laptop;
// see BENCHMARKS.md).
//
// Memory is bounded: the indexes of the channels searched last are kept up
// to searchBudget bytes (estimated); older ones are dropped and rebuilt when
// searched again.
//
// # What is indexed
//
// The text of every application message: the body of a statement, the title
// and paragraphs of a tabled text, the notation and note of a proposal, the
// note of a position, and the text of any other event or plain message; each
// with its channel, sender (delegation, person), kind and the time the desk
// received it, for filters.
//
// # Tokens
//
// Words are runs of Unicode letters and digits (Latin and Cyrillic alike),
// folded to lower case, with common Latin diacritics removed (é → e) and ё
// read as е. A query word matches the words it begins (prefix match), after
// a light stemming of the query word only: a common Russian, Ukrainian,
// Kazakh, English or French ending is dropped from a word of 6 letters or
// more, so "переговоров" finds "переговоры" and "negotiations" finds
// "negotiating". Words of fewer than 3 letters match exactly. A "quoted
// phrase" matches its words in sequence.

// Kinds of messages for search filters.
const (
	KindStatement = "statement" // a statement (negotiation.TypeStatement)
	KindText      = "text"      // a tabled negotiating text
	KindProposal  = "proposal"  // a proposal of amendment
	KindPosition  = "position"  // a position on a paragraph
	KindEvent     = "event"     // any other negotiation event
	KindMessage   = "message"   // an application message that is not a negotiation event
)

// SearchKinds are the kinds a query can filter on.
var SearchKinds = []string{KindStatement, KindText, KindProposal, KindPosition, KindEvent, KindMessage}

// A SearchQuery is a full-text query with filters. Empty filters match
// everything.
type SearchQuery struct {
	Text    string    // words and "quoted phrases"; all must match
	Channel string    // only this channel
	Party   string    // only messages of this delegation
	Person  string    // only messages of this person (case-insensitive)
	Kind    string    // only this kind (SearchKinds)
	From    time.Time // received at or after
	To      time.Time // received before
	Limit   int       // at most this many results, newest first (0: 50)
}

// A SearchResult is one message found, newest first.
type SearchResult struct {
	Channel    string    `json:"channel"`
	Index      int64     `json:"index"` // log index: the message in context is Read(Channel, Index-k, ...)
	Kind       string    `json:"kind"`
	Delegation string    `json:"delegation"`
	Person     string    `json:"person"`
	Received   time.Time `json:"received"`
	Snippet    string    `json:"snippet"` // the text around the first match
}

// ErrEmptyQuery means a query has no word to search for.
var ErrEmptyQuery = errors.New("the query has no word to search for")

// searchBudget bounds the memory of the indexes kept (estimated bytes).
var searchBudget int64 = 48 << 20

// maxSearchLimit bounds the results of one query.
const maxSearchLimit = 1000

// Search finds messages in the desk's decrypted history.
func (d *Desk) Search(ctx context.Context, q SearchQuery) ([]SearchResult, error) {
	terms, phrases := parseQuery(q.Text)
	if len(terms) == 0 {
		return nil, ErrEmptyQuery
	}
	if q.Kind != "" && !slices.Contains(SearchKinds, q.Kind) {
		return nil, fmt.Errorf("unknown kind %q: one of %s", q.Kind, strings.Join(SearchKinds, ", "))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, maxSearchLimit)
	var chans []string
	if q.Channel != "" {
		chans = []string{q.Channel}
	} else {
		kvs, err := d.store.List(ctx, prefChan, 0)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			chans = append(chans, strings.TrimPrefix(kv.Key, prefChan))
		}
	}
	var out []SearchResult
	for _, ch := range chans {
		rs, err := d.search.query(ctx, d, ch, q, terms, phrases, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Received.Equal(out[j].Received) {
			return out[i].Received.After(out[j].Received)
		}
		if out[i].Channel != out[j].Channel {
			return out[i].Channel < out[j].Channel
		}
		return out[i].Index > out[j].Index
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Tokens returns the words of s as the index keeps them (see Search).
func Tokens(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			if b.Len() <= maxTokenBytes {
				out = append(out, b.String())
			}
			b.Reset()
		}
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			flush()
			continue
		}
		if unicode.Is(unicode.Mn, r) { // combining marks: drop (é written e + ´)
			continue
		}
		r = unicode.ToLower(r)
		if f, ok := foldRune[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	flush()
	return out
}

const maxTokenBytes = 64

var foldRune = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ñ': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'ö': "o", 'õ': "o",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y",
	'œ': "oe", 'æ': "ae", 'ß': "ss",
	'ё': "е",
}

// endings are dropped from query words of 6 letters or more (longest
// first), keeping at least 4 letters: Russian, Ukrainian and Kazakh case
// endings and plural suffixes, English and French inflections.
var endings = func() []string {
	e := []string{
		// Russian, Ukrainian
		"иями", "ями", "ами", "ого", "его", "ому", "ему", "ими", "ыми", "ов", "ев", "ей", "ий", "ый", "ой", "ая", "яя",
		"ое", "ее", "ые", "ие", "ых", "их", "ую", "юю", "ах", "ях", "ам", "ям", "ом", "ем", "ія", "ій", "ів", "ії",
		"а", "я", "ы", "и", "і", "е", "є", "у", "ю", "о", "ь",
		// Kazakh
		"лардың", "лердің", "дардың", "дердің", "тардың", "тердің", "лар", "лер", "дар", "дер", "тар", "тер",
		"ның", "нің", "дың", "дің", "тың", "тің", "ға", "ге", "қа", "ке", "да", "де", "та", "те", "ды", "ді", "ты", "ті",
		// English, French
		"ations", "ation", "ings", "ing", "ions", "ion", "ies", "ed", "es", "s", "e",
	}
	sort.SliceStable(e, func(i, j int) bool { return utf8.RuneCountInString(e[i]) > utf8.RuneCountInString(e[j]) })
	return e
}()

// stem drops a common ending from a query word (see endings).
func stem(w string) string {
	n := utf8.RuneCountInString(w)
	if n < 6 {
		return w
	}
	for _, e := range endings {
		if strings.HasSuffix(w, e) && n-utf8.RuneCountInString(e) >= 4 {
			return strings.TrimSuffix(w, e)
		}
	}
	return w
}

// A queryTerm is one word of a query: a prefix (or, if short, an exact
// word).
type queryTerm struct {
	word   string
	prefix bool
}

func termOf(w string) queryTerm {
	if utf8.RuneCountInString(w) < 3 {
		return queryTerm{word: w}
	}
	return queryTerm{word: stem(w), prefix: true}
}

// parseQuery returns the words of a query (each a term) and its quoted
// phrases (each a list of terms, two words or more).
func parseQuery(s string) (terms []queryTerm, phrases [][]queryTerm) {
	parts := strings.Split(s, `"`)
	for i, p := range parts {
		ws := Tokens(p)
		var ph []queryTerm
		for _, w := range ws {
			t := termOf(w)
			terms = append(terms, t)
			ph = append(ph, t)
		}
		if i%2 == 1 && len(ph) > 1 {
			phrases = append(phrases, ph)
		}
	}
	return terms, phrases
}

func (t queryTerm) matches(tok string) bool {
	if t.prefix {
		return strings.HasPrefix(tok, t.word)
	}
	return tok == t.word
}

// containsPhrase reports whether toks holds the phrase's terms in sequence.
func containsPhrase(toks []string, ph []queryTerm) bool {
	for i := 0; i+len(ph) <= len(toks); i++ {
		ok := true
		for j, t := range ph {
			if !t.matches(toks[i+j]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// searchable returns the kind and text of a processed entry, if it is an
// application message with text to index.
func searchable(m Message) (kind, text string, ok bool) {
	if m.Kind != "application" || len(m.Data) == 0 {
		return "", "", false
	}
	// One decoding: the type, then the text, of a negotiation event.
	var v any
	typ := ""
	if json.Unmarshal(m.Data, &v) == nil {
		if mp, ok := v.(map[string]any); ok {
			typ, _ = mp["type"].(string)
		}
	}
	if typ == "" {
		if !utf8.Valid(m.Data) {
			return "", "", false
		}
		return KindMessage, string(m.Data), true
	}
	switch typ {
	case negotiation.TypeStatement:
		kind = KindStatement
	case negotiation.TypeTableText:
		kind = KindText
	case negotiation.TypePropose:
		kind = KindProposal
	case negotiation.TypePosition:
		kind = KindPosition
	default:
		kind = KindEvent
	}
	var b strings.Builder
	collectText(&b, "", v)
	return kind, b.String(), true
}

// collectText gathers the words of a decoded payload: its string values,
// except identifiers, type names and encoded binary (signatures, digests).
func collectText(b *strings.Builder, key string, v any) {
	switch x := v.(type) {
	case string:
		switch key {
		case "type", "signature", "digest", "root_key", "reply_to", "ref", "id":
			return
		}
		if len(x) > 40 && !strings.ContainsRune(x, ' ') {
			return // base64 of a signature or digest, not words
		}
		b.WriteString(x)
		b.WriteByte('\n')
	case []any:
		for _, e := range x {
			collectText(b, key, e)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			collectText(b, k, x[k])
		}
	}
}

// searchIndex holds the in-memory indexes of the channels searched last.
type searchIndex struct {
	mu    sync.Mutex
	chans map[string]*chanIndex
	clock uint64
}

// chanIndex is the index of one channel: its documents (the indexed
// messages, in log order) and, per word, the documents holding it.
type chanIndex struct {
	next     int64               // log index after the last entry indexed
	docs     []docMeta           // by document number
	postings map[string][]uint32 // word -> document numbers, ascending
	vocab    []string            // sorted words, for prefix matches; nil when stale
	names    []string            // interned delegation and person names, kinds
	nameIdx  map[string]uint16
	size     int64 // estimated bytes
	used     uint64
}

type docMeta struct {
	index  int64
	when   int64 // unix seconds
	party  uint16
	person uint16
	kind   uint16
}

func (c *chanIndex) intern(s string) uint16 {
	if i, ok := c.nameIdx[s]; ok {
		return i
	}
	if len(c.names) >= 1<<16-1 {
		return 0
	}
	c.names = append(c.names, s)
	c.nameIdx[s] = uint16(len(c.names) - 1)
	c.size += int64(len(s)) + 32
	return uint16(len(c.names) - 1)
}

func newChanIndex() *chanIndex {
	c := &chanIndex{postings: map[string][]uint32{}, nameIdx: map[string]uint16{}}
	c.intern("")
	return c
}

func (c *chanIndex) add(m Message) {
	kind, text, ok := searchable(m)
	if !ok {
		return
	}
	doc := uint32(len(c.docs))
	c.docs = append(c.docs, docMeta{index: m.Index, when: m.Received.Unix(),
		party: c.intern(m.Sender.Delegation), person: c.intern(strings.ToLower(m.Sender.Person)), kind: c.intern(kind)})
	c.size += 32
	for _, w := range Tokens(text) {
		p, ok := c.postings[w]
		if !ok {
			c.vocab = nil
			c.size += int64(len(w)) + 64
		}
		if len(p) > 0 && p[len(p)-1] == doc {
			continue
		}
		c.postings[w] = append(p, doc)
		c.size += 4
	}
}

// docsOf returns the documents holding a word matching t, as a bitmap.
func (c *chanIndex) docsOf(t queryTerm) []uint64 {
	bm := make([]uint64, (len(c.docs)+63)/64)
	set := func(p []uint32) {
		for _, d := range p {
			bm[d/64] |= 1 << (d % 64)
		}
	}
	if !t.prefix {
		set(c.postings[t.word])
		return bm
	}
	if c.vocab == nil {
		c.vocab = make([]string, 0, len(c.postings))
		for w := range c.postings {
			c.vocab = append(c.vocab, w)
		}
		sort.Strings(c.vocab)
	}
	for i := sort.SearchStrings(c.vocab, t.word); i < len(c.vocab) && strings.HasPrefix(c.vocab[i], t.word); i++ {
		set(c.postings[c.vocab[i]])
	}
	return bm
}

// advance indexes the entries the desk processed since the last call.
func (c *chanIndex) advance(ctx context.Context, d *Desk, ch string) error {
	next, err := d.forHistory(ctx, ch, c.next, c.add)
	c.next = next
	return err
}

func (s *searchIndex) query(ctx context.Context, d *Desk, ch string, q SearchQuery, terms []queryTerm, phrases [][]queryTerm, limit int) ([]SearchResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chans == nil {
		s.chans = map[string]*chanIndex{}
	}
	c := s.chans[ch]
	if c == nil {
		c = newChanIndex()
		s.chans[ch] = c
	}
	s.clock++
	c.used = s.clock
	if err := c.advance(ctx, d, ch); err != nil {
		delete(s.chans, ch)
		return nil, err
	}
	defer s.evict()
	// Documents holding every term.
	var bm []uint64
	for _, t := range terms {
		x := c.docsOf(t)
		if bm == nil {
			bm = x
			continue
		}
		for i := range bm {
			bm[i] &= x[i]
		}
	}
	want := func(name string) (uint16, bool) {
		if name == "" {
			return 0, true
		}
		i, ok := c.nameIdx[name]
		return i, ok && i != 0
	}
	party, ok1 := want(q.Party)
	person, ok2 := want(strings.ToLower(q.Person))
	kind, ok3 := want(q.Kind)
	if !ok1 || !ok2 || !ok3 {
		return nil, nil // no message of that sender or kind here
	}
	var out []SearchResult
	for w := len(bm) - 1; w >= 0 && len(out) < limit; w-- {
		for word := bm[w]; word != 0 && len(out) < limit; {
			b := 63 - bits.LeadingZeros64(word)
			word &^= 1 << b
			dm := c.docs[w*64+b]
			if (q.Party != "" && dm.party != party) || (q.Person != "" && dm.person != person) || (q.Kind != "" && dm.kind != kind) ||
				(!q.From.IsZero() && dm.when < q.From.Unix()) || (!q.To.IsZero() && dm.when >= q.To.Unix()) {
				continue
			}
			r, ok, err := d.searchHit(ctx, ch, dm.index, terms, phrases)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// searchHit reads a candidate message, checks the query's phrases in it
// and returns it as a result with a snippet.
func (d *Desk) searchHit(ctx context.Context, ch string, index int64, terms []queryTerm, phrases [][]queryTerm) (SearchResult, bool, error) {
	ms, err := d.Read(ctx, ch, index, 1)
	if err != nil {
		return SearchResult{}, false, err
	}
	if len(ms) == 0 || ms[0].Index != index {
		return SearchResult{}, false, nil
	}
	m := ms[0]
	kind, text, ok := searchable(m)
	if !ok {
		return SearchResult{}, false, nil
	}
	if len(phrases) > 0 {
		toks := Tokens(text)
		for _, ph := range phrases {
			if !containsPhrase(toks, ph) {
				return SearchResult{}, false, nil
			}
		}
	}
	return SearchResult{Channel: ch, Index: index, Kind: kind, Delegation: m.Sender.Delegation, Person: m.Sender.Person,
		Received: m.Received, Snippet: snippet(text, terms)}, true, nil
}

// snippet returns up to about 160 characters of text around the first word
// matching a term.
func snippet(text string, terms []queryTerm) string {
	text = strings.Join(strings.Fields(text), " ")
	start := -1
	pos := 0
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		i := strings.Index(text[pos:], f)
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + len(f)
		for _, tok := range Tokens(f) {
			for _, t := range terms {
				if t.matches(tok) {
					start = at
				}
			}
		}
		if start >= 0 {
			break
		}
	}
	const width = 160
	if start < 0 || len(text) <= width {
		return clipRunes(text, width)
	}
	from := max(0, start-width/3)
	for from > 0 && !utf8.RuneStart(text[from]) {
		from--
	}
	s := clipRunes(text[from:], width)
	if from > 0 {
		s = "…" + s
	}
	return s
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// evict drops the indexes of the channels searched longest ago while the
// indexes kept exceed searchBudget. Caller holds s.mu.
func (s *searchIndex) evict() {
	for {
		var total int64
		var old string
		for ch, c := range s.chans {
			total += c.size
			if old == "" || c.used < s.chans[old].used {
				old = ch
			}
		}
		if total <= searchBudget || len(s.chans) <= 1 {
			return
		}
		delete(s.chans, old)
	}
}
