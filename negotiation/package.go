package negotiation

import "sort"

// refresh recomputes the paragraph statuses and package view of t, of its
// agenda item and of the whole agenda.
func (s *State) refresh(t *Text) {
	t.Package = s.textPackage(t)
	if t.Item != "" {
		if it := s.index().items[t.Item]; it != nil {
			var texts []*Text
			for _, x := range s.Texts {
				if x.Item == it.ID {
					texts = append(texts, x)
				}
			}
			it.Package = combine(texts)
		}
	}
	s.Package = combine(s.Texts)
}

// paraStatus computes a paragraph's status and appends the blocks standing
// in its way to blocks.
func (s *State) paraStatus(t *Text, p *Paragraph, blocks []Block) (ParaStatus, []Block) {
	key := ParaKey{Text: t.ID, Para: p.ID, Number: p.Number}
	objected, reserved, missing, adRef := false, false, false, false
	j := 0
	for _, party := range s.Config.Parties { // both sorted by party ID
		for j < len(p.Positions) && p.Positions[j].Party < party.ID {
			j++
		}
		if j == len(p.Positions) || p.Positions[j].Party != party.ID {
			missing = true
			blocks = append(blocks, Block{ParaKey: key, Party: party.ID, Reason: "no position"})
			continue
		}
		switch p.Positions[j].Stance {
		case Object:
			objected = true
			blocks = append(blocks, Block{ParaKey: key, Party: party.ID, Reason: "object"})
		case Reserve:
			reserved = true
			blocks = append(blocks, Block{ParaKey: key, Party: party.ID, Reason: "reserve"})
		case AgreeAdReferendum:
			adRef = true
		}
	}
	brackets := HasBrackets(p.Segments)
	if brackets {
		bp := bracketParties(p.Segments, map[string]bool{}, nil)
		sort.Strings(bp)
		for _, party := range bp {
			blocks = append(blocks, Block{ParaKey: key, Party: party, Reason: "brackets"})
		}
	}
	switch {
	case objected:
		return ParaObjected, blocks
	case reserved:
		return ParaReserved, blocks
	case brackets:
		return ParaBracketed, blocks
	case missing:
		return ParaOpen, blocks
	case adRef:
		return ParaAgreedAdReferendum, blocks
	}
	return ParaAgreed, blocks
}

// statusKey identifies what a paragraph's status depends on: its wording
// (version), its positions (history length) and its number.
type statusKey struct{ version, history, number int }

// textPackage recomputes the statuses of the paragraphs of t whose wording,
// positions or number changed, and assembles the package of t. It reuses
// the slices of the previous package: State is not safe for reading while
// Apply runs.
func (s *State) textPackage(t *Text) PackageView {
	v := PackageView{
		Paragraphs:   len(t.Paragraphs),
		Agreed:       t.Package.Agreed[:0],
		AdReferendum: t.Package.AdReferendum[:0],
		Blocks:       t.Package.Blocks[:0],
	}
	if v.Agreed == nil {
		v.Agreed, v.AdReferendum, v.Blocks = []ParaKey{}, []ParaKey{}, []Block{}
	}
	for _, p := range t.Paragraphs {
		key := statusKey{p.Version, len(p.History), p.Number}
		if p.statusFor != key || p.blocks == nil {
			p.Status, p.blocks = s.paraStatus(t, p, []Block{})
			p.statusFor = key
		}
		v.Blocks = append(v.Blocks, p.blocks...)
		pk := ParaKey{Text: t.ID, Para: p.ID, Number: p.Number}
		switch p.Status {
		case ParaAgreed:
			v.Agreed = append(v.Agreed, pk)
		case ParaAgreedAdReferendum:
			v.AdReferendum = append(v.AdReferendum, pk)
		}
	}
	v.Status = status(v)
	return v
}

func status(v PackageView) PackageStatus {
	switch {
	case v.Paragraphs == 0:
		return PackageEmpty
	case len(v.Agreed) == v.Paragraphs:
		return PackageAgreed
	case len(v.Agreed)+len(v.AdReferendum) == v.Paragraphs:
		return PackageAgreedAdReferendum
	}
	return PackageOpen
}

// combine joins the packages of texts: a package is agreed only when every
// paragraph of every text in it is.
func combine(texts []*Text) PackageView {
	if len(texts) == 1 {
		return texts[0].Package // shares the slices, rebuilt with the text's
	}
	v := emptyPackage()
	for _, t := range texts {
		v.Paragraphs += t.Package.Paragraphs
		v.Agreed = append(v.Agreed, t.Package.Agreed...)
		v.AdReferendum = append(v.AdReferendum, t.Package.AdReferendum...)
		v.Blocks = append(v.Blocks, t.Package.Blocks...)
	}
	v.Status = status(v)
	return v
}

// Blocking returns the blocks of v that belong to party.
func (v PackageView) Blocking(party string) []Block {
	var out []Block
	for _, b := range v.Blocks {
		if b.Party == party {
			out = append(out, b)
		}
	}
	return out
}
