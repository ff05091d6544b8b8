package outcome

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/negotiation"
)

// File formats.
const (
	// BundleFormat is the format of the bundles this package makes:
	// version 2 adds the venue's Evidence (evidence.go).
	BundleFormat = "goodoffices-outcome-v2"
	// BundleFormatV1 is the first format, without evidence; it is still
	// read and verified.
	BundleFormatV1 = "goodoffices-outcome-v1"
	BriefingFormat = "goodoffices-briefing-v1"
	// PackageFormat is the format of the bundle of a package of texts
	// adopted together (package.go).
	PackageFormat = "goodoffices-outcome-package-v1"
)

// Limits. Files and fields beyond them are refused.
const (
	MaxFileBytes  = 8 << 20
	MaxParties    = 64
	MaxLanguages  = negotiation.MaxLanguages
	MaxParagraphs = negotiation.MaxParagraphs
	SeedSize      = 32
	SaltSize      = 32
)

const (
	headerContext    = "goodoffices outcome header v1\x00"
	paragraphContext = "goodoffices outcome paragraph v1\x00"
	saltContext      = "goodoffices outcome salt v1\x00"
	digestContext    = "goodoffices outcome digest v1\x00"
)

// A Party is a signatory of an outcome.
type Party struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	RootKey []byte `json:"root_key"` // Ed25519 public key, 32 bytes
}

// A Paragraph is one committed paragraph (or title) with its salt.
type Paragraph struct {
	Text string `json:"text"`
	Salt []byte `json:"salt"`
}

// A Language is one authentic language version of an outcome.
type Language struct {
	Lang       string      `json:"lang"`
	Title      Paragraph   `json:"title"`
	Paragraphs []Paragraph `json:"paragraphs"`
}

// A Signature is a party's root-key signature of the digest.
type Signature struct {
	Party     string `json:"party"`
	Signature []byte `json:"signature"`
}

// A Bundle is a signed outcome: the text in each authentic language, the
// parties and their signatures.
type Bundle struct {
	Format     string      `json:"format"`
	Talks      string      `json:"talks"`
	Text       string      `json:"text"`
	Version    int         `json:"version"`
	Parties    []Party     `json:"parties"`    // sorted by ID
	Languages  []Language  `json:"languages"`  // in the order of adoption
	Digest     string      `json:"digest"`     // hex, recomputed by every check
	Signatures []Signature `json:"signatures"` // one per party, sorted by party
	// Evidence from the venue's log (format v2 only; optional).
	Evidence *Evidence `json:"evidence,omitempty"`

	// A package of texts (PackageFormat) has a package ID, a title and
	// its documents instead of Text, Version and Languages.
	Package   string     `json:"package,omitempty"`
	Title     string     `json:"title,omitempty"`
	Documents []Document `json:"documents,omitempty"`
}

// A Draft is what an outcome is made from.
type Draft struct {
	Talks     string
	Text      string
	Version   int
	Parties   []Party
	Languages []negotiation.Language
	Seed      []byte // SeedSize random bytes, from NewSeed

	// For a package: its ID and title, and its documents (Text, Version
	// and Languages are then unused).
	Package   string
	Title     string
	Documents []negotiation.PackageText
}

// NewSeed returns a fresh random seed for the salts of an outcome.
func NewSeed() ([]byte, error) {
	seed := make([]byte, SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("failed to draw a seed: %w", err)
	}
	return seed, nil
}

func salt(seed []byte, index int64) []byte {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(saltContext))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(index))
	m.Write(b[:])
	return m.Sum(nil)
}

// New makes an unsigned bundle from d; its Digest is what each party signs.
func New(d Draft) (*Bundle, error) {
	if len(d.Seed) != SeedSize {
		return nil, fmt.Errorf("failed to make outcome: seed is not %d bytes", SeedSize)
	}
	if d.Package != "" {
		return newPackage(d)
	}
	b := &Bundle{
		Format: BundleFormat, Talks: d.Talks, Text: d.Text, Version: d.Version,
		Parties: append([]Party(nil), d.Parties...), Signatures: []Signature{},
	}
	sortParties(b.Parties)
	if len(d.Languages) == 0 {
		return nil, errors.New("failed to make outcome: no language")
	}
	n := len(d.Languages[0].Paragraphs)
	for li, l := range d.Languages {
		if len(l.Paragraphs) != n {
			return nil, fmt.Errorf("failed to make outcome: %s has %d paragraphs, not %d", l.Lang, len(l.Paragraphs), n)
		}
		base := int64(1 + li*(n+1))
		ol := Language{Lang: l.Lang, Title: Paragraph{Text: l.Title, Salt: salt(d.Seed, base)}}
		for k, p := range l.Paragraphs {
			ol.Paragraphs = append(ol.Paragraphs, Paragraph{Text: p, Salt: salt(d.Seed, base+int64(k)+1)})
		}
		b.Languages = append(b.Languages, ol)
	}
	if err := b.checkShape(); err != nil {
		return nil, fmt.Errorf("failed to make outcome: %w", err)
	}
	dg, _, err := b.tree()
	if err != nil {
		return nil, fmt.Errorf("failed to make outcome: %w", err)
	}
	b.Digest = hex.EncodeToString(dg[:])
	return b, nil
}

