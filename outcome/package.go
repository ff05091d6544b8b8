package outcome

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/negotiation"
)

// # Packages of texts (format goodoffices-outcome-package-v1)
//
// A package is several texts adopted together under one digest, each in
// its own authentic languages (negotiation.OutcomePackage). Its tree is
// built like a single text's (RFC 6962 hashing, salted leaves), with leaf
// 0 the package header and then, document by document and language by
// language, the title (number 0) and the paragraphs:
//
//	header    = "goodoffices outcome package header v1\x00" || str(talks) || str(package) ||
//	            str(title) || u32(#parties) || {str(id) || str(name) || str(root key)} ||
//	            u32(#documents) || {str(text) || u64(version) || u32(#languages) || {str(lang)} || u32(n)}
//	paragraph = "goodoffices outcome package paragraph v1\x00" || salt || str(text) || str(lang) ||
//	            u32(number) || str(paragraph)
//	digest    = SHA-256("goodoffices outcome package digest v1\x00" || u64(size) || root)
//
// with salt(i) for leaf i as for a single text. The contexts differ from a
// single text's, so a package digest is never the digest of a text and no
// leaf of one can pass for a leaf of the other.

const (
	packageHeaderContext    = "goodoffices outcome package header v1\x00"
	packageParagraphContext = "goodoffices outcome package paragraph v1\x00"
	packageDigestContext    = "goodoffices outcome package digest v1\x00"
)

// A Document is one text of a package, in its authentic languages.
type Document struct {
	Text      string     `json:"text"`
	Version   int        `json:"version"`
	Languages []Language `json:"languages"`
}

// A ReportDocument is a document of a verified package.
type ReportDocument struct {
	Text       string   `json:"text"`
	Version    int      `json:"version"`
	Paragraphs int      `json:"paragraphs"`
	Languages  []string `json:"languages"`
	Titles     []string `json:"titles"`
}

func newPackage(d Draft) (*Bundle, error) {
	b := &Bundle{
		Format: PackageFormat, Talks: d.Talks, Package: d.Package, Title: d.Title,
		Parties: append([]Party(nil), d.Parties...), Signatures: []Signature{},
	}
	sortParties(b.Parties)
	i := int64(1)
	for _, pt := range d.Documents {
		doc := Document{Text: pt.Text, Version: pt.Version}
		for _, l := range pt.Languages {
			ol := Language{Lang: l.Lang, Title: Paragraph{Text: l.Title, Salt: salt(d.Seed, i)}}
			i++
			for _, p := range l.Paragraphs {
				ol.Paragraphs = append(ol.Paragraphs, Paragraph{Text: p, Salt: salt(d.Seed, i)})
				i++
			}
			doc.Languages = append(doc.Languages, ol)
		}
		b.Documents = append(b.Documents, doc)
	}
	if err := b.checkPackageShape(); err != nil {
		return nil, fmt.Errorf("failed to make outcome package: %w", err)
	}
	dg, _, err := b.tree()
	if err != nil {
		return nil, fmt.Errorf("failed to make outcome package: %w", err)
	}
	b.Digest = hex.EncodeToString(dg[:])
	return b, nil
}

func (b *Bundle) packageLeaves() [][]byte {
	h := []byte(packageHeaderContext)
	h = appendStr(h, []byte(b.Talks))
	h = appendStr(h, []byte(b.Package))
	h = appendStr(h, []byte(b.Title))
	h = binary.BigEndian.AppendUint32(h, uint32(len(b.Parties)))
	for _, p := range b.Parties {
		h = appendStr(h, []byte(p.ID))
		h = appendStr(h, []byte(p.Name))
		h = appendStr(h, p.RootKey)
	}
	h = binary.BigEndian.AppendUint32(h, uint32(len(b.Documents)))
	for _, doc := range b.Documents {
		h = appendStr(h, []byte(doc.Text))
		h = binary.BigEndian.AppendUint64(h, uint64(doc.Version))
		h = binary.BigEndian.AppendUint32(h, uint32(len(doc.Languages)))
		for _, l := range doc.Languages {
			h = appendStr(h, []byte(l.Lang))
		}
		h = binary.BigEndian.AppendUint32(h, uint32(len(doc.Languages[0].Paragraphs)))
	}
	out := [][]byte{h}
	for _, doc := range b.Documents {
		for _, l := range doc.Languages {
			out = append(out, packageParagraphLeaf(l.Title.Salt, doc.Text, l.Lang, 0, l.Title.Text))
			for k, p := range l.Paragraphs {
				out = append(out, packageParagraphLeaf(p.Salt, doc.Text, l.Lang, k+1, p.Text))
			}
		}
	}
	return out
}

