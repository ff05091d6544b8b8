package desk

import (
	"context"
	"fmt"
	"slices"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
)

// Concordance of the authentic language versions before adoption
// (negotiation.State.Concordance): language versions are submitted
// paragraph by paragraph, every party confirms each, and adoption takes
// the concordant ones.

// Translate submits the language versions langs of text textID of channel
// ch for concordance, one event per language: the title and every
// paragraph, in the text's order. It returns the events' log indexes.
func (d *Desk) Translate(ctx context.Context, ch, host, textID string, langs []negotiation.Language) ([]int64, error) {
	st, err := d.Talks(ctx, ch, host)
	if err != nil {
		return nil, err
	}
	t := st.Text(textID)
	if t == nil {
		return nil, fmt.Errorf("failed to submit a language version: no text %q in %s", textID, ch)
	}
	var payloads [][]byte
	for _, l := range langs {
		if len(l.Paragraphs) != len(t.Paragraphs) {
			return nil, fmt.Errorf("failed to submit the %s version: it has %d paragraphs, the text has %d", l.Lang, len(l.Paragraphs), len(t.Paragraphs))
		}
		paras := make([]negotiation.TranslatedParagraph, len(t.Paragraphs))
		for i, p := range t.Paragraphs {
			paras[i] = negotiation.TranslatedParagraph{Para: p.ID, Text: l.Paragraphs[i]}
		}
		payloads = append(payloads, negotiation.NewTranslation(textID, l.Lang, l.Title, paras))
	}
	var out []int64
	for _, p := range payloads {
		idx, err := d.SendEvent(ctx, ch, host, p)
		if err != nil {
			return out, err
		}
		out = append(out, idx)
	}
	return out, nil
}

// Concord confirms, for this desk's delegation, the concordance of the
// current wordings in lang of text textID: the title and every paragraph
// it has not confirmed yet, or only paras (paragraph IDs; "title" for the
// title). Wordings that render an older version of the original are
// refused: they must be updated first.
func (d *Desk) Concord(ctx context.Context, ch, host, textID, lang string, paras []string) (int64, []negotiation.PartVersion, error) {
	st, err := d.Talks(ctx, ch, host)
	if err != nil {
		return 0, nil, err
	}
	table := st.Concordance(textID)
	if table == nil {
		return 0, nil, fmt.Errorf("failed to confirm concordance: no text %q in %s", textID, ch)
	}
	col := slices.Index(table.Langs, lang)
	if col < 0 {
		return 0, nil, fmt.Errorf("failed to confirm concordance: text %q has no %s version (languages: %v)", textID, lang, table.Langs)
	}
	me := d.profile.Delegation
	want := map[string]bool{}
	for _, p := range paras {
		if p == "title" {
			p = ""
		}
		want[p] = true
	}
	var parts []negotiation.PartVersion
	for _, r := range table.Rows {
		if len(want) > 0 && !want[r.Para] {
			continue
		}
		delete(want, r.Para)
		c := r.Cells[col]
		name := fmt.Sprintf("paragraph %d", r.Number)
		if r.Para == "" {
			name = "the title"
		}
		switch {
		case c.Status == negotiation.ConcordanceMissing:
			if len(paras) > 0 {
				return 0, nil, fmt.Errorf("failed to confirm concordance: %s has no %s wording", name, lang)
			}
		case c.Status == negotiation.ConcordanceStale:
			return 0, nil, fmt.Errorf("failed to confirm concordance: the %s wording of %s renders an older version of the original; submit an updated wording first (desk translate)", lang, name)
		case slices.Contains(c.Confirmed, me):
			if len(paras) > 0 {
				return 0, nil, fmt.Errorf("failed to confirm concordance: %s already confirmed the %s wording of %s", me, lang, name)
			}
		default:
			parts = append(parts, negotiation.PartVersion{Para: r.Para, Version: c.Version})
		}
	}
	for p := range want {
		return 0, nil, fmt.Errorf("failed to confirm concordance: no paragraph %q in text %s", p, textID)
	}
	if len(parts) == 0 {
		return 0, nil, fmt.Errorf("failed to confirm concordance: %s has already confirmed every %s wording of %s", me, lang, textID)
	}
	idx, err := d.SendEvent(ctx, ch, host, negotiation.NewConcordance(textID, lang, parts))
	return idx, parts, err
}

