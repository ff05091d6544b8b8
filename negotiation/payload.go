package negotiation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// PayloadVersion is the version of the event payloads this engine writes
// and reads. A payload with another "v" is kept as unknown.
const PayloadVersion = 1

// Limits on payloads.
const (
	MaxPayloadBytes = 256 << 10 // an event payload
	MaxTitleBytes   = 400       // titles of texts and items
	MaxNoteBytes    = 4 << 10   // notes on positions, replies, readiness
	MaxBodyBytes    = 64 << 10  // a statement
	MaxParagraphs   = 500       // paragraphs in one text
	MaxLanguages    = 12        // authentic languages of one text
	MaxPathLen      = 2*MaxBracketDepth + 1
)

// Event payload types.
const (
	TypeAddItem      = "add_item"
	TypeItemStatus   = "item_status"
	TypeTableText    = "table_text"
	TypePropose      = "propose"
	TypeRespond      = "respond"
	TypeWithdraw     = "withdraw"
	TypePosition     = "position"
	TypeReady        = "ready"
	TypeStatement    = "statement"
	TypeAdopt        = "adopt"
	TypeSign         = "sign"
	TypeTranslate    = "translate"
	TypeConcord      = "concord"
	TypeAdoptPackage = "adopt_package"
)

// Op is the kind of an amendment.
type Op string

// Amendment kinds. Paths address a segment of a paragraph: [i] is the i-th
// top-level segment, [i, o, j] the j-th segment inside option o of group i,
// and so on; an empty path is the whole paragraph.
const (
	OpReplace         Op = "replace"         // Path (segment, or whole paragraph) -> Notation
	OpInsert          Op = "insert"          // insert Notation before the segment at Path (index may equal the count)
	OpDelete          Op = "delete"          // delete the segment at Path
	OpAddAlternative  Op = "add_alternative" // add Notation as a new option of the group at Path
	OpRemoveBrackets  Op = "remove_brackets" // replace the group at Path by the content of its option Option
	OpAddParagraph    Op = "add_paragraph"   // new paragraph Notation after paragraph After ("" = first)
	OpMoveParagraph   Op = "move_paragraph"  // move paragraph Para after paragraph After ("" = first)
	OpDeleteParagraph Op = "delete_paragraph"
)

// An Amendment is what a proposal changes. Base is the version of the
// paragraph it was drafted against: if the paragraph has changed since, the
// proposal is stale and is never merged.
type Amendment struct {
	Op       Op     `json:"op"`
	Para     string `json:"para,omitempty"`
	Base     int    `json:"base,omitempty"`
	Path     []int  `json:"path,omitempty"`
	Notation string `json:"notation,omitempty"`
	Option   int    `json:"option,omitempty"`
	After    string `json:"after,omitempty"`
}

type envelope struct {
	V    int    `json:"v"`
	Type string `json:"type"`
}

type addItemPayload struct {
	envelope
	Item   string `json:"item"`
	Title  string `json:"title"`
	Parent string `json:"parent,omitempty"`
}

type itemStatusPayload struct {
	envelope
	Item   string     `json:"item"`
	Status ItemStatus `json:"status"`
}

// TableText is the content of a table_text event: a new negotiating text.
type TableText struct {
	ID         string   `json:"text"`
	Title      string   `json:"title"`
	Item       string   `json:"item,omitempty"`
	Level      Level    `json:"level"`
	Language   string   `json:"language"`
	Paragraphs []string `json:"paragraphs"` // bracket notation
}

type tableTextPayload struct {
	envelope
	TableText
}

type proposePayload struct {
	envelope
	Text      string    `json:"text"`
	Amendment Amendment `json:"amendment"`
}

type respondPayload struct {
	envelope
	Proposal string   `json:"proposal"`
	Response Response `json:"response"`
	Note     string   `json:"note,omitempty"`
}

type withdrawPayload struct {
	envelope
	Proposal string `json:"proposal"`
}

type positionPayload struct {
	envelope
	Text    string `json:"text"`
	Para    string `json:"para"`
	Version int    `json:"version"`
	Stance  Stance `json:"stance"`
	Note    string `json:"note,omitempty"`
}

type readyPayload struct {
	envelope
	Scope Scope  `json:"scope"`
	ID    string `json:"id"`
	Level Level  `json:"level"`
	Note  string `json:"note,omitempty"`
}

type statementPayload struct {
	envelope
	Body      string `json:"body"`
	ReplyTo   string `json:"reply_to,omitempty"`
	AboutText string `json:"about_text,omitempty"`
	AboutPara string `json:"about_para,omitempty"`
}

type adoptPayload struct {
	envelope
	Text      string     `json:"text"`
	Version   int        `json:"version"`
	Languages []Language `json:"languages"`
	Seed      []byte     `json:"seed"`
	Digest    []byte     `json:"digest"`
}

type signPayload struct {
	envelope
	Text      string `json:"text"`
	Digest    []byte `json:"digest"`
	Signature []byte `json:"signature"`
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("negotiation: internal error: " + err.Error())
	}
	return b
}

func env(t string) envelope { return envelope{V: PayloadVersion, Type: t} }

// NewAddItem returns the payload that adds agenda item id (under parent, if
// not empty).
func NewAddItem(id, title, parent string) []byte {
	return marshal(addItemPayload{env(TypeAddItem), id, title, parent})
}

