package negotiation

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// MaxChannelBytes bounds a channel name in an Event.
const MaxChannelBytes = 256

// Apply applies one event and returns what became of it (the same Record is
// appended to s.Log). Events must be applied in log order: within a
// channel, LogIndex must increase; an event that does not is rejected. An
// event that is unknown, malformed or not allowed is recorded with its
// payload and changes nothing else. Apply never panics on any input.
func (s *State) Apply(e Event) Record {
	rec := Record{
		Channel: e.Channel, LogIndex: e.LogIndex, Delegation: e.Delegation,
		Device: e.Device, Person: e.Person,
	}
	reject := func(res Result, reason string) Record {
		rec.Result = res
		rec.Reason = reason
		rec.Payload = append([]byte(nil), e.Payload...)
		s.Log = append(s.Log, rec)
		return rec
	}
	if len(e.Channel) > MaxChannelBytes || len(e.Delegation) > MaxChannelBytes ||
		len(e.Device) > MaxChannelBytes || len(e.Person) > MaxChannelBytes {
		rec.Channel, rec.Delegation, rec.Device, rec.Person = clip(e.Channel), clip(e.Delegation), clip(e.Device), clip(e.Person)
		return reject(ResultRejected, "sender or channel name too long")
	}
	if len(e.Payload) > MaxPayloadBytes {
		rec.Result, rec.Reason = ResultMalformed, fmt.Sprintf("payload longer than %d bytes", MaxPayloadBytes)
		s.Log = append(s.Log, rec) // too long to keep
		return rec
	}
	i := sort.Search(len(s.Cursors), func(i int) bool { return s.Cursors[i].Channel >= e.Channel })
	if i < len(s.Cursors) && s.Cursors[i].Channel == e.Channel {
		if e.LogIndex <= s.Cursors[i].LogIndex {
			return reject(ResultRejected, fmt.Sprintf("out of log order: index %d after %d", e.LogIndex, s.Cursors[i].LogIndex))
		}
		s.Cursors[i].LogIndex = e.LogIndex
	} else {
		s.Cursors = append(s.Cursors, Cursor{})
		copy(s.Cursors[i+1:], s.Cursors[i:])
		s.Cursors[i] = Cursor{Channel: e.Channel, LogIndex: e.LogIndex}
	}
	typ, v, err := decodePayload(e.Payload)
	rec.Type = typ
	if err != nil {
		if errors.Is(err, errUnknown) {
			return reject(ResultUnknown, err.Error())
		}
		return reject(ResultMalformed, err.Error())
	}
	ref, err := s.apply(e, v)
	if err != nil {
		return reject(ResultRejected, err.Error())
	}
	rec.Result = ResultApplied
	rec.Ref = ref
	s.Log = append(s.Log, rec)
	return rec
}

func clip(s string) string {
	if len(s) > MaxChannelBytes {
		return s[:MaxChannelBytes]
	}
	return s
}

// ApplyAll applies events in order.
func (s *State) ApplyAll(events []Event) {
	for _, e := range events {
		s.Apply(e)
	}
}

// Replay returns the state computed from cfg and events.
func Replay(cfg Config, events []Event) (*State, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s.ApplyAll(events)
	return s, nil
}

// sender describes who sent an event.
type sender struct {
	party  *Party // nil unless a party
	host   bool
	person string
}

func (s *State) sender(e Event) sender {
	return sender{
		party:  s.index().parties[e.Delegation],
		host:   s.Config.Host != "" && e.Delegation == s.Config.Host,
		person: e.Person,
	}
}

var (
	errNotParty        = errors.New("only a party to the talks may do this")
	errNotPartyOrHost  = errors.New("only a party or the host may do this")
	errNoSuchText      = errors.New("no such text")
	errNoSuchProposal  = errors.New("no such proposal")
	errNoSuchParagraph = errors.New("no such paragraph")
)

// apply checks an event completely and only then changes the state: an
// error means nothing changed.
func (s *State) apply(e Event, v any) (string, error) {
	who := s.sender(e)
	switch p := v.(type) {
	case *addItemPayload:
		return s.addItem(who, p)
	case *itemStatusPayload:
		return s.itemStatus(who, p)
	case *tableTextPayload:
		return s.tableText(e, who, p)
	case *proposePayload:
		return s.propose(e, who, p)
	case *respondPayload:
		return s.respond(e, who, p)
	case *withdrawPayload:
		return s.withdraw(who, p)
	case *positionPayload:
		return s.position(e, who, p)
	case *readyPayload:
		return s.ready(e, who, p)
	case *statementPayload:
		return s.statement(e, who, p)
	case *adoptPayload:
		return s.adopt(e, who, p)
	case *signPayload:
		return s.sign(e, who, p)
	case *translatePayload:
		return s.translate(e, who, p)
	case *concordPayload:
		return s.concord(e, who, p)
	case *adoptPackagePayload:
		return s.adoptPackage(e, who, p)
	case *referPayload:
		return s.refer(e, who, p)
	case *takeUpPayload:
		return s.takeUp(e, who, p)
	case *reopenPayload:
		return s.reopen(e, who, p)
	}
	panic("negotiation: internal error: unhandled payload")
}

