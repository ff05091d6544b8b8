package negotiation

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// # Escalation across levels
//
// "Summits must be prepared at the expert level." A text goes up a level in
// two steps, one in each channel:
//
//  1. refer, in the lower channel: every party sends the same referral of
//     the text to a higher level — the text as it stands, each paragraph
//     with its wording, its status and every party's position (so an open
//     paragraph carries who blocks it and why). The engine applies a
//     referral only if it is exactly the text as it stands; when every
//     party has referred the same state, the text is frozen as "referred".
//     Because each party's own desk sends its referral only after checking
//     it against its own state, a referral that every party sent cannot
//     misstate any party's position.
//  2. take_up, in the higher channel: a party presents the evidence — the
//     parties' referral messages from the lower channel's log, each with
//     its inclusion proof in a checkpoint and the keys that open that
//     message alone (a channel briefing). The engine has the evidence
//     checked by the ReferralVerifier the desk gives it (signatures,
//     inclusion, certificates under the parties' root keys), then checks
//     that every party of this channel referred the same state, and tables
//     the text at the higher level with every party's positions carried
//     over: what the lower level agreed stays agreed, and open paragraphs
//     stay blocked by the same parties for the same reasons.
//
// reopen, in the higher channel: a party explicitly reopens a paragraph the
// lower level agreed; the carried positions are cleared, and the reopening
// is recorded with the party's reason.

// Event payload types of escalation.
const (
	TypeRefer  = "refer"
	TypeTakeUp = "take_up"
	TypeReopen = "reopen"
)

// TextReferred is the status of a text every party has referred to a
// higher level: frozen at this level.
const TextReferred TextStatus = "referred"

// MaxReferralEvidenceBytes bounds the evidence a take_up carries.
const MaxReferralEvidenceBytes = 192 << 10

// ReferredText is a text as it goes up a level: what every party's referral
// carries, byte for byte.
type ReferredText struct {
	Text       string              `json:"text"`
	Title      string              `json:"title"`
	From       Level               `json:"from"`
	To         Level               `json:"to"`
	Language   string              `json:"language"`
	Version    int                 `json:"version"` // the text version referred
	Paragraphs []ReferredParagraph `json:"paragraphs"`
}

// ReferredParagraph is one paragraph of a referred text with its status and
// the parties' positions on its current wording.
type ReferredParagraph struct {
	ID        string     `json:"id"`
	Number    int        `json:"number"`
	Version   int        `json:"version"`
	Text      string     `json:"text"` // bracket notation
	Status    ParaStatus `json:"status"`
	Positions []Position `json:"positions"` // sorted by party
	Blocks    []Block    `json:"blocks"`    // who stands in the way, and why
}

// Digest returns the SHA-256 of the canonical encoding of r.
func (r *ReferredText) Digest() []byte {
	h := sha256.Sum256(marshal(r))
	return h[:]
}

// A Referral collects the parties' referrals of one state of a text to one
// level, in the lower channel.
type Referral struct {
	ID       string        `json:"id"` // "R<n>"
	Text     string        `json:"text"`
	To       Level         `json:"to"`
	Version  int           `json:"version"`
	Digest   []byte        `json:"digest"`  // of the ReferredText
	Signals  []ReadySignal `json:"signals"` // one per party, sorted by party
	Complete bool          `json:"complete"`
}

// Origin records where a text taken up from a lower level came from.
type Origin struct {
	Channel  string      `json:"channel"` // the lower channel
	Text     string      `json:"text"`    // the text's ID there
	From     Level       `json:"from"`
	Version  int         `json:"version"`
	Digest   []byte      `json:"digest"`  // of the ReferredText
	Entries  []uint64    `json:"entries"` // the referral messages in the lower log
	By       string      `json:"by"`      // the party that took it up
	LogIndex uint64      `json:"log_index"`
	Agreed   []string    `json:"agreed"` // paragraphs carried as agreed (ad referendum included)
	Open     []string    `json:"open"`   // paragraphs carried open, with their blocks
	Reopened []Reopening `json:"reopened"`
}

// A Reopening is a party's explicit reopening of a paragraph the lower
// level agreed.
type Reopening struct {
	Para     string `json:"para"`
	Party    string `json:"party"`
	Person   string `json:"person"`
	Note     string `json:"note"`
	LogIndex uint64 `json:"log_index"`
}

