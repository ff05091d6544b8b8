package outcome

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/good-offices/goodoffices/negotiation"
)

// # PDF
//
// TextPDF and Bundle.PDF render a negotiating text and a signed outcome as
// PDF 1.4 (ISO 32000-1) with a small writer of our own: A4 pages of text,
// no images, deterministic bytes (no dates or IDs), so that the same input
// gives the same file.
//
// Fonts. Without a font file the text is set in the standard Type 1 font
// Helvetica (one of the 14 every PDF reader has, ISO 32000-1 §9.6.2.2)
// with WinAnsiEncoding, which covers English, French and the other
// Latin-1 languages but not Cyrillic, Greek or other scripts: a text that
// needs them is refused with a message that says to pass a TrueType font
// (e.g. DejaVuSans.ttf), rather than printed wrongly. With a TrueType font
// the whole font file is embedded (FontFile2) as a CIDFontType2 under a
// Type0 font with Identity-H encoding (§9.7), with a ToUnicode CMap so
// that text can be copied and searched.

// PDFOptions control rendering.
type PDFOptions struct {
	// Font is a TrueType font file to embed; nil uses Helvetica, which
	// renders Latin-1 text only.
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

type pdfFont interface {
	width(r rune) float64 // in 1/1000 em
	encode(s string) (string, error)
	name(style int) string
	objects(w *pdfWriter) string // writes its objects, returns the /Font resource dictionary entries
}

// helvetica widths (Adobe AFM) of ASCII 32-126, in 1/1000 em.
var helveticaWidths = [95]uint16{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
}

// winAnsi maps the runes outside Latin-1 that WinAnsiEncoding has.
var winAnsi = map[rune]byte{
	'€': 0x80, '‚': 0x82, '„': 0x84, '…': 0x85, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94,
	'•': 0x95, '–': 0x96, '—': 0x97, '™': 0x99, 'œ': 0x9c, 'Œ': 0x8c, 'Ÿ': 0x9f,
}

type helvetica struct{}

func (helvetica) width(r rune) float64 {
	if r >= 32 && r <= 126 {
		return float64(helveticaWidths[r-32])
	}
	return 556
}

func (helvetica) encode(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		var c byte
		switch {
		case r >= 32 && r <= 126 || r >= 0xa0 && r <= 0xff:
			c = byte(r)
		case winAnsi[r] != 0:
			c = winAnsi[r]
		default:
			return "", fmt.Errorf("%q cannot be set in Helvetica (Latin-1 only): give a TrueType font that has it, e.g. DejaVuSans.ttf", r)
		}
		if c == '(' || c == ')' || c == '\\' {
			b.WriteByte('\\')
		}
		if c >= 0x80 {
			fmt.Fprintf(&b, "\\%03o", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String(), nil
}

func (helvetica) name(style int) string { return [...]string{"/F1", "/F2", "/F3"}[style] }

func (helvetica) objects(w *pdfWriter) string {
	var res []string
	for i, base := range []string{"Helvetica", "Helvetica-Bold", "Helvetica-Oblique"} {
		n := w.add(fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>", base))
		res = append(res, fmt.Sprintf("/F%d %d 0 R", i+1, n))
	}
	return strings.Join(res, " ")
}

// pdfWriter collects numbered objects.
type pdfWriter struct{ objs [][]byte }

func (w *pdfWriter) add(s string) int { w.objs = append(w.objs, []byte(s)); return len(w.objs) }

func (w *pdfWriter) reserve() int { w.objs = append(w.objs, nil); return len(w.objs) }

func (w *pdfWriter) set(n int, s string) { w.objs[n-1] = []byte(s) }

func (w *pdfWriter) stream(dict string, data []byte, compress bool) int {
	if compress {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
		dict += " /Filter /FlateDecode"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\n", dict, len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	w.objs = append(w.objs, b.Bytes())
	return len(w.objs)
}

func (w *pdfWriter) bytes(root int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(w.objs))
	for i, o := range w.objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		b.Write(o)
		b.WriteString("\nendobj\n")
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(w.objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(w.objs)+1, root, x)
	return b.Bytes()
}

// wrap breaks text into lines no wider than width points.
func wrap(f pdfFont, text string, size, width float64) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		line, w := "", 0.0
		space := f.width(' ') * size / 1000
		for _, word := range words {
			ww := 0.0
			for _, r := range word {
				ww += f.width(r) * size / 1000
			}
			if line != "" && w+space+ww > width {
				lines = append(lines, line)
				line, w = "", 0
			}
			if line != "" {
				line += " "
				w += space
			}
			line += word
			w += ww
		}
		lines = append(lines, line)
	}
	return lines
}

// render lays out blocks on A4 pages and returns the PDF.
func render(blocks []pdfBlock, o PDFOptions) ([]byte, error) {
	var f pdfFont = helvetica{}
	if o.Font != nil {
		tt, err := parseTrueType(o.Font)
		if err != nil {
			return nil, err
		}
		f = tt
	}
	var pages []*bytes.Buffer
	var cur *bytes.Buffer
	y := 0.0
	newPage := func() {
		cur = &bytes.Buffer{}
		pages = append(pages, cur)
		y = pageH - margin
	}
	newPage()
	for _, bl := range blocks {
		if bl.page && y < pageH-margin {
			newPage()
		}
		y -= bl.before
		lead := bl.size * 1.3
		for _, line := range wrap(f, bl.text, bl.size, pageW-2*margin-bl.indent) {
			if y-lead < margin {
				newPage()
			}
			y -= lead
			if line == "" {
				continue
			}
			s, err := f.encode(line)
			if err != nil {
				return nil, fmt.Errorf("failed to render PDF: %w", err)
			}
			fmt.Fprintf(cur, "BT %s %.1f Tf %.2f %.2f Td %s Tj ET\n", f.name(bl.style), bl.size, margin+bl.indent, y, s)
		}
	}
	w := &pdfWriter{}
	catalog := w.reserve()
	pagesObj := w.reserve()
	fonts := f.objects(w)
	var kids []string
	for i, p := range pages {
		fmt.Fprintf(p, "BT /F1 8 Tf %.2f %.2f Td %s Tj ET\n", pageW/2-20, margin/2, mustEncode(helvetica{}, fmt.Sprintf("page %d of %d", i+1, len(pages))))
		content := w.stream("", p.Bytes(), true)
		pg := w.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.0f %.0f] /Resources << /Font << %s >> >> /Contents %d 0 R >>",
			pagesObj, pageW, pageH, fonts, content))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	w.set(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj))
	w.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	return w.bytes(catalog), nil
}