// NewItemStatus returns the payload that sets an agenda item's status.
func NewItemStatus(id string, status ItemStatus) []byte {
	return marshal(itemStatusPayload{env(TypeItemStatus), id, status})
}

// NewTableText returns the payload that tables a new negotiating text.
func NewTableText(t TableText) []byte {
	return marshal(tableTextPayload{env(TypeTableText), t})
}

// NewProposal returns the payload that proposes amendment a to text.
func NewProposal(text string, a Amendment) []byte {
	return marshal(proposePayload{env(TypePropose), text, a})
}

// NewResponse returns the payload that answers a proposal.
func NewResponse(proposal string, r Response, note string) []byte {
	return marshal(respondPayload{env(TypeRespond), proposal, r, note})
}

// NewWithdrawal returns the payload that withdraws a proposal; only the
// proposing party may send it.
func NewWithdrawal(proposal string) []byte {
	return marshal(withdrawPayload{env(TypeWithdraw), proposal})
}

// NewPosition returns the payload that takes the sender's party's stance on
// version version of a paragraph.
func NewPosition(text, para string, version int, stance Stance, note string) []byte {
	return marshal(positionPayload{env(TypePosition), text, para, version, stance, note})
}

// NewReadiness returns the payload that signals the sender's party is ready
// to take a text or agenda item up to level.
func NewReadiness(scope Scope, id string, level Level, note string) []byte {
	return marshal(readyPayload{env(TypeReady), scope, id, level, note})
}

// NewStatement returns the payload of a statement, optionally replying to
// another statement and about a paragraph.
func NewStatement(body, replyTo, aboutText, aboutPara string) []byte {
	return marshal(statementPayload{env(TypeStatement), body, replyTo, aboutText, aboutPara})
}

// NewAdoption returns the payload that adopts version version of a text in
// the given authentic languages. seed and digest come from the outcome
// package, which derives the salted commitments from seed and computes
// digest over them.
func NewAdoption(text string, version int, langs []Language, seed, digest []byte) []byte {
	return marshal(adoptPayload{env(TypeAdopt), text, version, langs, seed, digest})
}

// NewSignature returns the payload that records the sender's party's
// root-key signature of an adopted text's digest.
func NewSignature(text string, digest, sig []byte) []byte {
	return marshal(signPayload{env(TypeSign), text, digest, sig})
}

// errUnknown marks a payload of a type or version the engine does not know.
var errUnknown = errors.New("unknown payload")

// decodePayload reads the envelope of b, then b strictly into the payload
// struct of its type.
func decodePayload(b []byte) (string, any, error) {
	if len(b) > MaxPayloadBytes {
		return "", nil, fmt.Errorf("payload longer than %d bytes", MaxPayloadBytes)
	}
	if !utf8.Valid(b) {
		return "", nil, errors.New("payload is not valid UTF-8")
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return "", nil, fmt.Errorf("payload is not a JSON object: %v", err)
	}
	if len(e.Type) > 64 {
		e.Type = e.Type[:64]
	}
	if e.V != PayloadVersion {
		return e.Type, nil, fmt.Errorf("%w: version %d", errUnknown, e.V)
	}
	var v any
	switch e.Type {
	case TypeAddItem:
		v = &addItemPayload{}
	case TypeItemStatus:
		v = &itemStatusPayload{}
	case TypeTableText:
		v = &tableTextPayload{}
	case TypePropose:
		v = &proposePayload{}
	case TypeRespond:
		v = &respondPayload{}
	case TypeWithdraw:
		v = &withdrawPayload{}
	case TypePosition:
		v = &positionPayload{}
	case TypeReady:
		v = &readyPayload{}
	case TypeStatement:
		v = &statementPayload{}
	case TypeAdopt:
		v = &adoptPayload{}
	case TypeSign:
		v = &signPayload{}
	case TypeTranslate:
		v = &translatePayload{}
	case TypeConcord:
		v = &concordPayload{}
	case TypeAdoptPackage:
		v = &adoptPackagePayload{}
	case TypeRefer:
		v = &referPayload{}
	case TypeTakeUp:
		v = &takeUpPayload{}
	case TypeReopen:
		v = &reopenPayload{}
	default:
		return e.Type, nil, fmt.Errorf("%w: type %q", errUnknown, e.Type)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return e.Type, nil, fmt.Errorf("bad %s payload: %v", e.Type, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return e.Type, nil, fmt.Errorf("bad %s payload: trailing data", e.Type)
	}
	return e.Type, v, nil
}

// checkString validates free text: valid UTF-8 (checked for the whole
// payload), at most max bytes, no control characters except newlines when
// multiline. A single-line string (a title, a name) may not hold
// bidirectional controls either (U+202E and the like), which make it read
// differently from what it is; multiline text may, as right-to-left
// scripts need them.
func checkString(what, s string, max int, multiline, required bool) error {
	if required && s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > max {
		return fmt.Errorf("%s longer than %d bytes", what, max)
	}
	for _, r := range s {
		if r == '\n' && multiline {
			continue
		}
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%s contains control character %U", what, r)
		}
		if !multiline && unicode.Is(unicode.Bidi_Control, r) {
			return fmt.Errorf("%s contains bidirectional control character %U", what, r)
		}
	}
	return nil
}