// ReferralEvidence is what a ReferralVerifier proves: referral messages of a
// lower channel, each authenticated as sent by a person of a delegation.
type ReferralEvidence struct {
	Channel  string
	Messages []ReferralMessage
}

// A ReferralMessage is one proven message of a lower channel.
type ReferralMessage struct {
	LogIndex   uint64
	Delegation string
	Person     string
	Payload    []byte
}

// A ReferralVerifier checks the evidence of a take_up against the parties'
// root keys and returns the messages it proves. It must be deterministic:
// every desk of the channel must reach the same answer for the same input.
type ReferralVerifier func(evidence []byte, parties []Party) (*ReferralEvidence, error)

// SetReferralVerifier sets the verifier of take_up evidence. Without one,
// the engine rejects every take_up.
func (s *State) SetReferralVerifier(v ReferralVerifier) { s.verifyReferral = v }

type referPayload struct {
	envelope
	Referral ReferredText `json:"referral"`
}

type takeUpPayload struct {
	envelope
	Text     string `json:"text"` // the text's ID in this channel
	Evidence []byte `json:"evidence"`
}

type reopenPayload struct {
	envelope
	Text string `json:"text"`
	Para string `json:"para"`
	Note string `json:"note"`
}

// NewReferral returns the payload that refers a text to a higher level; r
// must be what State.ReferralOf returns for it.
func NewReferral(r ReferredText) []byte {
	return marshal(referPayload{env(TypeRefer), r})
}

// NewTakeUp returns the payload that takes up, as text id, a text referred
// from a lower channel, with the evidence of the parties' referrals.
func NewTakeUp(id string, evidence []byte) []byte {
	return marshal(takeUpPayload{env(TypeTakeUp), id, evidence})
}

// NewReopening returns the payload that reopens a paragraph carried as
// agreed from a lower level.
func NewReopening(text, para, note string) []byte {
	return marshal(reopenPayload{env(TypeReopen), text, para, note})
}

// levelRank returns the position of l in the configured levels (-1 if
// unknown).
func (s *State) levelRank(l Level) int { return slices.Index(s.Config.Levels, l) }

// ReferralOf returns the referral of text id to level to as the text stands
// now, or why it cannot be referred.
func (s *State) ReferralOf(id string, to Level) (*ReferredText, error) {
	t := s.index().texts[id]
	if t == nil {
		return nil, fmt.Errorf("%w %q", errNoSuchText, id)
	}
	if t.Status != TextNegotiating {
		return nil, fmt.Errorf("text %q is %s", t.ID, t.Status)
	}
	if s.levelRank(to) < 0 {
		return nil, fmt.Errorf("unknown level %q", to)
	}
	if s.levelRank(to) <= s.levelRank(t.Level) {
		return nil, fmt.Errorf("text %s is at the %s level; refer it to a higher one", t.ID, t.Level)
	}
	r := &ReferredText{Text: t.ID, Title: t.Title, From: t.Level, To: to, Language: t.Language, Version: t.Version,
		Paragraphs: []ReferredParagraph{}}
	for _, p := range t.Paragraphs {
		// Computed afresh: a decoded state has not cached the blocks.
		status, blocks := s.paraStatus(t, p, []Block{})
		rp := ReferredParagraph{ID: p.ID, Number: p.Number, Version: p.Version, Text: p.Text, Status: status,
			Positions: append([]Position{}, p.Positions...), Blocks: blocks}
		r.Paragraphs = append(r.Paragraphs, rp)
	}
	return r, nil
}