func mustEncode(f pdfFont, s string) string {
	e, err := f.encode(s)
	if err != nil {
		panic("outcome: internal error: " + err.Error())
	}
	return e
}

// The page numbers are set in /F1, which the TrueType font also defines.

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

// PDF renders a verified bundle: each authentic language version, then a
// signature page with each party's root-key fingerprint and signature, the
// digest, and what the venue's evidence showed. r is the report of
// b.Verify.
func (b *Bundle) PDF(r *Report, o PDFOptions) ([]byte, error) {
	if r == nil || r.Kind != "outcome" || r.Digest != b.Digest {
		return nil, errors.New("failed to render: the bundle is not verified")
	}
	var bl []pdfBlock
	for i, l := range b.Languages {
		bl = append(bl, pdfBlock{text: l.Title.Text, size: 18, style: 1, page: i > 0},
			pdfBlock{text: fmt.Sprintf("%s — authentic text (%s), version %d of %s", b.Talks, l.Lang, b.Version, b.Text), size: 9, style: 2, before: 4})
		for k, p := range l.Paragraphs {
			bl = append(bl, pdfBlock{text: fmt.Sprintf("%d.  %s", k+1, p.Text), size: 11, before: 8})
		}
	}
	bl = append(bl, pdfBlock{text: "Signatures", size: 18, style: 1, page: true},
		pdfBlock{text: fmt.Sprintf("Every language version above is exactly the text whose digest was signed by each party's root key (Ed25519, RFC 8032). Languages: %s. Digest (SHA-256):",
			strings.Join(r.Languages, ", ")), size: 10, before: 6},
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

// trueType is an embedded TrueType font.
type trueType struct {
	data       []byte
	unitsPerEm float64
	advances   []uint16 // by glyph
	cmap       func(r rune) uint16
	bbox       [4]int16
	ascent     int16
	descent    int16
	used       map[uint16]rune
}

// parseTrueType reads what embedding needs from a TrueType font: head,
// hhea, hmtx and a Unicode cmap subtable of format 4 (the OpenType spec,
// "cmap", "hmtx").
func parseTrueType(data []byte) (*trueType, error) {
	fail := errors.New("failed to read the font: not a TrueType font with a Unicode cmap")
	if len(data) < 12 || len(data) > 32<<20 {
		return nil, fail
	}
	u16 := func(b []byte, o int) uint16 {
		if o < 0 || o+2 > len(b) {
			return 0
		}
		return binary.BigEndian.Uint16(b[o:])
	}
	if v := binary.BigEndian.Uint32(data); v != 0x00010000 && v != 0x74727565 {
		return nil, fail
	}
	tables := map[string][]byte{}
	n := int(u16(data, 4))
	for i := range n {
		rec := 12 + 16*i
		if rec+16 > len(data) {
			return nil, fail
		}
		off, ln := binary.BigEndian.Uint32(data[rec+8:]), binary.BigEndian.Uint32(data[rec+12:])
		if uint64(off)+uint64(ln) > uint64(len(data)) {
			return nil, fail
		}
		tables[string(data[rec:rec+4])] = data[off : off+ln]
	}
	head, hhea, hmtx, cmap := tables["head"], tables["hhea"], tables["hmtx"], tables["cmap"]
	if len(head) < 54 || len(hhea) < 36 || cmap == nil {
		return nil, fail
	}
	t := &trueType{data: data, unitsPerEm: float64(u16(head, 18)), used: map[uint16]rune{}}
	if t.unitsPerEm == 0 {
		return nil, fail
	}
	for i := range 4 {
		t.bbox[i] = int16(u16(head, 36+2*i))
	}
	t.ascent, t.descent = int16(u16(hhea, 4)), int16(u16(hhea, 6))
	nh := int(u16(hhea, 34))
	if nh == 0 || len(hmtx) < 4*nh {
		return nil, fail
	}
	for i := range nh {
		t.advances = append(t.advances, u16(hmtx, 4*i))
	}
	var sub []byte
	for i := range int(u16(cmap, 2)) {
		rec := 4 + 8*i
		if rec+8 > len(cmap) {
			return nil, fail
		}
		pid, eid, off := u16(cmap, rec), u16(cmap, rec+2), binary.BigEndian.Uint32(cmap[rec+4:])
		if (pid == 3 && eid == 1 || pid == 0) && int(off)+4 <= len(cmap) && u16(cmap, int(off)) == 4 {
			sub = cmap[off:]
			break
		}
	}
	if sub == nil {
		return nil, fail
	}
	segs := int(u16(sub, 6)) / 2
	if 14+8*segs+2 > len(sub) {
		return nil, fail
	}
	t.cmap = func(r rune) uint16 {
		if r > 0xffff {
			return 0
		}
		c := uint16(r)
		for i := range segs {
			end := u16(sub, 14+2*i)
			if c > end {
				continue
			}
			start := u16(sub, 16+2*segs+2*i)
			if c < start {
				return 0
			}
			delta := u16(sub, 16+4*segs+2*i)
			roOff := 16 + 6*segs + 2*i
			ro := u16(sub, roOff)
			if ro == 0 {
				return c + delta
			}
			g := u16(sub, roOff+int(ro)+2*int(c-start))
			if g == 0 {
				return 0
			}
			return g + delta
		}
		return 0
	}
	return t, nil
}

func (t *trueType) glyph(r rune) uint16 { return t.cmap(r) }

func (t *trueType) width(r rune) float64 {
	g := int(t.glyph(r))
	if g >= len(t.advances) {
		g = len(t.advances) - 1
	}
	return float64(t.advances[g]) * 1000 / t.unitsPerEm
}

func (t *trueType) encode(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('<')
	for _, r := range s {
		g := t.glyph(r)
		if g == 0 {
			return "", fmt.Errorf("%q is not in the font", r)
		}
		t.used[g] = r
		fmt.Fprintf(&b, "%04x", g)
	}
	b.WriteByte('>')
	return b.String(), nil
}

func (t *trueType) name(style int) string { return "/F4" }

func (t *trueType) objects(w *pdfWriter) string {
	file := w.stream(fmt.Sprintf("/Length1 %d", len(t.data)), t.data, true)
	scale := func(v int16) int { return int(float64(v) * 1000 / t.unitsPerEm) }
	desc := w.add(fmt.Sprintf("<< /Type /FontDescriptor /FontName /EmbeddedFont /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
		scale(t.bbox[0]), scale(t.bbox[1]), scale(t.bbox[2]), scale(t.bbox[3]), scale(t.ascent), scale(t.descent), scale(t.ascent), file))
	gs := make([]uint16, 0, len(t.used))
	for g := range t.used {
		gs = append(gs, g)
	}
	slices.Sort(gs)
	var widths, bf strings.Builder
	for _, g := range gs {
		adv := t.advances[min(int(g), len(t.advances)-1)]
		fmt.Fprintf(&widths, "%d [%d] ", g, int(float64(adv)*1000/t.unitsPerEm))
		var u strings.Builder
		for _, c := range utf16(t.used[g]) {
			fmt.Fprintf(&u, "%04x", c)
		}
		fmt.Fprintf(&bf, "<%04x> <%s>\n", g, u.String())
	}
	cid := w.add(fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /EmbeddedFont /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /W [%s] /CIDToGIDMap /Identity >>",
		desc, widths.String()))
	cmap := "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
	for i := 0; i < len(gs); i += 100 {
		chunk := strings.Split(strings.TrimSuffix(bf.String(), "\n"), "\n")[i:min(i+100, len(gs))]
		cmap += fmt.Sprintf("%d beginbfchar\n%s\nendbfchar\n", len(chunk), strings.Join(chunk, "\n"))
	}
	cmap += "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
	tu := w.stream("", []byte(cmap), true)
	f := w.add(fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /EmbeddedFont /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", cid, tu))
	pageNumbers := helvetica{}.objects(w)
	return fmt.Sprintf("/F4 %d 0 R %s", f, pageNumbers)
}

func utf16(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + r>>10), uint16(0xdc00 + r&0x3ff)}
}