// concordantLanguages returns the concordant language versions of t, for
// an adoption that names none.
func concordantLanguages(st *negotiation.State, t *negotiation.Text) []negotiation.Language {
	table := st.Concordance(t.ID)
	var out []negotiation.Language
	for _, lang := range table.Concordant {
		col := slices.Index(table.Langs, lang)
		l := negotiation.Language{Lang: lang}
		for _, r := range table.Rows {
			if r.Para == "" {
				l.Title = r.Cells[col].Text
			} else {
				l.Paragraphs = append(l.Paragraphs, r.Cells[col].Text)
			}
		}
		out = append(out, l)
	}
	return out
}

// ConcordantVersions returns the language versions codes of text textID,
// each of which must be concordant, for Adopt.
func (d *Desk) ConcordantVersions(ctx context.Context, ch, host, textID string, codes []string) ([]negotiation.Language, error) {
	st, err := d.Talks(ctx, ch, host)
	if err != nil {
		return nil, err
	}
	t := st.Text(textID)
	if t == nil {
		return nil, fmt.Errorf("no text %q in %s", textID, ch)
	}
	have := concordantLanguages(st, t)
	out := []negotiation.Language{} // not nil: nil would mean every concordant version
	for _, c := range codes {
		if c == t.Language {
			continue
		}
		i := slices.IndexFunc(have, func(l negotiation.Language) bool { return l.Lang == c })
		if i < 0 {
			return nil, fmt.Errorf("the %s version of %q is not concordant (or was never submitted): see desk concordance", c, textID)
		}
		out = append(out, have[i])
	}
	return out, nil
}

// AdoptPackage adopts texts of channel ch together as package id, under
// one digest: each text in its negotiated language and in the concordant
// language versions langs (all of them when langs is nil). Every text must
// be agreed by every party on every paragraph. It returns the log index of
// the adoption and the unsigned package bundle.
func (d *Desk) AdoptPackage(ctx context.Context, ch, host, id, title string, texts, langs []string) (int64, *outcome.Bundle, error) {
	st, err := d.OutcomeTalks(ctx, ch, host)
	if err != nil {
		return 0, nil, err
	}
	var docs []negotiation.PackageText
	for _, textID := range texts {
		t := st.Text(textID)
		if t == nil {
			return 0, nil, fmt.Errorf("failed to adopt the package: no text %q in %s", textID, ch)
		}
		if t.Package.Status != negotiation.PackageAgreed {
			return 0, nil, fmt.Errorf("failed to adopt the package: text %q is not agreed by every party on every paragraph, so nothing of the package is", textID)
		}
		versions := concordantLanguages(st, t)
		if langs != nil {
			var pick []negotiation.Language
			for _, code := range langs {
				if code == t.Language {
					continue
				}
				i := slices.IndexFunc(versions, func(l negotiation.Language) bool { return l.Lang == code })
				if i < 0 {
					return 0, nil, fmt.Errorf("failed to adopt the package: the %s version of %q is not concordant (desk concordance)", code, textID)
				}
				pick = append(pick, versions[i])
			}
			versions = pick
		}
		own := negotiation.Language{Lang: t.Language, Title: t.Title}
		for _, p := range t.Paragraphs {
			s, _ := negotiation.PlainText(p.Segments)
			own.Paragraphs = append(own.Paragraphs, s)
		}
		docs = append(docs, negotiation.PackageText{Text: t.ID, Version: t.Version, Languages: append([]negotiation.Language{own}, versions...)})
	}
	payload, b, err := outcome.PreparePackageAdoption(st, id, title, docs)
	if err != nil {
		return 0, nil, err
	}
	idx, err := d.SendEvent(ctx, ch, host, payload)
	if err != nil {
		return 0, nil, err
	}
	return idx, b, nil
}
