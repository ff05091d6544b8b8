package negotiation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/scenario.*.json")

// jsonEvent is the form of an Event in testdata/scenario.events.json.
type jsonEvent struct {
	LogIndex   uint64          `json:"log_index"`
	Channel    string          `json:"channel"`
	Delegation string          `json:"delegation"`
	Device     string          `json:"device"`
	Person     string          `json:"person"`
	Payload    json.RawMessage `json:"payload"`
}

// golden checks the scenario's events and final state against the example
// files in testdata, which the desk and the web UI can use as samples: the
// state must be byte-identical to the one every desk computed before.
func golden(t *testing.T, events []Event, s *State) {
	t.Helper()
	var js []jsonEvent
	for _, e := range events {
		js = append(js, jsonEvent{e.LogIndex, e.Channel, e.Delegation, e.Device, e.Person, e.Payload})
	}
	ev, err := json.MarshalIndent(js, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var st bytes.Buffer
	json.Indent(&st, s.Canonical(), "", "  ")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile("testdata/scenario.events.json", append(ev, '\n'), 0o644)
		os.WriteFile("testdata/scenario.state.json", append(st.Bytes(), '\n'), 0o644)
	}
	data, err := os.ReadFile("testdata/scenario.events.json")
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	var back []jsonEvent
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	var replay []Event
	for _, e := range back {
		var p bytes.Buffer
		if err := json.Compact(&p, e.Payload); err != nil {
			t.Fatal(err)
		}
		replay = append(replay, Event{e.LogIndex, e.Channel, e.Delegation, e.Device, e.Person, p.Bytes()})
	}
	r, _ := Replay(scenarioConfig(), replay)
	want, err := os.ReadFile("testdata/scenario.state.json")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	json.Indent(&got, r.Canonical(), "", "  ")
	got.WriteByte('\n')
	if !bytes.Equal(got.Bytes(), want) || !bytes.Equal(r.Canonical(), s.Canonical()) {
		t.Fatal("the scenario's state differs from testdata/scenario.state.json; run go test -update if that is intended")
	}
}

// The scenario of ../shared/scenario.md: Caspia hosts talks between Arden
// and Borealia.

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("goodoffices test root key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func scenarioConfig() Config {
	return Config{
		Talks: "Talks on the settlement, Caspia venue",
		Host:  "caspia",
		Parties: []Party{
			{ID: "borealia", Name: "Republic of Borealia", Head: "oleh-varta", RootKey: testKey("borealia").Public().(ed25519.PublicKey)},
			{ID: "arden", Name: "Federation of Arden", Head: "ilse-marven", RootKey: testKey("arden").Public().(ed25519.PublicKey)},
		},
	}
}

// log builds the events of one channel with increasing log indexes.
type log struct {
	t       testing.TB
	channel string
	next    uint64
	events  []Event
}

var persons = map[string]string{
	"ilse-marven": "arden", "tomas-reig": "arden", "nora-vass": "arden", "pieter-ost": "arden",
	"oleh-varta": "borealia", "iryna-holt": "borealia", "maks-dorn": "borealia", "sana-ruel": "borealia",
	"dana-seitkali": "caspia", "arman-bekov": "caspia", "aigul-nur": "caspia",
}

func (l *log) add(person string, payload []byte) Event {
	l.next++
	e := Event{LogIndex: l.next, Channel: l.channel, Delegation: persons[person], Device: person + "-laptop", Person: person, Payload: payload}
	l.events = append(l.events, e)
	return e
}

// play applies an event and fails the test unless it is applied.
func play(t testing.TB, s *State, l *log, person string, payload []byte) Record {
	t.Helper()
	r := s.Apply(l.add(person, payload))
	if r.Result != ResultApplied {
		t.Fatalf("%s %s: %s: %s", person, r.Type, r.Result, r.Reason)
	}
	return r
}