// Referral returns the referral with the given ID, or nil.
func (s *State) Referral(id string) *Referral {
	for _, r := range s.Referrals {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (s *State) refer(e Event, who sender, p *referPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	if who.party.Head != "" && who.person != who.party.Head {
		return "", fmt.Errorf("only the head of delegation of %s refers a text to another level", who.party.ID)
	}
	want, err := s.ReferralOf(p.Referral.Text, p.Referral.To)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(marshal(want), marshal(p.Referral)) {
		return "", fmt.Errorf("the referral is not text %s as it stands (version %d)", want.Text, want.Version)
	}
	digest := want.Digest()
	var r *Referral
	for _, x := range s.Referrals {
		if x.Text == want.Text && x.To == want.To && bytes.Equal(x.Digest, digest) {
			r = x
		}
	}
	if r != nil && slices.ContainsFunc(r.Signals, func(g ReadySignal) bool { return g.Party == who.party.ID }) {
		return "", fmt.Errorf("%s has already referred this text", who.party.ID)
	}
	if r == nil {
		if len(s.Referrals) >= 1000 {
			return "", errors.New("too many referrals")
		}
		r = &Referral{ID: "R" + strconv.Itoa(len(s.Referrals)+1), Text: want.Text, To: want.To, Version: want.Version,
			Digest: digest, Signals: []ReadySignal{}}
		s.Referrals = append(s.Referrals, r)
	}
	sig := ReadySignal{Party: who.party.ID, Person: who.person, LogIndex: e.LogIndex}
	i := sort.Search(len(r.Signals), func(i int) bool { return r.Signals[i].Party >= sig.Party })
	r.Signals = slices.Insert(r.Signals, i, sig)
	if len(r.Signals) == len(s.Config.Parties) {
		r.Complete = true
		t := s.index().texts[want.Text]
		t.Status = TextReferred
		t.ReferredTo = r.ID
		for _, o := range s.openProposals(t.ID) {
			if o.Status == ProposalOpen {
				o.Status = ProposalStale
				o.Reason = "the text was referred to the " + string(want.To) + " level"
			}
		}
	}
	return r.ID, nil
}

func (s *State) takeUp(e Event, who sender, p *takeUpPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	x := s.index()
	if err := checkID(p.Text, 64); err != nil {
		return "", fmt.Errorf("bad text: %w", err)
	}
	if x.texts[p.Text] != nil {
		return "", fmt.Errorf("text %q exists", p.Text)
	}
	if len(s.Texts) >= 1000 {
		return "", errors.New("too many texts")
	}
	if len(p.Evidence) == 0 || len(p.Evidence) > MaxReferralEvidenceBytes {
		return "", fmt.Errorf("the referral evidence must be 1 to %d bytes", MaxReferralEvidenceBytes)
	}
	if s.verifyReferral == nil {
		return "", errors.New("this desk cannot check referral evidence")
	}
	ev, err := s.verifyReferral(p.Evidence, s.Config.Parties)
	if err != nil {
		return "", fmt.Errorf("the referral evidence does not verify: %w", err)
	}
	if len(ev.Channel) > MaxChannelBytes || ev.Channel == e.Channel {
		return "", errors.New("the referral evidence is not of another channel")
	}
	// Every party of this channel, and no one else, referred the same state.
	var rt *ReferredText
	var entries []uint64
	seen := map[string]bool{}
	for _, m := range ev.Messages {
		if x.parties[m.Delegation] == nil || seen[m.Delegation] {
			continue // the host, an observer, or a party's second referral
		}
		typ, v, err := decodePayload(m.Payload)
		rp, ok := v.(*referPayload)
		if err != nil || typ != TypeRefer || !ok {
			return "", fmt.Errorf("entry %d of %s is not a referral", m.LogIndex, ev.Channel)
		}
		if rt != nil && !bytes.Equal(marshal(rt), marshal(rp.Referral)) {
			return "", fmt.Errorf("the parties referred different states of text %s", rp.Referral.Text)
		}
		rt = &rp.Referral
		seen[m.Delegation] = true
		entries = append(entries, m.LogIndex)
	}
	if rt == nil || len(seen) != len(s.Config.Parties) {
		var missing []string
		for _, pt := range s.Config.Parties {
			if !seen[pt.ID] {
				missing = append(missing, pt.ID)
			}
		}
		return "", fmt.Errorf("not every party referred the text: no referral from %v", missing)
	}
	slices.Sort(entries)
	if !s.hasLevel(rt.To) {
		return "", fmt.Errorf("unknown level %q", rt.To)
	}
	for _, t := range s.Texts {
		if o := t.Origin; o != nil && o.Channel == ev.Channel && bytes.Equal(o.Digest, rt.Digest()) {
			return "", fmt.Errorf("this referral was taken up already, as text %s", t.ID)
		}
	}
	if err := checkString("title", rt.Title, MaxTitleBytes, false, true); err != nil {
		return "", err
	}
	if err := checkLang(rt.Language); err != nil {
		return "", err
	}
	if len(rt.Paragraphs) == 0 || len(rt.Paragraphs) > MaxParagraphs {
		return "", fmt.Errorf("a text needs 1 to %d paragraphs", MaxParagraphs)
	}
	t := &Text{
		ID: p.Text, Title: rt.Title, Level: rt.To, Language: rt.Language,
		TabledBy: who.party.ID, Status: TextNegotiating, Removed: []*Paragraph{},
	}
	o := &Origin{Channel: ev.Channel, Text: rt.Text, From: rt.From, Version: rt.Version, Digest: rt.Digest(),
		Entries: entries, By: who.party.ID, LogIndex: e.LogIndex, Agreed: []string{}, Open: []string{}, Reopened: []Reopening{}}
	ids := map[string]bool{}
	for i, rp := range rt.Paragraphs {
		n := paraNumber(rp.ID)
		if n == 0 || ids[rp.ID] {
			return "", fmt.Errorf("paragraph %d: bad or repeated ID %q", i+1, rp.ID)
		}
		ids[rp.ID] = true
		t.nextPara = max(t.nextPara, n)
		segs, text, err := s.parseParagraph(rp.Text, who.party.ID)
		if err != nil {
			return "", fmt.Errorf("paragraph %s: %w", rp.ID, err)
		}
		para := &Paragraph{ID: rp.ID, Version: 1, Text: text, Segments: segs, TabledBy: who.party.ID,
			Positions: []Position{}, History: []PositionChange{},
			Wordings: []Wording{{Version: 1, Text: text, By: who.party.ID, LogIndex: e.LogIndex}}}
		for j, pos := range rp.Positions {
			if x.parties[pos.Party] == nil || j > 0 && pos.Party <= rp.Positions[j-1].Party {
				return "", fmt.Errorf("paragraph %s: positions not of the parties, or not sorted", rp.ID)
			}
			if (pos.Stance == Agree || pos.Stance == AgreeAdReferendum) && !slices.Contains(para.Stances(), pos.Stance) {
				return "", fmt.Errorf("paragraph %s: agreement carried on a bracketed wording", rp.ID)
			}
			c := Position{Party: pos.Party, Stance: pos.Stance, Note: pos.Note, Version: 1, Person: pos.Person,
				LogIndex: e.LogIndex, Carried: rt.From}
			para.Positions = append(para.Positions, c)
			para.History = append(para.History, PositionChange{Position: c})
		}
		t.Paragraphs = append(t.Paragraphs, para)
		switch rp.Status {
		case ParaAgreed, ParaAgreedAdReferendum:
			o.Agreed = append(o.Agreed, rp.ID)
		default:
			o.Open = append(o.Open, rp.ID)
		}
	}
	t.Origin = o
	t.bump(e, "")
	s.Texts = append(s.Texts, t)
	x.texts[t.ID] = t
	s.refresh(t)
	return t.ID, nil
}

func (s *State) reopen(e Event, who sender, p *reopenPayload) (string, error) {
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
	if t.Origin == nil {
		return "", fmt.Errorf("text %s was not taken up from a lower level", t.ID)
	}
	para := t.Paragraph(p.Para)
	if para == nil {
		return "", fmt.Errorf("%w %q", errNoSuchParagraph, p.Para)
	}
	if !slices.Contains(t.Origin.Agreed, para.ID) {
		return "", fmt.Errorf("paragraph %s was not carried as agreed from the %s level", para.ID, t.Origin.From)
	}
	if slices.ContainsFunc(t.Origin.Reopened, func(r Reopening) bool { return r.Para == para.ID }) {
		return "", fmt.Errorf("paragraph %s is already reopened", para.ID)
	}
	if err := checkString("note", p.Note, MaxNoteBytes, true, true); err != nil {
		return "", fmt.Errorf("say why the paragraph is reopened: %w", err)
	}
	kept := para.Positions[:0]
	for _, pos := range para.Positions {
		if pos.Carried == "" {
			kept = append(kept, pos)
			continue
		}
		para.History = append(para.History, PositionChange{Position: Position{Party: pos.Party, Version: para.Version,
			Person: who.person, Note: "reopened by " + who.party.ID, LogIndex: e.LogIndex}, Reset: true})
	}
	para.Positions = kept
	t.Origin.Reopened = append(t.Origin.Reopened, Reopening{Para: para.ID, Party: who.party.ID, Person: who.person,
		Note: p.Note, LogIndex: e.LogIndex})
	s.refresh(t)
	return para.ID, nil
}
