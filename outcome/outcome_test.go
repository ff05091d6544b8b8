package outcome

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/negotiation"
)

var update = flag.Bool("update", false, "rewrite the testdata example files")

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("goodoffices test root key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pub(name string) []byte { return testKey(name).Public().(ed25519.PublicKey) }

// The final Joint Statement of ../shared/scenario.md in its three
// authentic languages.
var jointStatement = []negotiation.Language{
	{Lang: "en", Title: "Joint Statement", Paragraphs: []string{
		"The Parties reaffirm their commitment to a negotiated settlement.",
		"The Parties agree to a complete cessation of hostilities from the date of signature.",
		"The Parties agree to withdraw heavy weapons 20 km from the line of contact.",
		"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
	}},
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

var testSeed = bytes.Repeat([]byte{0x5e}, SeedSize) // fixed, for reproducible example files

func draft() Draft {
	return Draft{
		Talks: "Talks on the settlement, Caspia venue", Text: "joint-statement", Version: 9,
		Parties: []Party{
			{ID: "borealia", Name: "Republic of Borealia", RootKey: pub("borealia")},
			{ID: "arden", Name: "Federation of Arden", RootKey: pub("arden")},
		},
		Languages: jointStatement, Seed: testSeed,
	}
}

func pins() Options {
	return Options{Pins: Pins{"arden": Fingerprint("arden", pub("arden")), "borealia": Fingerprint("borealia", pub("borealia"))}}
}

func signedBundle(t testing.TB) *Bundle {
	b, err := New(draft())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := b.DigestBytes()
	for _, p := range []string{"borealia", "arden"} {
		if err := b.AddSignature(p, Sign(testKey(p), d)); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the code makes now; run go test -update if that is intended", path)
	}
}

func TestFingerprintIsTheDelegations(t *testing.T) {
	k, err := delegation.GenerateRoot("arden")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Fingerprint("arden", k.Public()), delegation.Fingerprint(k.VerifierKey()); got != want || got == "" {
		t.Fatalf("Fingerprint = %q, delegation says %q", got, want)
	}
}

func TestJointStatementBundle(t *testing.T) {
	b := signedBundle(t)
	data := b.Marshal()
	golden(t, "joint-statement.outcome.json", data)

	r, err := Verify(data, pins())
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "outcome" || len(r.Signers) != 2 || !r.Signers[0].Pinned || r.Paragraphs != 4 ||
		strings.Join(r.Languages, ",") != "en,fr,ru" {
		t.Fatalf("report %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "Federation of Arden (arden)") || !strings.Contains(s, "PINNED") {
		t.Fatalf("report text:\n%s", s)
	}

	// Without pins the keys are not trusted, unless asked for.
	if _, err := Verify(data, Options{}); err == nil || !strings.Contains(err.Error(), "no pinned fingerprint") {
		t.Fatalf("unpinned: %v", err)
	}
	r, err = Verify(data, Options{TrustEmbeddedKeys: true})
	if err != nil || r.Signers[0].Pinned || !strings.Contains(r.String(), "NOT pinned") {
		t.Fatalf("trust embedded keys: %v", err)
	}
	wrong := pins()
	wrong.Pins["arden"] = Fingerprint("borealia", pub("borealia"))
	if _, err := Verify(data, wrong); err == nil || !strings.Contains(err.Error(), "not the pinned one") {
		t.Fatalf("wrong pin: %v", err)
	}
}

func TestBundleRefuses(t *testing.T) {
	verify := func(b *Bundle) error {
		_, err := Verify(b.Marshal(), pins())
		return err
	}
	cases := map[string]func(b *Bundle){
		"a language version that differs": func(b *Bundle) {
			b.Languages[1].Paragraphs[2].Text = "Les Parties conviennent de retirer les armes lourdes à 15 km de la ligne de contact."
		},
		"a missing signature": func(b *Bundle) { b.Signatures = b.Signatures[:1] },
		"a signature by a non-root key": func(b *Bundle) {
			d, _ := b.DigestBytes()
			b.Signatures[0].Signature = Sign(testKey("arden device"), d)
		},
		"a signature of another digest": func(b *Bundle) {
			b.Signatures[0].Signature = Sign(testKey("arden"), make([]byte, 32))
		},
		"a swapped key": func(b *Bundle) { b.Parties[0].RootKey = pub("mallory") },
		"a dropped language": func(b *Bundle) {
			b.Languages = b.Languages[:2]
		},
		"a language with a paragraph less, re-signed": func(b *Bundle) {
			b.Languages[2].Paragraphs = b.Languages[2].Paragraphs[:3]
			d, _, _ := b.tree()
			b.Digest = string(hexEncode(d[:]))
			b.Signatures = nil
			for _, p := range []string{"arden", "borealia"} {
				b.Signatures = append(b.Signatures, Signature{Party: p, Signature: Sign(testKey(p), d[:])})
			}
		},
		"paragraphs swapped": func(b *Bundle) {
			b.Languages[0].Paragraphs[0], b.Languages[0].Paragraphs[1] = b.Languages[0].Paragraphs[1], b.Languages[0].Paragraphs[0]
		},
		"a recomputed digest": func(b *Bundle) {
			b.Languages[0].Paragraphs[2].Text = "The Parties agree to withdraw heavy weapons 15 km from the line of contact."
			d, _, _ := b.tree()
			b.Digest = string(hexEncode(d[:]))
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := signedBundle(t)
			mutate(b)
			if err := verify(b); err == nil {
				t.Fatal("verified")
			}
		})
	}
}

func hexEncode(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// flipEveryBit flips each bit of data in turn and expects Verify to fail.
func flipEveryBit(t *testing.T, data []byte) {
	t.Helper()
	if _, err := Verify(data, pins()); err != nil {
		t.Fatal(err)
	}
	buf := append([]byte(nil), data...)
	for i := range buf {
		for bit := 0; bit < 8; bit++ {
			buf[i] ^= 1 << bit
			if _, err := Verify(buf, pins()); err == nil {
				t.Fatalf("verified with bit %d of byte %d flipped", bit, i)
			}
			buf[i] ^= 1 << bit
		}
	}
}

func TestBundleBitFlips(t *testing.T) { flipEveryBit(t, signedBundle(t).Marshal()) }

func TestBriefing(t *testing.T) {
	b := signedBundle(t)
	br, err := b.Brief([]Ref{{"en", 3}, {"ru", 3}})
	if err != nil {
		t.Fatal(err)
	}
	data := br.Marshal()
	golden(t, "joint-statement-p3.briefing.json", data)
	r, err := Verify(data, pins())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Disclosed) != 2 || r.Disclosed[0].Text != jointStatement[0].Paragraphs[2] || len(r.Signers) != 2 {
		t.Fatalf("report %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "20 km") || !strings.Contains(s, "discloses nothing else") {
		t.Fatalf("report text:\n%s", s)
	}

	// Nothing else of the text is in the file: no other paragraph, title
	// or salt, in any language.
	for li, l := range b.Languages {
		for k, p := range append([]Paragraph{l.Title}, l.Paragraphs...) {
			if k == 3 && (li == 0 || li == 2) {
				continue
			}
			if bytes.Contains(data, []byte(p.Text)) || bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(p.Salt))) {
				t.Fatalf("briefing reveals %s paragraph %d", l.Lang, k)
			}
		}
	}

	for name, mutate := range map[string]func(br *Briefing){
		"altered text":     func(br *Briefing) { br.Disclosed[0].Text = strings.Replace(br.Disclosed[0].Text, "20", "15", 1) },
		"another number":   func(br *Briefing) { br.Disclosed[0].Number = 2 },
		"another language": func(br *Briefing) { br.Disclosed[0].Lang = "fr" },
		"forged root": func(br *Briefing) {
			br.Root = strings.Repeat("ab", 32)
		},
		"one signature":   func(br *Briefing) { br.Signatures = br.Signatures[1:] },
		"more paragraphs": func(br *Briefing) { br.Paragraphs++; br.TreeSize += 3 },
	} {
		br, _ := b.Brief([]Ref{{"en", 3}})
		mutate(br)
		if _, err := Verify(br.Marshal(), pins()); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if _, err := b.Brief([]Ref{{"de", 3}}); err == nil {
		t.Error("briefed a language the outcome does not have")
	}
	if _, err := b.Brief([]Ref{{"en", 5}}); err == nil {
		t.Error("briefed a paragraph the outcome does not have")
	}
}

func TestBriefingBitFlips(t *testing.T) {
	br, err := signedBundle(t).Brief([]Ref{{"en", 3}})
	if err != nil {
		t.Fatal(err)
	}
	flipEveryBit(t, br.Marshal())
}

// TestFromState adopts the Joint Statement through the negotiation engine
// and makes the bundle from the engine's state.
func TestFromState(t *testing.T) {
	cfg := negotiation.Config{Talks: "Talks on the settlement, Caspia venue", Host: "caspia", Parties: []negotiation.Party{
		{ID: "arden", Name: "Federation of Arden", RootKey: pub("arden")},
		{ID: "borealia", Name: "Republic of Borealia", RootKey: pub("borealia")},
	}}
	s, err := negotiation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	apply := func(deleg string, payload []byte) {
		t.Helper()
		n++
		if r := s.Apply(negotiation.Event{LogIndex: n, Channel: "wg1", Delegation: deleg, Person: deleg + "-head", Payload: payload}); r.Result != negotiation.ResultApplied {
			t.Fatalf("%s: %s", r.Type, r.Reason)
		}
	}
	apply("arden", negotiation.NewTableText(negotiation.TableText{ID: "joint-statement", Title: "Joint Statement",
		Level: negotiation.LevelLeaders, Language: "en", Paragraphs: jointStatement[0].Paragraphs}))
	txt := s.Text("joint-statement")
	for _, p := range txt.Paragraphs {
		apply("arden", negotiation.NewPosition(txt.ID, p.ID, p.Version, negotiation.Agree, ""))
		apply("borealia", negotiation.NewPosition(txt.ID, p.ID, p.Version, negotiation.Agree, ""))
	}
	for _, l := range jointStatement {
		if l.Lang == txt.Language {
			continue
		}
		var paras []negotiation.TranslatedParagraph
		for i, p := range txt.Paragraphs {
			paras = append(paras, negotiation.TranslatedParagraph{Para: p.ID, Text: l.Paragraphs[i]})
		}
		apply("arden", negotiation.NewTranslation(txt.ID, l.Lang, l.Title, paras))
		parts := []negotiation.PartVersion{{Version: 1}}
		for _, p := range txt.Paragraphs {
			parts = append(parts, negotiation.PartVersion{Para: p.ID, Version: 1})
		}
		apply("borealia", negotiation.NewConcordance(txt.ID, l.Lang, parts))
	}
	payload, unsigned, err := PrepareAdoption(s, txt.ID, jointStatement)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := unsigned.DigestBytes()
	apply("borealia", payload)
	apply("arden", negotiation.NewSignature(txt.ID, digest, Sign(testKey("arden"), digest)))
	apply("borealia", negotiation.NewSignature(txt.ID, digest, Sign(testKey("borealia"), digest)))
	if txt.Status != negotiation.TextAdopted {
		t.Fatalf("text %s", txt.Status)
	}
	b, err := FromState(s, txt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b.Marshal(), pins()); err != nil {
		t.Fatal(err)
	}
	// An adoption whose digest is not that of its text is caught.
	txt.Adoption.Digest[0] ^= 1
	if _, err := FromState(s, txt.ID); err == nil {
		t.Fatal("made a bundle from a mismatched digest")
	}
}

// exampleFiles are the genuine example files in testdata (the evidence
// and channel examples carry cosignature times: go test -update makes
// new ones).
var exampleFiles = []string{"joint-statement.outcome.json", "joint-statement-p3.briefing.json", "joint-statement.v1.outcome.json",
	"joint-statement.evidence.outcome.json", "wg1.channel-briefing.json"}

func fuzzSeeds(f *testing.F) {
	for _, name := range exampleFiles {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if v1, err := os.ReadFile(filepath.Join("testdata", "joint-statement.v1.outcome.json")); err == nil {
		f.Add(v1)
	}
	f.Add([]byte(`{"format":"goodoffices-outcome-v1"}`))
	f.Add([]byte(`{"format":"goodoffices-outcome-v2"}`))
	f.Add([]byte(`{"format":"goodoffices-briefing-v1"}`))
}

// FuzzVerify: no input panics the verifier, and whatever verifies is in
// canonical form and is one of the genuine example files.
func FuzzVerify(f *testing.F) {
	fuzzSeeds(f)
	good := map[string]bool{}
	for _, name := range exampleFiles {
		data, _ := os.ReadFile(filepath.Join("testdata", name))
		good[string(data)] = true
	}
	if v1, err := os.ReadFile(filepath.Join("testdata", "joint-statement.v1.outcome.json")); err == nil {
		good[string(v1)] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Verify(data, pins()); err == nil && !good[string(data)] {
			t.Fatalf("verified a file that is not genuine: %q", data)
		}
		_, _ = Verify(data, Options{TrustEmbeddedKeys: true})
	})
}

// FuzzParse: whatever the parsers accept re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := ParseBundle(data); err == nil && !bytes.Equal(b.Marshal(), data) {
			t.Fatal("bundle round trip differs")
		}
		if br, err := ParseBriefing(data); err == nil && !bytes.Equal(br.Marshal(), data) {
			t.Fatal("briefing round trip differs")
		}
		if cb, err := ParseChannelBriefing(data); err == nil && !bytes.Equal(cb.Marshal(), data) {
			t.Fatal("channel briefing round trip differs")
		}
	})
}
