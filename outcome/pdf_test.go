package outcome

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
)

// checkPDF checks the structure a reader relies on: header, every xref
// offset pointing at its object, the trailer's startxref at the xref, and
// returns the decompressed content streams.
func checkPDF(t *testing.T, pdf []byte) string {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatal("no PDF header or trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	x, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[x:], []byte("xref\n0 ")) {
		t.Fatal("startxref does not point at the xref table")
	}
	lines := strings.Split(string(pdf[x:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	for i := 1; i < n; i++ {
		off, _ := strconv.Atoi(lines[2+i][:10])
		if !bytes.HasPrefix(pdf[off:], []byte(strconv.Itoa(i)+" 0 obj\n")) {
			t.Fatalf("xref entry %d does not point at object %d", i, i)
		}
	}
	var text strings.Builder
	for _, s := range regexp.MustCompile(`(?s)/FlateDecode /Length (\d+) >>\nstream\n`).FindAllSubmatchIndex(pdf, -1) {
		ln, _ := strconv.Atoi(string(pdf[s[2]:s[3]]))
		r, err := zlib.NewReader(bytes.NewReader(pdf[s[1] : s[1]+ln]))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf[s[1]+ln:], []byte("\nendstream")) {
			t.Fatal("stream length wrong")
		}
		text.Write(b)
	}
	return text.String()
}

func TestTextPDF(t *testing.T) {
	cfg := negotiation.Config{Talks: "Talks on the settlement, Caspia venue", Parties: []negotiation.Party{{ID: "arden"}, {ID: "borealia"}}}
	s, _ := negotiation.New(cfg)
	r := s.Apply(negotiation.Event{LogIndex: 1, Channel: "wg1", Delegation: "borealia", Person: "iryna-holt", Payload: negotiation.NewTableText(negotiation.TableText{
		ID: "joint-statement", Title: "Joint Statement", Level: negotiation.LevelExpert, Language: "en",
		Paragraphs: []string{"The Parties agree to a [complete] [partial] cessation of hostilities (l'accord).", "The Parties agree."}})})
	if r.Result != negotiation.ResultApplied {
		t.Fatal(r.Reason)
	}
	pdf, err := TextPDF(s, "joint-statement", PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	content := checkPDF(t, pdf)
	for _, want := range []string{"(Joint Statement) Tj", "[complete] \\(borealia\\) [partial] \\(borealia\\)", "\\(l'accord\\)", "not agreed"} {
		if !strings.Contains(content, want) {
			t.Errorf("content lacks %q:\n%s", want, content)
		}
	}
	again, _ := TextPDF(s, "joint-statement", PDFOptions{})
	if !bytes.Equal(pdf, again) {
		t.Error("rendering is not deterministic")
	}
	if _, err := TextPDF(s, "none", PDFOptions{}); err == nil {
		t.Error("rendered a text that does not exist")
	}
}

func TestBundlePDF(t *testing.T) {
	b := signedBundle(t)
	r, err := b.Verify(pins())
	if err != nil {
		t.Fatal(err)
	}
	// Russian needs a font: refused, not printed wrongly.
	if _, err := b.PDF(r, PDFOptions{}); err == nil || !strings.Contains(err.Error(), "TrueType") {
		t.Fatalf("Russian in Helvetica: %v", err)
	}
	// English and French alone render in Helvetica, with the signature page.
	lat := *b
	lat.Languages = b.Languages[:2]
	pdf, err := lat.PDF(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	content := checkPDF(t, pdf)
	for _, want := range []string{"(D\\351claration commune) Tj", "(Signatures) Tj", r.Signers[0].Fingerprint, b.Digest, "20 km"} {
		if !strings.Contains(content, want) {
			t.Errorf("content lacks %q", want)
		}
	}
	if _, err := b.PDF(nil, PDFOptions{}); err == nil {
		t.Error("rendered an unverified bundle")
	}
	// With a TrueType font, all three languages.
	font, err := os.ReadFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
	if err != nil {
		t.Skipf("no DejaVuSans.ttf on this machine to test embedding: %v", err)
	}
	pdf, err = b.PDF(r, PDFOptions{Font: font})
	if err != nil {
		t.Fatal(err)
	}
	content = checkPDF(t, pdf)
	if !strings.Contains(content, "/CIDInit") || !strings.Contains(content, "<0421>") { // С in the ToUnicode CMap
		t.Errorf("no ToUnicode map with Cyrillic")
	}
	if !bytes.Contains(pdf, []byte("/FontFile2")) || !bytes.Contains(pdf, []byte("/Identity-H")) {
		t.Error("font not embedded")
	}
	if _, err := parseTrueType([]byte("not a font")); err == nil {
		t.Error("parsed a non-font")
	}
}
