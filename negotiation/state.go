package negotiation

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// An Event is one authenticated, decrypted entry of a channel's log, as the
// desk hands it to the engine. The desk vouches for Channel, LogIndex,
// Delegation, Device and Person (from the MLS sender's certificate); the
// engine trusts them and judges only Payload.
type Event struct {
	LogIndex   uint64 // position of the entry in the channel's log
	Channel    string // the channel (MLS group) the entry belongs to
	Delegation string // the sender's delegation, e.g. "arden"
	Device     string // the sender's device
	Person     string // the sender, e.g. "tomas-reig"
	Payload    []byte // a versioned JSON payload, see the New... constructors
}

// Config is what every desk of a channel knows before the first event: the
// parties and the host. All desks must use the same Config to compute the
// same State; New sorts it, so the order it is given in does not matter.
type Config struct {
	Talks   string  `json:"talks"`            // name of the talks, for display
	Host    string  `json:"host,omitempty"`   // the host's delegation ID; not a party
	Parties []Party `json:"parties"`          // the delegations negotiating
	Levels  []Level `json:"levels,omitempty"` // accepted levels; DefaultLevels if empty
}

// A Party is a delegation taking part in the negotiation.
type Party struct {
	ID   string `json:"id"`             // delegation ID, e.g. "arden"
	Name string `json:"name"`           // e.g. "Federation of Arden"
	Head string `json:"head,omitempty"` // person ID of the head; only the head signals readiness when set
	// RootKey is the delegation's Ed25519 root public key. The engine
	// refuses outcome signatures that it does not verify with it, and every
	// outcome signature of a party whose root key is not set.
	RootKey []byte `json:"root_key,omitempty"`
}

// A Level is a level of the talks.
type Level string

// The usual levels, lowest first (spelled as in delegation certificates).
const (
	LevelExpert      Level = "expert"
	LevelSenior      Level = "senior-officials"
	LevelMinisterial Level = "ministerial"
	LevelLeaders     Level = "leaders"
)

// DefaultLevels are the levels a Config without Levels accepts.
var DefaultLevels = []Level{LevelExpert, LevelSenior, LevelMinisterial, LevelLeaders}

// State is the state of the talks computed from the events applied so far.
// Every field is exported and JSON-encodable; Canonical gives the byte form
// every desk must agree on. Slices are in a defined order (log order, or
// sorted by ID where stated); there are no maps.
type State struct {
	Config     Config       `json:"config"`
	Agenda     []*Item      `json:"agenda"`     // in order of creation
	Texts      []*Text      `json:"texts"`      // in order of tabling
	Proposals  []*Proposal  `json:"proposals"`  // in order of tabling; ID "A<n>"
	Statements []*Statement `json:"statements"` // in order of sending; ID "S<n>"
	Readiness  []*Readiness `json:"readiness"`  // in order of first signal
	// Packages are the packages of texts adopted together, in order.
	Packages []*OutcomePackage `json:"packages,omitempty"`
	// Referrals are the referrals of texts to higher levels, in order.
	Referrals []*Referral `json:"referrals,omitempty"`
	Package   PackageView `json:"package"` // across the whole agenda
	Cursors   []Cursor    `json:"cursors"` // last log index per channel, sorted by channel
	Log       []Record    `json:"log"`     // every event, applied or not, in order

	idx            *index           // lookup tables, rebuilt on demand; not part of the state
	verifyReferral ReferralVerifier // checks take_up evidence; not part of the state
}

// A Cursor is the last log index seen on a channel.
type Cursor struct {
	Channel  string `json:"channel"`
	LogIndex uint64 `json:"log_index"`
}

