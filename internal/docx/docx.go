// Package docx reads and writes the small part of WordprocessingML
// (ECMA-376 Part 1, "Office Open XML", the .docx format) that negotiating
// texts need: numbered paragraphs of runs, run colour and emphasis, comments
// anchored on runs, titles and page breaks.
//
// Diplomats draft in Word. [Export] turns a negotiating text into a .docx
// (the tabling party of every bracket shown by colour and a comment, each
// party's position as a comment on the paragraph, the signature page of an
// adopted text); [Import] turns a .docx into paragraphs in bracket notation
// ready to be tabled, and reports everything it could not map — tables,
// images, footnotes, tracked changes — rather than dropping it.
//
// # What is written
//
// A package of seven parts: [Content_Types].xml, _rels/.rels,
// docProps/core.xml, word/document.xml, word/styles.xml,
// word/numbering.xml (one decimal list, "1.", "2.", …), word/comments.xml
// and word/_rels/document.xml.rels. The zip entries carry a fixed time so
// that the same text always exports to the same bytes.
//
// # What is read
//
// Only word/document.xml, with strict bounds: at most [MaxFileBytes] of
// .docx, [MaxPartBytes] of XML, [MaxParagraphs] paragraphs. Body
// paragraphs become text; everything else that carries content is reported
// as an [Issue].
package docx

// Limits of what Import reads. A document beyond them is refused rather
// than truncated.
const (
	MaxFileBytes   = 32 << 20 // bytes of .docx (zip)
	MaxPartBytes   = 16 << 20 // uncompressed bytes of word/document.xml
	MaxZipEntries  = 2000     // entries in the zip
	MaxParagraphs  = 5000     // body paragraphs
	MaxXMLDepth    = 64       // nesting of XML elements
	maxCommentText = 4 << 10  // bytes of one comment written by Export
)

// A Document is what Write puts on the page.
type Document struct {
	Title  string
	Header string // the page header, e.g. the text's ID, version and level
	Author string // the core properties' creator
	Blocks []Block
}

// A Block is one paragraph of the document.
type Block struct {
	Style           string // "" (body text), "Heading1", "Heading2"
	Numbered        bool   // a paragraph of the decimal list
	PageBreakBefore bool
	Runs            []Run
	Comments        []Comment // comments anchored on the whole paragraph
}

// A Run is a piece of text with one formatting. Comments open before a run
// and close after one, so a comment can span several runs; they nest.
type Run struct {
	Text   string
	Bold   bool
	Italic bool
	Color  string    // six hex digits, "" for the default colour
	Open   []Comment // comments whose range starts before this run
	Close  int       // how many open comments end after this run (innermost first)
}

// A Comment is a Word comment: who made it and what it says.
type Comment struct {
	Author string
	Text   string
}
