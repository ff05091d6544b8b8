package negotiation

import (
	"errors"
	"fmt"
	"sort"
)

// Concordance of the authentic language versions (Vienna Convention on the
// Law of Treaties, art. 33: a text authenticated in two or more languages is
// equally authoritative in each). Before a text is adopted in several
// languages, every party confirms, paragraph by paragraph, that each
// language version says what the negotiated text says.
//
// A party or the host (its translators) submits the wording of the title
// and of paragraphs in a language with a translate event; each wording has
// a version and records the version of the original paragraph it renders.
// A party confirms wordings with a concord event. Submitting a wording
// confirms it for the submitting party (not for the host, which is not a
// party); a new wording, or a change of the original paragraph, clears the
// confirmations. An adoption in a language needs every paragraph and the
// title of that language confirmed by every party, on the current
// wording of the original.

// A Translation is the wording of a text in a language other than the
// language of the negotiation.
type Translation struct {
	Lang       string           `json:"lang"`
	Title      *TranslatedPart  `json:"title,omitempty"`
	Paragraphs []TranslatedPart `json:"paragraphs"` // in the order they were first submitted
}

// A TranslatedPart is the wording of the title or of one paragraph in a
// language.
type TranslatedPart struct {
	Para       string   `json:"para,omitempty"` // paragraph ID; "" for the title
	Text       string   `json:"text"`
	Version    int      `json:"version"` // 1, 2, …: a new wording is a new version
	Source     int      `json:"source"`  // the original paragraph's version it renders (0 for the title)
	By         string   `json:"by"`      // the delegation that submitted it
	LogIndex   uint64   `json:"log_index"`
	Concordant []string `json:"concordant"` // parties that confirmed this version, sorted
}

// ConcordanceStatus is the state of one language version of one paragraph.
type ConcordanceStatus string

// Concordance statuses.
const (
	ConcordanceMissing    ConcordanceStatus = "missing"    // no wording in this language
	ConcordanceStale      ConcordanceStatus = "stale"      // the original paragraph changed since
	ConcordancePending    ConcordanceStatus = "pending"    // not yet confirmed by every party
	ConcordanceConcordant ConcordanceStatus = "concordant" // confirmed by every party
)

// A ConcordanceRow is one paragraph (or the title) across the languages of
// a text, for the concordance table.
type ConcordanceRow struct {
	Para     string            `json:"para"`   // "" for the title
	Number   int               `json:"number"` // 0 for the title
	Original string            `json:"original"`
	Cells    []ConcordanceCell `json:"cells"` // one per language, in the order of ConcordanceTable.Langs
}

// A ConcordanceCell is one language version of one paragraph.
type ConcordanceCell struct {
	Lang      string            `json:"lang"`
	Text      string            `json:"text,omitempty"`
	Version   int               `json:"version,omitempty"`
	Status    ConcordanceStatus `json:"status"`
	Confirmed []string          `json:"confirmed"` // parties that confirmed
	Waiting   []string          `json:"waiting"`   // parties that have not
}

// A ConcordanceTable shows every language version of every paragraph of a
// text side by side.
type ConcordanceTable struct {
	Text     string           `json:"text"`
	Language string           `json:"language"` // of the negotiation
	Langs    []string         `json:"langs"`    // the other languages, sorted
	Rows     []ConcordanceRow `json:"rows"`     // the title, then the paragraphs in order
	// Concordant lists the languages whose every row is concordant: the
	// languages the text can be adopted in now, besides its own.
	Concordant []string `json:"concordant"`
}

// Concordance returns the concordance table of text id, or nil if there
// is no such text.
func (s *State) Concordance(id string) *ConcordanceTable {
	t := s.Text(id)
	if t == nil {
		return nil
	}
	ct := &ConcordanceTable{Text: t.ID, Language: t.Language, Langs: []string{}, Rows: []ConcordanceRow{}, Concordant: []string{}}
	for _, tr := range t.Translations {
		ct.Langs = append(ct.Langs, tr.Lang)
	}
	ok := make([]bool, len(t.Translations))
	for i := range ok {
		ok[i] = true
	}
	row := func(para string, number int, original string, source int) {
		r := ConcordanceRow{Para: para, Number: number, Original: original, Cells: []ConcordanceCell{}}
		for i, tr := range t.Translations {
			c := s.concordanceCell(tr, para, source)
			if c.Status != ConcordanceConcordant {
				ok[i] = false
			}
			r.Cells = append(r.Cells, c)
		}
		ct.Rows = append(ct.Rows, r)
	}
	row("", 0, t.Title, 0)
	for _, p := range t.Paragraphs {
		plain, _ := PlainText(p.Segments)
		row(p.ID, p.Number, plain, p.Version)
	}
	for i, tr := range t.Translations {
		if ok[i] {
			ct.Concordant = append(ct.Concordant, tr.Lang)
		}
	}
	return ct
}