// A Record is what became of one event.
type Record struct {
	Channel    string `json:"channel"`
	LogIndex   uint64 `json:"log_index"`
	Delegation string `json:"delegation"`
	Device     string `json:"device,omitempty"`
	Person     string `json:"person,omitempty"`
	Type       string `json:"type,omitempty"` // the payload's type, if it could be read
	Result     Result `json:"result"`
	Reason     string `json:"reason,omitempty"` // why it was not applied
	Ref        string `json:"ref,omitempty"`    // what it created or touched, e.g. "A3"
	// Payload is kept verbatim for events that were not applied, so that
	// the desk can show them as they are.
	Payload []byte `json:"payload,omitempty"`
}

// Result says whether an event changed the state.
type Result string

// Results of applying an event. Only ResultApplied changes the state.
const (
	ResultApplied   Result = "applied"
	ResultRejected  Result = "rejected"  // well-formed but not allowed now
	ResultMalformed Result = "malformed" // not a valid payload
	ResultUnknown   Result = "unknown"   // a type or version this engine does not know
)

// An Item is one agenda item (a cluster of issues).
type Item struct {
	ID      string      `json:"id"`
	Title   string      `json:"title"`
	Parent  string      `json:"parent,omitempty"`
	Status  ItemStatus  `json:"status"`
	AddedBy string      `json:"added_by"`
	Package PackageView `json:"package"` // across the texts on this item
}

// ItemStatus is the procedural status of an agenda item.
type ItemStatus string

// Agenda item statuses.
const (
	ItemOpen     ItemStatus = "open"
	ItemDeferred ItemStatus = "deferred"
	ItemClosed   ItemStatus = "closed"
)

// A Text is a negotiating text.
type Text struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	Item       string       `json:"item,omitempty"`
	Level      Level        `json:"level"`
	Language   string       `json:"language"` // language of the negotiation, e.g. "en"
	TabledBy   string       `json:"tabled_by"`
	Status     TextStatus   `json:"status"`
	Version    int          `json:"version"` // increases with every applied change
	Paragraphs []*Paragraph `json:"paragraphs"`
	Removed    []*Paragraph `json:"removed"` // deleted paragraphs, kept for the history
	// Translations are the other language versions submitted for
	// concordance before adoption, sorted by language (see Concordance).
	Translations []*Translation `json:"translations,omitempty"`
	Versions     []TextVersion  `json:"versions"` // Versions[v-1] describes version v
	Package      PackageView    `json:"package"`
	Adoption     *Adoption      `json:"adoption,omitempty"`
	// ReferredTo is the complete referral that froze the text (status
	// referred); Origin says where a text taken up from a lower level
	// came from.
	ReferredTo string  `json:"referred_to,omitempty"`
	Origin     *Origin `json:"origin,omitempty"`

	nextPara int
}

// TextStatus is the stage a text is in.
type TextStatus string

// Text statuses.
const (
	TextNegotiating TextStatus = "negotiating"
	TextAdopting    TextStatus = "adopting" // frozen, awaiting every party's signature
	TextAdopted     TextStatus = "adopted"  // signed by every party
)

// A TextVersion records which paragraph versions made up a text version.
type TextVersion struct {
	Version    int       `json:"version"`
	Channel    string    `json:"channel"`
	LogIndex   uint64    `json:"log_index"`
	Proposal   string    `json:"proposal,omitempty"` // the proposal that made it, if any
	Paragraphs []ParaRef `json:"paragraphs"`
}

// ParaRef names one version of one paragraph.
type ParaRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// A Paragraph is a numbered paragraph of a text.
type Paragraph struct {
	ID        string           `json:"id"`     // stable, e.g. "p3"
	Number    int              `json:"number"` // 1-based position in the text
	Version   int              `json:"version"`
	Text      string           `json:"text"` // bracket notation
	Segments  []Segment        `json:"segments"`
	TabledBy  string           `json:"tabled_by"`
	Status    ParaStatus       `json:"status"`
	Positions []Position       `json:"positions"` // current, one per party at most, sorted by party
	History   []PositionChange `json:"position_history"`
	Wordings  []Wording        `json:"wordings"` // Wordings[v-1] is version v
	Deleted   bool             `json:"deleted,omitempty"`

	statusFor statusKey // what Status and blocks were computed for
	blocks    []Block
}