// refuse applies an event, expects it refused with a reason containing
// want, and checks that nothing but the log and cursor changed.
func refuse(t testing.TB, s *State, l *log, person string, payload []byte, want string) {
	t.Helper()
	before := substance(s)
	r := s.Apply(l.add(person, payload))
	if r.Result == ResultApplied {
		t.Fatalf("%s %s: applied, want refused (%s)", person, r.Type, want)
	}
	if !strings.Contains(r.Reason, want) {
		t.Fatalf("%s %s: reason %q, want %q", person, r.Type, r.Reason, want)
	}
	if !bytes.Equal(before, substance(s)) {
		t.Fatalf("%s %s: refused event changed the state", person, r.Type)
	}
}

// substance is the canonical state without the log and cursors.
func substance(s *State) []byte {
	c := *s
	c.Log, c.Cursors = nil, nil
	return c.Canonical()
}

var jointStatement = TableText{
	ID: "joint-statement", Title: "Joint Statement", Item: "ceasefire", Level: LevelExpert, Language: "en",
	Paragraphs: []string{
		"The Parties reaffirm their commitment to a negotiated settlement.",
		"The Parties agree to a [complete]{arden} [partial]{borealia} cessation of hostilities from [00:00 on 1 December]{arden} [the date of signature]{borealia}.",
		"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
	},
}

// FinalJointStatement is the English text the scenario ends with.
var finalJointStatement = []string{
	"The Parties reaffirm their commitment to a negotiated settlement.",
	"The Parties agree to a complete cessation of hostilities from the date of signature.",
	"The Parties agree to withdraw heavy weapons 20 km from the line of contact.",
	"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
}

