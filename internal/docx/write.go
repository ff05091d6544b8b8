package docx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespaces and types of the parts Write produces (ECMA-376 Part 1 §11,
// Part 2 §9 and §10).
const (
	nsW         = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsRel       = "http://schemas.openxmlformats.org/package/2006/relationships"
	nsOfficeRel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	ctMain      = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
)

// zipTime is the modification time of every entry, so that output is
// reproducible.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Write renders doc as a .docx file. It refuses a document whose comments
// do not nest (a run closing more comments than are open).
func Write(doc *Document) ([]byte, error) {
	w := writer{author: doc.Author}
	if w.author == "" {
		w.author = "Good Offices"
	}
	body, err := w.body(doc)
	if err != nil {
		return nil, err
	}
	parts := []struct{ name, data string }{
		{"[Content_Types].xml", contentTypes},
		{"_rels/.rels", rootRels},
		{"docProps/core.xml", w.core(doc)},
		{"word/_rels/document.xml.rels", documentRels},
		{"word/document.xml", body},
		{"word/styles.xml", styles},
		{"word/numbering.xml", numbering},
		{"word/comments.xml", w.commentsPart()},
		{"word/header1.xml", header(doc.Header)},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return nil, fmt.Errorf("failed to write %s: %w", p.name, err)
		}
		if _, err := f.Write([]byte(p.data)); err != nil {
			return nil, fmt.Errorf("failed to write %s: %w", p.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("failed to write docx: %w", err)
	}
	return buf.Bytes(), nil
}

type writer struct {
	author   string
	comments []Comment
}

// comment registers a comment and returns its id.
func (w *writer) comment(c Comment) int {
	if len(c.Text) > maxCommentText {
		c.Text = truncateUTF8(c.Text, maxCommentText) + "…"
	}
	if c.Author == "" {
		c.Author = w.author
	}
	w.comments = append(w.comments, c)
	return len(w.comments) - 1
}

func (w *writer) body(doc *Document) (string, error) {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<w:document xmlns:w="` + nsW + `" xmlns:r="` + nsOfficeRel + `"><w:body>`)
	if doc.Title != "" {
		w.paragraph(&b, Block{Style: "Title", Runs: []Run{{Text: doc.Title}}})
	}
	for i, bl := range doc.Blocks {
		if err := w.paragraph(&b, bl); err != nil {
			return "", fmt.Errorf("failed to write paragraph %d: %w", i+1, err)
		}
	}
	// A4 portrait, 2.5 cm margins (twentieths of a point), the header.
	b.WriteString(`<w:sectPr><w:headerReference w:type="default" r:id="rId4"/><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1417" w:right="1417" w:bottom="1417" w:left="1417" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>`)
	b.WriteString(`</w:body></w:document>`)
	return b.String(), nil
}

func (w *writer) paragraph(b *strings.Builder, bl Block) error {
	b.WriteString("<w:p>")
	if bl.Style != "" || bl.Numbered || bl.PageBreakBefore {
		b.WriteString("<w:pPr>")
		if bl.Style != "" {
			b.WriteString(`<w:pStyle w:val="` + esc(bl.Style) + `"/>`)
		}
		if bl.PageBreakBefore {
			b.WriteString(`<w:pageBreakBefore/>`)
		}
		if bl.Numbered {
			b.WriteString(`<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>`)
		}
		b.WriteString("</w:pPr>")
	}
	var open []int
	start := func(c Comment) {
		id := w.comment(c)
		open = append(open, id)
		fmt.Fprintf(b, `<w:commentRangeStart w:id="%d"/>`, id)
	}
	end := func() {
		id := open[len(open)-1]
		open = open[:len(open)-1]
		fmt.Fprintf(b, `<w:commentRangeEnd w:id="%d"/><w:r><w:commentReference w:id="%d"/></w:r>`, id, id)
	}
	for _, c := range bl.Comments {
		start(c)
	}
	for _, r := range bl.Runs {
		for _, c := range r.Open {
			start(c)
		}
		run(b, r)
		if r.Close > len(open)-len(bl.Comments) {
			return fmt.Errorf("a run closes %d comments, %d are open", r.Close, len(open)-len(bl.Comments))
		}
		for range r.Close {
			end()
		}
	}
	for len(open) > 0 {
		end()
	}
	b.WriteString("</w:p>")
	return nil
}

func run(b *strings.Builder, r Run) {
	b.WriteString("<w:r>")
	if r.Bold || r.Italic || r.Color != "" {
		b.WriteString("<w:rPr>")
		if r.Bold {
			b.WriteString("<w:b/>")
		}
		if r.Italic {
			b.WriteString("<w:i/>")
		}
		if r.Color != "" {
			b.WriteString(`<w:color w:val="` + esc(r.Color) + `"/>`)
		}
		b.WriteString("</w:rPr>")
	}
	// Line breaks inside a run become <w:br/>; spaces are preserved.
	for i, line := range strings.Split(r.Text, "\n") {
		if i > 0 {
			b.WriteString("<w:br/>")
		}
		if line != "" {
			b.WriteString(`<w:t xml:space="preserve">` + esc(line) + `</w:t>`)
		}
	}
	b.WriteString("</w:r>")
}

func (w *writer) commentsPart() string {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<w:comments xmlns:w="` + nsW + `">`)
	for id, c := range w.comments {
		fmt.Fprintf(&b, `<w:comment w:id="%d" w:author="%s" w:initials="%s">`, id, esc(c.Author), esc(initialsOf(c.Author)))
		for _, line := range strings.Split(c.Text, "\n") {
			b.WriteString(`<w:p><w:r><w:t xml:space="preserve">` + esc(line) + `</w:t></w:r></w:p>`)
		}
		b.WriteString(`</w:comment>`)
	}
	b.WriteString(`</w:comments>`)
	return b.String()
}

func (w *writer) core(doc *Document) string {
	return xml.Header + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">` +
		`<dc:title>` + esc(doc.Title) + `</dc:title><dc:creator>` + esc(w.author) + `</dc:creator></cp:coreProperties>`
}

func header(text string) string {
	return xml.Header + `<w:hdr xmlns:w="` + nsW + `"><w:p><w:pPr><w:jc w:val="right"/></w:pPr><w:r><w:rPr><w:color w:val="595959"/><w:sz w:val="18"/></w:rPr><w:t xml:space="preserve">` + esc(text) + `</w:t></w:r></w:p></w:hdr>`
}

func initialsOf(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(f)
		out = append(out, r)
		if len(out) == 3 {
			break
		}
	}
	return string(out)
}

// esc escapes s for XML text and attribute values, dropping the characters
// XML 1.0 cannot carry at all.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(' ')
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			// not representable in XML 1.0
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

const contentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Override PartName="/word/document.xml" ContentType="` + ctMain + `"/>` +
	`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
	`<Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>` +
	`<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>` +
	`<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>` +
	`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
	`</Types>`

const rootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="` + nsRel + `">` +
	`<Relationship Id="rId1" Type="` + nsOfficeRel + `/officeDocument" Target="word/document.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
	`</Relationships>`

const documentRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="` + nsRel + `">` +
	`<Relationship Id="rId1" Type="` + nsOfficeRel + `/styles" Target="styles.xml"/>` +
	`<Relationship Id="rId2" Type="` + nsOfficeRel + `/numbering" Target="numbering.xml"/>` +
	`<Relationship Id="rId3" Type="` + nsOfficeRel + `/comments" Target="comments.xml"/>` +
	`<Relationship Id="rId4" Type="` + nsOfficeRel + `/header" Target="header1.xml"/>` +
	`</Relationships>`

const styles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="` + nsW + `">` +
	`<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:cs="Calibri" w:eastAsia="Calibri"/><w:sz w:val="22"/><w:lang w:val="en-GB"/></w:rPr></w:rPrDefault>` +
	`<w:pPrDefault><w:pPr><w:spacing w:after="160" w:line="259" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>` +
	`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="center"/></w:pPr><w:rPr><w:b/><w:sz w:val="36"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Subtitle"><w:name w:val="Subtitle"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="center"/></w:pPr><w:rPr><w:color w:val="595959"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="28"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:sz w:val="24"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="GoodOfficesSignature"><w:name w:val="Signature page"/><w:basedOn w:val="Normal"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/><w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:ind w:left="720"/></w:pPr></w:style>` +
	`</w:styles>`

const numbering = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="` + nsW + `">` +
	`<w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="singleLevel"/>` +
	`<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/><w:lvlJc w:val="left"/><w:pPr><w:ind w:left="567" w:hanging="567"/></w:pPr></w:lvl>` +
	`</w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>`
