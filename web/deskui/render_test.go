package deskui

import (
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/web/i18n"
)

// scenarioModel is the scenario of package negotiation, played to the end
// (the Joint Statement adopted in three languages and signed by both
// parties), as a desk's model.
func scenarioModel(t *testing.T) (*model, *negotiation.Text) {
	t.Helper()
	st := scenarioState(t)
	m := &model{Status: &desk.Status{}, States: map[string]*negotiation.State{"wg1": st}, Order: []string{"wg1"}, Parties: st.Config.Parties}
	tx := m.text("joint-statement")
	if tx == nil {
		t.Fatal("no joint-statement in the scenario")
	}
	return m, tx
}

// scenarioState is the engine state of that scenario's channel, wg1.
func scenarioState(t *testing.T) *negotiation.State {
	t.Helper()
	b, err := os.ReadFile("../../negotiation/testdata/scenario.state.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := negotiation.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func text(html string) string {
	s := regexp.MustCompile(`(?s)<[^>]+>`).ReplaceAllString(html, " ")
	return strings.Join(strings.Fields(s), " ")
}

// TestRenderAdoptedText renders the text page and the package dashboard of
// the adopted Joint Statement: signatures, the bundle link, agreed matrix.
func TestRenderAdoptedText(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	m, tx := scenarioModel(t)
	if tx.Status != negotiation.TextAdopted {
		t.Fatalf("scenario text is %s", tx.Status)
	}
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/joint-statement", nil), "text", tx.Title, m, s.textData(m, tx))
	page := w.Body.String()
	got := text(page)
	for _, want := range []string{"Adoption and signatures", "Download the signed outcome bundle", "signed by", "EN", "FR", "RU"} {
		if !strings.Contains(got, want) {
			t.Errorf("text page lacks %q", want)
		}
	}
	if strings.Contains(got, "awaiting signature") {
		t.Error("an adopted text shows a missing signature")
	}
	if strings.Contains(page, "Take a position") {
		t.Error("an adopted text still offers to take positions")
	}
	w = httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/joint-statement/package", nil), "package", tx.Title, m, packageDataOf(m, tx))
	got = text(w.Body.String())
	if !strings.Contains(got, "The whole text is agreed by all parties") || !strings.Contains(got, "No party blocks any paragraph") {
		t.Errorf("package page: %s", got)
	}
	// The agenda item by its title, not its ID.
	if !strings.Contains(got, "Agenda item Ceasefire and separation of forces: a higher level") {
		t.Errorf("package page does not name the agenda item by its title: %s", got)
	}
	// Adopted: nothing is left to signal readiness for.
	if strings.Contains(w.Body.String(), `/ready?ch=`) {
		t.Error("the package page of an adopted text still offers to signal readiness")
	}
}

// TestRenderEscapes: a paragraph tabled by another party cannot inject
// markup into the desk UI.
func TestRenderEscapes(t *testing.T) {
	s, _ := newServer(t)
	cfg := negotiation.Config{Talks: "t", Parties: []negotiation.Party{{ID: "arden"}, {ID: "borealia"}}}
	st, err := negotiation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := st.Apply(negotiation.Event{LogIndex: 1, Channel: "wg1", Delegation: "borealia", Person: "x", Payload: negotiation.NewTableText(negotiation.TableText{
		ID: "t1", Title: "<script>alert(1)</script>", Level: negotiation.LevelExpert, Language: "en",
		Paragraphs: []string{`<img src=x onerror=alert(1)> [<b>bold</b>]{borealia}`},
	})})
	if rec.Result != negotiation.ResultApplied {
		t.Fatalf("table: %s %s", rec.Result, rec.Reason)
	}
	m := &model{Status: &desk.Status{}, States: map[string]*negotiation.State{"wg1": st}, Order: []string{"wg1"}, Parties: st.Config.Parties}
	tx := m.text("t1")
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/t1", nil), "text", tx.Title, m, s.textData(m, tx))
	page := w.Body.String()
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>bold"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;img src=x") {
		t.Error("the paragraph's text is missing")
	}
}

