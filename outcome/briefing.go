package outcome

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// A Briefing discloses chosen paragraphs of a signed outcome to a third
// party: each with its salt and an inclusion proof in the signed tree, plus
// the header and the signatures. The sibling hashes in the proofs are
// hashes of salted commitments and reveal nothing about the rest.
type Briefing struct {
	Format      string       `json:"format"`
	Talks       string       `json:"talks"`
	Text        string       `json:"text"`
	Version     int          `json:"version"`
	Parties     []Party      `json:"parties"`
	Languages   []string     `json:"languages"`
	Paragraphs  int          `json:"paragraphs"` // how many the text has in each language
	TreeSize    int64        `json:"tree_size"`
	Root        string       `json:"root"`   // hex
	Digest      string       `json:"digest"` // hex
	Signatures  []Signature  `json:"signatures"`
	HeaderProof [][]byte     `json:"header_proof"`
	Disclosed   []Disclosure `json:"disclosed"`
}

// A Disclosure is one disclosed paragraph (Number 0 is the title).
type Disclosure struct {
	Lang   string   `json:"lang"`
	Number int      `json:"number"`
	Text   string   `json:"text"`
	Salt   []byte   `json:"salt"`
	Proof  [][]byte `json:"proof"`
}

// A Ref names a paragraph of an outcome in one language; Number 0 is the
// title.
type Ref struct {
	Lang   string
	Number int
}

// Brief makes a briefing that discloses the paragraphs refs of a verified
// bundle, and nothing else of its text.
func (b *Bundle) Brief(refs []Ref) (*Briefing, error) {
	if len(refs) == 0 {
		return nil, errors.New("failed to brief: nothing to disclose")
	}
	if b.Package != "" {
		return nil, errors.New("failed to brief: briefings on the documents of a package are not supported yet")
	}
	if b.checkShape() != nil || len(b.Signatures) != len(b.Parties) {
		return nil, errors.New("failed to brief: the bundle is not complete")
	}
	d, tree, err := b.tree()
	if err != nil || hex.EncodeToString(d[:]) != b.Digest {
		return nil, errors.New("failed to brief: the bundle does not match its digest")
	}
	h := b.header()
	size := h.size()
	root, err := tlog.TreeHash(size, tree)
	if err != nil {
		return nil, fmt.Errorf("failed to brief: %w", err)
	}
	br := &Briefing{
		Format: BriefingFormat, Talks: b.Talks, Text: b.Text, Version: b.Version, Parties: b.Parties,
		Languages: h.langs, Paragraphs: h.n, TreeSize: size, Root: hex.EncodeToString(root[:]),
		Digest: b.Digest, Signatures: b.Signatures,
	}
	prove := func(i int64) ([][]byte, error) {
		p, err := tlog.ProveRecord(size, i, tree)
		if err != nil {
			return nil, err
		}
		out := make([][]byte, len(p))
		for k, x := range p {
			out[k] = append([]byte(nil), x[:]...)
		}
		return out, nil
	}
	if br.HeaderProof, err = prove(0); err != nil {
		return nil, fmt.Errorf("failed to brief: %w", err)
	}
	seen := map[Ref]bool{}
	for _, r := range refs {
		i, ok := h.index(r.Lang, r.Number)
		if !ok || seen[r] {
			return nil, fmt.Errorf("failed to brief: no paragraph %d in %q, or named twice", r.Number, r.Lang)
		}
		seen[r] = true
		var p Paragraph
		for _, l := range b.Languages {
			if l.Lang == r.Lang {
				p = l.Title
				if r.Number > 0 {
					p = l.Paragraphs[r.Number-1]
				}
			}
		}
		proof, err := prove(i)
		if err != nil {
			return nil, fmt.Errorf("failed to brief: %w", err)
		}
		br.Disclosed = append(br.Disclosed, Disclosure{Lang: r.Lang, Number: r.Number, Text: p.Text, Salt: p.Salt, Proof: proof})
	}
	return br, nil
}

func toProof(p [][]byte) (tlog.RecordProof, error) {
	if len(p) > 64 {
		return nil, errors.New("proof too long")
	}
	out := make(tlog.RecordProof, len(p))
	for i, h := range p {
		if len(h) != tlog.HashSize {
			return nil, errors.New("proof hash is not 32 bytes")
		}
		copy(out[i][:], h)
	}
	return out, nil
}

