package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/good-offices/goodoffices/negotiation"
)

// The negotiation engine over a channel: the desk hands it the decrypted,
// authenticated application messages of the channel in log order; every
// desk of the channel computes the same state.

// TalksConfig returns the engine configuration of a channel: its member
// delegations (from the venue's channel metadata, as all desks see it) with
// their root keys from the verified register. host names the host's
// delegation, which is not a party ("" if none is in the channel).
func (d *Desk) TalksConfig(ctx context.Context, ch, host string) (negotiation.Config, error) {
	meta, err := d.channelMeta(ctx, d.store, ch)
	if err != nil {
		return negotiation.Config{}, err
	}
	parties, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return negotiation.Config{}, err
	}
	cfg := negotiation.Config{Talks: d.venue.Name, Host: host}
	for _, m := range meta.Members {
		if m == host {
			continue
		}
		p := negotiation.Party{ID: m, Name: m}
		if pt, ok := parties[m]; ok {
			p.RootKey = rootKeyOf(pt.RootKey)
		}
		cfg.Parties = append(cfg.Parties, p)
	}
	return cfg, nil
}

// Events returns the channel's application messages as engine events, in
// log order. The sender fields come from the MLS sender's certificate,
// which the group's credential check verified.
func (d *Desk) Events(ctx context.Context, ch string) ([]negotiation.Event, error) {
	var out []negotiation.Event
	_, err := d.eventsFrom(ctx, ch, 0, func(e negotiation.Event) { out = append(out, e) })
	return out, err
}

// eventsChunk is how many processed entries eventsFrom reads at a time.
const eventsChunk = 2048

// eventsFrom hands f the channel's engine events from log index from on, in
// log order, reading the history a chunk at a time; it returns the index
// after the last processed entry it saw (from if none).
func (d *Desk) eventsFrom(ctx context.Context, ch string, from int64, f func(negotiation.Event)) (int64, error) {
	return d.forHistory(ctx, ch, from, func(m Message) {
		if e, ok := eventOf(ch, m); ok {
			f(e)
		}
	})
}

// eventOf returns the engine event of a processed entry (Message.Event).
func eventOf(ch string, m Message) (negotiation.Event, bool) {
	if !m.Event() {
		return negotiation.Event{}, false
	}
	return negotiation.Event{LogIndex: uint64(m.Index), Channel: ch, Delegation: m.Sender.Delegation,
		Device: m.Sender.Device, Person: m.Sender.Person, Payload: m.Data}, true
}

// Talks returns the state of the talks in a channel: the engine's state
// after every application message the desk has processed, in log order.
//
// It is computed incrementally (talkssnap.go): from a snapshot of the
// engine's state, advanced by the new events only. The snapshot is an
// optimisation, never a source of truth: ReplayTalks computes the same state
// from the whole history, byte for byte (State.Canonical).
//
// The state returned is shared: the caller may read it but must not modify
// it. The desk never modifies it either; it advances a copy.
func (d *Desk) Talks(ctx context.Context, ch, host string) (*negotiation.State, error) {
	start, err := d.talksStart(ctx, ch, host)
	if err != nil {
		return nil, err
	}
	st, err := d.talks.advance(ctx, d, ch, start)
	if err != nil {
		return nil, fmt.Errorf("failed to compute the state of the talks: %w", err)
	}
	return st, nil
}

// ReplayTalks computes the state of the talks in a channel from its whole
// history, without the snapshot (to check it, or to rebuild it).
func (d *Desk) ReplayTalks(ctx context.Context, ch, host string) (*negotiation.State, error) {
	start, err := d.talksStart(ctx, ch, host)
	if err != nil {
		return nil, err
	}
	st, err := start.state(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("failed to compute the state of the talks: %w", err)
	}
	if _, err := d.eventsFrom(ctx, ch, 0, func(e negotiation.Event) { st.Apply(e) }); err != nil {
		return nil, err
	}
	return st, nil
}

// talksStart is where the talks of a channel start, before its first
// entry: the engine's empty state under the channel's configuration, or,
// in the fresh channel of a recovery (Continuation, recover.go), the old
// channel's state after the entries carried.
type talksStart struct {
	cfg   negotiation.Config
	chain []Continuation // what ch continues, then what that continues…; nil: the empty state
}

// maxContinuations bounds a chain of recoveries (a channel recovered into
// one that was recovered in turn…), and so a loop of notices.
const maxContinuations = 16

func (d *Desk) talksStart(ctx context.Context, ch, host string) (talksStart, error) {
	cfg, err := d.TalksConfig(ctx, ch, host)
	if err != nil {
		return talksStart{}, err
	}
	// The channels of a chain have the same member delegations (Recover
	// and verifyRecovery see to it): one configuration serves them all.
	s := talksStart{cfg: cfg}
	if s.chain, err = d.continuations(ctx, ch); err != nil || len(s.chain) > 0 {
		return s, err
	}
	// A recovery notice not verified yet may make them continue another
	// channel's: they do not start from nothing meanwhile.
	if idx, err := d.UnverifiedNotice(ctx, ch); err != nil {
		return s, err
	} else if idx >= 0 {
		return s, fmt.Errorf("the talks of %s wait for this desk to verify the recovery notice at its entry %d ('desk read %s' says why)", ch, idx, ch)
	}
	return s, nil
}