// TestRenderConcordance renders the concordance table of the scenario's
// Joint Statement (French and Russian confirmed by both parties) and the
// Word download of the text.
func TestRenderConcordance(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	m, tx := scenarioModel(t)
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/joint-statement/concordance", nil), "concordance", tx.Title, m,
		concordanceData{Text: tx, Table: m.State.Concordance(tx.ID)})
	got := text(w.Body.String())
	for _, want := range []string{"Concordance — Joint Statement", "Concordant, ready for adoption: FR RU", "Совместное заявление",
		"Les Parties réaffirment leur attachement à un règlement négocié.", "concordant"} {
		if !strings.Contains(got, want) {
			t.Errorf("concordance page lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pending") || strings.Contains(w.Body.String(), "concord-form") {
		t.Error("an adopted text's concordance shows pending wordings or offers to confirm")
	}
}

// TestRenderDiff renders the Joint Statement's changes from its first to
// its last version: brackets as the text page shows them (coloured by
// party, no raw {party} notation), and whole words struck out or
// inserted, never a piece of a word.
func TestRenderDiff(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	m, tx := scenarioModel(t)
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/joint-statement/diff", nil), "diff", tx.Title, m, diffDataOf(tx, 1, tx.Version))
	page := w.Body.String()
	main := page[strings.Index(page, `<ol class="paras diff">`):]
	if strings.Contains(main, "{arden}") || strings.Contains(main, "{borealia}") || strings.Contains(main, "{-") {
		t.Error("the diff page shows raw bracket notation")
	}
	if !regexp.MustCompile(`<span class="br party-\d" title="Tabled by borealia">\[</span>`).MatchString(main) {
		t.Error("the diff page does not colour brackets by the party that tabled them")
	}
	// Every <ins> and <del> starts and ends at a word's edge: with the
	// other tags taken out, no change boundary has a letter on both sides.
	marked := regexp.MustCompile(`</?(?:ins|del)>`).ReplaceAllString(main, "|")
	marked = regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(marked, "")
	for _, m := range regexp.MustCompile(`\p{L}\|\p{L}`).FindAllString(marked, -1) {
		t.Errorf("a change splits a word: %q", m)
	}
	got := text(main)
	for _, want := range []string{"cessation of hostilities from", "date of signature", "20 km from the line of contact"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff page lacks %q", want)
		}
	}
	if !strings.Contains(main, "<del>") || !strings.Contains(main, "<ins>") {
		t.Error("the diff page shows no change")
	}
}

// TestRenderHandover: the head's channel page offers the hand-over; the
// newcomer's shows handed-over messages with a badge and names the entries
// no hand-over opened; neither is offered to another delegate.
func TestRenderHandover(t *testing.T) {
	s, _ := newServer(t)
	m := &model{Status: &desk.Status{}, States: map[string]*negotiation.State{}}
	page := func(d channelData) string {
		w := httptest.NewRecorder()
		s.render(w, httptest.NewRequest("GET", "/channels/wg1", nil), "channel", "wg1", m, d)
		return w.Body.String()
	}
	ch := desk.ChannelInfo{}
	ch.ID = "wg1"
	head := page(channelData{Channel: ch, Head: true})
	if !strings.Contains(head, `action="/channels/wg1/handover"`) || !strings.Contains(text(head), "Hand over the history") {
		t.Error("the head's page offers no hand-over")
	}
	newcomer := page(channelData{Channel: ch, Unreadable: "1-2",
		Messages: []msgView{{Index: 4, Kind: "text", Body: "monitors report weekly", Sender: desk.MemberInfo{Person: "Iryna Holt", Delegation: "borealia"}, HandedOver: "Helen Vance (dev1)"}}})
	got := text(newcomer)
	if strings.Contains(newcomer, "/handover") {
		t.Error("a delegate who is not the head is offered the hand-over")
	}
	if !strings.Contains(newcomer, "badge-handover") || !strings.Contains(got, "handed over by Helen Vance") {
		t.Errorf("no hand-over badge: %s", got)
	}
	// The device that handed over is in the badge's title, not its text:
	// the page shows people, not device IDs.
	if strings.Contains(got, "dev1") || !strings.Contains(newcomer, `title="handed over by Helen Vance (dev1)"`) {
		t.Errorf("the hand-over badge shows the device, or its title lacks it: %s", newcomer)
	}
	if !strings.Contains(got, "that no hand-over opened: entries 1-2") {
		t.Errorf("no unreadable ranges: %s", got)
	}
}