func (s *State) concordanceCell(tr *Translation, para string, source int) ConcordanceCell {
	c := ConcordanceCell{Lang: tr.Lang, Confirmed: []string{}, Waiting: []string{}}
	part := tr.part(para)
	if part == nil {
		c.Status = ConcordanceMissing
		return c
	}
	c.Text, c.Version = part.Text, part.Version
	if part.Source != source {
		c.Status = ConcordanceStale
		return c
	}
	for _, p := range s.Config.Parties {
		if contains(part.Concordant, p.ID) {
			c.Confirmed = append(c.Confirmed, p.ID)
		} else {
			c.Waiting = append(c.Waiting, p.ID)
		}
	}
	c.Status = ConcordancePending
	if len(c.Waiting) == 0 {
		c.Status = ConcordanceConcordant
	}
	return c
}

// part returns the wording of paragraph para ("" for the title), or nil.
func (tr *Translation) part(para string) *TranslatedPart {
	if para == "" {
		return tr.Title
	}
	for i := range tr.Paragraphs {
		if tr.Paragraphs[i].Para == para {
			return &tr.Paragraphs[i]
		}
	}
	return nil
}

func (t *Text) translation(lang string) *Translation {
	for _, tr := range t.Translations {
		if tr.Lang == lang {
			return tr
		}
	}
	return nil
}

func contains(list []string, x string) bool {
	i := sort.SearchStrings(list, x)
	return i < len(list) && list[i] == x
}

// A TranslatedParagraph is one paragraph's wording in a translate payload.
type TranslatedParagraph struct {
	Para string `json:"para"`
	Text string `json:"text"`
}

// A PartVersion names the version of a wording a concord event confirms.
type PartVersion struct {
	Para    string `json:"para,omitempty"` // "" for the title
	Version int    `json:"version"`
}

type translatePayload struct {
	envelope
	Text       string                `json:"text"`
	Lang       string                `json:"lang"`
	Title      string                `json:"title,omitempty"`
	Paragraphs []TranslatedParagraph `json:"paragraphs,omitempty"`
}

type concordPayload struct {
	envelope
	Text  string        `json:"text"`
	Lang  string        `json:"lang"`
	Parts []PartVersion `json:"parts"`
}

// NewTranslation builds a translate payload: the wording of text's title
// (if title is not empty) and of the given paragraphs in lang.
func NewTranslation(text, lang, title string, paras []TranslatedParagraph) []byte {
	return marshal(translatePayload{envelope: env(TypeTranslate), Text: text, Lang: lang, Title: title, Paragraphs: paras})
}

// NewConcordance builds a concord payload: the sender's delegation confirms
// that the given versions of the wordings in lang concord with the
// original.
func NewConcordance(text, lang string, parts []PartVersion) []byte {
	return marshal(concordPayload{envelope: env(TypeConcord), Text: text, Lang: lang, Parts: parts})
}

var errNotNegotiating = errors.New("the text is frozen")

func (s *State) translate(e Event, who sender, p *translatePayload) (string, error) {
	if who.party == nil && !who.host {
		return "", errors.New("only a party or the host may submit a language version")
	}
	t := s.index().texts[p.Text]
	if t == nil {
		return "", fmt.Errorf("%w %q", errNoSuchText, p.Text)
	}
	if t.Status != TextNegotiating {
		return "", fmt.Errorf("%w: text %q is %s", errNotNegotiating, t.ID, t.Status)
	}
	if err := checkLang(p.Lang); err != nil {
		return "", err
	}
	if p.Lang == t.Language {
		return "", fmt.Errorf("%q is the language of the negotiation: its wording is the text itself", p.Lang)
	}
	tr := t.translation(p.Lang)
	if tr == nil && len(t.Translations)+1 >= MaxLanguages {
		return "", fmt.Errorf("text %s already has %d languages", t.ID, MaxLanguages)
	}
	if p.Title == "" && len(p.Paragraphs) == 0 {
		return "", errors.New("a language version needs a title or paragraphs")
	}
	if p.Title != "" {
		if err := checkString("title", p.Title, MaxTitleBytes, false, true); err != nil {
			return "", err
		}
	}
	if len(p.Paragraphs) > MaxParagraphs {
		return "", fmt.Errorf("more than %d paragraphs", MaxParagraphs)
	}
	seen := map[string]bool{}
	for _, x := range p.Paragraphs {
		if seen[x.Para] {
			return "", fmt.Errorf("paragraph %s twice", x.Para)
		}
		seen[x.Para] = true
		if t.Paragraph(x.Para) == nil {
			return "", fmt.Errorf("no paragraph %q in text %s", x.Para, t.ID)
		}
		if err := checkString("paragraph "+x.Para, x.Text, MaxParagraphBytes, false, true); err != nil {
			return "", err
		}
	}
	// Checked: now change the state.
	if tr == nil {
		tr = &Translation{Lang: p.Lang, Paragraphs: []TranslatedPart{}}
		i := sort.Search(len(t.Translations), func(i int) bool { return t.Translations[i].Lang >= p.Lang })
		t.Translations = append(t.Translations, nil)
		copy(t.Translations[i+1:], t.Translations[i:])
		t.Translations[i] = tr
	}
	by := ""
	confirmed := []string{}
	if who.party != nil {
		by = who.party.ID
		confirmed = []string{by}
	} else {
		by = e.Delegation
	}
	set := func(old *TranslatedPart, para, text string, source int) TranslatedPart {
		v := 1
		if old != nil {
			v = old.Version + 1
		}
		return TranslatedPart{Para: para, Text: text, Version: v, Source: source, By: by, LogIndex: e.LogIndex, Concordant: append([]string(nil), confirmed...)}
	}
	if p.Title != "" {
		np := set(tr.Title, "", p.Title, 0)
		tr.Title = &np
	}
	for _, x := range p.Paragraphs {
		src := t.Paragraph(x.Para).Version
		if old := tr.part(x.Para); old != nil {
			*old = set(old, x.Para, x.Text, src)
		} else {
			tr.Paragraphs = append(tr.Paragraphs, set(nil, x.Para, x.Text, src))
		}
	}
	return t.ID + "/" + p.Lang, nil
}