// continuations returns what channel ch continues, then what that one
// continues, and so on (nil if ch continues nothing).
func (d *Desk) continuations(ctx context.Context, ch string) ([]Continuation, error) {
	var chain []Continuation
	for {
		c, err := d.Continuation(ctx, ch)
		if err != nil || c == nil {
			return chain, err
		}
		if len(chain) == maxContinuations {
			return nil, fmt.Errorf("the talks of %s continue more than %d recoveries in a row", chain[0].From, maxContinuations)
		}
		chain = append(chain, *c)
		ch = c.From
	}
}

// key identifies the start (snapshots record it): a digest of the
// configuration, and of the continuations if any.
func (s talksStart) key() (string, error) {
	if s.chain == nil {
		return configDigest(s.cfg) // as before continuations, so existing snapshots stay usable
	}
	return configDigest(struct {
		Config negotiation.Config
		Chain  []Continuation
	}{s.cfg, s.chain})
}

// state computes the state the talks start from.
func (s talksStart) state(ctx context.Context, d *Desk) (*negotiation.State, error) {
	st, err := d.newEngine(s.cfg)
	if err != nil {
		return nil, err
	}
	if err := d.carriedEvents(ctx, s.chain, func(e negotiation.Event) { st.Apply(e) }); err != nil {
		return nil, err
	}
	return st, nil
}

// CarriedEvents hands f, in log order, the engine events the fresh
// channel ch carries from the channels before it (Continuation): those
// the old channel carried in turn, then the old channel's own entries the
// notice covers. It fails if this desk has not processed them all.
func (d *Desk) CarriedEvents(ctx context.Context, ch string, f func(negotiation.Event)) error {
	chain, err := d.continuations(ctx, ch)
	if err != nil {
		return err
	}
	return d.carriedEvents(ctx, chain, f)
}

func (d *Desk) carriedEvents(ctx context.Context, chain []Continuation, f func(negotiation.Event)) error {
	for i := len(chain) - 1; i >= 0; i-- { // the oldest channel first
		c := chain[i]
		ls, err := d.logState(ctx, d.store, c.From)
		if err != nil {
			return err
		}
		if ls.Next < c.Size {
			return fmt.Errorf("the talks continue those of channel %s up to its entry %d, and this desk has processed %d of its entries: they are needed first", c.From, c.Size-1, ls.Next)
		}
		if _, err := d.forHistory(ctx, c.From, 0, func(m Message) {
			if m.Index < c.Size {
				if e, ok := eventOf(c.From, m); ok {
					f(e)
				}
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// Say sends a plain statement (negotiation.NewStatement) in a channel,
// refusing (SendEvent) a reply to a statement or a text or paragraph that
// does not exist.
func (d *Desk) Say(ctx context.Context, ch, host, body, replyTo, aboutText, aboutPara string) (int64, error) {
	return d.SendEvent(ctx, ch, host, negotiation.NewStatement(body, replyTo, aboutText, aboutPara))
}

// Summary returns a one-line reading of a message: the body of a
// statement, the type of another negotiation event, the note of a commit.
func (m Message) Summary() string {
	if m.Kind != "application" {
		return "[" + m.Kind + "] " + m.Note
	}
	var p struct {
		V    int    `json:"v"`
		Type string `json:"type"`
		Body string `json:"body"`
		Text string `json:"text"`
		Para string `json:"para"`
	}
	if err := json.Unmarshal(m.Data, &p); err != nil || p.Type == "" {
		return fmt.Sprintf("%q", m.Data)
	}
	if p.Type == negotiation.TypeStatement {
		return p.Body
	}
	s := "[" + p.Type
	if p.Text != "" {
		s += " " + p.Text
	}
	if p.Para != "" {
		s += " ¶" + p.Para
	}
	return s + "]"
}

const prefReadMark = "readmark/"

// MarkRead records that the delegate has read a channel up to and
// including log index index (for unread counts in a user interface).
func (d *Desk) MarkRead(ctx context.Context, ch string, index int64) error {
	return d.store.Put(ctx, prefReadMark+ch, []byte(strconv.FormatInt(index, 10)))
}

// Unread returns the number of application messages of a channel after the
// read mark (all of them if the channel was never marked), not counting
// this desk's own.
func (d *Desk) Unread(ctx context.Context, ch string) (int, error) {
	from := int64(0)
	if b, err := d.store.Get(ctx, prefReadMark+ch); err == nil {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("failed to load read mark: %w", err)
		}
		from = n + 1
	}
	ms, err := d.Read(ctx, ch, from, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if m.Kind == "application" && !m.Own {
			n++
		}
	}
	return n, nil
}

// prefUILanguage keeps the language the delegate chose for the desk's web
// interface.
const prefUILanguage = "ui/language"

// SetUILanguage remembers the language (a code such as "ru") the delegate
// chose for the desk's web interface, so that it survives a restart and a
// new browser.
func (d *Desk) SetUILanguage(ctx context.Context, code string) error {
	if len(code) == 0 || len(code) > 16 {
		return errors.New("failed to save the language: not a language code")
	}
	return d.store.Put(ctx, prefUILanguage, []byte(code))
}

// UILanguage returns the language saved by SetUILanguage, "" if none.
func (d *Desk) UILanguage(ctx context.Context) string {
	b, err := d.store.Get(ctx, prefUILanguage)
	if err != nil {
		return ""
	}
	return string(b)
}
