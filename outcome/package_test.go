package outcome

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
)

// protocol is the scenario's second document: a short Protocol on the
// ceasefire line, in English and French.
var protocol = []negotiation.Language{
	{Lang: "en", Title: "Protocol on the ceasefire line", Paragraphs: []string{
		"The line of contact is as shown on the map annexed to this Protocol.",
		"Monitors report weekly to both Parties.",
	}},
	{Lang: "fr", Title: "Protocole sur la ligne de cessez-le-feu", Paragraphs: []string{
		"La ligne de contact est celle indiquée sur la carte annexée au présent Protocole.",
		"Les observateurs font rapport chaque semaine aux deux Parties.",
	}},
}

// TestPackageFromState adopts the Joint Statement and the Protocol as one
// package through the engine: nothing is adopted while one text is open,
// one signature per party covers both, the bundle verifies offline and
// says which documents it holds, and any change of any byte is refused.
func TestPackageFromState(t *testing.T) {
	cfg := negotiation.Config{Talks: "Talks on the settlement, Caspia venue", Host: "caspia", Parties: []negotiation.Party{
		{ID: "arden", Name: "Federation of Arden", RootKey: pub("arden")},
		{ID: "borealia", Name: "Republic of Borealia", RootKey: pub("borealia")},
	}}
	s, err := negotiation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	apply := func(deleg string, payload []byte) negotiation.Record {
		t.Helper()
		n++
		return s.Apply(negotiation.Event{LogIndex: n, Channel: "wg1", Delegation: deleg, Person: deleg + "-head", Payload: payload})
	}
	must := func(deleg string, payload []byte) {
		t.Helper()
		if r := apply(deleg, payload); r.Result != negotiation.ResultApplied {
			t.Fatalf("%s: %s", r.Type, r.Reason)
		}
	}
	docs := map[string][]negotiation.Language{"joint-statement": jointStatement[:2], "protocol": protocol}
	for _, id := range []string{"joint-statement", "protocol"} {
		langs := docs[id]
		must("arden", negotiation.NewTableText(negotiation.TableText{ID: id, Title: langs[0].Title, Level: negotiation.LevelExpert, Language: "en", Paragraphs: langs[0].Paragraphs}))
		txt := s.Text(id)
		var paras []negotiation.TranslatedParagraph
		parts := []negotiation.PartVersion{{Version: 1}}
		for i, p := range txt.Paragraphs {
			paras = append(paras, negotiation.TranslatedParagraph{Para: p.ID, Text: langs[1].Paragraphs[i]})
			parts = append(parts, negotiation.PartVersion{Para: p.ID, Version: 1})
		}
		must("borealia", negotiation.NewTranslation(id, "fr", langs[1].Title, paras))
		must("arden", negotiation.NewConcordance(id, "fr", parts))
	}
	texts := func() []negotiation.PackageText {
		var out []negotiation.PackageText
		for _, id := range []string{"joint-statement", "protocol"} {
			out = append(out, negotiation.PackageText{Text: id, Version: s.Text(id).Version, Languages: docs[id]})
		}
		return out
	}
	// The Joint Statement is agreed, the Protocol not yet: no package.
	for _, p := range s.Text("joint-statement").Paragraphs {
		must("arden", negotiation.NewPosition("joint-statement", p.ID, p.Version, negotiation.Agree, ""))
		must("borealia", negotiation.NewPosition("joint-statement", p.ID, p.Version, negotiation.Agree, ""))
	}
	payload, _, err := PreparePackageAdoption(s, "caspia-package", "Caspia package", texts())
	if err != nil {
		t.Fatal(err)
	}
	if r := apply("borealia", payload); r.Result == negotiation.ResultApplied || !strings.Contains(r.Reason, "protocol is not agreed") {
		t.Fatalf("package adopted with the Protocol open: %s %s", r.Result, r.Reason)
	}
	for _, p := range s.Text("protocol").Paragraphs {
		must("arden", negotiation.NewPosition("protocol", p.ID, p.Version, negotiation.Agree, ""))
		must("borealia", negotiation.NewPosition("protocol", p.ID, p.Version, negotiation.Agree, ""))
	}
	payload, unsigned, err := PreparePackageAdoption(s, "caspia-package", "Caspia package", texts())
	if err != nil {
		t.Fatal(err)
	}
	must("borealia", payload)
	digest, _ := unsigned.DigestBytes()
	must("arden", negotiation.NewSignature("protocol", digest, Sign(testKey("arden"), digest)))
	if st := s.Text("joint-statement").Status; st != negotiation.TextAdopting {
		t.Fatalf("joint statement %s after one signature", st)
	}
	// One signature covers the package: Arden cannot sign the other text again.
	if r := apply("arden", negotiation.NewSignature("joint-statement", digest, Sign(testKey("arden"), digest))); r.Result == negotiation.ResultApplied {
		t.Fatal("a second signature of the same package counted")
	}
	must("borealia", negotiation.NewSignature("joint-statement", digest, Sign(testKey("borealia"), digest)))
	for _, id := range []string{"joint-statement", "protocol"} {
		if st := s.Text(id).Status; st != negotiation.TextAdopted {
			t.Fatalf("%s is %s", id, st)
		}
	}

	b, err := FromState(s, "protocol")
	if err != nil {
		t.Fatal(err)
	}
	if b.Digest != hex.EncodeToString(digest) || b.Format != PackageFormat {
		t.Fatalf("bundle digest %s format %s", b.Digest, b.Format)
	}
	data := b.Marshal()
	r, err := Verify(data, pins())
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "outcome-package" || len(r.Documents) != 2 || r.Documents[1].Text != "protocol" || strings.Join(r.Documents[1].Languages, ",") != "en,fr" {
		t.Fatalf("report %+v", r)
	}
	out := r.String()
	for _, want := range []string{"VALID package of 2 documents", `text "joint-statement" (version 1), 4 paragraphs`, "Protocole sur la ligne de cessez-le-feu"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	flipEveryBit(t, data)

	// A single text's bundle and a package's are told apart: the package's
	// digest is not the digest of either text alone.
	one, err := New(Draft{Talks: b.Talks, Text: "protocol", Version: 1, Parties: b.Parties, Languages: protocol, Seed: s.Text("protocol").Adoption.Seed})
	if err != nil {
		t.Fatal(err)
	}
	if one.Digest == b.Digest {
		t.Fatal("a package digest equals a single text's")
	}
	if _, err := b.Brief([]Ref{{"en", 1}}); err == nil {
		t.Fatal("briefed on a package document (not supported yet)")
	}

	// The PDF holds the package's title page, every language of every
	// text, and one signature page for the package.
	pdf, err := b.PDF(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := pdfText(t, pdf)
	wants := []string{"Caspia package", `package "caspia-package" of 2 texts`, "Signatures", "Languages: en, fr.", b.Digest, r.Signers[0].Fingerprint}
	for _, langs := range docs {
		for _, l := range langs {
			wants = append(wants, l.Title)
			wants = append(wants, l.Paragraphs...)
		}
	}
	for _, want := range wants {
		if !strings.Contains(strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("pdftotext does not find %q", want)
		}
	}
}
