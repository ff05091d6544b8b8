package desk

import (
	"context"
	"encoding/json"
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
	ms, err := d.Read(ctx, ch, 0, 0)
	if err != nil {
		return nil, err
	}
	var out []negotiation.Event
	for _, m := range ms {
		if m.Kind != "application" || m.Sender.Delegation == "" {
			continue
		}
		out = append(out, negotiation.Event{LogIndex: uint64(m.Index), Channel: ch, Delegation: m.Sender.Delegation,
			Device: m.Sender.Device, Person: m.Sender.Person, Payload: m.Data})
	}
	return out, nil
}

// Talks replays a channel's history through the negotiation engine.
func (d *Desk) Talks(ctx context.Context, ch, host string) (*negotiation.State, error) {
	cfg, err := d.TalksConfig(ctx, ch, host)
	if err != nil {
		return nil, err
	}
	evs, err := d.Events(ctx, ch)
	if err != nil {
		return nil, err
	}
	st, err := negotiation.Replay(cfg, evs)
	if err != nil {
		return nil, fmt.Errorf("failed to compute the state of the talks: %w", err)
	}
	return st, nil
}

// Say sends a plain statement (negotiation.NewStatement) in a channel.
func (d *Desk) Say(ctx context.Context, ch, body, replyTo, aboutText, aboutPara string) (int64, error) {
	return d.Send(ctx, ch, negotiation.NewStatement(body, replyTo, aboutText, aboutPara))
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
