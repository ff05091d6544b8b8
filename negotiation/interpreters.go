package negotiation

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// # Interpreters, with every party's consent
//
// The host provides interpreters, but an interpreter in an encrypted
// channel reads everything. So an interpreter's device is admitted to a
// channel only when every party has consented to that device, in the
// channel (consent_interpreter); until then the parties' desks neither add
// it to the channel's group nor accept a commit that does. Any party ends
// the admission with one event (remove_interpreter); the desks then remove
// the device from the group. An admitted interpreter reads, and posts
// interpretations (interpret) — statements marked as the rendering of
// another statement in one of its languages — and nothing else: it is not
// a party, so it never tables, proposes, takes positions or signs, and the
// engine refuses any other event from its device.

// Event payload types of interpretation.
const (
	TypeConsentInterpreter = "consent_interpreter"
	TypeRemoveInterpreter  = "remove_interpreter"
	TypeInterpret          = "interpret"
)

// An Interpreter is an interpreter's device and the parties' consents to it
// in this channel.
type Interpreter struct {
	Device     string        `json:"device"`     // delegation.DeviceID of the device
	Delegation string        `json:"delegation"` // the delegation that certified it (the host's)
	Person     string        `json:"person"`
	Languages  []string      `json:"languages"` // as its certificate names them
	Consents   []ReadySignal `json:"consents"`  // sorted by party
	Admitted   bool          `json:"admitted"`  // every party consented, and no party has removed it since
	RemovedBy  string        `json:"removed_by,omitempty"`
	Note       string        `json:"note,omitempty"` // the removing party's reason
	LogIndex   uint64        `json:"log_index"`      // of the last change
}

type consentInterpreterPayload struct {
	envelope
	Device     string   `json:"device"`
	Delegation string   `json:"delegation"`
	Person     string   `json:"person"`
	Languages  []string `json:"languages"`
}

type removeInterpreterPayload struct {
	envelope
	Device string `json:"device"`
	Note   string `json:"note,omitempty"`
}

// An interpretation names the statement it renders by its entry in the
// channel's log: an interpreter joins after the statements before it, so
// its desk does not number statements as the parties' desks do.
type interpretPayload struct {
	envelope
	Entry uint64 `json:"entry"`
	Lang  string `json:"lang"`
	Body  string `json:"body"`
}

// NewInterpreterConsent returns the payload by which the sender's party
// consents to the interpreter's device (as its certificate names it) in
// the channel.
func NewInterpreterConsent(device, delegation, person string, languages []string) []byte {
	return marshal(consentInterpreterPayload{env(TypeConsentInterpreter), device, delegation, person, languages})
}

// NewInterpreterRemoval returns the payload that ends an interpreter's
// admission to the channel.
func NewInterpreterRemoval(device, note string) []byte {
	return marshal(removeInterpreterPayload{env(TypeRemoveInterpreter), device, note})
}

// NewInterpretation returns the payload of an interpretation into lang of
// the statement at log index entry of the channel.
func NewInterpretation(entry uint64, lang, body string) []byte {
	return marshal(interpretPayload{env(TypeInterpret), entry, lang, body})
}

// Interpreter returns the interpreter record of a device, or nil.
func (s *State) Interpreter(device string) *Interpreter {
	for _, in := range s.Interpreters {
		if in.Device == device {
			return in
		}
	}
	return nil
}

// AdmittedInterpreters returns the devices every party has consented to
// and no party has removed since.
func (s *State) AdmittedInterpreters() []string {
	var out []string
	for _, in := range s.Interpreters {
		if in.Admitted {
			out = append(out, in.Device)
		}
	}
	return out
}

var errInterpreterOnly = errors.New("an interpreter may only post interpretations")

