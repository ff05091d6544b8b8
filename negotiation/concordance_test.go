package negotiation

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

// TestConcordance: a new wording or a change of the original clears the
// confirmations; an adoption needs every part of every language confirmed
// by every party, in the concordant wording.
func TestConcordance(t *testing.T) {
	s, err := New(scenarioConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &log{t: t, channel: "wg1"}
	play(t, s, l, "tomas-reig", NewTableText(TableText{ID: "protocol", Title: "Protocol", Level: LevelExpert, Language: "en",
		Paragraphs: []string{"The line of contact is as shown on the map.", "Monitors report [weekly] [monthly]."}}))
	pr := s.Text("protocol")
	cell := func(lang, para string) ConcordanceCell {
		t.Helper()
		c := s.Concordance("protocol")
		li := -1
		for i, x := range c.Langs {
			if x == lang {
				li = i
			}
		}
		for _, r := range c.Rows {
			if r.Para == para {
				if li < 0 {
					t.Fatalf("no %s column in %+v", lang, c)
				}
				return r.Cells[li]
			}
		}
		t.Fatalf("no row %q", para)
		return ConcordanceCell{}
	}

	// Arden submits French: its own confirmation comes with it.
	play(t, s, l, "tomas-reig", NewTranslation("protocol", "fr", "Protocole", []TranslatedParagraph{
		{Para: "p1", Text: "La ligne de contact est celle indiquée sur la carte."},
	}))
	if c := cell("fr", "p1"); c.Status != ConcordancePending || strings.Join(c.Confirmed, ",") != "arden" || strings.Join(c.Waiting, ",") != "borealia" {
		t.Fatalf("fr p1 after submission: %+v", c)
	}
	if c := cell("fr", "p2"); c.Status != ConcordanceMissing {
		t.Fatalf("fr p2: %+v", c)
	}
	refuse(t, s, l, "iryna-holt", NewConcordance("protocol", "fr", []PartVersion{{Para: "p1", Version: 2}}), "stale")
	refuse(t, s, l, "iryna-holt", NewConcordance("protocol", "fr", []PartVersion{{Para: "p2", Version: 1}}), "no fr wording")
	refuse(t, s, l, "iryna-holt", NewConcordance("protocol", "de", []PartVersion{{Para: "p1", Version: 1}}), "no \"de\" version")
	refuse(t, s, l, "tomas-reig", NewConcordance("protocol", "fr", []PartVersion{{Para: "p1", Version: 1}}), "already confirmed")
	refuse(t, s, l, "iryna-holt", NewTranslation("protocol", "fr", "", []TranslatedParagraph{{Para: "p9", Text: "x"}}), "no paragraph")
	play(t, s, l, "iryna-holt", NewConcordance("protocol", "fr", []PartVersion{{Para: "p1", Version: 1}, {Version: 1}}))
	if c := cell("fr", "p1"); c.Status != ConcordanceConcordant {
		t.Fatalf("fr p1 confirmed by both: %+v", c)
	}

	// Borealia changes the French of p1: a new version, only its own
	// confirmation stands.
	play(t, s, l, "iryna-holt", NewTranslation("protocol", "fr", "", []TranslatedParagraph{{Para: "p1", Text: "La ligne de contact figure sur la carte."}}))
	if c := cell("fr", "p1"); c.Status != ConcordancePending || c.Version != 2 || strings.Join(c.Confirmed, ",") != "borealia" {
		t.Fatalf("fr p1 after a new wording: %+v", c)
	}
	play(t, s, l, "tomas-reig", NewConcordance("protocol", "fr", []PartVersion{{Para: "p1", Version: 2}}))

	// The original of p2 changes: a French wording of the old p2 is stale
	// and cannot be confirmed.
	play(t, s, l, "tomas-reig", NewTranslation("protocol", "fr", "", []TranslatedParagraph{{Para: "p2", Text: "Les observateurs font rapport [chaque semaine] [chaque mois]."}}))
	a := play(t, s, l, "tomas-reig", NewProposal("protocol", Amendment{Op: OpRemoveBrackets, Para: "p2", Base: 1, Path: []int{1}, Option: 0})).Ref
	play(t, s, l, "iryna-holt", NewResponse(a, Accept, ""))
	if c := cell("fr", "p2"); c.Status != ConcordanceStale {
		t.Fatalf("fr p2 after the original changed: %+v", c)
	}
	refuse(t, s, l, "iryna-holt", NewConcordance("protocol", "fr", []PartVersion{{Para: "p2", Version: 1}}), "original of paragraph p2 changed")

	for _, person := range []string{"tomas-reig", "iryna-holt"} {
		for _, p := range pr.Paragraphs {
			play(t, s, l, person, NewPosition("protocol", p.ID, p.Version, Agree, ""))
		}
	}
	fr := Language{Lang: "fr", Title: "Protocole", Paragraphs: []string{"La ligne de contact figure sur la carte.", "Les observateurs font rapport chaque semaine."}}
	en := Language{Lang: "en", Title: "Protocol", Paragraphs: []string{"The line of contact is as shown on the map.", "Monitors report weekly."}}
	seed := bytes.Repeat([]byte{1}, 32)
	digest := sha256.Sum256([]byte("digest"))
	adopt := func() []byte { return NewAdoption("protocol", pr.Version, []Language{en, fr}, seed, digest[:]) }
	refuse(t, s, l, "tomas-reig", adopt(), "renders an older wording")

	play(t, s, l, "iryna-holt", NewTranslation("protocol", "fr", "", []TranslatedParagraph{{Para: "p2", Text: "Les observateurs font rapport chaque semaine."}}))
	refuse(t, s, l, "tomas-reig", adopt(), "not confirmed concordant by [arden]")
	play(t, s, l, "tomas-reig", NewConcordance("protocol", "fr", []PartVersion{{Para: "p2", Version: 2}}))
	if c := s.Concordance("protocol"); strings.Join(c.Concordant, ",") != "fr" {
		t.Fatalf("concordant languages %v", c.Concordant)
	}
	wrong := fr
	wrong.Paragraphs = []string{fr.Paragraphs[0], "Les observateurs font rapport chaque mois."}
	refuse(t, s, l, "tomas-reig", NewAdoption("protocol", pr.Version, []Language{en, wrong}, seed, digest[:]), "differs from the concordant wording")
	ru := Language{Lang: "ru", Title: "Протокол", Paragraphs: []string{"Линия соприкосновения показана на карте.", "Наблюдатели докладывают еженедельно."}}
	refuse(t, s, l, "tomas-reig", NewAdoption("protocol", pr.Version, []Language{en, fr, ru}, seed, digest[:]), "no ru version")
	play(t, s, l, "tomas-reig", adopt())

	// Frozen: no more wordings or confirmations.
	refuse(t, s, l, "iryna-holt", NewTranslation("protocol", "ru", "Протокол", nil), "frozen")

	// Replay and snapshot give the same bytes.
	again, err := Replay(scenarioConfig(), l.events)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Canonical(), s.Canonical()) {
		t.Fatal("replay differs")
	}
	back, err := Decode(s.Canonical())
	if err != nil || !bytes.Equal(back.Canonical(), s.Canonical()) {
		t.Fatalf("decode: %v", err)
	}
}