// A Wording is one version of a paragraph's text.
type Wording struct {
	Version  int    `json:"version"`
	Text     string `json:"text"`
	By       string `json:"by"`
	Proposal string `json:"proposal,omitempty"`
	LogIndex uint64 `json:"log_index"`
}

// ParaStatus summarises the positions on a paragraph.
type ParaStatus string

// Paragraph statuses, from worst to best.
const (
	ParaObjected           ParaStatus = "objected"  // a party objects
	ParaReserved           ParaStatus = "reserved"  // a party reserves
	ParaBracketed          ParaStatus = "bracketed" // brackets remain
	ParaOpen               ParaStatus = "open"      // positions missing
	ParaAgreedAdReferendum ParaStatus = "agreed_ad_referendum"
	ParaAgreed             ParaStatus = "agreed"
)

// Stance is a party's position on a paragraph.
type Stance string

// Stances.
const (
	Agree             Stance = "agree"
	AgreeAdReferendum Stance = "agree_ad_referendum" // subject to the capital's approval
	Reserve           Stance = "reserve"             // needs more time
	Object            Stance = "object"
)

// Stances returns the stances a party may take on paragraph p as it stands:
// agreeing (even ad referendum) needs a wording without brackets, so a
// bracketed paragraph allows only reserve and object.
func (p *Paragraph) Stances() []Stance {
	if HasBrackets(p.Segments) {
		return []Stance{Reserve, Object}
	}
	return []Stance{Agree, AgreeAdReferendum, Reserve, Object}
}

// A Position is a party's current stance on a paragraph version.
type Position struct {
	Party    string `json:"party"`
	Stance   Stance `json:"stance"`
	Note     string `json:"note,omitempty"`
	Version  int    `json:"version"` // paragraph version it was taken on
	Person   string `json:"person"`
	LogIndex uint64 `json:"log_index"`
	// Carried names the lower level a position was carried from when the
	// text was taken up ("" for a position taken at this level).
	Carried Level `json:"carried,omitempty"`
}

// A PositionChange is an entry of a paragraph's position history. Stance
// "" with Reset set records that a change of wording cleared the position.
type PositionChange struct {
	Position
	Reset bool `json:"reset,omitempty"`
}

// A Proposal is an amendment to a text.
type Proposal struct {
	ID        string         `json:"id"`
	Text      string         `json:"text"`
	Amendment Amendment      `json:"amendment"`
	By        string         `json:"by"` // proposing party
	Person    string         `json:"person"`
	Channel   string         `json:"channel"`
	LogIndex  uint64         `json:"log_index"`
	Status    ProposalStatus `json:"status"`
	Reason    string         `json:"reason,omitempty"`  // why it was closed, if not accepted
	Responses []Reply        `json:"responses"`         // sorted by party
	Preview   string         `json:"preview,omitempty"` // the paragraph as it would read
}

// ProposalStatus is the stage of a proposal.
type ProposalStatus string

// Proposal statuses. Only ProposalOpen may change.
const (
	ProposalOpen      ProposalStatus = "open"
	ProposalAccepted  ProposalStatus = "accepted"  // applied to the text
	ProposalTabled    ProposalStatus = "tabled"    // bracketed material, applied on tabling
	ProposalDeclined  ProposalStatus = "declined"  // a party declined it
	ProposalWithdrawn ProposalStatus = "withdrawn" // the proposing party withdrew it
	ProposalStale     ProposalStatus = "stale"     // its paragraph changed first
)

// A Reply is a party's answer to a proposal.
type Reply struct {
	Party    string   `json:"party"`
	Response Response `json:"response"`
	Note     string   `json:"note,omitempty"`
	Person   string   `json:"person"`
	LogIndex uint64   `json:"log_index"`
}

// Response is an answer to a proposal.
type Response string

// Responses.
const (
	Accept             Response = "accept"
	AcceptAdReferendum Response = "accept_ad_referendum"
	Decline            Response = "decline"
)