// TestSameTextIDInTwoChannels: text IDs are unique only within a channel.
// With a "joint-statement" in wg1 and another in wg2, each page and form
// names its own channel, the menu tells the two apart, and a page asked
// for wg2's text shows wg2's (not the first channel's) and acts there.
func TestSameTextIDInTwoChannels(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	m, tx1 := scenarioModel(t)
	st2 := scenarioState(t)
	vs := st2.Text("joint-statement").Versions
	for i := range vs {
		vs[i].Channel = "wg2"
	}
	m.States["wg2"], m.Order = st2, append(m.Order, "wg2")
	tx2 := m.textIn("wg2", "joint-statement")
	if tx2 == nil || tx2 == tx1 || m.State != st2 || s.textChannel(tx2) != "wg2" {
		t.Fatalf("textIn(wg2) found %p (wg1's is %p), state %p (wg2's is %p)", tx2, tx1, m.State, st2)
	}
	if tx := m.textIn("wg1", "joint-statement"); tx != tx1 || m.State != m.States["wg1"] {
		t.Fatal("textIn(wg1) does not find wg1's text")
	}
	m.textIn("wg2", "joint-statement")
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/joint-statement/package?ch=wg2", nil), "package", tx2.Title, m, packageDataOf(m, tx2))
	page := w.Body.String()
	for _, want := range []string{
		`<a href="/texts/joint-statement?ch=wg1">Joint Statement · wg1</a>`,
		`<a href="/texts/joint-statement?ch=wg2" aria-current="page">Joint Statement · wg2</a>`,
		`href="/texts/joint-statement/concordance?ch=wg2"`,
		`href="/texts/joint-statement/diff?ch=wg2&amp;from=1&amp;to=`,
		`name="next" value="/texts/joint-statement/package?ch=wg2"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the package page of wg2's text lacks %s", want)
		}
	}
	if strings.Contains(page, `concordance?ch=wg1"`) {
		t.Error("the package page of wg2's text links to wg1's")
	}
}

// TestDescribeNamesWhatDelegatesKnow: the channel's one-line readings of
// negotiation events name texts and agenda items by title, language
// versions by title and language, readiness by item and level — never by
// the engine's identifiers — in English and in Russian.
func TestDescribeNamesWhatDelegatesKnow(t *testing.T) {
	st := scenarioState(t)
	en, ru := i18n.Get("en"), i18n.Get("ru")
	seen := map[string]string{}
	for _, rec := range st.Log {
		if rec.Result != negotiation.ResultApplied {
			continue
		}
		got := describe(en, st, rec, true)
		seen[rec.Type+" "+rec.Ref] = got
		for _, raw := range []string{"item:", "@leaders", "joint-statement", "ceasefire"} {
			if strings.Contains(got, raw) {
				t.Errorf("%s %q reads %q: shows the identifier %q", rec.Type, rec.Ref, got, raw)
			}
		}
		if r := describe(ru, st, rec, true); strings.Contains(r, "joint-statement") || strings.Contains(r, "item:") {
			t.Errorf("in Russian, %s %q reads %q", rec.Type, rec.Ref, r)
		}
	}
	for key, want := range map[string]string{
		"add_item ceasefire":           "added agenda item Ceasefire and separation of forces",
		"ready item:ceasefire@leaders": "signalled readiness on Ceasefire and separation of forces (leaders' level)",
		"translate joint-statement/fr": "submitted a language version of Joint Statement (FR)",
		"concord joint-statement/ru":   "confirmed the concordance of Joint Statement (RU)",
		"table_text joint-statement":   "tabled text Joint Statement",
		"sign joint-statement":         "Joint Statement",
	} {
		got, ok := seen[key]
		if !ok {
			t.Errorf("the scenario has no applied %s", key)
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s reads %q, want it to contain %q", key, got, want)
		}
	}
	// What cannot be resolved is shown as it is, not dropped.
	if got := describe(en, st, negotiation.Record{Type: negotiation.TypeTranslate, Ref: "unknown/fr", Result: negotiation.ResultApplied}, true); !strings.Contains(got, "unknown (FR)") {
		t.Errorf("an unknown text reads %q", got)
	}
}