func sortParties(ps []Party) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].ID < ps[j-1].ID; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// FromState makes the bundle of a text adopted in s: it rebuilds the
// commitments from the adoption's languages and seed, checks that they give
// the digest the parties were asked to sign, and adds the signatures
// recorded so far. The parties' root keys must be in s.Config.
func FromState(s *negotiation.State, textID string) (*Bundle, error) {
	t := s.Text(textID)
	if t == nil || t.Adoption == nil {
		return nil, fmt.Errorf("failed to make outcome: text %q has not been adopted", textID)
	}
	d := Draft{Talks: s.Config.Talks, Text: t.ID, Version: t.Adoption.Version, Languages: t.Adoption.Languages, Seed: t.Adoption.Seed}
	if id := t.Adoption.Package; id != "" {
		pkg := s.OutcomePackage(id)
		if pkg == nil {
			return nil, fmt.Errorf("failed to make outcome: package %q of text %q is unknown", id, textID)
		}
		d = Draft{Talks: s.Config.Talks, Package: pkg.ID, Title: pkg.Title, Seed: t.Adoption.Seed}
		for _, id := range pkg.Texts {
			pt := s.Text(id)
			d.Documents = append(d.Documents, negotiation.PackageText{Text: pt.ID, Version: pt.Adoption.Version, Languages: pt.Adoption.Languages})
		}
	}
	for _, p := range s.Config.Parties {
		if len(p.RootKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("failed to make outcome: root key of %s unknown", p.ID)
		}
		d.Parties = append(d.Parties, Party{ID: p.ID, Name: p.Name, RootKey: p.RootKey})
	}
	b, err := New(d)
	if err != nil {
		return nil, err
	}
	if b.Digest != hex.EncodeToString(t.Adoption.Digest) {
		return nil, errors.New("failed to make outcome: the adoption's digest does not match its text")
	}
	for _, sg := range t.Adoption.Signatures {
		b.Signatures = append(b.Signatures, Signature{Party: sg.Party, Signature: sg.Signature})
	}
	return b, nil
}

// PrepareAdoption is what a desk does to adopt the current version of text
// textID in s in the authentic languages langs: it draws a fresh seed, builds
// the commitments and returns the adoption payload to send into the channel
// and the unsigned bundle, whose digest each party's root key then signs.
// The engine checks the payload's languages against the agreed text when it
// applies the event.
func PrepareAdoption(s *negotiation.State, textID string, langs []negotiation.Language) ([]byte, *Bundle, error) {
	t := s.Text(textID)
	if t == nil {
		return nil, nil, fmt.Errorf("failed to prepare adoption: no text %q", textID)
	}
	seed, err := NewSeed()
	if err != nil {
		return nil, nil, err
	}
	d := Draft{Talks: s.Config.Talks, Text: t.ID, Version: t.Version, Languages: langs, Seed: seed}
	for _, p := range s.Config.Parties {
		d.Parties = append(d.Parties, Party{ID: p.ID, Name: p.Name, RootKey: p.RootKey})
	}
	b, err := New(d)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to prepare adoption: %w", err)
	}
	digest, err := b.DigestBytes()
	if err != nil {
		return nil, nil, err
	}
	return negotiation.NewAdoption(t.ID, t.Version, langs, seed, digest), b, nil
}

// DigestBytes returns the digest to sign.
func (b *Bundle) DigestBytes() ([]byte, error) {
	d, err := hex.DecodeString(b.Digest)
	if err != nil || len(d) != sha256.Size {
		return nil, errors.New("bad digest")
	}
	return d, nil
}

// Sign signs an outcome digest with a delegation's root key.
func Sign(root ed25519.PrivateKey, digest []byte) []byte {
	return ed25519.Sign(root, negotiation.OutcomeSigningMessage(digest))
}