// A Statement is a plain message beside the text, optionally a reply to
// another statement and about a paragraph.
type Statement struct {
	ID         string   `json:"id"`
	Body       string   `json:"body"`
	ReplyTo    string   `json:"reply_to,omitempty"`
	AboutText  string   `json:"about_text,omitempty"`
	AboutPara  string   `json:"about_para,omitempty"`
	Delegation string   `json:"delegation"`
	Person     string   `json:"person"`
	Channel    string   `json:"channel"`
	LogIndex   uint64   `json:"log_index"`
	Replies    []string `json:"replies"` // IDs of the statements replying to this one
}

// Readiness collects the parties' signals that a text or an agenda item is
// ready to go up to a level.
type Readiness struct {
	Scope   Scope         `json:"scope"`
	ID      string        `json:"id"`
	Level   Level         `json:"level"`
	Signals []ReadySignal `json:"signals"` // sorted by party
	Ready   bool          `json:"ready"`   // every party has signalled
}

// Scope says what a readiness signal is about.
type Scope string

// Scopes of readiness signals.
const (
	ScopeText Scope = "text"
	ScopeItem Scope = "item"
)

// A ReadySignal is one party's signal.
type ReadySignal struct {
	Party    string `json:"party"`
	Person   string `json:"person"`
	Note     string `json:"note,omitempty"`
	LogIndex uint64 `json:"log_index"`
}

// Adoption is the adoption of a text in its authentic languages.
type Adoption struct {
	Version    int         `json:"version"` // the text version adopted
	By         string      `json:"by"`
	LogIndex   uint64      `json:"log_index"`
	Languages  []Language  `json:"languages"`
	Seed       []byte      `json:"seed"`       // 32 bytes: salts of the outcome commitments derive from it
	Digest     []byte      `json:"digest"`     // 32 bytes: the outcome digest every party signs
	Signatures []Signature `json:"signatures"` // sorted by party
	// Package is the package the text was adopted in, with others under
	// the same digest; "" for a text adopted alone.
	Package string `json:"package,omitempty"`
}

// A Language is one authentic language version of a text.
type Language struct {
	Lang       string   `json:"lang"` // e.g. "en", "fr", "ru"
	Title      string   `json:"title"`
	Paragraphs []string `json:"paragraphs"`
}

// A Signature is a party's root-key signature of an outcome digest.
type Signature struct {
	Party     string `json:"party"`
	Signature []byte `json:"signature"`
	Person    string `json:"person,omitempty"`
	LogIndex  uint64 `json:"log_index,omitempty"`
}

// PackageView answers "nothing is agreed until everything is agreed" for a
// text, an agenda item or the whole agenda.
type PackageView struct {
	Status       PackageStatus `json:"status"`
	Paragraphs   int           `json:"paragraphs"`
	Agreed       []ParaKey     `json:"agreed"`               // agreed by all, without reservation
	AdReferendum []ParaKey     `json:"agreed_ad_referendum"` // agreed by all, some ad referendum
	Blocks       []Block       `json:"blocks"`               // what stands in the way, by paragraph then party
}

// PackageStatus is the status of a package.
type PackageStatus string

// Package statuses.
const (
	PackageEmpty              PackageStatus = "empty"
	PackageOpen               PackageStatus = "open"
	PackageAgreedAdReferendum PackageStatus = "agreed_ad_referendum"
	PackageAgreed             PackageStatus = "agreed"
)

// ParaKey names a paragraph of a text.
type ParaKey struct {
	Text   string `json:"text"`
	Para   string `json:"para"`
	Number int    `json:"number"`
}

// A Block is one party standing in the way of one paragraph.
type Block struct {
	ParaKey
	Party  string `json:"party"`  // "" for brackets nobody is credited with
	Reason string `json:"reason"` // "object", "reserve", "no position", "brackets"
}