func packageParagraphLeaf(salt []byte, text, lang string, number int, para string) []byte {
	b := []byte(packageParagraphContext)
	b = append(b, salt...)
	b = appendStr(b, []byte(text))
	b = appendStr(b, []byte(lang))
	b = binary.BigEndian.AppendUint32(b, uint32(number))
	return appendStr(b, []byte(para))
}

func packageDigestOf(size int64, root tlog.Hash) [32]byte {
	b := []byte(packageDigestContext)
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	b = append(b, root[:]...)
	return sha256.Sum256(b)
}

// checkPackageShape checks the fields of a package bundle that do not need
// cryptography: the header's fields as for a single text, and each
// document's.
func (b *Bundle) checkPackageShape() error {
	if b.Format != PackageFormat || b.Package == "" || b.Text != "" || b.Version != 0 || b.Languages != nil {
		return errors.New("not a package bundle")
	}
	if err := checkText("package", b.Package, 64); err != nil {
		return err
	}
	if err := checkText("package title", b.Title, negotiation.MaxTitleBytes); err != nil {
		return err
	}
	if len(b.Documents) < 2 || len(b.Documents) > negotiation.MaxPackageTexts {
		return fmt.Errorf("a package holds 2 to %d documents", negotiation.MaxPackageTexts)
	}
	seen := map[string]bool{}
	for _, doc := range b.Documents {
		if seen[doc.Text] {
			return fmt.Errorf("document %q twice", doc.Text)
		}
		seen[doc.Text] = true
		if len(doc.Languages) == 0 {
			return fmt.Errorf("document %q has no language", doc.Text)
		}
		single := &Bundle{Talks: b.Talks, Text: doc.Text, Version: doc.Version, Parties: b.Parties, Languages: doc.Languages}
		if err := single.checkShape(); err != nil {
			return fmt.Errorf("document %s: %w", doc.Text, err)
		}
	}
	return nil
}

// PreparePackageAdoption is PrepareAdoption for a package: texts of s
// adopted together, each in its languages, under one digest. It returns the
// adopt_package payload and the unsigned package bundle.
func PreparePackageAdoption(s *negotiation.State, id, title string, texts []negotiation.PackageText) ([]byte, *Bundle, error) {
	seed, err := NewSeed()
	if err != nil {
		return nil, nil, err
	}
	d := Draft{Talks: s.Config.Talks, Package: id, Title: title, Documents: texts, Seed: seed}
	for _, p := range s.Config.Parties {
		d.Parties = append(d.Parties, Party{ID: p.ID, Name: p.Name, RootKey: p.RootKey})
	}
	b, err := New(d)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to prepare the package's adoption: %w", err)
	}
	digest, err := b.DigestBytes()
	if err != nil {
		return nil, nil, err
	}
	return negotiation.NewPackageAdoption(id, title, texts, seed, digest), b, nil
}

// SignText is the text a signature event names for b: b's text, or the
// first document of a package (a signature covers the whole package).
func (b *Bundle) SignText() string {
	if b.Package != "" && len(b.Documents) > 0 {
		return b.Documents[0].Text
	}
	return b.Text
}

func (b *Bundle) hasDocument(text string) bool {
	for _, d := range b.Documents {
		if d.Text == text {
			return true
		}
	}
	return false
}

// AllDocuments returns the documents b commits to: a package's, or b's one
// text.
func (b *Bundle) AllDocuments() []Document {
	if b.Package != "" {
		return b.Documents
	}
	return []Document{{Text: b.Text, Version: b.Version, Languages: b.Languages}}
}