// playScenario plays steps 2-6 of the scenario in working group 1 and
// returns the state and the log. It checks the state after every move.
func playScenario(t testing.TB) (*State, *log) {
	t.Helper()
	s, err := New(scenarioConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &log{t: t, channel: "wg1"}

	// Step 2: the agenda.
	for _, it := range [][2]string{
		{"ceasefire", "Ceasefire and separation of forces"},
		{"humanitarian", "Humanitarian questions"},
		{"territorial", "Territorial questions"},
		{"historical", "Historical, national and linguistic questions"},
		{"political", "Political framework"},
	} {
		play(t, s, l, "dana-seitkali", NewAddItem(it[0], it[1], ""))
	}
	refuse(t, s, l, "dana-seitkali", NewTableText(jointStatement), "only a party")
	play(t, s, l, "tomas-reig", NewTableText(jointStatement))
	js := s.Text("joint-statement")
	if js.Version != 1 || len(js.Paragraphs) != 3 || js.Package.Status != PackageOpen {
		t.Fatalf("tabled text: version %d, %d paragraphs, %s", js.Version, len(js.Paragraphs), js.Package.Status)
	}
	p2 := js.Paragraph("p2")

	// Step 3: Arden proposes "complete"; Borealia, at the same time, its
	// date. Log order decides: Arden's proposal is accepted first and
	// Borealia's, drafted against the old wording, goes stale.
	a1 := play(t, s, l, "tomas-reig", NewProposal("joint-statement", Amendment{Op: OpRemoveBrackets, Para: "p2", Base: 1, Path: []int{1}, Option: 0})).Ref
	a2 := play(t, s, l, "iryna-holt", NewProposal("joint-statement", Amendment{Op: OpRemoveBrackets, Para: "p2", Base: 1, Path: []int{3}, Option: 1})).Ref
	refuse(t, s, l, "tomas-reig", NewResponse(a1, Accept, ""), "cannot answer its own")
	refuse(t, s, l, "iryna-holt", NewWithdrawal(a1), "only the proposing party")
	play(t, s, l, "iryna-holt", NewResponse(a1, AcceptAdReferendum, "subject to confirmation by the capital"))
	if got := s.Proposal(a1).Status; got != ProposalAccepted {
		t.Fatalf("A1 %s, want accepted", got)
	}
	if got := s.Proposal(a2); got.Status != ProposalStale || !strings.Contains(got.Reason, a1) {
		t.Fatalf("A2 %s (%s), want stale because of %s", got.Status, got.Reason, a1)
	}
	if want := "The Parties agree to a complete cessation of hostilities from [00:00 on 1 December]{arden} [the date of signature]{borealia}."; p2.Text != want || p2.Version != 2 {
		t.Fatalf("p2 v%d = %q, want v2 %q", p2.Version, p2.Text, want)
	}
	refuse(t, s, l, "tomas-reig", NewResponse(a2, Accept, ""), "is stale")
	// Paragraph 2's date stays bracketed: nobody can agree to it yet.
	refuse(t, s, l, "iryna-holt", NewPosition("joint-statement", "p2", 2, AgreeAdReferendum, ""), "still has brackets")
	refuse(t, s, l, "iryna-holt", NewPosition("joint-statement", "p2", 1, Reserve, ""), "stale")
	if p2.Status != ParaBracketed {
		t.Fatalf("p2 status %s, want bracketed", p2.Status)
	}

	// Step 4: Borealia tables paragraph 3, entirely in brackets: on the
	// table at once, as the new paragraph 3.
	a3 := play(t, s, l, "iryna-holt", NewProposal("joint-statement", Amendment{
		Op: OpAddParagraph, After: "p2",
		Notation: "[The Parties agree to withdraw heavy weapons [15] [30] km from the line of contact.]",
	})).Ref
	if s.Proposal(a3).Status != ProposalTabled {
		t.Fatalf("A3 %s, want tabled", s.Proposal(a3).Status)
	}
	p4 := js.ParagraphByNumber(3)
	if p4.ID != "p4" || p4.TabledBy != "borealia" || js.ParagraphByNumber(4).ID != "p3" {
		t.Fatalf("paragraph 3 is %s tabled by %s", p4.ID, p4.TabledBy)
	}
	if want := "[The Parties agree to withdraw heavy weapons [15]{borealia} [30]{borealia} km from the line of contact.]{borealia}"; p4.Text != want {
		t.Fatalf("p4 = %q, want %q", p4.Text, want)
	}
	play(t, s, l, "tomas-reig", NewPosition("joint-statement", "p4", 1, Reserve, "needs consultation with the general staff"))
	if p4.Status != ParaReserved || len(js.Package.Blocking("arden")) == 0 {
		t.Fatalf("p4 status %s, Arden blocks %v", p4.Status, js.Package.Blocking("arden"))
	}
	refuse(t, s, l, "iryna-holt", NewProposal("joint-statement", Amendment{Op: OpReplace, Para: "p4", Base: 2, Notation: "x"}), "stale")
	a4 := play(t, s, l, "tomas-reig", NewProposal("joint-statement", Amendment{
		Op: OpReplace, Para: "p4", Base: 1, Notation: "The Parties agree to withdraw heavy weapons [20] km from the line of contact.",
	})).Ref
	play(t, s, l, "iryna-holt", NewResponse(a4, Accept, ""))
	if want := "The Parties agree to withdraw heavy weapons [20]{arden} km from the line of contact."; p4.Text != want {
		t.Fatalf("p4 = %q, want %q", p4.Text, want)
	}
	if len(p4.Positions) != 0 || !p4.History[len(p4.History)-1].Reset {
		t.Fatalf("new wording kept the old positions: %+v", p4.Positions)
	}
	a5 := play(t, s, l, "iryna-holt", NewProposal("joint-statement", Amendment{Op: OpRemoveBrackets, Para: "p4", Base: 2, Path: []int{1}})).Ref
	play(t, s, l, "tomas-reig", NewResponse(a5, Accept, ""))
	play(t, s, l, "tomas-reig", NewPosition("joint-statement", "p4", 3, Agree, ""))
	play(t, s, l, "iryna-holt", NewPosition("joint-statement", "p4", 3, Agree, ""))
	if p4.Status != ParaAgreed || p4.Text != finalJointStatement[2] {
		t.Fatalf("p4 %s %q", p4.Status, p4.Text)
	}

	// The date, then positions on every paragraph; Borealia ad referendum.
	a6 := play(t, s, l, "tomas-reig", NewProposal("joint-statement", Amendment{Op: OpRemoveBrackets, Para: "p2", Base: 2, Path: []int{1}, Option: 1})).Ref
	play(t, s, l, "iryna-holt", NewResponse(a6, Accept, ""))
	for _, p := range []string{"p1", "p2", "p3"} {
		v := js.Paragraph(p).Version
		play(t, s, l, "tomas-reig", NewPosition("joint-statement", p, v, Agree, ""))
		play(t, s, l, "iryna-holt", NewPosition("joint-statement", p, v, AgreeAdReferendum, ""))
	}
	if js.Package.Status != PackageAgreedAdReferendum || s.Package.Status != PackageAgreedAdReferendum {
		t.Fatalf("package %s / %s, want agreed ad referendum", js.Package.Status, s.Package.Status)
	}
	if it := s.Agenda[0]; it.Package.Status != PackageAgreedAdReferendum || s.Agenda[1].Package.Status != PackageEmpty {
		t.Fatalf("item packages %s, %s", it.Package.Status, s.Agenda[1].Package.Status)
	}

	// Step 5: each head of delegation signals readiness for the leaders.
	refuse(t, s, l, "tomas-reig", NewReadiness(ScopeItem, "ceasefire", LevelLeaders, ""), "head of delegation")
	play(t, s, l, "ilse-marven", NewReadiness(ScopeItem, "ceasefire", LevelLeaders, ""))
	if s.Readiness[0].Ready {
		t.Fatal("ready with one signal")
	}
	play(t, s, l, "oleh-varta", NewReadiness(ScopeItem, "ceasefire", LevelLeaders, "the capital confirms"))
	if !s.Readiness[0].Ready {
		t.Fatal("not ready with both signals")
	}
	st := play(t, s, l, "oleh-varta", NewStatement("Borealia confirms paragraphs 1 to 3.", "", "joint-statement", "")).Ref
	play(t, s, l, "ilse-marven", NewStatement("Noted with thanks.", st, "", ""))
	for _, p := range []string{"p1", "p2", "p3"} {
		play(t, s, l, "oleh-varta", NewPosition("joint-statement", p, js.Paragraph(p).Version, Agree, "confirmed by the capital"))
	}
	if js.Package.Status != PackageAgreed || len(js.Package.Blocks) != 0 {
		t.Fatalf("package %s, blocks %v", js.Package.Status, js.Package.Blocks)
	}
	for i, p := range js.Paragraphs {
		if plain, _ := PlainText(p.Segments); plain != finalJointStatement[i] {
			t.Fatalf("paragraph %d = %q, want %q", i+1, plain, finalJointStatement[i])
		}
	}
	playConcordance(t, s, l)
	return s, l
}

// playConcordance: the host's translators submit the French and Russian
// versions; each party confirms their concordance, paragraph by paragraph.
func playConcordance(t testing.TB, s *State, l *log) {
	t.Helper()
	js := s.Text("joint-statement")
	for _, lang := range scenarioLanguages[1:] {
		var paras []TranslatedParagraph
		for i, p := range js.Paragraphs {
			paras = append(paras, TranslatedParagraph{Para: p.ID, Text: lang.Paragraphs[i]})
		}
		play(t, s, l, "arman-bekov", NewTranslation("joint-statement", lang.Lang, lang.Title, paras))
	}
	refuse(t, s, l, "arman-bekov", NewConcordance("joint-statement", "fr", []PartVersion{{Para: "p1", Version: 1}}), "only a party")
	refuse(t, s, l, "tomas-reig", NewTranslation("joint-statement", "en", "Joint Statement", nil), "language of the negotiation")
	for _, person := range []string{"tomas-reig", "iryna-holt"} {
		for _, lang := range []string{"fr", "ru"} {
			parts := []PartVersion{{Version: 1}}
			for _, p := range js.Paragraphs {
				parts = append(parts, PartVersion{Para: p.ID, Version: 1})
			}
			play(t, s, l, person, NewConcordance("joint-statement", lang, parts))
		}
	}
	if c := s.Concordance("joint-statement"); strings.Join(c.Concordant, ",") != "fr,ru" {
		t.Fatalf("concordant languages %v", c.Concordant)
	}
}

// ScenarioLanguages are the authentic language versions of the final
// Joint Statement.
var scenarioLanguages = []Language{
	{Lang: "en", Title: "Joint Statement", Paragraphs: finalJointStatement},
	{Lang: "fr", Title: "Déclaration commune", Paragraphs: []string{
		"Les Parties réaffirment leur attachement à un règlement négocié.",
		"Les Parties conviennent d'une cessation complète des hostilités à compter de la date de signature.",
		"Les Parties conviennent de retirer les armes lourdes à 20 km de la ligne de contact.",
		"Les Parties prient la République de Caspia de continuer à offrir ses bons offices en tant que lieu de nouvelles négociations à tous les niveaux.",
	}},
	{Lang: "ru", Title: "Совместное заявление", Paragraphs: []string{
		"Стороны подтверждают свою приверженность урегулированию путём переговоров.",
		"Стороны договариваются о полном прекращении боевых действий с даты подписания.",
		"Стороны договариваются об отводе тяжёлых вооружений на 20 км от линии соприкосновения.",
		"Стороны просят Республику Каспия продолжать предоставлять свои добрые услуги в качестве места проведения дальнейших переговоров на всех уровнях.",
	}},
}

func TestScenario(t *testing.T) {
	s, l := playScenario(t)
	js := s.Text("joint-statement")

	// Step 6: adoption in English, French and Russian, then the signatures.
	seed := bytes.Repeat([]byte{7}, 32)
	digest := sha256.Sum256([]byte("stand-in for the outcome digest"))
	bad := append([]Language(nil), scenarioLanguages...)
	bad[0] = Language{Lang: "en", Title: "Joint Statement", Paragraphs: append([]string{"The Parties reaffirm nothing."}, finalJointStatement[1:]...)}
	refuse(t, s, l, "pieter-ost", NewAdoption("joint-statement", js.Version, bad, seed, digest[:]), "differs from the agreed wording")
	refuse(t, s, l, "pieter-ost", NewAdoption("joint-statement", js.Version, scenarioLanguages[1:], seed, digest[:]), "negotiated language")
	refuse(t, s, l, "pieter-ost", NewAdoption("joint-statement", js.Version-1, scenarioLanguages, seed, digest[:]), "stale")
	play(t, s, l, "pieter-ost", NewAdoption("joint-statement", js.Version, scenarioLanguages, seed, digest[:]))
	if js.Status != TextAdopting {
		t.Fatalf("status %s", js.Status)
	}
	refuse(t, s, l, "tomas-reig", NewPosition("joint-statement", "p1", 1, Object, ""), "frozen")
	msg := OutcomeSigningMessage(digest[:])
	refuse(t, s, l, "oleh-varta", NewSignature("joint-statement", digest[:], ed25519.Sign(testKey("arden"), msg)), "not by the root key")
	other := sha256.Sum256([]byte("another digest"))
	refuse(t, s, l, "oleh-varta", NewSignature("joint-statement", other[:], ed25519.Sign(testKey("borealia"), OutcomeSigningMessage(other[:]))), "another digest")
	play(t, s, l, "ilse-marven", NewSignature("joint-statement", digest[:], ed25519.Sign(testKey("arden"), msg)))
	refuse(t, s, l, "ilse-marven", NewSignature("joint-statement", digest[:], ed25519.Sign(testKey("arden"), msg)), "already signed")
	play(t, s, l, "oleh-varta", NewSignature("joint-statement", digest[:], ed25519.Sign(testKey("borealia"), msg)))
	if js.Status != TextAdopted || len(js.Adoption.Signatures) != 2 {
		t.Fatalf("status %s with %d signatures", js.Status, len(js.Adoption.Signatures))
	}

	golden(t, l.events, s)

	// The whole log replays to the same bytes, with the parties listed in
	// another order, in one go or from a snapshot.
	cfg := scenarioConfig()
	cfg.Parties[0], cfg.Parties[1] = cfg.Parties[1], cfg.Parties[0]
	r, err := Replay(cfg, l.events)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Canonical(), s.Canonical()) {
		t.Fatal("replay with reordered config differs")
	}
	half, _ := Replay(scenarioConfig(), l.events[:len(l.events)/2])
	resumed, err := Decode(half.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	resumed.ApplyAll(l.events[len(l.events)/2:])
	if !bytes.Equal(resumed.Canonical(), s.Canonical()) {
		t.Fatal("replay from a snapshot differs")
	}

	// Every text version can be compared with every other.
	d, err := js.Diff(1, js.Version)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]string{}
	for _, x := range d {
		changes[x.Para] = x.Change
	}
	if changes["p1"] != "unchanged" || changes["p2"] != "changed" || changes["p3"] != "unchanged" || changes["p4"] != "added" {
		t.Fatalf("diff 1..%d: %v", js.Version, changes)
	}
	if got := FormatDiff(d[1].Ops); !strings.Contains(got, "{-[complete]{arden} [partial]{borealia}-}") && !strings.Contains(got, "{-[-}complete") {
		t.Fatalf("diff of p2: %s", got)
	}
}

