package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/outcome"
)

// Briefings of channel history (outcome.ChannelBriefing): the desk keeps,
// for every application message it sends or reads, the mls.Disclosure of
// that message (the per-message sender-data and content keys, the epoch's
// GroupContext and the sender's signature key; never a tree or epoch
// secret), captured before MLS erases the key. The disclosures are kept in
// the desk's encrypted store, next to the plaintext history the desk keeps
// anyway, so they reveal nothing the store did not hold already.
// ExportBriefing puts the chosen messages, their disclosures, inclusion
// proofs against a cosigned checkpoint and the senders' certificates into
// a file that 'goodoffices verify' checks offline.

const prefDisclosure = "mls/disclosure/" // by channel and entry hash

func disclosureKey(ch string, entry []byte) string {
	h := sha256.Sum256(entry)
	return prefDisclosure + ch + "/" + hex.EncodeToString(h[:])
}

// discloseReceived captures the disclosure of a received application
// message (nil for anything else).
func discloseReceived(g *mls.Group, entry []byte) *mls.Disclosure {
	d, err := g.Disclose(entry)
	if err != nil {
		return nil
	}
	return d
}

// putDisclosure keeps d, the disclosure of entry, if there is one.
func putDisclosure(ctx context.Context, tx *Tx, ch string, entry []byte, d *mls.Disclosure) error {
	if d == nil {
		return nil
	}
	b, err := d.MarshalBinary()
	if err != nil {
		return fmt.Errorf("failed to keep disclosure: %w", err)
	}
	return tx.Put(ctx, disclosureKey(ch, entry), b)
}

// ExportBriefing returns a briefing that discloses the application
// messages at the log indexes of channel ch, and nothing else.
func (d *Desk) ExportBriefing(ctx context.Context, ch string, indexes []int64) (*outcome.ChannelBriefing, error) {
	fail := func(err error) (*outcome.ChannelBriefing, error) {
		return nil, fmt.Errorf("failed to export briefing: %w", err)
	}
	if len(indexes) == 0 || len(indexes) > outcome.MaxBriefedMessages {
		return fail(fmt.Errorf("name 1 to %d messages", outcome.MaxBriefedMessages))
	}
	idx := slices.Clone(indexes)
	slices.Sort(idx)
	if len(slices.Compact(slices.Clone(idx))) != len(idx) {
		return fail(errors.New("a message is named twice"))
	}
	for _, i := range idx {
		b, err := d.store.Get(ctx, histKey(ch, i))
		if err != nil {
			return fail(fmt.Errorf("entry %d of %s: not read by this desk", i, ch))
		}
		var m Message
		if err := jsonUnmarshal(b, &m); err != nil {
			return fail(err)
		}
		if m.Kind != "application" {
			return fail(fmt.Errorf("entry %d of %s is a %s, not a message", i, ch, m.Kind))
		}
	}
	meta, err := d.channelMeta(ctx, d.store, ch)
	if err != nil {
		return fail(err)
	}
	pt, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return fail(err)
	}
	members := map[string]bool{}
	for _, m := range meta.Members {
		members[m] = true
	}
	ev, err := d.evidence(ctx, ch, members, func(add func(int64, string)) {
		for _, i := range idx {
			add(i, "message")
		}
	})
	if err != nil {
		return fail(err)
	}
	cb := &outcome.ChannelBriefing{Format: outcome.ChannelBriefingFormat, Channel: ch, VenueKey: ev.VenueKey,
		Checkpoint: ev.Checkpoint, Certificates: ev.Certificates}
	for _, e := range ev.Entries {
		if e.Disclosure == nil {
			return fail(fmt.Errorf("entry %d: this desk kept no keys for it (read before briefings were kept, or not read)", e.Index))
		}
		cb.Messages = append(cb.Messages, outcome.BriefedMessage{Index: e.Index, Device: e.Device, Data: e.Data, Proof: e.Proof, Disclosure: e.Disclosure})
	}
	// The parties are the delegations whose certificates are in.
	seen := map[string]bool{}
	for _, c := range ev.Certificates {
		for id, p := range pt {
			if seen[id] || !members[id] {
				continue
			}
			if k := rootKeyOf(p.RootKey); k != nil && certDelegation(c) == id {
				seen[id] = true
				cb.Parties = append(cb.Parties, outcome.Party{ID: id, Name: id, RootKey: k})
			}
		}
	}
	slices.SortFunc(cb.Parties, func(a, b outcome.Party) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	if _, err := cb.Verify(outcome.Options{TrustEmbeddedKeys: true, VenueKey: d.venue.VerifierKey}); err != nil {
		return fail(err)
	}
	return cb, nil
}

// ParagraphHistory returns the log indexes of the messages about one
// paragraph of a text: the proposals that tabled or amended it and the
// answers to them, the positions taken on it, and the statements about it
// with their replies. The tabling of the whole text is left out: it would
// show every paragraph.
func (d *Desk) ParagraphHistory(ctx context.Context, ch, host, textID, para string) ([]int64, error) {
	st, err := d.OutcomeTalks(ctx, ch, host)
	if err != nil {
		return nil, err
	}
	t := st.Text(textID)
	if t == nil || t.Paragraph(para) == nil {
		return nil, fmt.Errorf("no paragraph %s of text %q in %s", para, textID, ch)
	}
	p := t.Paragraph(para)
	var out []int64
	add := func(i uint64) {
		if !slices.Contains(out, int64(i)) {
			out = append(out, int64(i))
		}
	}
	props := map[string]bool{}
	for _, w := range p.Wordings {
		if w.Proposal != "" {
			props[w.Proposal] = true
		}
	}
	for _, pr := range st.Proposals {
		if pr.Text == textID && (pr.Amendment.Para == para || props[pr.ID]) {
			add(pr.LogIndex)
			for _, r := range pr.Responses {
				add(r.LogIndex)
			}
		}
	}
	for _, h := range p.History {
		add(h.LogIndex)
	}
	var stmts []string
	for _, s := range st.Statements {
		if s.AboutText == textID && s.AboutPara == para || s.ReplyTo != "" && slices.Contains(stmts, s.ReplyTo) {
			stmts = append(stmts, s.ID)
			add(s.LogIndex)
		}
	}
	slices.Sort(out)
	return out, nil
}

// certDelegation returns the delegation a certificate names ("" if none).
func certDelegation(c string) string {
	peek, err := delegation.PeekCertificate([]byte(c))
	if err != nil {
		return ""
	}
	return peek.Delegation
}