// AddSignature adds party's signature, checking it first.
func (b *Bundle) AddSignature(party string, sig []byte) error {
	d, err := b.DigestBytes()
	if err != nil {
		return fmt.Errorf("failed to add signature: %w", err)
	}
	var key []byte
	for _, p := range b.Parties {
		if p.ID == party {
			key = p.RootKey
		}
	}
	if key == nil || len(key) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize ||
		!ed25519.Verify(key, negotiation.OutcomeSigningMessage(d), sig) {
		return fmt.Errorf("failed to add signature: not a valid signature by the root key of %q", party)
	}
	var out []Signature
	for _, s := range b.Signatures {
		if s.Party == party {
			return fmt.Errorf("failed to add signature: %q has signed already", party)
		}
		out = append(out, s)
	}
	out = append(out, Signature{Party: party, Signature: append([]byte(nil), sig...)})
	for i := len(out) - 1; i > 0 && out[i].Party < out[i-1].Party; i-- {
		out[i], out[i-1] = out[i-1], out[i]
	}
	b.Signatures = out
	return nil
}

// Fingerprint is the fingerprint of a party's Ed25519 root public key that
// a verifier pins: the same as `goodoffices delegation show` prints and the
// parties compare in person (delegation.Fingerprint of the signed-note
// verifier key named after the party), e.g. "K7QF-2M4X-Y3ZA-PL6D-W2HN-Q5TR".
// It returns "" for a malformed key.
func Fingerprint(party string, pub []byte) string {
	if len(pub) != ed25519.PublicKeySize {
		return ""
	}
	vkey, err := note.NewEd25519VerifierKey(party, ed25519.PublicKey(pub))
	if err != nil {
		return ""
	}
	return delegation.Fingerprint(vkey)
}

// header holds the fields of leaf 0.
type header struct {
	talks, text string
	version     int
	parties     []Party
	langs       []string
	n           int
}

func appendStr(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func (h *header) leaf() []byte {
	b := []byte(headerContext)
	b = appendStr(b, []byte(h.talks))
	b = appendStr(b, []byte(h.text))
	b = binary.BigEndian.AppendUint64(b, uint64(h.version))
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.parties)))
	for _, p := range h.parties {
		b = appendStr(b, []byte(p.ID))
		b = appendStr(b, []byte(p.Name))
		b = appendStr(b, p.RootKey)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.langs)))
	for _, l := range h.langs {
		b = appendStr(b, []byte(l))
	}
	return binary.BigEndian.AppendUint32(b, uint32(h.n))
}

func (h *header) size() int64 { return 1 + int64(len(h.langs))*int64(h.n+1) }

// index returns the leaf index of language l, number k.
func (h *header) index(lang string, k int) (int64, bool) {
	for li, l := range h.langs {
		if l == lang && k >= 0 && k <= h.n {
			return 1 + int64(li)*int64(h.n+1) + int64(k), true
		}
	}
	return 0, false
}

func paragraphLeaf(salt []byte, lang string, number int, text string) []byte {
	b := []byte(paragraphContext)
	b = append(b, salt...)
	b = appendStr(b, []byte(lang))
	b = binary.BigEndian.AppendUint32(b, uint32(number))
	return appendStr(b, []byte(text))
}

func digestOf(size int64, root tlog.Hash) [32]byte {
	b := []byte(digestContext)
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	b = append(b, root[:]...)
	return sha256.Sum256(b)
}

func (b *Bundle) header() *header {
	h := &header{talks: b.Talks, text: b.Text, version: b.Version, parties: b.Parties}
	for _, l := range b.Languages {
		h.langs = append(h.langs, l.Lang)
	}
	if len(b.Languages) > 0 {
		h.n = len(b.Languages[0].Paragraphs)
	}
	return h
}

// leaves returns the leaf data of the tree in order.
func (b *Bundle) leaves() [][]byte {
	if b.Package != "" {
		return b.packageLeaves()
	}
	out := [][]byte{b.header().leaf()}
	for _, l := range b.Languages {
		out = append(out, paragraphLeaf(l.Title.Salt, l.Lang, 0, l.Title.Text))
		for k, p := range l.Paragraphs {
			out = append(out, paragraphLeaf(p.Salt, l.Lang, k+1, p.Text))
		}
	}
	return out
}

// memTree is an in-memory tlog tree.
type memTree []tlog.Hash

func (m memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m)) {
			return nil, errors.New("hash index out of range")
		}
		out[i] = m[x]
	}
	return out, nil
}

// tree computes the digest and the stored hashes of b's tree.
func (b *Bundle) tree() ([32]byte, memTree, error) {
	var m memTree
	leaves := b.leaves()
	for i, data := range leaves {
		hs, err := tlog.StoredHashes(int64(i), data, m)
		if err != nil {
			return [32]byte{}, nil, err
		}
		m = append(m, hs...)
	}
	root, err := tlog.TreeHash(int64(len(leaves)), m)
	if err != nil {
		return [32]byte{}, nil, err
	}
	if b.Package != "" {
		return packageDigestOf(int64(len(leaves)), root), m, nil
	}
	return digestOf(int64(len(leaves)), root), m, nil
}

