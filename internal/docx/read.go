package docx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// A File is what Read found in the main part of a .docx.
type File struct {
	Paragraphs []Paragraph
	Issues     []Issue
}

// A Paragraph is one paragraph of the document body, as text.
type Paragraph struct {
	Number   int    // position among the body's paragraphs, from 1 (empty ones count)
	Style    string // the paragraph style's ID, e.g. "Title", "Heading1"; "" for the default
	Numbered bool   // part of a Word list (automatic numbering)
	Text     string // the runs' text; tabs and line breaks become spaces
}

// An Issue is something of the document that Read could not turn into
// paragraph text.
type Issue struct {
	Paragraph int    // the body paragraph it is in or after; 0 for the whole document
	Fatal     bool   // the text read would be wrong, not merely incomplete
	What      string // for the user, e.g. "a table (2 rows) is not imported"
}

func (i Issue) String() string {
	if i.Paragraph == 0 {
		return i.What
	}
	return fmt.Sprintf("paragraph %d: %s", i.Paragraph, i.What)
}

var errNotDocx = errors.New("not a Word document (.docx)")

// Read parses a .docx file: the body paragraphs of its main document part
// and an Issue for every table, text box, image, footnote, comment and
// tracked change, none of which becomes text.
func Read(data []byte) (*File, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("failed to read docx: larger than %d bytes", MaxFileBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("failed to read docx: %w: %w", errNotDocx, err)
	}
	if len(zr.File) > MaxZipEntries {
		return nil, fmt.Errorf("failed to read docx: more than %d parts", MaxZipEntries)
	}
	main := "word/document.xml"
	if rels, err := readPart(zr, "_rels/.rels", 1<<20); err == nil {
		if t := mainTarget(rels); t != "" {
			main = t
		}
	}
	doc, err := readPart(zr, main, MaxPartBytes)
	if err != nil {
		return nil, fmt.Errorf("failed to read docx: %w", err)
	}
	f, err := parseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("failed to read docx: %w", err)
	}
	return f, nil
}

