package negotiation

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Describe says in words, on one line, what a payload asks for: "proposes
// to replace segment 1 of joint-statement p2 (drafted on version 1) with
// “complete”", "agrees ad referendum to joint-statement p2, version 2".
// It reads the payload leniently and never fails: it is for people reading
// a history or a briefing, not for deciding anything (Apply decides). The
// body of a statement is returned as it is; a payload it cannot read is
// quoted.
func Describe(payload []byte) string {
	var p struct {
		Type       string          `json:"type"`
		Body       string          `json:"body"`
		ReplyTo    string          `json:"reply_to"`
		AboutText  string          `json:"about_text"`
		AboutPara  string          `json:"about_para"`
		Text       string          `json:"text"`
		Title      string          `json:"title"`
		Item       string          `json:"item"`
		Parent     string          `json:"parent"`
		Status     string          `json:"status"`
		Paragraphs []any           `json:"paragraphs"`
		Amendment  Amendment       `json:"amendment"`
		Proposal   string          `json:"proposal"`
		Response   string          `json:"response"`
		Note       string          `json:"note"`
		Para       string          `json:"para"`
		Version    int             `json:"version"`
		Stance     string          `json:"stance"`
		Scope      string          `json:"scope"`
		ID         string          `json:"id"`
		Level      string          `json:"level"`
		Languages  json.RawMessage `json:"languages"` // []Language (adopt) or []string (consent_interpreter)
		Lang       string          `json:"lang"`
		Language   string          `json:"language"`
		Package    string          `json:"package"`
		Texts      []PackageText   `json:"texts"`
		Referral   ReferredText    `json:"referral"`
		Device     string          `json:"device"`
		Delegation string          `json:"delegation"`
		Person     string          `json:"person"`
		Entry      uint64          `json:"entry"`
	}
	if len(payload) > MaxPayloadBytes || json.Unmarshal(payload, &p) != nil || p.Type == "" {
		return strconv.Quote(clipWords(string(payload), 200))
	}
	words := func(s string) string { return strings.ReplaceAll(s, "_", " ") }
	q := func(s string) string { return "“" + clipWords(oneLine(s), 200) + "”" }
	note := func(s string) string {
		if s == "" {
			return ""
		}
		return " — " + q(s)
	}
	switch p.Type {
	case TypeStatement:
		return p.Body
	case TypeAddItem:
		s := fmt.Sprintf("adds agenda item %s %s", p.Item, q(p.Title))
		if p.Parent != "" {
			s += " under " + p.Parent
		}
		return s
	case TypeItemStatus:
		return fmt.Sprintf("marks agenda item %s %s", p.Item, words(p.Status))
	case TypeTableText:
		return fmt.Sprintf("tables text %s %s (%d paragraphs, %s level, in %s)", p.Text, q(p.Title), len(p.Paragraphs), words(p.Level), p.Language)
	case TypePropose:
		return "proposes " + describeAmendment(p.Text, p.Amendment)
	case TypeRespond:
		verb := map[string]string{string(Accept): "accepts", string(AcceptAdReferendum): "accepts ad referendum", string(Decline): "declines"}[p.Response]
		if verb == "" {
			verb = "answers " + strconv.Quote(p.Response) + " to"
		}
		return fmt.Sprintf("%s proposal %s%s", verb, p.Proposal, note(p.Note))
	case TypeWithdraw:
		return "withdraws proposal " + p.Proposal
	case TypePosition:
		verb := map[string]string{string(Agree): "agrees to", string(AgreeAdReferendum): "agrees ad referendum to",
			string(Reserve): "reserves its position on", string(Object): "objects to"}[p.Stance]
		if verb == "" {
			verb = "takes the position " + strconv.Quote(p.Stance) + " on"
		}
		return fmt.Sprintf("%s %s %s, version %d%s", verb, p.Text, p.Para, p.Version, note(p.Note))
	case TypeReady:
		return fmt.Sprintf("is ready to take %s %s to %s level%s", words(p.Scope), p.ID, words(p.Level), note(p.Note))
	case TypeAdopt:
		var ls []Language
		json.Unmarshal(p.Languages, &ls)
		var langs []string
		for _, l := range ls {
			langs = append(langs, l.Lang)
		}
		return fmt.Sprintf("adopts text %s version %d in %s", p.Text, p.Version, strings.Join(langs, ", "))
	case TypeSign:
		return fmt.Sprintf("signs the adopted text %s with its root key", p.Text)
	case TypeTranslate:
		return fmt.Sprintf("submits the %s version of text %s for concordance", p.Lang, p.Text)
	case TypeConcord:
		return fmt.Sprintf("confirms that the %s version of text %s concords", p.Lang, p.Text)
	case TypeAdoptPackage:
		var ids []string
		for _, t := range p.Texts {
			ids = append(ids, t.Text)
		}
		return fmt.Sprintf("adopts package %s %s (%s)", p.Package, q(p.Title), strings.Join(ids, ", "))
	case TypeRefer:
		r := p.Referral
		return fmt.Sprintf("refers text %s %s (version %d) from %s to %s level", r.Text, q(r.Title), r.Version, words(string(r.From)), words(string(r.To)))
	case TypeTakeUp:
		return fmt.Sprintf("takes up text %s, referred from a lower level", p.Text)
	case TypeReopen:
		return fmt.Sprintf("reopens %s %s%s", p.Text, p.Para, note(p.Note))
	case TypeConsentInterpreter:
		var langs []string
		json.Unmarshal(p.Languages, &langs)
		return fmt.Sprintf("consents to %s (%s) interpreting, in %s", p.Person, p.Delegation, strings.Join(langs, ", "))
	case TypeRemoveInterpreter:
		return fmt.Sprintf("removes interpreter device %s%s", clipWords(p.Device, 16), note(p.Note))
	case TypeInterpret:
		return fmt.Sprintf("interprets entry %d into %s: %s", p.Entry, p.Lang, q(p.Body))
	}
	return fmt.Sprintf("sends a %q event this version does not know", clipWords(p.Type, 40))
}