func TestMarkdown(t *testing.T) {
	s, _ := playScenario(t)
	md, err := s.Markdown("joint-statement")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Joint Statement", "3. The Parties agree to withdraw heavy weapons 20 km", "Republic of Borealia: agree (confirmed by the capital)"} {
		if !strings.Contains(md, want) {
			t.Fatalf("Markdown lacks %q:\n%s", want, md)
		}
	}
	s2, _ := New(scenarioConfig())
	l := &log{t: t, channel: "wg1"}
	play(t, s2, l, "dana-seitkali", NewAddItem("ceasefire", "Ceasefire", ""))
	play(t, s2, l, "tomas-reig", NewTableText(jointStatement))
	md, _ = s2.Markdown("joint-statement")
	if !strings.Contains(md, "**\\[**complete**\\]**<sub>arden</sub> **\\[**partial**\\]**<sub>borealia</sub>") || !strings.Contains(md, "paragraph 2: Republic of Borealia (no position)") {
		t.Fatalf("bracketed Markdown:\n%s", md)
	}
}

// Exported for the external test package, which may import package
// outcome (that imports this one).
var (
	PlayScenario = func(t testing.TB) (*State, func(person string, payload []byte) Record) {
		s, l := playScenario(t)
		return s, func(p string, b []byte) Record { return s.Apply(l.add(p, b)) }
	}
	ScenarioLanguages = scenarioLanguages
	TestRootKey       = testKey
)