// checkShape checks the fields of b that do not need cryptography.
func (b *Bundle) checkShape() error {
	if b.Package != "" || b.Format == PackageFormat {
		return b.checkPackageShape()
	}
	if err := checkHeader(b.header()); err != nil {
		return err
	}
	n := len(b.Languages[0].Paragraphs)
	for _, l := range b.Languages {
		if len(l.Paragraphs) != n {
			return fmt.Errorf("%s has %d paragraphs, %s has %d", l.Lang, len(l.Paragraphs), b.Languages[0].Lang, n)
		}
		if err := checkParagraph(l.Title, "title"); err != nil {
			return fmt.Errorf("%s: %w", l.Lang, err)
		}
		for k, p := range l.Paragraphs {
			if err := checkParagraph(p, fmt.Sprintf("paragraph %d", k+1)); err != nil {
				return fmt.Errorf("%s: %w", l.Lang, err)
			}
		}
	}
	return nil
}

func checkText(what, s string, max int) error {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return fmt.Errorf("%s is empty, too long or not UTF-8", what)
	}
	return nil
}

func checkParagraph(p Paragraph, what string) error {
	if len(p.Salt) != SaltSize {
		return fmt.Errorf("%s: salt is not %d bytes", what, SaltSize)
	}
	return checkText(what, p.Text, negotiation.MaxParagraphBytes)
}

func checkHeader(h *header) error {
	if err := checkText("talks", h.talks, 200); err != nil {
		return err
	}
	if err := checkText("text", h.text, 64); err != nil {
		return err
	}
	if h.version < 1 {
		return errors.New("version is not positive")
	}
	if len(h.parties) == 0 || len(h.parties) > MaxParties {
		return fmt.Errorf("need 1 to %d parties", MaxParties)
	}
	for i, p := range h.parties {
		if err := checkText("party", p.ID, negotiation.MaxPartyIDLen); err != nil {
			return err
		}
		if i > 0 && p.ID <= h.parties[i-1].ID {
			return errors.New("parties not sorted or repeated")
		}
		if err := checkText("party name", p.Name, 200); err != nil {
			return err
		}
		if len(p.RootKey) != ed25519.PublicKeySize {
			return fmt.Errorf("root key of %s is not an Ed25519 key", p.ID)
		}
	}
	if len(h.langs) == 0 || len(h.langs) > MaxLanguages {
		return fmt.Errorf("need 1 to %d languages", MaxLanguages)
	}
	seen := map[string]bool{}
	for _, l := range h.langs {
		if err := checkText("language", l, 35); err != nil || seen[l] {
			return fmt.Errorf("bad or repeated language %q", l)
		}
		seen[l] = true
	}
	if h.n < 1 || h.n > MaxParagraphs {
		return fmt.Errorf("need 1 to %d paragraphs", MaxParagraphs)
	}
	return nil
}

// checkSignatures checks that sigs hold exactly one valid signature of
// digest by each party, in party order.
func checkSignatures(parties []Party, sigs []Signature, digest []byte) error {
	if len(sigs) != len(parties) {
		return fmt.Errorf("%d signatures for %d parties", len(sigs), len(parties))
	}
	msg := negotiation.OutcomeSigningMessage(digest)
	for i, p := range parties {
		s := sigs[i]
		if s.Party != p.ID {
			return fmt.Errorf("signature %d is not by %s", i+1, p.ID)
		}
		if len(s.Signature) != ed25519.SignatureSize || !ed25519.Verify(p.RootKey, msg, s.Signature) {
			return fmt.Errorf("the signature of %s does not verify", p.ID)
		}
	}
	return nil
}

// Pins says which root keys a verifier trusts: party ID to Fingerprint.
type Pins map[string]string

// Options control verification.
type Options struct {
	Pins Pins
	// TrustEmbeddedKeys accepts the root keys in the file without pins:
	// the check then proves only that the file is consistent, not who
	// signed it.
	TrustEmbeddedKeys bool
	// VenueKey pins the venue's signed-note verifier key for the evidence
	// of a bundle ("" accepts the key in the file and says so).
	VenueKey string
	// RequireEvidence refuses a bundle without venue evidence.
	RequireEvidence bool
}

