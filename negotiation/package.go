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

func (s *State) textPackage(t *Text) PackageView {
	v := PackageView{
		Paragraphs:   len(t.Paragraphs),
		Agreed:       make([]ParaKey, 0, len(t.Paragraphs)),
		AdReferendum: []ParaKey{},
		Blocks:       make([]Block, 0, len(t.Package.Blocks)+2),
	}
	for _, p := range t.Paragraphs {
		var st ParaStatus
		st, v.Blocks = s.paraStatus(t, p, v.Blocks)
		p.Status = st
		key := ParaKey{Text: t.ID, Para: p.ID, Number: p.Number}
		switch st {
		case ParaAgreed:
			v.Agreed = append(v.Agreed, key)
		case ParaAgreedAdReferendum:
			v.AdReferendum = append(v.AdReferendum, key)
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
		return texts[0].Package // shares the slices; they are never modified in place
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
