package outcome

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/good-offices/goodoffices/negotiation"
)

// # PDF
//
// TextPDF and Bundle.PDF render a negotiating text and a signed outcome as
// PDF with codeberg.org/go-pdf/fpdf: A4 pages of text, no images, and
// deterministic bytes (fixed dates, sorted catalogue), so that the same
// input gives the same file.
//
// Fonts. The text is set in DejaVu Sans (regular, bold, oblique), which is
// embedded in the binary (fonts/, Bitstream Vera licence, fonts/LICENSE)
// and covers Latin, Cyrillic with the Kazakh and Ukrainian letters (ә ғ қ ң
// ө ұ ү һ і ї є ґ), Greek and more, so that a Russian or Kazakh text renders
// out of the box. fpdf embeds only the glyphs used (a TrueType subset) as a
// CIDFontType2 with Identity-H encoding and a ToUnicode map (ISO 32000-1
// §9.7, §9.10): the text can be copied and searched. PDFOptions.Font
// replaces DejaVu Sans with another TrueType font, used for every style.

// PDFOptions control rendering.
type PDFOptions struct {
	// Font is a TrueType font file to embed instead of DejaVu Sans (e.g. a
	// font with a script DejaVu Sans lacks); nil uses DejaVu Sans.
	Font []byte
}

// A pdfBlock is a paragraph of the document before line breaking.
type pdfBlock struct {
	text   string
	size   float64
	style  int // 0 regular, 1 bold, 2 oblique
	indent float64
	before float64 // space before, in points
	page   bool    // start a new page first
}

const (
	pageW, pageH = 595.0, 842.0 // A4 in points
	margin       = 56.0
)

//go:embed fonts/DejaVuSans.ttf
var dejaVuSans []byte

//go:embed fonts/DejaVuSans-Bold.ttf
var dejaVuSansBold []byte

//go:embed fonts/DejaVuSans-Oblique.ttf
var dejaVuSansOblique []byte

// pdfEpoch is the creation date written into every PDF, so that rendering
// is deterministic.
var pdfEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxFontBytes bounds a font given in PDFOptions.
const maxFontBytes = 32 << 20