func checkPins(parties []Party, o Options) ([]Signer, error) {
	var out []Signer
	for _, p := range parties {
		fp := Fingerprint(p.ID, p.RootKey)
		if fp == "" {
			return nil, fmt.Errorf("root key of %s is not usable", p.ID)
		}
		pin, ok := o.Pins[p.ID]
		switch {
		case ok && strings.ToUpper(strings.TrimSpace(pin)) != fp:
			return nil, fmt.Errorf("the root key of %s is not the pinned one: file has %s", p.ID, fp)
		case !ok && !o.TrustEmbeddedKeys:
			return nil, fmt.Errorf("no pinned fingerprint for %s (its key in the file is %s)", p.ID, fp)
		}
		out = append(out, Signer{Party: p.ID, Name: p.Name, Fingerprint: fp, Pinned: ok})
	}
	for id := range o.Pins {
		found := false
		for _, p := range parties {
			found = found || p.ID == id
		}
		if !found {
			return nil, fmt.Errorf("pinned party %s is not a signatory", id)
		}
	}
	return out, nil
}

// A Signer is a party whose signature verified.
type Signer struct {
	Party       string `json:"party"`
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	Pinned      bool   `json:"pinned"`
}

// Verify checks b completely: shape, commitments, digest, one valid
// signature by each party's root key, and the pins.
func (b *Bundle) Verify(o Options) (*Report, error) {
	fail := func(err error) (*Report, error) {
		return nil, fmt.Errorf("invalid outcome bundle: %w", err)
	}
	if !b.knownFormat() {
		return fail(errors.New("unknown format"))
	}
	if err := b.checkShape(); err != nil {
		return fail(err)
	}
	d, _, err := b.tree()
	if err != nil {
		return fail(err)
	}
	if b.Digest != hex.EncodeToString(d[:]) {
		return fail(errors.New("the text differs from the one the digest commits to"))
	}
	if err := checkSignatures(b.Parties, b.Signatures, d[:]); err != nil {
		return fail(err)
	}
	signers, err := checkPins(b.Parties, o)
	if err != nil {
		return fail(err)
	}
	r := &Report{Kind: "outcome", Talks: b.Talks, Text: b.Text, Version: b.Version, Digest: b.Digest, Signers: signers}
	if b.Package != "" {
		r.Kind, r.Package, r.Title = "outcome-package", b.Package, b.Title
		for _, doc := range b.Documents {
			rd := ReportDocument{Text: doc.Text, Version: doc.Version, Paragraphs: len(doc.Languages[0].Paragraphs)}
			for _, l := range doc.Languages {
				rd.Languages = append(rd.Languages, l.Lang)
				rd.Titles = append(rd.Titles, l.Title.Text)
			}
			r.Documents = append(r.Documents, rd)
		}
	} else {
		r.Paragraphs = len(b.Languages[0].Paragraphs)
	}
	if b.Evidence != nil {
		if r.Evidence, err = verifyEvidence(b, d[:], o); err != nil {
			return fail(fmt.Errorf("venue evidence: %w", err))
		}
	} else if o.RequireEvidence {
		return fail(errors.New("no venue evidence"))
	}
	for _, l := range b.Languages {
		r.Languages = append(r.Languages, l.Lang)
		r.Titles = append(r.Titles, l.Title.Text)
	}
	return r, nil
}

// knownFormat reports whether b's format is one this package reads, with
// the fields that format has.
func (b *Bundle) knownFormat() bool {
	switch b.Format {
	case BundleFormat:
		return b.Package == "" && b.Documents == nil
	case BundleFormatV1:
		return b.Package == "" && b.Documents == nil && b.Evidence == nil
	case PackageFormat:
		return b.Package != "" && b.Text == "" && b.Version == 0 && b.Languages == nil
	}
	return false
}

// Marshal returns the canonical encoding of b.
func (b *Bundle) Marshal() []byte { return canonical(b) }

func canonical(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic("outcome: internal error: " + err.Error())
	}
	return buf.Bytes()
}

// strictDecode decodes data into v and requires data to be exactly the
// canonical encoding of the result.
func strictDecode(data []byte, v any) error {
	if len(data) > MaxFileBytes {
		return fmt.Errorf("file longer than %d bytes", MaxFileBytes)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("not valid JSON of this format: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	if !bytes.Equal(canonical(v), data) {
		return errors.New("not in canonical form")
	}
	return nil
}

// ParseBundle reads a bundle in canonical form. It does not verify it.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := strictDecode(data, &b); err != nil {
		return nil, fmt.Errorf("failed to parse outcome bundle: %w", err)
	}
	if !b.knownFormat() {
		return nil, errors.New("failed to parse outcome bundle: unknown format")
	}
	return &b, nil
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