func readPart(zr *zip.Reader, name string, limit int64) ([]byte, error) {
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		if f.UncompressedSize64 > uint64(limit) {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, limit+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: no part %s", errNotDocx, name)
}

// mainTarget finds the officeDocument relationship of the package
// (ECMA-376 Part 2 §9.3), normally word/document.xml.
func mainTarget(rels []byte) string {
	var r struct {
		Rel []struct {
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if xml.Unmarshal(rels, &r) != nil {
		return ""
	}
	for _, x := range r.Rel {
		if x.Type == nsOfficeRel+"/officeDocument" {
			return strings.TrimPrefix(path.Clean("/"+x.Target), "/")
		}
	}
	return ""
}

// Elements of word/document.xml that carry content Read does not import,
// and how it reports them. Fatal ones would make the text wrong.
var unmapped = map[string]struct {
	what  string
	fatal bool
}{
	"tbl":               {"a table is not imported", false},
	"txbxContent":       {"a text box is not imported", false},
	"drawing":           {"an image or drawing is not imported", false},
	"pict":              {"an image or drawing is not imported", false},
	"object":            {"an embedded object is not imported", false},
	"footnoteReference": {"a footnote is not imported", false},
	"endnoteReference":  {"an endnote is not imported", false},
	"commentReference":  {"a Word comment is not imported", false},
	"altChunk":          {"embedded content is not imported", false},
	"ins":               {"tracked changes (an insertion): accept or reject all changes in Word first", true},
	"del":               {"tracked changes (a deletion): accept or reject all changes in Word first", true},
	"moveFrom":          {"tracked changes (a move): accept or reject all changes in Word first", true},
	"moveTo":            {"tracked changes (a move): accept or reject all changes in Word first", true},
}

// nsMath is the namespace of equations (Office Math), which are reported.
const nsMath = "http://schemas.openxmlformats.org/officeDocument/2006/math"

func parseDocument(doc []byte) (*File, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	f := &File{}
	var (
		stack    []xml.Name
		cur      *Paragraph
		text     strings.Builder
		skip     int // depth of an element whose content is not read (0: none)
		inBody   bool
		reported = map[string]bool{} // one issue per kind and paragraph
	)
	report := func(what string, fatal bool) {
		n := len(f.Paragraphs)
		if cur != nil {
			n = cur.Number
		}
		key := fmt.Sprint(n, what)
		if reported[key] {
			return
		}
		reported[key] = true
		f.Issues = append(f.Issues, Issue{Paragraph: n, Fatal: fatal, What: what})
	}
	attr := func(e xml.StartElement, local string) string {
		for _, a := range e.Attr {
			if a.Name.Local == local && (a.Name.Space == nsW || a.Name.Space == "") {
				return a.Value
			}
		}
		return ""
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed document.xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name)
			if len(stack) > MaxXMLDepth {
				return nil, fmt.Errorf("malformed document.xml: nested deeper than %d", MaxXMLDepth)
			}
			if len(stack) == 1 && (t.Name.Space != nsW || t.Name.Local != "document") {
				return nil, fmt.Errorf("%w: the main part is not a WordprocessingML document (%s)", errNotDocx, t.Name.Space)
			}
			if skip > 0 {
				continue
			}
			if t.Name.Space == nsMath && (t.Name.Local == "oMath" || t.Name.Local == "oMathPara") {
				report("an equation is not imported", false)
				skip = len(stack)
				continue
			}
			if t.Name.Space != nsW {
				continue
			}
			if u, ok := unmapped[t.Name.Local]; ok {
				report(u.what, u.fatal)
				skip = len(stack)
				continue
			}
			switch t.Name.Local {
			case "body":
				inBody = true
			case "p":
				if !inBody {
					continue
				}
				if len(f.Paragraphs) >= MaxParagraphs {
					return nil, fmt.Errorf("more than %d paragraphs", MaxParagraphs)
				}
				f.Paragraphs = append(f.Paragraphs, Paragraph{Number: len(f.Paragraphs) + 1})
				cur = &f.Paragraphs[len(f.Paragraphs)-1]
				text.Reset()
			case "pStyle":
				if cur != nil && parentIs(stack, "pPr") {
					cur.Style = attr(t, "val")
				}
			case "numPr":
				if cur != nil && parentIs(stack, "pPr") {
					cur.Numbered = true
				}
			case "tab", "br", "cr":
				if cur != nil && parentIs(stack, "r") {
					text.WriteByte(' ')
				}
			case "noBreakHyphen":
				if cur != nil {
					text.WriteByte('-')
				}
			case "instrText", "delInstrText", "rPr", "pPr", "sectPr":
				// Field codes and formatting are not text; a paragraph
				// mark's own run properties (pPr/rPr) hold no text either.
				if t.Name.Local != "pPr" {
					skip = len(stack)
				}
			}
		case xml.EndElement:
			if skip == len(stack) {
				skip = 0
			}
			if t.Name.Space == nsW && t.Name.Local == "p" && cur != nil && skip == 0 && !inside(stack[:len(stack)-1], "p") {
				cur.Text = text.String()
				cur = nil
			}
			if t.Name.Space == nsW && t.Name.Local == "body" {
				inBody = false
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if skip == 0 && cur != nil && len(stack) > 0 && stack[len(stack)-1].Space == nsW && stack[len(stack)-1].Local == "t" {
				text.Write(t)
			}
		}
	}
	if len(stack) != 0 {
		return nil, errors.New("malformed document.xml: unclosed elements")
	}
	return f, nil
}

func parentIs(stack []xml.Name, local string) bool {
	return len(stack) >= 2 && stack[len(stack)-2].Space == nsW && stack[len(stack)-2].Local == local
}

func inside(stack []xml.Name, local string) bool {
	for _, n := range stack {
		if n.Space == nsW && n.Local == local {
			return true
		}
	}
	return false
}