// New returns the empty state for cfg, or an error if cfg is invalid.
func New(cfg Config) (*State, error) {
	c := Config{Talks: cfg.Talks, Host: cfg.Host}
	if len(cfg.Talks) > 200 {
		return nil, errors.New("failed to configure talks: name too long")
	}
	if cfg.Host != "" {
		if err := checkID(cfg.Host, MaxPartyIDLen); err != nil {
			return nil, fmt.Errorf("failed to configure talks: host: %w", err)
		}
	}
	if len(cfg.Parties) == 0 || len(cfg.Parties) > 64 {
		return nil, errors.New("failed to configure talks: need 1 to 64 parties")
	}
	seen := map[string]bool{cfg.Host: true}
	for _, p := range cfg.Parties {
		if err := checkID(p.ID, MaxPartyIDLen); err != nil {
			return nil, fmt.Errorf("failed to configure talks: party: %w", err)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("failed to configure talks: party %q twice or also host", p.ID)
		}
		seen[p.ID] = true
		if p.RootKey != nil && len(p.RootKey) != 32 {
			return nil, fmt.Errorf("failed to configure talks: party %q: root key is not 32 bytes", p.ID)
		}
		q := p
		q.RootKey = append([]byte(nil), p.RootKey...)
		if len(q.RootKey) == 0 {
			q.RootKey = nil
		}
		c.Parties = append(c.Parties, q)
	}
	sort.Slice(c.Parties, func(i, j int) bool { return c.Parties[i].ID < c.Parties[j].ID })
	levels := cfg.Levels
	if len(levels) == 0 {
		levels = DefaultLevels
	}
	lseen := map[Level]bool{}
	for _, l := range levels {
		if err := checkID(string(l), 32); err != nil || lseen[l] {
			return nil, fmt.Errorf("failed to configure talks: bad or repeated level %q", l)
		}
		lseen[l] = true
		c.Levels = append(c.Levels, l)
	}
	s := &State{
		Config: c, Agenda: []*Item{}, Texts: []*Text{}, Proposals: []*Proposal{},
		Statements: []*Statement{}, Readiness: []*Readiness{}, Cursors: []Cursor{}, Log: []Record{},
	}
	s.Package = emptyPackage()
	return s, nil
}

func emptyPackage() PackageView {
	return PackageView{Status: PackageEmpty, Agreed: []ParaKey{}, AdReferendum: []ParaKey{}, Blocks: []Block{}}
}

// Canonical returns the canonical JSON encoding of s: the bytes every desk
// computes from the same Config and the same events in the same order.
func (s *State) Canonical() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic("negotiation: internal error: " + err.Error())
	}
	return b
}

// Digest is the SHA-256 of Canonical, a short way for desks to compare.
func (s *State) Digest() [32]byte { return sha256.Sum256(s.Canonical()) }

// Decode reads a state encoded by Canonical, so a desk can resume from a
// snapshot instead of replaying the whole log.
func Decode(b []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("failed to decode state: %w", err)
	}
	fresh, err := New(s.Config)
	if err != nil {
		return nil, fmt.Errorf("failed to decode state: %w", err)
	}
	s.Config = fresh.Config
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("failed to decode state: %w", err)
	}
	for _, t := range s.Texts {
		for _, p := range append(append([]*Paragraph{}, t.Paragraphs...), t.Removed...) {
			if n := paraNumber(p.ID); n > t.nextPara {
				t.nextPara = n
			}
		}
	}
	return &s, nil
}