// TestRenderProposalPreview: a proposal's preview shows its brackets as
// the text does (coloured by party), not the engine's notation with its
// {party} tags.
func TestRenderProposalPreview(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	cfg := negotiation.Config{Talks: "t", Parties: []negotiation.Party{{ID: "arden"}, {ID: "borealia"}}}
	st, err := negotiation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range []negotiation.Event{
		{Delegation: "arden", Payload: negotiation.NewTableText(negotiation.TableText{ID: "t1", Title: "Protocol", Level: negotiation.LevelExpert, Language: "en",
			Paragraphs: []string{"Monitors report monthly."}})},
		{Delegation: "borealia", Payload: negotiation.NewProposal("t1", negotiation.Amendment{Op: negotiation.OpReplace, Para: "p1", Base: 1,
			Notation: "Monitors report [monthly]{arden} [weekly]{borealia}."})},
	} {
		e.LogIndex, e.Channel, e.Person = uint64(i+1), "wg1", "x"
		if rec := st.Apply(e); rec.Result != negotiation.ResultApplied {
			t.Fatalf("event %d: %s %s", i, rec.Result, rec.Reason)
		}
	}
	m := &model{Status: &desk.Status{}, States: map[string]*negotiation.State{"wg1": st}, Order: []string{"wg1"}, Parties: st.Config.Parties}
	tx := m.text("t1")
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/t1", nil), "text", tx.Title, m, s.textData(m, tx))
	page := w.Body.String()
	i := strings.Index(page, `<div class="preview"`)
	if i < 0 {
		t.Fatalf("no proposal preview on the page:\n%s", page)
	}
	preview := page[i:]
	preview = preview[:strings.Index(preview, "</div>")]
	if strings.Contains(preview, "{arden}") || strings.Contains(preview, "{borealia}") {
		t.Errorf("the preview shows the notation's party tags: %s", preview)
	}
	if !strings.Contains(preview, `class="opt `+s.colour("borealia")) || !strings.Contains(preview, "weekly") {
		t.Errorf("the preview does not render Borealia's bracket: %s", preview)
	}
}