// render lays out blocks on A4 pages and returns the PDF.
func render(blocks []pdfBlock, o PDFOptions) ([]byte, error) {
	faces := [3][]byte{dejaVuSans, dejaVuSansBold, dejaVuSansOblique}
	if o.Font != nil {
		if err := checkTrueType(o.Font); err != nil {
			return nil, err
		}
		faces = [3][]byte{o.Font, o.Font, o.Font}
	}
	pdf := fpdf.New("P", "pt", "A4", "")
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(pdfEpoch)
	pdf.SetModificationDate(pdfEpoch)
	pdf.SetProducer("Good Offices", true)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, margin)
	styles := [3]string{"", "B", "I"}
	for i, face := range faces {
		pdf.AddUTF8FontFromBytes("body", styles[i], face)
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("failed to read the font: %w", err)
	}
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(pageH - margin/2 - 8)
		pdf.SetFont("body", "", 8)
		pdf.CellFormat(0, 10, fmt.Sprintf("page %d of {nb}", pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	first := true
	for _, bl := range blocks {
		if bl.page && !first {
			pdf.AddPage()
		}
		first = false
		pdf.SetFont("body", styles[bl.style], bl.size)
		if bl.before > 0 {
			pdf.Ln(bl.before)
		}
		pdf.SetX(margin + bl.indent)
		pdf.MultiCell(pageW-2*margin-bl.indent, bl.size*1.3, bl.text, "", "L", false)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("failed to render PDF: %w", err)
	}
	return b.Bytes(), nil
}

// checkTrueType refuses what is plainly not a TrueType font before fpdf
// reads it.
func checkTrueType(data []byte) error {
	if len(data) < 12 || len(data) > maxFontBytes {
		return errors.New("failed to read the font: not a TrueType font")
	}
	switch string(data[:4]) {
	case "\x00\x01\x00\x00", "true":
		return nil
	}
	return errors.New("failed to read the font: not a TrueType font (OpenType CFF and collections are not supported)")
}

var attribution = regexp.MustCompile(`\]\{([^{}]*)\}`)

// bracketText shows bracket notation with attributions in words:
// "[complete]{arden}" becomes "[complete] (arden)".
func bracketText(notation string) string { return attribution.ReplaceAllString(notation, "] ($1)") }

// TextPDF renders text textID of s: its numbered paragraphs with brackets
// and attributions visible, each paragraph's status and positions, and the
// adoption, if any.
func TextPDF(s *negotiation.State, textID string, o PDFOptions) ([]byte, error) {
	t := s.Text(textID)
	if t == nil {
		return nil, fmt.Errorf("failed to render: no text %q", textID)
	}
	b := []pdfBlock{
		{text: t.Title, size: 18, style: 1},
		{text: fmt.Sprintf("%s — text %s, version %d, %s level, %s; tabled by %s. Package: %s.", s.Config.Talks, t.ID, t.Version, t.Level, t.Status, t.TabledBy,
			strings.ReplaceAll(string(t.Package.Status), "_", " ")), size: 9, style: 2, before: 4},
		{text: "Text in [brackets] is not agreed; the party that tabled it is named in parentheses.", size: 9, style: 2},
	}
	for _, p := range t.Paragraphs {
		b = append(b, pdfBlock{text: fmt.Sprintf("%d.  %s", p.Number, bracketText(p.Text)), size: 11, before: 8})
		var pos []string
		for _, x := range p.Positions {
			e := x.Party + ": " + strings.ReplaceAll(string(x.Stance), "_", " ")
			if x.Note != "" {
				e += " (" + strings.ReplaceAll(x.Note, "\n", " ") + ")"
			}
			pos = append(pos, e)
		}
		if len(pos) == 0 {
			pos = []string{"no positions yet"}
		}
		b = append(b, pdfBlock{text: strings.ReplaceAll(string(p.Status), "_", " ") + "; " + strings.Join(pos, "; "), size: 9, style: 2, indent: 18, before: 2})
	}
	if len(t.Package.Blocks) > 0 {
		b = append(b, pdfBlock{text: "Open", size: 13, style: 1, before: 14})
		for _, bl := range t.Package.Blocks {
			b = append(b, pdfBlock{text: fmt.Sprintf("paragraph %d: %s (%s)", bl.Number, bl.Party, bl.Reason), size: 10, before: 2})
		}
	}
	if c := s.Concordance(t.ID); len(c.Langs) > 0 {
		b = append(b, concordanceBlocks(c)...)
	}
	if ad := t.Adoption; ad != nil {
		var langs []string
		for _, l := range ad.Languages {
			langs = append(langs, l.Lang)
		}
		b = append(b, pdfBlock{text: "Adoption", size: 13, style: 1, before: 14},
			pdfBlock{text: fmt.Sprintf("Version %d adopted in %s, equally authentic. Digest %x.", ad.Version, strings.Join(langs, ", "), ad.Digest), size: 10, before: 2})
		for _, p := range s.Config.Parties {
			signed := "not yet signed"
			if slices.ContainsFunc(ad.Signatures, func(sg negotiation.Signature) bool { return sg.Party == p.ID }) {
				signed = "signed with its root key"
			}
			b = append(b, pdfBlock{text: p.ID + ": " + signed, size: 10, before: 2})
		}
	}
	return render(b, o)
}

// concordanceBlocks renders the concordance table of a text: for the title
// and each paragraph, the wording in the language of the negotiation, then
// each other language's wording with its state and who confirmed it.
func concordanceBlocks(c *negotiation.ConcordanceTable) []pdfBlock {
	b := []pdfBlock{{text: "Concordance of the language versions", size: 13, style: 1, before: 14},
		{text: "Each language version is equally authentic; every party confirms each wording before adoption.", size: 9, style: 2}}
	for _, r := range c.Rows {
		head := fmt.Sprintf("%d.  [%s] %s", r.Number, c.Language, r.Original)
		if r.Para == "" {
			head = fmt.Sprintf("Title  [%s] %s", c.Language, r.Original)
		}
		b = append(b, pdfBlock{text: head, size: 10, before: 6})
		for _, cell := range r.Cells {
			state := string(cell.Status)
			if len(cell.Confirmed) > 0 {
				state += "; confirmed by " + strings.Join(cell.Confirmed, ", ")
			}
			if cell.Status == negotiation.ConcordancePending {
				state += "; waiting for " + strings.Join(cell.Waiting, ", ")
			}
			text := cell.Text
			if text == "" {
				text = "(no wording)"
			}
			b = append(b, pdfBlock{text: fmt.Sprintf("[%s] %s — %s", cell.Lang, text, state), size: 9, indent: 18, before: 2})
		}
	}
	return b
}

// PDF renders a verified bundle: each authentic language version (of each
// text, for a package, after a title page naming them), then a signature
// page with each party's root-key fingerprint and signature, the digest,
// and what the venue's evidence showed. r is the report of b.Verify.
func (b *Bundle) PDF(r *Report, o PDFOptions) ([]byte, error) {
	if r == nil || (r.Kind != "outcome" && r.Kind != "outcome-package") || r.Digest != b.Digest {
		return nil, errors.New("failed to render: the bundle is not verified")
	}
	var bl []pdfBlock
	var langs []string // every language, in order of first appearance
	page := false      // the next title starts a page
	if b.Package != "" {
		bl = append(bl, pdfBlock{text: b.Title, size: 22, style: 1},
			pdfBlock{text: fmt.Sprintf("%s — package %q of %d texts, adopted as one and signed once: nothing in it is agreed until all of it is.", b.Talks, b.Package, len(b.Documents)), size: 10, style: 2, before: 6})
		for i, d := range b.Documents {
			bl = append(bl, pdfBlock{text: fmt.Sprintf("%d.  %s (text %s, version %d)", i+1, d.Languages[0].Title.Text, d.Text, d.Version), size: 12, before: 10})
		}
		page = true
	}
	for _, d := range b.AllDocuments() {
		for _, l := range d.Languages {
			if !slices.Contains(langs, l.Lang) {
				langs = append(langs, l.Lang)
			}
			bl = append(bl, pdfBlock{text: l.Title.Text, size: 18, style: 1, page: page},
				pdfBlock{text: fmt.Sprintf("%s — authentic text (%s), version %d of %s", b.Talks, l.Lang, d.Version, d.Text), size: 9, style: 2, before: 4})
			for k, p := range l.Paragraphs {
				bl = append(bl, pdfBlock{text: fmt.Sprintf("%d.  %s", k+1, p.Text), size: 11, before: 8})
			}
			page = true
		}
	}
	what := "Every language version above is exactly the text whose digest was signed by each party's root key"
	if b.Package != "" {
		what = "Every language version of every text above is exactly what the package digest signed by each party's root key commits to"
	}
	bl = append(bl, pdfBlock{text: "Signatures", size: 18, style: 1, page: true},
		pdfBlock{text: fmt.Sprintf("%s (Ed25519, RFC 8032). Languages: %s. Digest (SHA-256):", what, strings.Join(langs, ", ")), size: 10, before: 6},
		pdfBlock{text: b.Digest, size: 10, style: 1, before: 2})
	for _, s := range r.Signers {
		var sig []byte
		for _, x := range b.Signatures {
			if x.Party == s.Party {
				sig = x.Signature
			}
		}
		bl = append(bl, pdfBlock{text: fmt.Sprintf("%s (%s)", s.Name, s.Party), size: 13, style: 1, before: 16},
			pdfBlock{text: "Root key fingerprint: " + s.Fingerprint, size: 10, before: 2},
			pdfBlock{text: "Signature: " + base64.StdEncoding.EncodeToString(sig), size: 9, before: 2})
	}
	if e := r.Evidence; e != nil {
		bl = append(bl, pdfBlock{text: "Venue evidence", size: 13, style: 1, before: 16},
			pdfBlock{text: fmt.Sprintf("Checkpoint of size %d of channel %s at venue %s, cosigned by the desks of %s.", e.CheckpointSize, e.Channel, e.Venue, strings.Join(e.CosignedBy, ", ")), size: 10, before: 2})
		for _, x := range e.Entries {
			what := "adoption"
			if x.Kind == EntrySign {
				what = "signature of " + x.Party
			}
			bl = append(bl, pdfBlock{text: fmt.Sprintf("entry %d: %s, sent by %s of %s", x.Index, what, x.Person, x.Party), size: 9, before: 2})
		}
	}
	bl = append(bl, pdfBlock{text: "This page is a rendering. The proof is the bundle file: check it with 'goodoffices verify --pin PARTY=FINGERPRINT ... BUNDLE', comparing the fingerprints above with those exchanged in person.",
		size: 9, style: 2, before: 16})
	return render(bl, o)
}
