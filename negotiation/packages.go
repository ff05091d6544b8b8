package negotiation

import (
	"errors"
	"fmt"
)

// Packages of documents. Talks often end in several texts — a joint
// statement, a protocol, an annex — that stand or fall together: nothing
// is agreed until everything is agreed, across the package. An
// adopt_package event freezes several agreed texts at once, each in its
// own concordant authentic languages, under one outcome digest; each
// party's root key signs that digest once (a sign event naming any text of
// the package), and every text of the package is adopted when every party
// has signed.

// MaxPackageTexts bounds the documents of one package.
const MaxPackageTexts = 16

// An OutcomePackage is a package of texts adopted together.
type OutcomePackage struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Texts    []string `json:"texts"` // in the order of the adoption
	By       string   `json:"by"`
	LogIndex uint64   `json:"log_index"`
}

// A PackageText is one document of an adopt_package payload.
type PackageText struct {
	Text      string     `json:"text"`
	Version   int        `json:"version"`
	Languages []Language `json:"languages"`
}

type adoptPackagePayload struct {
	envelope
	Package string        `json:"package"`
	Title   string        `json:"title"`
	Texts   []PackageText `json:"texts"`
	Seed    []byte        `json:"seed"`
	Digest  []byte        `json:"digest"`
}

// NewPackageAdoption returns the payload that adopts texts as one package
// under one outcome digest (see package outcome).
func NewPackageAdoption(id, title string, texts []PackageText, seed, digest []byte) []byte {
	return marshal(adoptPackagePayload{envelope: env(TypeAdoptPackage), Package: id, Title: title, Texts: texts, Seed: seed, Digest: digest})
}

// OutcomePackage returns the package id, or nil.
func (s *State) OutcomePackage(id string) *OutcomePackage {
	for _, p := range s.Packages {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (s *State) adoptPackage(e Event, who sender, p *adoptPackagePayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	if err := checkID(p.Package, 64); err != nil {
		return "", fmt.Errorf("package: %w", err)
	}
	if s.OutcomePackage(p.Package) != nil || s.index().texts[p.Package] != nil {
		return "", fmt.Errorf("package %q exists already", p.Package)
	}
	if err := checkString("title", p.Title, MaxTitleBytes, false, true); err != nil {
		return "", err
	}
	if len(p.Texts) < 2 || len(p.Texts) > MaxPackageTexts {
		return "", fmt.Errorf("a package holds 2 to %d texts", MaxPackageTexts)
	}
	if len(p.Seed) != 32 || len(p.Digest) != 32 {
		return "", errors.New("seed and digest must be 32 bytes each")
	}
	texts := make([]*Text, len(p.Texts))
	langs := make([][]Language, len(p.Texts))
	seen := map[string]bool{}
	for i, pt := range p.Texts {
		t := s.index().texts[pt.Text]
		if t == nil {
			return "", fmt.Errorf("%w %q", errNoSuchText, pt.Text)
		}
		if seen[t.ID] {
			return "", fmt.Errorf("text %s twice in the package", t.ID)
		}
		seen[t.ID] = true
		if t.Status != TextNegotiating {
			return "", fmt.Errorf("text %q is already %s", t.ID, t.Status)
		}
		if pt.Version != t.Version {
			return "", fmt.Errorf("stale: text %s is at version %d, not %d", t.ID, t.Version, pt.Version)
		}
		// Nothing is agreed until everything is agreed: every text of
		// the package, on every paragraph, by every party.
		if t.Package.Status != PackageAgreed {
			return "", fmt.Errorf("text %s is not agreed by every party on every paragraph, so the package is not", t.ID)
		}
		l, err := s.adoptionLanguages(t, pt.Languages)
		if err != nil {
			return "", fmt.Errorf("text %s: %w", t.ID, err)
		}
		texts[i], langs[i] = t, l
	}
	pkg := &OutcomePackage{ID: p.Package, Title: p.Title, By: who.party.ID, LogIndex: e.LogIndex}
	for i, t := range texts {
		pkg.Texts = append(pkg.Texts, t.ID)
		t.Adoption = &Adoption{
			Version: t.Version, By: who.party.ID, LogIndex: e.LogIndex, Languages: langs[i], Package: p.Package,
			Seed: append([]byte(nil), p.Seed...), Digest: append([]byte(nil), p.Digest...), Signatures: []Signature{},
		}
		t.Status = TextAdopting
		for _, o := range s.openProposals(t.ID) {
			if o.Status == ProposalOpen {
				o.Status = ProposalStale
				o.Reason = "the text was frozen for adoption in package " + p.Package
			}
		}
	}
	s.Packages = append(s.Packages, pkg)
	return p.Package, nil
}

// packageTexts returns the texts that share t's adoption: t alone, or
// every text of its package.
func (s *State) packageTexts(t *Text) []*Text {
	if t.Adoption == nil || t.Adoption.Package == "" {
		return []*Text{t}
	}
	pkg := s.OutcomePackage(t.Adoption.Package)
	if pkg == nil {
		return []*Text{t}
	}
	out := make([]*Text, 0, len(pkg.Texts))
	for _, id := range pkg.Texts {
		out = append(out, s.index().texts[id])
	}
	return out
}
