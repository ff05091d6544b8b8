package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
)

// Escalation across levels (negotiation.TypeRefer, TypeTakeUp, TypeReopen).
// In the lower channel every party's desk refers the text as it stands; in
// the higher channel a desk takes it up with the evidence: a channel
// briefing of the parties' referral messages (each entry with its inclusion
// proof in the lower channel's checkpoint and the keys that open that
// message alone). Every desk of the higher channel checks the evidence
// against the parties' root keys from the verified register and the venue's
// key it enrolled with, before the engine carries the positions over.

// newEngine returns the empty state of the talks for cfg, able to check
// referral evidence.
func (d *Desk) newEngine(cfg negotiation.Config) (*negotiation.State, error) {
	st, err := negotiation.New(cfg)
	if err != nil {
		return nil, err
	}
	st.SetReferralVerifier(d.ReferralVerifier())
	return st, nil
}

// decodeEngine decodes a state of the talks (a snapshot or a copy), able to
// check referral evidence.
func (d *Desk) decodeEngine(b []byte) (*negotiation.State, error) {
	st, err := negotiation.Decode(b)
	if err != nil {
		return nil, err
	}
	st.SetReferralVerifier(d.ReferralVerifier())
	return st, nil
}

// ReferralVerifier returns the checker of take_up evidence every desk of a
// venue uses: a channel briefing that verifies under the venue's key and
// the root keys of the parties of the channel (pinned, never taken from the
// file). Its answer depends on nothing but its input, so every desk reaches
// the same one.
func (d *Desk) ReferralVerifier() negotiation.ReferralVerifier {
	venueKey := ""
	if d.venue != nil {
		venueKey = d.venue.VerifierKey
	}
	return func(evidence []byte, parties []negotiation.Party) (*negotiation.ReferralEvidence, error) {
		if venueKey == "" {
			return nil, ErrNotEnrolled
		}
		cb, err := outcome.ParseChannelBriefing(evidence)
		if err != nil {
			return nil, err
		}
		pins := outcome.Pins{}
		for _, p := range parties {
			if fp := outcome.Fingerprint(p.ID, p.RootKey); fp != "" {
				pins[p.ID] = fp
			}
		}
		r, err := cb.Verify(outcome.Options{Pins: pins, VenueKey: venueKey})
		if err != nil {
			return nil, err
		}
		ev := &negotiation.ReferralEvidence{Channel: cb.Channel}
		for _, m := range r.Messages {
			ev.Messages = append(ev.Messages, negotiation.ReferralMessage{LogIndex: uint64(m.Index),
				Delegation: m.Party, Person: m.Person, Payload: []byte(m.Data)})
		}
		return ev, nil
	}
}

// Refer sends this party's referral of text textID in channel ch to level
// to, as the text stands after a sync. The text goes up when every party
// has referred the same state.
func (d *Desk) Refer(ctx context.Context, ch, host, textID string, to negotiation.Level) (int64, error) {
	if _, err := d.Sync(ctx); err != nil {
		return 0, err
	}
	st, err := d.Talks(ctx, ch, host)
	if err != nil {
		return 0, err
	}
	r, err := st.ReferralOf(textID, to)
	if err != nil {
		return 0, &RefusedError{Type: negotiation.TypeRefer, Result: negotiation.ResultRejected, Reason: err.Error()}
	}
	return d.SendEvent(ctx, ch, host, negotiation.NewReferral(*r))
}

// TakeUpEvidence returns the evidence of a complete referral of text textID
// in the lower channel from: a channel briefing of every party's referral
// message.
func (d *Desk) TakeUpEvidence(ctx context.Context, from, host, textID string) ([]byte, error) {
	st, err := d.Talks(ctx, from, host)
	if err != nil {
		return nil, err
	}
	t := st.Text(textID)
	if t == nil {
		return nil, fmt.Errorf("no text %q in %s", textID, from)
	}
	ref := st.Referral(t.ReferredTo)
	if t.Status != negotiation.TextReferred || ref == nil || !ref.Complete {
		return nil, fmt.Errorf("text %s in %s has not been referred by every party (status %s)", textID, from, t.Status)
	}
	var idx []int64
	for _, s := range ref.Signals {
		idx = append(idx, int64(s.LogIndex))
	}
	cb, err := d.ExportBriefing(ctx, from, idx)
	if err != nil {
		return nil, err
	}
	b := cb.Marshal()
	if len(b) > negotiation.MaxReferralEvidenceBytes {
		return nil, fmt.Errorf("the evidence of the referral is %d bytes, more than %d", len(b), negotiation.MaxReferralEvidenceBytes)
	}
	return b, nil
}

// TakeUp takes up in channel ch, as text id, the text textID that every
// party referred in the lower channel from.
func (d *Desk) TakeUp(ctx context.Context, ch, host, from, textID, id string) (int64, error) {
	if ch == from {
		return 0, errors.New("take a text up in another channel than the one it was referred in")
	}
	if _, err := d.Sync(ctx); err != nil {
		return 0, err
	}
	ev, err := d.TakeUpEvidence(ctx, from, host, textID)
	if err != nil {
		return 0, err
	}
	return d.SendEvent(ctx, ch, host, negotiation.NewTakeUp(id, ev))
}