func (s *State) consentInterpreter(e Event, who sender, p *consentInterpreterPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	if err := checkString("device", p.Device, 128, false, true); err != nil {
		return "", err
	}
	if err := checkID(p.Delegation, MaxPartyIDLen); err != nil {
		return "", fmt.Errorf("bad delegation: %w", err)
	}
	if s.index().parties[p.Delegation] != nil {
		return "", fmt.Errorf("%s is a party: its devices are in the channel as a party's, not as interpreters", p.Delegation)
	}
	if err := checkString("person", p.Person, 128, false, true); err != nil {
		return "", err
	}
	if len(p.Languages) == 0 || len(p.Languages) > MaxLanguages {
		return "", fmt.Errorf("an interpreter works in 1 to %d languages", MaxLanguages)
	}
	for _, l := range p.Languages {
		if err := checkLang(l); err != nil {
			return "", err
		}
	}
	in := s.Interpreter(p.Device)
	if in != nil && (in.Delegation != p.Delegation || in.Person != p.Person || !slices.Equal(in.Languages, p.Languages)) {
		return "", fmt.Errorf("device %s is already described otherwise (%s of %s, %v)", p.Device, in.Person, in.Delegation, in.Languages)
	}
	if in != nil && in.RemovedBy != "" {
		// Admitted again only by a new consent of every party.
		in.Consents, in.RemovedBy, in.Note = []ReadySignal{}, "", ""
	}
	if in != nil && slices.ContainsFunc(in.Consents, func(g ReadySignal) bool { return g.Party == who.party.ID }) {
		return "", fmt.Errorf("%s has already consented to this interpreter", who.party.ID)
	}
	if in == nil {
		if len(s.Interpreters) >= 256 {
			return "", errors.New("too many interpreters")
		}
		in = &Interpreter{Device: p.Device, Delegation: p.Delegation, Person: p.Person,
			Languages: slices.Clone(p.Languages), Consents: []ReadySignal{}}
		s.Interpreters = append(s.Interpreters, in)
	}
	sig := ReadySignal{Party: who.party.ID, Person: who.person, LogIndex: e.LogIndex}
	i := sort.Search(len(in.Consents), func(i int) bool { return in.Consents[i].Party >= sig.Party })
	in.Consents = slices.Insert(in.Consents, i, sig)
	in.Admitted = len(in.Consents) == len(s.Config.Parties)
	in.LogIndex = e.LogIndex
	return in.Device, nil
}

func (s *State) removeInterpreter(e Event, who sender, p *removeInterpreterPayload) (string, error) {
	if who.party == nil {
		return "", errNotParty
	}
	in := s.Interpreter(p.Device)
	if in == nil || in.RemovedBy != "" {
		return "", fmt.Errorf("no interpreter %s in this channel", p.Device)
	}
	if err := checkString("note", p.Note, MaxNoteBytes, true, false); err != nil {
		return "", err
	}
	in.Admitted, in.RemovedBy, in.Note, in.LogIndex = false, who.party.ID, p.Note, e.LogIndex
	return in.Device, nil
}

func (s *State) interpret(e Event, who sender, p *interpretPayload) (string, error) {
	in := s.Interpreter(e.Device)
	if in == nil || !in.Admitted || in.Delegation != e.Delegation {
		return "", errors.New("only an interpreter every party has admitted to this channel may post interpretations")
	}
	x := s.index()
	var src *Statement
	for i := len(s.Statements) - 1; i >= 0 && src == nil; i-- {
		if st := s.Statements[i]; st.Channel == e.Channel && st.LogIndex == p.Entry {
			src = st
		}
	}
	if src == nil {
		return "", fmt.Errorf("no statement at entry %d to interpret", p.Entry)
	}
	if !slices.Contains(in.Languages, p.Lang) {
		return "", fmt.Errorf("%s does not interpret into %q (languages: %v)", in.Person, p.Lang, in.Languages)
	}
	if err := checkString("interpretation", p.Body, MaxBodyBytes, true, true); err != nil {
		return "", err
	}
	if len(s.Statements) >= 1<<20 {
		return "", errors.New("too many statements")
	}
	st := &Statement{
		ID: "S" + strconv.Itoa(len(s.Statements)+1), Body: p.Body, Interprets: src.ID, Lang: p.Lang,
		Delegation: e.Delegation, Person: who.person, Channel: e.Channel, LogIndex: e.LogIndex, Replies: []string{},
	}
	s.Statements = append(s.Statements, st)
	x.statements[st.ID] = st
	src.Interpretations = append(src.Interpretations, st.ID)
	return st.ID, nil
}