// TestRenderOverviewTalks: the overview names what readiness is about by
// its title and says in which channel each text is negotiated.
func TestRenderOverviewTalks(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	m, _ := scenarioModel(t)
	d := overviewData{Talks: "t"}
	d.addTalks(m)
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/", nil), "overview", "Overview", m, d)
	got := text(w.Body.String())
	for _, want := range []string{"agenda item Ceasefire and separation of forces → leaders", "in channel wg1"} {
		if !strings.Contains(got, want) {
			t.Errorf("overview lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "agenda item ceasefire") {
		t.Errorf("overview names an agenda item by its ID:\n%s", got)
	}
}

// TestRenderConcordanceBracketed: a paragraph still in brackets has no
// plain wording to translate, but its row shows it as the text does,
// rather than an empty cell.
func TestRenderConcordanceBracketed(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	st, err := negotiation.New(negotiation.Config{Talks: "t", Parties: []negotiation.Party{{ID: "arden"}, {ID: "borealia"}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := st.Apply(negotiation.Event{LogIndex: 1, Channel: "wg1", Delegation: "arden", Person: "x", Payload: negotiation.NewTableText(negotiation.TableText{
		ID: "t1", Title: "Protocol", Level: negotiation.LevelExpert, Language: "en",
		Paragraphs: []string{"Monitors report monthly.", "Hostilities cease [today]{arden} [tomorrow]{borealia}."},
	})})
	if rec.Result != negotiation.ResultApplied {
		t.Fatalf("table: %s %s", rec.Result, rec.Reason)
	}
	rec = st.Apply(negotiation.Event{LogIndex: 2, Channel: "wg1", Delegation: "arden", Person: "x", Payload: negotiation.NewTranslation("t1", "fr", "Protocole",
		[]negotiation.TranslatedParagraph{{Para: "p1", Text: "Les observateurs font rapport chaque mois."}})})
	if rec.Result != negotiation.ResultApplied {
		t.Fatalf("translate: %s %s", rec.Result, rec.Reason)
	}
	m := &model{Status: &desk.Status{}, States: map[string]*negotiation.State{"wg1": st}, Order: []string{"wg1"}, Parties: st.Config.Parties}
	tx := m.text("t1")
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/texts/t1/concordance", nil), "concordance", tx.Title, m, concordanceData{Text: tx, Table: m.State.Concordance(tx.ID)})
	page := w.Body.String()
	i := strings.Index(page, `id="conc-p2"`)
	if i < 0 {
		t.Fatalf("no row for p2:\n%s", page)
	}
	row := page[i:]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "tomorrow") || !strings.Contains(row, `class="opt `) {
		t.Errorf("the bracketed paragraph's row does not show it: %s", row)
	}
}

// TestAlarmKindsNamed: every kind of alarm a desk raises has a name and a
// one-sentence explanation in every language of the interface (a kind
// without them showed as its identifier, "stale-view", in the trust panel).
func TestAlarmKindsNamed(t *testing.T) {
	for _, code := range i18n.Codes {
		l := i18n.Get(code)
		for _, kind := range desk.AlarmKinds {
			for _, domain := range []string{"alarm", "alarm-explain"} {
				if got := l.Label(domain, kind); got == kind || got == "" {
					t.Errorf("%s: alarm %q has no %s", code, kind, domain)
				}
			}
		}
	}
}

// TestRenderTrustRecover: a channel halted by an alarm is offered the
// recovery into the venue's fresh channels of the same delegations (not
// into one of other delegations, one where talks are under way, or one
// already part of a recovery); with
// none, the page says to ask the host; a channel whose talks moved
// already, or an alarm that does not halt, is offered nothing.
func TestRenderTrustRecover(t *testing.T) {
	s, _ := newServer(t)
	chans := func(ids ...string) []desk.ChannelInfo {
		var out []desk.ChannelInfo
		for _, id := range ids {
			c := desk.ChannelInfo{}
			c.ID, c.Members = id, []string{"borealia", "arden"}
			if id == "wg2" {
				c.Members = []string{"arden", "caspia"}
			}
			out = append(out, c)
		}
		return out
	}
	m := &model{Status: &desk.Status{Continued: []desk.Continued{{Channel: "wg0b", Continuation: desk.Continuation{From: "wg0"}}}},
		States: map[string]*negotiation.State{}, Channels: chans("wg0", "wg0b", "wg1", "wg1b", "wg1c", "wg2", "plenary"),
		Messages: map[string][]desk.Message{
			"plenary": {{Index: 0, Kind: "commit"}, {Index: 1, Kind: "application"}}, // talks under way
			"wg1c":    {{Index: 0, Kind: "commit"}},                                  // its group started, nothing said
		}}
	ok, fresh := freshFor(m, "wg1")
	if !ok || strings.Join(fresh, ",") != "wg1b,wg1c" {
		t.Fatalf("fresh channels for wg1: %v %v, want wg1b,wg1c", ok, fresh)
	}
	if ok, _ := freshFor(m, "wg0"); ok {
		t.Error("wg0, whose talks moved to wg0b, is offered a recovery again")
	}
	page := func(a alarmView) string {
		w := httptest.NewRecorder()
		s.render(w, httptest.NewRequest("GET", "/trust", nil), "trust", "Trust", m, trustData{Alarms: []alarmView{a}})
		return w.Body.String()
	}
	a := alarmView{Alarm: desk.Alarm{Log: "wg1", Kind: desk.AlarmFork}, Active: true, Halts: true, Recoverable: true, Fresh: fresh}
	got := page(a)
	if !strings.Contains(got, `action="/trust/recover"`) || !strings.Contains(got, `<option value="wg1b">`) || !strings.Contains(got, `<option value="wg1c">`) || !strings.Contains(got, `name="reason" required`) {
		t.Errorf("the halted channel is not offered the recovery into wg1b and wg1c:\n%s", got)
	}
	a.Fresh = nil
	if got := page(a); strings.Contains(got, `action="/trust/recover"`) || !strings.Contains(text(got), "ask the host to create one") {
		t.Errorf("without a fresh channel, the page does not say to ask the host:\n%s", text(got))
	}
	a.Recoverable = false
	if got := page(a); strings.Contains(got, "/trust/recover") || strings.Contains(text(got), "Continue the talks in a fresh channel") {
		t.Error("a channel that cannot be recovered is offered the recovery")
	}
}