func describeAmendment(text string, a Amendment) string {
	where := text + " " + a.Para
	seg := ""
	if len(a.Path) > 0 {
		parts := make([]string, len(a.Path))
		for i, n := range a.Path {
			parts[i] = strconv.Itoa(n)
		}
		seg = "segment " + strings.Join(parts, ".") + " of "
	}
	drafted := ""
	if a.Base > 0 {
		drafted = fmt.Sprintf(" (drafted on version %d)", a.Base)
	}
	n := "“" + clipWords(a.Notation, 200) + "”"
	after := "at the start"
	if a.After != "" {
		after = "after " + a.After
	}
	switch a.Op {
	case OpReplace:
		if seg == "" {
			return fmt.Sprintf("to reword %s%s as %s", where, drafted, n)
		}
		return fmt.Sprintf("to replace %s%s%s with %s", seg, where, drafted, n)
	case OpInsert:
		return fmt.Sprintf("to insert %s before %s%s%s", n, seg, where, drafted)
	case OpDelete:
		return fmt.Sprintf("to delete %s%s%s", seg, where, drafted)
	case OpAddAlternative:
		return fmt.Sprintf("the alternative %s to %s%s%s", n, seg, where, drafted)
	case OpRemoveBrackets:
		return fmt.Sprintf("to keep option %d and remove the brackets of %s%s%s", a.Option, seg, where, drafted)
	case OpAddParagraph:
		return fmt.Sprintf("a new paragraph of %s %s: %s", text, after, n)
	case OpMoveParagraph:
		return fmt.Sprintf("to move %s %s", where, after)
	case OpDeleteParagraph:
		return fmt.Sprintf("to delete %s%s", where, drafted)
	}
	return fmt.Sprintf("an amendment %q to %s", clipWords(string(a.Op), 40), where)
}

// clipWords shortens s to at most n bytes, at a rune boundary, marking the cut.
func clipWords(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