// Verify checks the briefing: the header and every disclosed paragraph are
// in the tree, the tree is the one whose digest every party signed, and the
// root keys are the pinned ones.
func (br *Briefing) Verify(o Options) (*Report, error) {
	fail := func(err error) (*Report, error) {
		return nil, fmt.Errorf("invalid briefing: %w", err)
	}
	if br.Format != BriefingFormat {
		return fail(errors.New("unknown format"))
	}
	h := &header{talks: br.Talks, text: br.Text, version: br.Version, parties: br.Parties, langs: br.Languages, n: br.Paragraphs}
	if err := checkHeader(h); err != nil {
		return fail(err)
	}
	if br.TreeSize != h.size() {
		return fail(errors.New("tree size does not match the header"))
	}
	rootBytes, err := hex.DecodeString(br.Root)
	if err != nil || len(rootBytes) != tlog.HashSize || hex.EncodeToString(rootBytes) != br.Root {
		return fail(errors.New("bad root"))
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	d := digestOf(br.TreeSize, root)
	if br.Digest != hex.EncodeToString(d[:]) {
		return fail(errors.New("digest does not match the tree"))
	}
	check := func(proof [][]byte, index int64, leaf []byte) error {
		p, err := toProof(proof)
		if err != nil {
			return err
		}
		return tlog.CheckRecord(p, br.TreeSize, root, index, tlog.RecordHash(leaf))
	}
	if err := check(br.HeaderProof, 0, h.leaf()); err != nil {
		return fail(errors.New("the header is not in the signed tree"))
	}
	if len(br.Disclosed) == 0 {
		return fail(errors.New("discloses nothing"))
	}
	r := &Report{Kind: "briefing", Talks: br.Talks, Text: br.Text, Version: br.Version, Digest: br.Digest,
		Languages: br.Languages, Paragraphs: br.Paragraphs}
	seen := map[Ref]bool{}
	for _, x := range br.Disclosed {
		i, ok := h.index(x.Lang, x.Number)
		if !ok || seen[Ref{x.Lang, x.Number}] {
			return fail(fmt.Errorf("disclosure of %s paragraph %d names no paragraph, or repeats", x.Lang, x.Number))
		}
		seen[Ref{x.Lang, x.Number}] = true
		if err := checkParagraph(Paragraph{Text: x.Text, Salt: x.Salt}, "disclosed paragraph"); err != nil {
			return fail(err)
		}
		if err := check(x.Proof, i, paragraphLeaf(x.Salt, x.Lang, x.Number, x.Text)); err != nil {
			return fail(fmt.Errorf("%s paragraph %d is not the adopted text", x.Lang, x.Number))
		}
		r.Disclosed = append(r.Disclosed, Disclosed{Lang: x.Lang, Number: x.Number, Text: x.Text})
	}
	if err := checkSignatures(br.Parties, br.Signatures, d[:]); err != nil {
		return fail(err)
	}
	if r.Signers, err = checkPins(br.Parties, o); err != nil {
		return fail(err)
	}
	return r, nil
}

// Marshal returns the canonical encoding of br.
func (br *Briefing) Marshal() []byte { return canonical(br) }

// ParseBriefing reads a briefing in canonical form. It does not verify it.
func ParseBriefing(data []byte) (*Briefing, error) {
	var br Briefing
	if err := strictDecode(data, &br); err != nil {
		return nil, fmt.Errorf("failed to parse briefing: %w", err)
	}
	if br.Format != BriefingFormat {
		return nil, errors.New("failed to parse briefing: unknown format")
	}
	return &br, nil
}

// A Report says what a verified file proves.
type Report struct {
	Kind       string      `json:"kind"` // "outcome", "briefing" or "channel-briefing"
	Talks      string      `json:"talks"`
	Text       string      `json:"text"`
	Version    int         `json:"version"`
	Digest     string      `json:"digest"`
	Languages  []string    `json:"languages"`
	Titles     []string    `json:"titles,omitempty"`
	Paragraphs int         `json:"paragraphs"`
	Signers    []Signer    `json:"signers"`
	Disclosed  []Disclosed `json:"disclosed,omitempty"`
	// For a package of texts: its ID, title and documents.
	Package   string           `json:"package,omitempty"`
	Title     string           `json:"title,omitempty"`
	Documents []ReportDocument `json:"documents,omitempty"`
	// Evidence is what the venue's log proves, for a bundle with evidence
	// and a channel briefing.
	Evidence *EvidenceReport `json:"evidence,omitempty"`
	// Messages are the messages a channel briefing proves.
	Messages []DisclosedMessage `json:"messages,omitempty"`
}

// Disclosed is a paragraph a briefing proves.
type Disclosed struct {
	Lang   string `json:"lang"`
	Number int    `json:"number"`
	Text   string `json:"text"`
}

// String says in words what the report proves.
func (r *Report) String() string {
	var b strings.Builder
	switch r.Kind {
	case "channel-briefing":
		r.writeChannelBriefing(&b)
	case "outcome":
		fmt.Fprintf(&b, "VALID outcome: text %q (version %d) of %q, %d paragraphs in %d authentic languages (%s).\n",
			r.Text, r.Version, r.Talks, r.Paragraphs, len(r.Languages), strings.Join(r.Languages, ", "))
		for i, t := range r.Titles {
			fmt.Fprintf(&b, "  %s: %s\n", r.Languages[i], t)
		}
		fmt.Fprintf(&b, "Every language version is exactly the text whose digest %s was signed by:\n", r.Digest)
	case "outcome-package":
		fmt.Fprintf(&b, "VALID package of %d documents %q (%s) of %q, adopted together:\n", len(r.Documents), r.Title, r.Package, r.Talks)
		for i, d := range r.Documents {
			fmt.Fprintf(&b, "  %d. text %q (version %d), %d paragraphs in %d authentic languages (%s)\n",
				i+1, d.Text, d.Version, d.Paragraphs, len(d.Languages), strings.Join(d.Languages, ", "))
			for j, t := range d.Titles {
				fmt.Fprintf(&b, "     %s: %s\n", d.Languages[j], t)
			}
		}
		fmt.Fprintf(&b, "Every language version of every document is exactly the one whose digest %s was signed by:\n", r.Digest)
	case "briefing":
		fmt.Fprintf(&b, "VALID briefing on text %q (version %d) of %q, which has %d paragraphs in %s.\n",
			r.Text, r.Version, r.Talks, r.Paragraphs, strings.Join(r.Languages, ", "))
		fmt.Fprintf(&b, "It proves that these paragraphs are exactly as adopted, and discloses nothing else of the text:\n")
		for _, d := range r.Disclosed {
			what := fmt.Sprintf("paragraph %d", d.Number)
			if d.Number == 0 {
				what = "title"
			}
			fmt.Fprintf(&b, "  [%s] %s: %s\n", d.Lang, what, d.Text)
		}
		fmt.Fprintf(&b, "The adopted text, digest %s, was signed by:\n", r.Digest)
	}
	for _, s := range r.Signers {
		pin := "root key PINNED by you"
		if !s.Pinned {
			pin = "root key NOT pinned: compare the fingerprint with the one exchanged in person"
		}
		fmt.Fprintf(&b, "  %s (%s), %s, %s\n", s.Name, s.Party, s.Fingerprint, pin)
	}
	if r.Kind == "outcome" || r.Kind == "outcome-package" {
		r.Evidence.write(&b, r.Signers)
	}
	return b.String()
}

// Verify reads a bundle or a briefing, whichever data is, and verifies it.
func Verify(data []byte, o Options) (*Report, error) {
	var probe struct {
		Format string `json:"format"`
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("failed to read: file longer than %d bytes", MaxFileBytes)
	}
	if err := jsonUnmarshal(data, &probe); err != nil {
		return nil, errors.New("failed to read: not an outcome bundle or a briefing")
	}
	switch probe.Format {
	case BundleFormat, BundleFormatV1, PackageFormat:
		b, err := ParseBundle(data)
		if err != nil {
			return nil, err
		}
		return b.Verify(o)
	case BriefingFormat:
		br, err := ParseBriefing(data)
		if err != nil {
			return nil, err
		}
		return br.Verify(o)
	case ChannelBriefingFormat:
		cb, err := ParseChannelBriefing(data)
		if err != nil {
			return nil, err
		}
		return cb.Verify(o)
	}
	return nil, errors.New("failed to read: not an outcome bundle or a briefing")
}
