package outcome

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
)

// pdfText extracts the text of pdf with pdftotext (Debian's poppler-utils),
// a reader we did not write. Without it the test skips on a laptop and
// fails under CI.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext is missing (apt-get install poppler-utils)")
		}
		t.Skip("pdftotext is missing (apt-get install poppler-utils)")
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", pdf)
	}
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", "-nopgbrk", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext refused the PDF: %v\n%s", err, out)
	}
	// pdftotext breaks lines where the PDF does; compare words, not lines.
	return strings.Join(strings.Fields(string(out)), " ")
}

// kazakh is a paragraph with every letter of the Kazakh alphabet that
// Russian lacks.
const kazakh = "Тараптар қақтығыстарды толық тоқтатуға және ауыр қаруды байланыс шебінен 20 км-ге әкетуге келіседі; өңір, ғимарат, ұлттық үміт, һәм іс."

func TestTextPDF(t *testing.T) {
	cfg := negotiation.Config{Talks: "Talks on the settlement, Caspia venue", Parties: []negotiation.Party{{ID: "arden"}, {ID: "borealia"}}}
	s, _ := negotiation.New(cfg)
	r := s.Apply(negotiation.Event{LogIndex: 1, Channel: "wg1", Delegation: "borealia", Person: "iryna-holt", Payload: negotiation.NewTableText(negotiation.TableText{
		ID: "joint-statement", Title: "Бірлескен мәлімдеме", Level: negotiation.LevelExpert, Language: "kk",
		Paragraphs: []string{"The Parties agree to a [complete] [partial] cessation of hostilities (l'accord).", kazakh}})})
	if r.Result != negotiation.ResultApplied {
		t.Fatal(r.Reason)
	}
	pdf, err := TextPDF(s, "joint-statement", PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := TextPDF(s, "joint-statement", PDFOptions{})
	if !bytes.Equal(pdf, again) {
		t.Error("rendering is not deterministic")
	}
	if !bytes.Contains(pdf, []byte("/FontFile2")) || !bytes.Contains(pdf, []byte("/ToUnicode")) {
		t.Error("no embedded TrueType font with a ToUnicode map")
	}
	if len(pdf) > 200<<10 {
		t.Errorf("PDF of %d bytes: the font is not subset", len(pdf))
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"Бірлескен мәлімдеме", "[complete] (borealia) [partial] (borealia)", "(l'accord)", "not agreed", kazakh, "page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not find %q in:\n%s", want, text)
		}
	}
	if _, err := TextPDF(s, "none", PDFOptions{}); err == nil {
		t.Error("rendered a text that does not exist")
	}

	// The concordance table: a Russian version submitted by Borealia,
	// confirmed by Borealia only.
	r = s.Apply(negotiation.Event{LogIndex: 2, Channel: "wg1", Delegation: "borealia", Person: "iryna-holt", Payload: negotiation.NewTranslation("joint-statement", "ru", "Совместное заявление",
		[]negotiation.TranslatedParagraph{{Para: "p2", Text: "Стороны договариваются о полном прекращении огня."}})})
	if r.Result != negotiation.ResultApplied {
		t.Fatal(r.Reason)
	}
	pdf, err = TextPDF(s, "joint-statement", PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	text = pdfText(t, pdf)
	for _, want := range []string{"Concordance of the language versions", "[ru] Совместное заявление — pending; confirmed by borealia; waiting for arden",
		"[ru] Стороны договариваются о полном прекращении огня. — pending", "[ru] (no wording) — missing"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not find %q in:\n%s", want, text)
		}
	}
}

func TestBundlePDF(t *testing.T) {
	d := draft()
	d.Languages = append(append([]negotiation.Language{}, jointStatement...), negotiation.Language{Lang: "kk", Title: "Бірлескен мәлімдеме", Paragraphs: []string{
		"Тараптар келіссөздер арқылы реттеуге өздерінің адалдығын растайды.",
		"Тараптар қол қойылған күннен бастап әскери іс-қимылдарды толық тоқтатуға келіседі.",
		"Тараптар ауыр қаруды байланыс шебінен 20 км-ге әкетуге келіседі.",
		"Тараптар Каспия Республикасынан барлық деңгейдегі келесі келіссөздер үшін өзінің игі қызметін көрсетуді жалғастыруды сұрайды.",
	}})
	b, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	dg, _ := b.DigestBytes()
	for _, p := range []string{"borealia", "arden"} {
		if err := b.AddSignature(p, Sign(testKey(p), dg)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Verify(pins())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PDF(nil, PDFOptions{}); err == nil {
		t.Error("rendered an unverified bundle")
	}
	// Out of the box: every authentic language comes back out of the PDF.
	pdf, err := b.PDF(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	wants := []string{"Signatures", r.Signers[0].Fingerprint, b.Digest}
	for _, l := range b.Languages {
		wants = append(wants, l.Title.Text)
		for _, p := range l.Paragraphs {
			wants = append(wants, p.Text)
		}
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not find %q", want)
		}
	}
	// Another TrueType font, as desk outcome --font gives it.
	font, err := os.ReadFile("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf")
	if err != nil {
		font = dejaVuSansBold
	}
	pdf, err = b.PDF(r, PDFOptions{Font: font})
	if err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, jointStatement[2].Paragraphs[2]) {
		t.Errorf("with --font, the Russian text does not come back out:\n%s", text)
	}
	if _, err := b.PDF(r, PDFOptions{Font: []byte("not a font at all")}); err == nil {
		t.Error("rendered with a non-font")
	}
}