// TestSignatureNeedsRootKey: a party whose root key the engine was not given
// cannot have a signature counted, whatever it signed with.
func TestSignatureNeedsRootKey(t *testing.T) {
	_, l := playScenario(t)
	cfg := scenarioConfig()
	for i := range cfg.Parties {
		if cfg.Parties[i].ID == "borealia" {
			cfg.Parties[i].RootKey = nil
		}
	}
	s, err := Replay(cfg, l.events)
	if err != nil {
		t.Fatal(err)
	}
	js := s.Text("joint-statement")
	seed := bytes.Repeat([]byte{7}, 32)
	digest := sha256.Sum256([]byte("stand-in for the outcome digest"))
	play(t, s, l, "pieter-ost", NewAdoption("joint-statement", js.Version, scenarioLanguages, seed, digest[:]))
	msg := OutcomeSigningMessage(digest[:])
	refuse(t, s, l, "oleh-varta", NewSignature("joint-statement", digest[:], ed25519.Sign(testKey("borealia"), msg)), "root key of borealia is not known")
	play(t, s, l, "ilse-marven", NewSignature("joint-statement", digest[:], ed25519.Sign(testKey("arden"), msg)))
	if js.Status == TextAdopted {
		t.Fatal("adopted with an unverifiable signature")
	}
}