// check makes sure a decoded state holds together well enough for Apply:
// no missing entries, and every reference resolves.
func (s *State) check() error {
	texts := map[string]*Text{}
	for _, t := range s.Texts {
		if t == nil || texts[t.ID] != nil {
			return errors.New("missing or repeated text")
		}
		texts[t.ID] = t
		if len(t.Versions) != t.Version {
			return errors.New("text versions do not add up")
		}
		for _, list := range [][]*Paragraph{t.Paragraphs, t.Removed} {
			for _, p := range list {
				if p == nil || len(p.Wordings) != p.Version {
					return errors.New("missing paragraph or wording")
				}
			}
		}
		for _, tr := range t.Translations {
			if tr == nil || tr.Paragraphs == nil {
				return errors.New("missing translation")
			}
		}
		if t.Status == TextReferred && t.ReferredTo == "" || t.Status != TextNegotiating && t.Status != TextReferred && t.Adoption == nil {
			return errors.New("adopted or referred text without adoption or referral")
		}
	}
	for _, pkg := range s.Packages {
		if pkg == nil {
			return errors.New("missing package")
		}
		for _, id := range pkg.Texts {
			if t := texts[id]; t == nil || t.Adoption == nil || t.Adoption.Package != pkg.ID {
				return errors.New("package of a text that is not in it")
			}
		}
	}
	items := map[string]bool{}
	for _, it := range s.Agenda {
		if it == nil || items[it.ID] {
			return errors.New("missing or repeated agenda item")
		}
		items[it.ID] = true
	}
	for i, p := range s.Proposals {
		if p == nil || p.ID != "A"+strconv.Itoa(i+1) || texts[p.Text] == nil {
			return errors.New("missing proposal or unknown text")
		}
	}
	for i, st := range s.Statements {
		if st == nil || st.ID != "S"+strconv.Itoa(i+1) {
			return errors.New("missing statement")
		}
	}
	for _, r := range s.Readiness {
		if r == nil {
			return errors.New("missing readiness")
		}
	}
	for i, r := range s.Referrals {
		if r == nil || r.ID != "R"+strconv.Itoa(i+1) || texts[r.Text] == nil {
			return errors.New("missing referral or unknown text")
		}
	}
	for i := 1; i < len(s.Cursors); i++ {
		if s.Cursors[i-1].Channel >= s.Cursors[i].Channel {
			return errors.New("cursors out of order")
		}
	}
	return nil
}

// index holds lookup tables over the state.
type index struct {
	texts      map[string]*Text
	items      map[string]*Item
	proposals  map[string]*Proposal
	statements map[string]*Statement
	parties    map[string]*Party
	open       map[string][]*Proposal // by text, a superset of the open proposals, in log order
}

func (s *State) index() *index {
	if s.idx != nil {
		return s.idx
	}
	x := &index{
		texts: map[string]*Text{}, items: map[string]*Item{}, proposals: map[string]*Proposal{},
		statements: map[string]*Statement{}, parties: map[string]*Party{}, open: map[string][]*Proposal{},
	}
	for _, t := range s.Texts {
		x.texts[t.ID] = t
	}
	for _, it := range s.Agenda {
		x.items[it.ID] = it
	}
	for _, p := range s.Proposals {
		x.proposals[p.ID] = p
		if p.Status == ProposalOpen {
			x.open[p.Text] = append(x.open[p.Text], p)
		}
	}
	for _, st := range s.Statements {
		x.statements[st.ID] = st
	}
	for i := range s.Config.Parties {
		x.parties[s.Config.Parties[i].ID] = &s.Config.Parties[i]
	}
	s.idx = x
	return x
}

// Text returns the text with the given ID, or nil.
func (s *State) Text(id string) *Text { return s.index().texts[id] }

// Proposal returns the proposal with the given ID, or nil.
func (s *State) Proposal(id string) *Proposal { return s.index().proposals[id] }

// Paragraph returns the live paragraph with the given ID, or nil.
func (t *Text) Paragraph(id string) *Paragraph {
	for _, p := range t.Paragraphs {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// ParagraphByNumber returns paragraph n (1-based), or nil.
func (t *Text) ParagraphByNumber(n int) *Paragraph {
	if n < 1 || n > len(t.Paragraphs) {
		return nil
	}
	return t.Paragraphs[n-1]
}

func paraNumber(id string) int {
	n := 0
	if len(id) < 2 || id[0] != 'p' {
		return 0
	}
	for _, c := range id[1:] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return 0
		}
	}
	return n
}