func (s *State) addItem(who sender, p *addItemPayload) (string, error) {
	if who.party == nil && !who.host {
		return "", errNotPartyOrHost
	}
	x := s.index()
	if err := checkID(p.Item, 64); err != nil {
		return "", fmt.Errorf("bad item: %w", err)
	}
	if x.items[p.Item] != nil {
		return "", fmt.Errorf("item %q exists", p.Item)
	}
	if err := checkString("title", p.Title, MaxTitleBytes, false, true); err != nil {
		return "", err
	}
	if p.Parent != "" && x.items[p.Parent] == nil {
		return "", fmt.Errorf("no such parent item %q", p.Parent)
	}
	if len(s.Agenda) >= 1000 {
		return "", errors.New("agenda is full")
	}
	by := ""
	if who.party != nil {
		by = who.party.ID
	} else {
		by = s.Config.Host
	}
	it := &Item{ID: p.Item, Title: p.Title, Parent: p.Parent, Status: ItemOpen, AddedBy: by, Package: emptyPackage()}
	s.Agenda = append(s.Agenda, it)
	x.items[it.ID] = it
	return it.ID, nil
}

func (s *State) itemStatus(who sender, p *itemStatusPayload) (string, error) {
	if who.party == nil && !who.host {
		return "", errNotPartyOrHost
	}
	it := s.index().items[p.Item]
	if it == nil {
		return "", fmt.Errorf("no such item %q", p.Item)
	}
	switch p.Status {
	case ItemOpen, ItemDeferred, ItemClosed:
	default:
		return "", fmt.Errorf("unknown item status %q", p.Status)
	}
	if it.Status == p.Status {
		return "", fmt.Errorf("item %q is already %s", p.Item, p.Status)
	}
	it.Status = p.Status
	return it.ID, nil
}

func (s *State) hasLevel(l Level) bool {
	for _, x := range s.Config.Levels {
		if x == l {
			return true
		}
	}
	return false
}

// checkLang accepts a simple BCP 47 language tag: a primary subtag of 2
// or 3 lower-case letters, then subtags of 1 to 8 letters or digits, each
// after a '-' ("en", "fr", "ru", "sr-Latn", "pt-BR").
func checkLang(l string) error {
	if len(l) > 35 {
		return fmt.Errorf("bad language tag %q", l)
	}
	for i, sub := range strings.Split(l, "-") {
		ok := len(sub) >= 1 && len(sub) <= 8
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			lower := c >= 'a' && c <= 'z'
			if i == 0 && !lower || i > 0 && !(lower || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				ok = false
			}
		}
		if !ok || i == 0 && (len(sub) < 2 || len(sub) > 3) {
			return fmt.Errorf("bad language tag %q", l)
		}
	}
	return nil
}

// parseParagraph parses notation, attributes unattributed brackets to
// party and checks that attributions name parties.
func (s *State) parseParagraph(notation, party string) ([]Segment, string, error) {
	segs, err := ParseNotation(notation)
	if err != nil {
		return nil, "", err
	}
	attribute(segs, party)
	x := s.index()
	if err := attributions(segs, func(p string) error {
		if x.parties[p] == nil {
			return fmt.Errorf("bracket attributed to %q, not a party", p)
		}
		return nil
	}); err != nil {
		return nil, "", err
	}
	return segs, RenderNotation(segs), nil
}

func (s *State) tableText(e Event, who sender, p *tableTextPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	x := s.index()
	if err := checkID(p.ID, 64); err != nil {
		return "", fmt.Errorf("bad text: %w", err)
	}
	if x.texts[p.ID] != nil {
		return "", fmt.Errorf("text %q exists", p.ID)
	}
	if err := checkString("title", p.Title, MaxTitleBytes, false, true); err != nil {
		return "", err
	}
	if p.Item != "" && x.items[p.Item] == nil {
		return "", fmt.Errorf("no such item %q", p.Item)
	}
	if !s.hasLevel(p.Level) {
		return "", fmt.Errorf("unknown level %q", p.Level)
	}
	if err := checkLang(p.Language); err != nil {
		return "", err
	}
	if len(p.Paragraphs) == 0 || len(p.Paragraphs) > MaxParagraphs {
		return "", fmt.Errorf("a text needs 1 to %d paragraphs", MaxParagraphs)
	}
	if len(s.Texts) >= 1000 {
		return "", errors.New("too many texts")
	}
	t := &Text{
		ID: p.ID, Title: p.Title, Item: p.Item, Level: p.Level, Language: p.Language,
		TabledBy: who.party.ID, Status: TextNegotiating, Removed: []*Paragraph{},
	}
	for i, n := range p.Paragraphs {
		segs, text, err := s.parseParagraph(n, who.party.ID)
		if err != nil {
			return "", fmt.Errorf("paragraph %d: %w", i+1, err)
		}
		t.Paragraphs = append(t.Paragraphs, t.newParagraph(segs, text, who.party.ID, "", e.LogIndex))
	}
	t.bump(e, "")
	s.Texts = append(s.Texts, t)
	x.texts[t.ID] = t
	s.refresh(t)
	return t.ID, nil
}