func (s *State) concord(e Event, who sender, p *concordPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	t := s.index().texts[p.Text]
	if t == nil {
		return "", fmt.Errorf("%w %q", errNoSuchText, p.Text)
	}
	if t.Status != TextNegotiating {
		return "", fmt.Errorf("%w: text %q is %s", errNotNegotiating, t.ID, t.Status)
	}
	tr := t.translation(p.Lang)
	if tr == nil {
		return "", fmt.Errorf("text %s has no %q version", t.ID, p.Lang)
	}
	if len(p.Parts) == 0 || len(p.Parts) > MaxParagraphs+1 {
		return "", errors.New("nothing to confirm")
	}
	seen := map[string]bool{}
	parts := make([]*TranslatedPart, len(p.Parts))
	for i, pv := range p.Parts {
		name := "the title"
		if pv.Para != "" {
			name = "paragraph " + pv.Para
		}
		if seen[pv.Para] {
			return "", fmt.Errorf("%s twice", name)
		}
		seen[pv.Para] = true
		part := tr.part(pv.Para)
		if part == nil {
			return "", fmt.Errorf("%s has no %s wording", name, p.Lang)
		}
		if part.Version != pv.Version {
			return "", fmt.Errorf("stale: the %s wording of %s is at version %d, not %d", p.Lang, name, part.Version, pv.Version)
		}
		if pv.Para != "" {
			if para := t.Paragraph(pv.Para); para == nil || para.Version != part.Source {
				return "", fmt.Errorf("the original of %s changed since its %s wording: the wording must be updated first", name, p.Lang)
			}
		}
		if contains(part.Concordant, who.party.ID) {
			return "", fmt.Errorf("%s already confirmed the %s wording of %s", who.party.ID, p.Lang, name)
		}
		parts[i] = part
	}
	for _, part := range parts {
		part.Concordant = append(part.Concordant, who.party.ID)
		sort.Strings(part.Concordant)
	}
	return t.ID + "/" + p.Lang, nil
}

// checkConcordance checks that l, a language version in an adoption of t,
// is the concordant wording of every part.
func (s *State) checkConcordance(t *Text, l Language) error {
	tr := t.translation(l.Lang)
	if tr == nil {
		return fmt.Errorf("no %s version of text %s has been submitted for concordance (translate)", l.Lang, t.ID)
	}
	check := func(name, para, text string, source int) error {
		c := s.concordanceCell(tr, para, source)
		switch c.Status {
		case ConcordanceMissing:
			return fmt.Errorf("%s of the %s version has no wording submitted", name, l.Lang)
		case ConcordanceStale:
			return fmt.Errorf("%s of the %s version renders an older wording of the original", name, l.Lang)
		case ConcordancePending:
			return fmt.Errorf("%s of the %s version is not confirmed concordant by %v", name, l.Lang, c.Waiting)
		}
		if c.Text != text {
			return fmt.Errorf("%s of the %s version differs from the concordant wording", name, l.Lang)
		}
		return nil
	}
	if err := check("the title", "", l.Title, 0); err != nil {
		return err
	}
	for j, p := range t.Paragraphs {
		if err := check(fmt.Sprintf("paragraph %d", j+1), p.ID, l.Paragraphs[j], p.Version); err != nil {
			return err
		}
	}
	return nil
}