func (t *Text) newParagraph(segs []Segment, text, by, proposal string, at uint64) *Paragraph {
	t.nextPara++
	return &Paragraph{
		ID: "p" + strconv.Itoa(t.nextPara), Version: 1, Text: text, Segments: segs, TabledBy: by,
		Positions: []Position{}, History: []PositionChange{},
		Wordings: []Wording{{Version: 1, Text: text, By: by, Proposal: proposal, LogIndex: at}},
	}
}

// bump records a new text version after a change.
func (t *Text) bump(e Event, proposal string) {
	t.Version++
	refs := make([]ParaRef, len(t.Paragraphs))
	for i, p := range t.Paragraphs {
		p.Number = i + 1
		refs[i] = ParaRef{ID: p.ID, Version: p.Version}
	}
	t.Versions = append(t.Versions, TextVersion{
		Version: t.Version, Channel: e.Channel, LogIndex: e.LogIndex, Proposal: proposal, Paragraphs: refs,
	})
}

// plan is the checked effect of an amendment.
type plan struct {
	para  *Paragraph // the paragraph changed, moved or deleted
	segs  []Segment  // new wording (replace...remove_brackets, add_paragraph)
	text  string
	after int // index in t.Paragraphs after which to place (-1: first)
}

func (t *Text) paraIndex(id string) int {
	for i, p := range t.Paragraphs {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// isParaOp reports whether op edits the wording of an existing paragraph.
func isParaOp(op Op) bool {
	switch op {
	case OpReplace, OpInsert, OpDelete, OpAddAlternative, OpRemoveBrackets, OpDeleteParagraph:
		return true
	}
	return false
}

// plan checks amendment a by party against the current text.
func (s *State) plan(t *Text, a Amendment, party string) (plan, error) {
	var pl plan
	if len(a.Path) > MaxPathLen {
		return pl, errors.New("path too long")
	}
	switch a.Op {
	case OpAddParagraph:
		if len(t.Paragraphs) >= MaxParagraphs {
			return pl, errors.New("text has too many paragraphs")
		}
		if a.Para != "" || a.Base != 0 || len(a.Path) != 0 || a.Option != 0 {
			return pl, errors.New("add_paragraph takes only notation and after")
		}
		pl.after = -1
		if a.After != "" {
			if pl.after = t.paraIndex(a.After); pl.after < 0 {
				return pl, fmt.Errorf("%w %q to add after", errNoSuchParagraph, a.After)
			}
		}
		segs, text, err := s.parseParagraph(a.Notation, party)
		if err != nil {
			return pl, err
		}
		pl.segs, pl.text = segs, text
		return pl, nil
	case OpMoveParagraph:
		if a.Base != 0 || len(a.Path) != 0 || a.Option != 0 || a.Notation != "" {
			return pl, errors.New("move_paragraph takes only para and after")
		}
		i := t.paraIndex(a.Para)
		if i < 0 {
			return pl, fmt.Errorf("%w %q", errNoSuchParagraph, a.Para)
		}
		pl.para = t.Paragraphs[i]
		pl.after = -1
		if a.After != "" {
			if pl.after = t.paraIndex(a.After); pl.after < 0 || a.After == a.Para {
				return pl, fmt.Errorf("%w %q to move after", errNoSuchParagraph, a.After)
			}
		}
		// Position after removal of the moved paragraph.
		target := pl.after + 1
		if pl.after >= i {
			target--
		}
		if target == i {
			return pl, errors.New("amendment changes nothing")
		}
		return pl, nil
	}
	if !isParaOp(a.Op) {
		return pl, fmt.Errorf("unknown amendment %q", a.Op)
	}
	if a.After != "" {
		return pl, fmt.Errorf("%s takes no after", a.Op)
	}
	i := t.paraIndex(a.Para)
	if i < 0 {
		return pl, fmt.Errorf("%w %q", errNoSuchParagraph, a.Para)
	}
	para := t.Paragraphs[i]
	pl.para = para
	if a.Base != para.Version {
		return pl, fmt.Errorf("stale: paragraph %s is at version %d, not %d", para.ID, para.Version, a.Base)
	}
	if a.Op == OpDeleteParagraph {
		if len(a.Path) != 0 || a.Notation != "" || a.Option != 0 {
			return pl, errors.New("delete_paragraph takes only para and base")
		}
		if len(t.Paragraphs) == 1 {
			return pl, errors.New("cannot delete the only paragraph")
		}
		return pl, nil
	}
	segs := cloneSegments(para.Segments)
	if err := edit(&segs, a, party); err != nil {
		return pl, err
	}
	text := RenderNotation(segs)
	segs, err := ParseNotation(text) // canonical form
	if err != nil {
		return pl, fmt.Errorf("amendment yields invalid text: %w", err)
	}
	if text == para.Text {
		return pl, errors.New("amendment changes nothing")
	}
	if err := attributions(segs, func(p string) error {
		if s.index().parties[p] == nil {
			return fmt.Errorf("bracket attributed to %q, not a party", p)
		}
		return nil
	}); err != nil {
		return pl, err
	}
	pl.segs, pl.text = segs, text
	return pl, nil
}

// edit applies a paragraph-level amendment to segs.
func edit(segs *[]Segment, a Amendment, party string) error {
	parsed := func() ([]Segment, error) {
		parse := ParseNotation
		if (a.Op == OpInsert || a.Op == OpReplace) && len(a.Path) > 0 {
			parse = ParseFragment // a piece of the paragraph, spaces and all
		}
		n, err := parse(a.Notation)
		if err != nil {
			return nil, err
		}
		attribute(n, party)
		return n, nil
	}
	if a.Op == OpReplace && len(a.Path) == 0 {
		if a.Option != 0 {
			return errors.New("replace takes no option")
		}
		n, err := parsed()
		if err != nil {
			return err
		}
		*segs = n
		return nil
	}
	if len(a.Path)%2 != 1 {
		return errors.New("path must have an odd number of elements: segment, option, segment, ...")
	}
	list, k, err := locate(segs, a.Path)
	if err != nil {
		return err
	}
	n := len(*list)
	if a.Op == OpInsert {
		if k > n {
			return errors.New("path out of range")
		}
	} else if k >= n {
		return errors.New("path out of range")
	}
	if a.Op != OpRemoveBrackets && a.Option != 0 {
		return fmt.Errorf("%s takes no option", a.Op)
	}
	if (a.Op == OpDelete || a.Op == OpRemoveBrackets) && a.Notation != "" {
		return fmt.Errorf("%s takes no notation", a.Op)
	}
	switch a.Op {
	case OpReplace, OpInsert:
		ns, err := parsed()
		if err != nil {
			return err
		}
		del := 1
		if a.Op == OpInsert {
			del = 0
		}
		*list = splice(*list, k, del, ns)
	case OpDelete:
		if n == 1 {
			if len(a.Path) == 1 {
				return errors.New("would empty the paragraph; delete the paragraph instead")
			}
			return errors.New("would leave an empty bracket; delete the bracket instead")
		}
		*list = splice(*list, k, 1, nil)
	case OpAddAlternative:
		g := &(*list)[k]
		if !g.IsGroup() {
			return errors.New("path does not name a bracketed group")
		}
		if len(g.Options) >= MaxAlternatives {
			return fmt.Errorf("group already has %d alternatives", MaxAlternatives)
		}
		ns, err := parsed()
		if err != nil {
			return err
		}
		g.Options = append(g.Options, Option{Party: party, Segments: ns})
	case OpRemoveBrackets:
		g := (*list)[k]
		if !g.IsGroup() {
			return errors.New("path does not name a bracketed group")
		}
		if a.Option < 0 || a.Option >= len(g.Options) {
			return errors.New("no such option")
		}
		*list = splice(*list, k, 1, cloneSegments(g.Options[a.Option].Segments))
	}
	return nil
}

// locate follows path and returns the list holding the addressed segment
// and its index there (which may equal the list's length).
func locate(segs *[]Segment, path []int) (*[]Segment, int, error) {
	for {
		k := path[0]
		if k < 0 || k > len(*segs) {
			return nil, 0, errors.New("path out of range")
		}
		if len(path) == 1 {
			return segs, k, nil
		}
		if k == len(*segs) || !(*segs)[k].IsGroup() {
			return nil, 0, errors.New("path goes through a segment that is not a bracketed group")
		}
		o := path[1]
		opts := (*segs)[k].Options
		if o < 0 || o >= len(opts) {
			return nil, 0, errors.New("path names no such option")
		}
		segs = &opts[o].Segments
		path = path[2:]
	}
}

func splice(list []Segment, at, del int, ins []Segment) []Segment {
	out := make([]Segment, 0, len(list)-del+len(ins))
	out = append(out, list[:at]...)
	out = append(out, ins...)
	return append(out, list[at+del:]...)
}

// tabledAtOnce reports whether an amendment only puts the proposer's own
// bracketed material on the table, which needs nobody's consent: a new
// alternative, or a new paragraph entirely in brackets.
func tabledAtOnce(a Amendment, pl plan) bool {
	switch a.Op {
	case OpAddAlternative:
		return true
	case OpAddParagraph:
		return len(pl.segs) == 1 && len(pl.segs[0].Options) == 1
	}
	return false
}

func (s *State) propose(e Event, who sender, p *proposePayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	t := s.index().texts[p.Text]
	if t == nil {
		return "", fmt.Errorf("%w %q", errNoSuchText, p.Text)
	}
	if t.Status != TextNegotiating {
		return "", fmt.Errorf("text %q is %s and frozen", t.ID, t.Status)
	}
	if len(s.Proposals) >= 1<<20 {
		return "", errors.New("too many proposals")
	}
	pl, err := s.plan(t, p.Amendment, who.party.ID)
	if err != nil {
		return "", err
	}
	a := p.Amendment
	a.Path = append([]int(nil), a.Path...)
	if len(a.Path) == 0 {
		a.Path = nil
	}
	pr := &Proposal{
		ID: "A" + strconv.Itoa(len(s.Proposals)+1), Text: t.ID, Amendment: a, By: who.party.ID,
		Person: who.person, Channel: e.Channel, LogIndex: e.LogIndex, Status: ProposalOpen,
		Responses: []Reply{}, Preview: pl.text,
	}
	s.Proposals = append(s.Proposals, pr)
	s.index().proposals[pr.ID] = pr
	s.index().open[t.ID] = append(s.index().open[t.ID], pr)
	if tabledAtOnce(a, pl) {
		s.enact(e, t, pr, pl)
		pr.Status = ProposalTabled
	} else if s.allAccepted(pr) { // a single-party negotiation
		s.enact(e, t, pr, pl)
		pr.Status = ProposalAccepted
	}
	s.refresh(t)
	return pr.ID, nil
}

func (s *State) allAccepted(pr *Proposal) bool {
	for _, party := range s.Config.Parties {
		if party.ID == pr.By {
			continue
		}
		found := false
		for _, r := range pr.Responses {
			if r.Party == party.ID && r.Response != Decline {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// enact applies a checked plan to t.
func (s *State) enact(e Event, t *Text, pr *Proposal, pl plan) {
	a := pr.Amendment
	changed := ""
	switch a.Op {
	case OpAddParagraph:
		np := t.newParagraph(pl.segs, pl.text, pr.By, pr.ID, e.LogIndex)
		t.Paragraphs = insertPara(t.Paragraphs, pl.after+1, np)
	case OpMoveParagraph:
		i := t.paraIndex(pl.para.ID)
		target := pl.after + 1
		if pl.after >= i {
			target--
		}
		rest := append(append([]*Paragraph{}, t.Paragraphs[:i]...), t.Paragraphs[i+1:]...)
		t.Paragraphs = insertPara(rest, target, pl.para)
	case OpDeleteParagraph:
		i := t.paraIndex(pl.para.ID)
		pl.para.Deleted = true
		t.Paragraphs = append(append([]*Paragraph{}, t.Paragraphs[:i]...), t.Paragraphs[i+1:]...)
		t.Removed = append(t.Removed, pl.para)
		changed = pl.para.ID
	default:
		para := pl.para
		para.Version++
		para.Text, para.Segments = pl.text, pl.segs
		para.Wordings = append(para.Wordings, Wording{Version: para.Version, Text: pl.text, By: pr.By, Proposal: pr.ID, LogIndex: e.LogIndex})
		// A new wording voids the positions taken on the old one.
		for _, pos := range para.Positions {
			para.History = append(para.History, PositionChange{
				Position: Position{Party: pos.Party, Version: para.Version, LogIndex: e.LogIndex}, Reset: true,
			})
		}
		para.Positions = []Position{}
		changed = para.ID
	}
	t.bump(e, pr.ID)
	if changed == "" {
		return
	}
	// Concurrent proposals drafted against the old wording are stale:
	// log order decides, nothing is merged.
	for _, o := range s.openProposals(t.ID) {
		if o == pr || o.Status != ProposalOpen {
			continue
		}
		if (isParaOp(o.Amendment.Op) || o.Amendment.Op == OpMoveParagraph) && o.Amendment.Para == changed ||
			o.Amendment.After == changed && a.Op == OpDeleteParagraph {
			o.Status = ProposalStale
			o.Reason = fmt.Sprintf("paragraph %s was changed by %s first", changed, pr.ID)
		}
	}
}

// openProposals returns the proposals on text that were open when last
// looked at, dropping those that have closed since.
func (s *State) openProposals(text string) []*Proposal {
	x := s.index()
	list := x.open[text]
	kept := list[:0]
	for _, p := range list {
		if p.Status == ProposalOpen {
			kept = append(kept, p)
		}
	}
	clear(list[len(kept):])
	x.open[text] = kept
	return kept
}

func insertPara(list []*Paragraph, at int, p *Paragraph) []*Paragraph {
	out := make([]*Paragraph, 0, len(list)+1)
	out = append(out, list[:at]...)
	out = append(out, p)
	return append(out, list[at:]...)
}

func (s *State) respond(e Event, who sender, p *respondPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	pr := s.index().proposals[p.Proposal]
	if pr == nil {
		return "", fmt.Errorf("%w %q", errNoSuchProposal, p.Proposal)
	}
	if pr.Status != ProposalOpen {
		return "", fmt.Errorf("proposal %s is %s", pr.ID, pr.Status)
	}
	if pr.By == who.party.ID {
		return "", errors.New("the proposing party cannot answer its own proposal")
	}
	switch p.Response {
	case Accept, AcceptAdReferendum, Decline:
	default:
		return "", fmt.Errorf("unknown response %q", p.Response)
	}
	if err := checkString("note", p.Note, MaxNoteBytes, true, false); err != nil {
		return "", err
	}
	for _, r := range pr.Responses {
		if r.Party == who.party.ID {
			return "", fmt.Errorf("%s has already answered proposal %s", who.party.ID, pr.ID)
		}
	}
	t := s.index().texts[pr.Text]
	pr.Responses = insertReply(pr.Responses, Reply{Party: who.party.ID, Response: p.Response, Note: p.Note, Person: who.person, LogIndex: e.LogIndex})
	if p.Response == Decline {
		pr.Status = ProposalDeclined
		pr.Reason = "declined by " + who.party.ID
	} else if s.allAccepted(pr) {
		pl, err := s.plan(t, pr.Amendment, pr.By)
		if err != nil {
			pr.Status = ProposalStale
			pr.Reason = err.Error()
		} else {
			s.enact(e, t, pr, pl)
			pr.Status = ProposalAccepted
		}
	}
	s.refresh(t)
	return pr.ID, nil
}

func insertReply(rs []Reply, r Reply) []Reply {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Party >= r.Party })
	rs = append(rs, Reply{})
	copy(rs[i+1:], rs[i:])
	rs[i] = r
	return rs
}

func (s *State) withdraw(who sender, p *withdrawPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	pr := s.index().proposals[p.Proposal]
	if pr == nil {
		return "", fmt.Errorf("%w %q", errNoSuchProposal, p.Proposal)
	}
	if pr.By != who.party.ID {
		return "", errors.New("only the proposing party may withdraw a proposal")
	}
	if pr.Status != ProposalOpen {
		return "", fmt.Errorf("proposal %s is %s", pr.ID, pr.Status)
	}
	pr.Status = ProposalWithdrawn
	pr.Reason = "withdrawn by " + who.party.ID
	return pr.ID, nil
}

func (s *State) position(e Event, who sender, p *positionPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	t := s.index().texts[p.Text]
	if t == nil {
		return "", fmt.Errorf("%w %q", errNoSuchText, p.Text)
	}
	if t.Status != TextNegotiating {
		return "", fmt.Errorf("text %q is %s and frozen", t.ID, t.Status)
	}
	para := t.Paragraph(p.Para)
	if para == nil {
		return "", fmt.Errorf("%w %q", errNoSuchParagraph, p.Para)
	}
	if p.Version != para.Version {
		return "", fmt.Errorf("stale: paragraph %s is at version %d, not %d", para.ID, para.Version, p.Version)
	}
	switch p.Stance {
	case Agree, AgreeAdReferendum:
		if !slices.Contains(para.Stances(), p.Stance) {
			return "", fmt.Errorf("paragraph %s still has brackets; agree to a wording without them", para.ID)
		}
	case Reserve, Object:
	default:
		return "", fmt.Errorf("unknown stance %q (one of agree, agree_ad_referendum, reserve, object)", p.Stance)
	}
	if err := checkString("note", p.Note, MaxNoteBytes, true, false); err != nil {
		return "", err
	}
	pos := Position{Party: who.party.ID, Stance: p.Stance, Note: p.Note, Version: para.Version, Person: who.person, LogIndex: e.LogIndex}
	i := sort.Search(len(para.Positions), func(i int) bool { return para.Positions[i].Party >= pos.Party })
	if i < len(para.Positions) && para.Positions[i].Party == pos.Party {
		para.Positions[i] = pos
	} else {
		para.Positions = append(para.Positions, Position{})
		copy(para.Positions[i+1:], para.Positions[i:])
		para.Positions[i] = pos
	}
	para.History = append(para.History, PositionChange{Position: pos})
	s.refresh(t)
	return para.ID, nil
}

func (s *State) ready(e Event, who sender, p *readyPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	if who.party.Head != "" && who.person != who.party.Head {
		return "", fmt.Errorf("only the head of delegation of %s signals readiness", who.party.ID)
	}
	switch p.Scope {
	case ScopeText:
		if s.index().texts[p.ID] == nil {
			return "", fmt.Errorf("%w %q", errNoSuchText, p.ID)
		}
	case ScopeItem:
		if s.index().items[p.ID] == nil {
			return "", fmt.Errorf("no such item %q", p.ID)
		}
	default:
		return "", fmt.Errorf("unknown scope %q", p.Scope)
	}
	if !s.hasLevel(p.Level) {
		return "", fmt.Errorf("unknown level %q", p.Level)
	}
	if err := checkString("note", p.Note, MaxNoteBytes, true, false); err != nil {
		return "", err
	}
	var r *Readiness
	for _, x := range s.Readiness {
		if x.Scope == p.Scope && x.ID == p.ID && x.Level == p.Level {
			r = x
		}
	}
	if r != nil {
		for _, sig := range r.Signals {
			if sig.Party == who.party.ID {
				return "", fmt.Errorf("%s has already signalled readiness", who.party.ID)
			}
		}
	}
	if r == nil {
		r = &Readiness{Scope: p.Scope, ID: p.ID, Level: p.Level, Signals: []ReadySignal{}}
		s.Readiness = append(s.Readiness, r)
	}
	sig := ReadySignal{Party: who.party.ID, Person: who.person, Note: p.Note, LogIndex: e.LogIndex}
	i := sort.Search(len(r.Signals), func(i int) bool { return r.Signals[i].Party >= sig.Party })
	r.Signals = append(r.Signals, ReadySignal{})
	copy(r.Signals[i+1:], r.Signals[i:])
	r.Signals[i] = sig
	r.Ready = len(r.Signals) == len(s.Config.Parties)
	return string(p.Scope) + ":" + p.ID + "@" + string(p.Level), nil
}

func (s *State) statement(e Event, who sender, p *statementPayload) (string, error) {
	if who.party == nil && !who.host {
		return "", errNotPartyOrHost
	}
	x := s.index()
	if err := checkString("statement", p.Body, MaxBodyBytes, true, true); err != nil {
		return "", err
	}
	var parent *Statement
	if p.ReplyTo != "" {
		if parent = x.statements[p.ReplyTo]; parent == nil {
			return "", fmt.Errorf("no such statement %q to reply to", p.ReplyTo)
		}
	}
	if p.AboutPara != "" && p.AboutText == "" {
		return "", errors.New("about_para needs about_text")
	}
	if p.AboutText != "" {
		t := x.texts[p.AboutText]
		if t == nil {
			return "", fmt.Errorf("%w %q", errNoSuchText, p.AboutText)
		}
		if p.AboutPara != "" && t.Paragraph(p.AboutPara) == nil {
			return "", fmt.Errorf("%w %q", errNoSuchParagraph, p.AboutPara)
		}
	}
	if len(s.Statements) >= 1<<20 {
		return "", errors.New("too many statements")
	}
	st := &Statement{
		ID: "S" + strconv.Itoa(len(s.Statements)+1), Body: p.Body, ReplyTo: p.ReplyTo,
		AboutText: p.AboutText, AboutPara: p.AboutPara, Delegation: e.Delegation,
		Person: who.person, Channel: e.Channel, LogIndex: e.LogIndex, Replies: []string{},
	}
	s.Statements = append(s.Statements, st)
	x.statements[st.ID] = st
	if parent != nil {
		parent.Replies = append(parent.Replies, st.ID)
	}
	return st.ID, nil
}

func (s *State) adopt(e Event, who sender, p *adoptPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	t := s.index().texts[p.Text]
	if t == nil {
		return "", fmt.Errorf("%w %q", errNoSuchText, p.Text)
	}
	if t.Status != TextNegotiating {
		return "", fmt.Errorf("text %q is already %s", t.ID, t.Status)
	}
	if p.Version != t.Version {
		return "", fmt.Errorf("stale: text %s is at version %d, not %d", t.ID, t.Version, p.Version)
	}
	if t.Package.Status != PackageAgreed {
		return "", fmt.Errorf("text %s is not agreed by every party on every paragraph", t.ID)
	}
	if len(p.Seed) != 32 || len(p.Digest) != 32 {
		return "", errors.New("seed and digest must be 32 bytes each")
	}
	langs, err := s.adoptionLanguages(t, p.Languages)
	if err != nil {
		return "", err
	}
	t.Adoption = &Adoption{
		Version: t.Version, By: who.party.ID, LogIndex: e.LogIndex, Languages: langs,
		Seed: append([]byte(nil), p.Seed...), Digest: append([]byte(nil), p.Digest...), Signatures: []Signature{},
	}
	t.Status = TextAdopting
	for _, o := range s.openProposals(t.ID) {
		if o.Status == ProposalOpen {
			o.Status = ProposalStale
			o.Reason = "the text was frozen for adoption"
		}
	}
	return t.ID, nil
}

// adoptionLanguages checks the language versions of an adoption of t: the
// negotiated language in the agreed wording, every other one concordant.
func (s *State) adoptionLanguages(t *Text, in []Language) ([]Language, error) {
	if len(in) == 0 || len(in) > MaxLanguages {
		return nil, fmt.Errorf("adoption needs 1 to %d languages", MaxLanguages)
	}
	seen := map[string]bool{}
	negotiated := false
	langs := make([]Language, len(in))
	for i, l := range in {
		if err := checkLang(l.Lang); err != nil {
			return nil, err
		}
		if seen[l.Lang] {
			return nil, fmt.Errorf("language %q twice", l.Lang)
		}
		seen[l.Lang] = true
		if err := checkString("title", l.Title, MaxTitleBytes, false, true); err != nil {
			return nil, fmt.Errorf("%s: %w", l.Lang, err)
		}
		if len(l.Paragraphs) != len(t.Paragraphs) {
			return nil, fmt.Errorf("%s version has %d paragraphs, the text has %d", l.Lang, len(l.Paragraphs), len(t.Paragraphs))
		}
		for j, para := range l.Paragraphs {
			if err := checkString("paragraph", para, MaxParagraphBytes, false, true); err != nil {
				return nil, fmt.Errorf("%s paragraph %d: %w", l.Lang, j+1, err)
			}
		}
		if l.Lang == t.Language {
			negotiated = true
			for j, para := range t.Paragraphs {
				plain, _ := PlainText(para.Segments)
				if l.Paragraphs[j] != plain {
					return nil, fmt.Errorf("%s paragraph %d differs from the agreed wording", l.Lang, j+1)
				}
			}
		} else if err := s.checkConcordance(t, l); err != nil {
			return nil, err
		}
		langs[i] = Language{Lang: l.Lang, Title: l.Title, Paragraphs: append([]string(nil), l.Paragraphs...)}
	}
	if !negotiated {
		return nil, fmt.Errorf("adoption lacks the negotiated language %q", t.Language)
	}
	return langs, nil
}

// OutcomeSignatureContext prefixes the message a delegation's root key
// signs for an outcome: the signature is over context || digest, so that it
// cannot be mistaken for a signature of anything else.
const OutcomeSignatureContext = "goodoffices outcome signature v1\x00"

// OutcomeSigningMessage returns the message a root key signs for digest.
func OutcomeSigningMessage(digest []byte) []byte {
	return append([]byte(OutcomeSignatureContext), digest...)
}

func (s *State) sign(e Event, who sender, p *signPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	t := s.index().texts[p.Text]
	if t == nil {
		return "", fmt.Errorf("%w %q", errNoSuchText, p.Text)
	}
	if t.Status != TextAdopting {
		return "", fmt.Errorf("text %q is %s, not awaiting signatures", t.ID, t.Status)
	}
	ad := t.Adoption
	if string(p.Digest) != string(ad.Digest) {
		return "", errors.New("signature is for another digest")
	}
	if len(p.Signature) != ed25519.SignatureSize {
		return "", errors.New("signature is not 64 bytes")
	}
	for _, sg := range ad.Signatures {
		if sg.Party == who.party.ID {
			return "", fmt.Errorf("%s has already signed", who.party.ID)
		}
	}
	if len(who.party.RootKey) != ed25519.PublicKeySize {
		// Without the party's root key no signature can be checked, and an
		// unchecked signature must never count towards adoption.
		return "", fmt.Errorf("the root key of %s is not known: its signature cannot be verified", who.party.ID)
	}
	if !ed25519.Verify(ed25519.PublicKey(who.party.RootKey), OutcomeSigningMessage(ad.Digest), p.Signature) {
		return "", fmt.Errorf("signature is not by the root key of %s", who.party.ID)
	}
	sg := Signature{Party: who.party.ID, Signature: append([]byte(nil), p.Signature...), Person: who.person, LogIndex: e.LogIndex}
	// One signature covers every text of a package: they share the digest.
	for _, pt := range s.packageTexts(t) {
		ad := pt.Adoption
		i := sort.Search(len(ad.Signatures), func(i int) bool { return ad.Signatures[i].Party >= sg.Party })
		ad.Signatures = append(ad.Signatures, Signature{})
		copy(ad.Signatures[i+1:], ad.Signatures[i:])
		ad.Signatures[i] = sg
		if len(ad.Signatures) == len(s.Config.Parties) {
			pt.Status = TextAdopted
		}
	}
	if ad.Package != "" {
		return ad.Package, nil
	}
	return t.ID, nil
}
