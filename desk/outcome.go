package desk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
	"github.com/good-offices/goodoffices/tlog"
)

// Outcomes: adopting an agreed text in its authentic languages, the
// signing request the head of delegation takes to the air-gapped machine
// holding the root key ('goodoffices delegation sign-outcome'), posting
// the signature it returns, and exporting the signed outcome bundle with
// the venue's evidence (outcome.Evidence).

// OutcomeTalks is Talks: every party's root key comes from the verified
// register through the strict verifier-key parser rootKeyOf, and the engine
// counts no outcome signature of a party whose root key it lacks.
func (d *Desk) OutcomeTalks(ctx context.Context, ch, host string) (*negotiation.State, error) {
	return d.Talks(ctx, ch, host)
}

// rootKeyOf returns the Ed25519 key of a signed-note verifier key
// "<name>+<hash>+<base64(0x01 || key)>", nil if it is not one.
func rootKeyOf(vkey string) []byte {
	v, err := note.NewVerifier(vkey)
	parts := strings.SplitN(vkey, "+", 3)
	if err != nil || len(parts) != 3 {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(b) != 1+ed25519.PublicKeySize || b[0] != 1 {
		return nil
	}
	if vk, err := note.NewEd25519VerifierKey(v.Name(), ed25519.PublicKey(b[1:])); err != nil || vk != vkey {
		return nil
	}
	return b[1:]
}

// Adopt freezes the current version of text textID of channel ch for
// adoption in the authentic languages langs: it sends the adoption event
// and returns its log index and the unsigned bundle. A language version in
// the negotiated language may be left out; it is then the agreed wording.
// With langs nil, the text is adopted in every language version submitted
// for concordance, and refused while any of them is not concordant; every
// desk refuses an adoption in a language version that every party has not
// confirmed (negotiation.State.Concordance).
func (d *Desk) Adopt(ctx context.Context, ch, host, textID string, langs []negotiation.Language) (int64, *outcome.Bundle, error) {
	st, err := d.OutcomeTalks(ctx, ch, host)
	if err != nil {
		return 0, nil, err
	}
	t := st.Text(textID)
	if t == nil {
		return 0, nil, fmt.Errorf("failed to adopt: no text %q in %s", textID, ch)
	}
	if t.Adoption != nil {
		return 0, nil, fmt.Errorf("failed to adopt: text %q is already %s", textID, t.Status)
	}
	if t.Package.Status != negotiation.PackageAgreed {
		return 0, nil, fmt.Errorf("failed to adopt: text %q is not agreed by every party on every paragraph", textID)
	}
	if langs == nil {
		// No languages named: every concordant language version.
		langs = concordantLanguages(st, t)
		if table := st.Concordance(textID); len(table.Langs) > len(langs) {
			var pending []string
			for _, l := range table.Langs {
				if !slices.Contains(table.Concordant, l) {
					pending = append(pending, l)
				}
			}
			return 0, nil, fmt.Errorf("failed to adopt: the %v versions of %q are not yet concordant (desk concordance shows what is missing); adopt in the others with --lang", pending, textID)
		}
	}
	if !slices.ContainsFunc(langs, func(l negotiation.Language) bool { return l.Lang == t.Language }) {
		l := negotiation.Language{Lang: t.Language, Title: t.Title}
		for _, p := range t.Paragraphs {
			s, _ := negotiation.PlainText(p.Segments)
			l.Paragraphs = append(l.Paragraphs, s)
		}
		langs = append([]negotiation.Language{l}, langs...)
	}
	payload, b, err := outcome.PrepareAdoption(st, textID, langs)
	if err != nil {
		return 0, nil, err
	}
	idx, err := d.SendEvent(ctx, ch, host, payload)
	if err != nil {
		return 0, nil, err
	}
	return idx, b, nil
}

// adoption returns the state of ch and the adopted text textID.
func (d *Desk) adoption(ctx context.Context, ch, host, textID string) (*negotiation.State, *negotiation.Text, error) {
	st, err := d.OutcomeTalks(ctx, ch, host)
	if err != nil {
		return nil, nil, err
	}
	t := st.Text(textID)
	if t == nil || t.Adoption == nil {
		return nil, nil, fmt.Errorf("text %q of %s has not been adopted (or this desk has not synced the adoption)", textID, ch)
	}
	return st, t, nil
}

// SigningRequest returns the request for this delegation's root key to sign
// the adopted text textID of channel ch.
func (d *Desk) SigningRequest(ctx context.Context, ch, host, textID string) (*outcome.SigningRequest, error) {
	st, _, err := d.adoption(ctx, ch, host, textID)
	if err != nil {
		return nil, fmt.Errorf("failed to export signing request: %w", err)
	}
	b, err := outcome.FromState(st, textID)
	if err != nil {
		return nil, err
	}
	return outcome.NewSigningRequest(b, ch)
}

// PostSignature checks a root-key signature made from a signing request
// and posts it in its channel as this delegation's signature event.
func (d *Desk) PostSignature(ctx context.Context, host string, sf *outcome.SignatureFile) (int64, error) {
	if sf.Party != d.profile.Delegation {
		return 0, fmt.Errorf("failed to post signature: it is by %s; a desk of %s must post it", sf.Party, sf.Party)
	}
	st, t, err := d.adoption(ctx, sf.Channel, host, sf.Text)
	if err != nil {
		return 0, fmt.Errorf("failed to post signature: %w", err)
	}
	var root []byte
	for _, p := range st.Config.Parties {
		if p.ID == sf.Party {
			root = p.RootKey
		}
	}
	if root == nil {
		return 0, fmt.Errorf("failed to post signature: %s is not a party to the talks in %s", sf.Party, sf.Channel)
	}
	if err := sf.Check(root, t.Adoption.Digest); err != nil {
		return 0, fmt.Errorf("failed to post signature: %w", err)
	}
	for _, s := range t.Adoption.Signatures {
		if s.Party == sf.Party {
			return 0, fmt.Errorf("failed to post signature: %s has signed already (entry %d)", sf.Party, s.LogIndex)
		}
	}
	return d.SendEvent(ctx, sf.Channel, host, negotiation.NewSignature(sf.Text, t.Adoption.Digest, sf.Signature))
}

// ExportOutcome returns the signed outcome bundle of text textID of
// channel ch, with the venue's evidence: the log entries of the adoption
// and of every signature with their inclusion proofs in the channel's
// checkpoint, cosigned by as many parties' desks as have cosigned it, and
// the device certificates of the senders and cosigners.
func (d *Desk) ExportOutcome(ctx context.Context, ch, host, textID string) (*outcome.Bundle, error) {
	fail := func(err error) (*outcome.Bundle, error) {
		return nil, fmt.Errorf("failed to export outcome: %w", err)
	}
	st, t, err := d.adoption(ctx, ch, host, textID)
	if err != nil {
		return fail(err)
	}
	if t.Status != negotiation.TextAdopted {
		return fail(fmt.Errorf("text %q is %s: %d of %d parties have signed", textID, t.Status, len(t.Adoption.Signatures), len(st.Config.Parties)))
	}
	b, err := outcome.FromState(st, textID)
	if err != nil {
		return nil, err
	}
	type want struct {
		index int64
		kind  string
	}
	wants := []want{{int64(t.Adoption.LogIndex), outcome.EntryAdopt}}
	for _, s := range t.Adoption.Signatures {
		wants = append(wants, want{int64(s.LogIndex), outcome.EntrySign})
	}
	slices.SortFunc(wants, func(a, b want) int { return int(a.index - b.index) })
	parties := map[string]bool{}
	for _, p := range st.Config.Parties {
		parties[p.ID] = true
	}
	ev, err := d.evidence(ctx, ch, parties, func(add func(index int64, kind string)) {
		for _, w := range wants {
			add(w.index, w.kind)
		}
	})
	if err != nil {
		return fail(err)
	}
	b.Evidence = ev
	if _, err := b.Verify(outcome.Options{TrustEmbeddedKeys: true, VenueKey: d.venue.VerifierKey}); err != nil {
		return fail(err)
	}
	return b, nil
}

// evidence gathers the venue's evidence for the entries entries names.
func (d *Desk) evidence(ctx context.Context, ch string, parties map[string]bool, entries func(add func(int64, string))) (*outcome.Evidence, error) {
	if d.venue == nil {
		return nil, ErrNotEnrolled
	}
	ls, err := d.logState(ctx, d.store, ch)
	if err != nil {
		return nil, err
	}
	if ls.Checkpoint == nil {
		return nil, fmt.Errorf("no verified checkpoint of %s", ch)
	}
	vv, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return nil, err
	}
	fetch := d.api.fetcher(ch)
	cl := tlog.NewClient(d.origin(ch), vv, fetch)
	pt, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return nil, err
	}
	rootOf := func(del string) string {
		if p, ok := pt[del]; ok && parties[del] && !p.Confirmed.IsZero() {
			return p.RootKey
		}
		return ""
	}
	certs := map[string]string{} // device ID -> certificate
	addCert := func(c string) (string, bool) {
		peek, err := delegation.PeekCertificate([]byte(c))
		if err != nil || rootOf(peek.Delegation) == "" {
			return "", false
		}
		cert, err := delegation.VerifyCertificate([]byte(c), rootOf(peek.Delegation), peek.NotBefore)
		if err != nil {
			return "", false
		}
		id := delegation.DeviceID(cert.Device)
		certs[id] = c
		return cert.Delegation + "/" + id, true
	}
	addCert(string(d.cert))

	// The checkpoint: the accepted one, or a later one that more parties'
	// desks have cosigned; with the cosignature lines of party devices.
	text, venueLine, _ := splitNote(ls.Checkpoint, d.venue.Name)
	type candidate struct {
		text, venue string
		lines       map[string]string // cosigner name -> line
	}
	cands := map[string]*candidate{text: {text: text, venue: venueLine, lines: map[string]string{}}}
	if own, err := d.Cosigned(ctx, ch); err == nil {
		if t2, v2, lines := splitNote(own, d.venue.Name); v2 != "" {
			c := cands[t2]
			if c == nil {
				c = &candidate{text: t2, venue: v2, lines: map[string]string{}}
				cands[t2] = c
			}
			for n, l := range lines {
				c.lines[n] = l
			}
		}
	}
	if cs, err := d.api.cl().Cosignatures(ctx, ch); err == nil {
		names := map[string]bool{}
		for _, c := range cs.Cosigners {
			if n, ok := addCert(c.Certificate); ok && n == c.Name {
				names[n] = true
			}
		}
		for _, msg := range cs.Checkpoints {
			t2, v2, lines := splitNote([]byte(msg), d.venue.Name)
			if v2 == "" {
				continue
			}
			c := cands[t2]
			if c == nil {
				c = &candidate{text: t2, venue: v2, lines: map[string]string{}}
				cands[t2] = c
			}
			for n, l := range lines {
				if names[n] {
					c.lines[n] = l
				}
			}
		}
	} else {
		d.log.Warn("no cosignatures from the venue for the outcome evidence", "channel", ch, "err", err)
	}
	var best *candidate
	var bestCP tlog.Checkpoint
	score := func(c *candidate) int {
		ps := map[string]bool{}
		for n := range c.lines {
			del, _, _ := strings.Cut(n, "/")
			ps[del] = true
		}
		return len(ps)
	}
	for _, c := range cands {
		cp, _, err := tlog.OpenCheckpoint([]byte(c.text+"\n"+c.venue), d.origin(ch), vv)
		if err != nil {
			continue
		}
		if best == nil || score(c) > score(best) || score(c) == score(best) && cp.Size > bestCP.Size {
			best, bestCP = c, cp
		}
	}
	if best == nil {
		return nil, errors.New("no checkpoint verifies")
	}
	ev := &outcome.Evidence{Channel: ch, VenueKey: d.venue.VerifierKey}
	var err2 error
	hr := tileHashReader(ctx, bestCP, fetch)
	entries(func(index int64, kind string) {
		if err2 != nil {
			return
		}
		if index >= bestCP.Size {
			err2 = fmt.Errorf("entry %d is not in the checkpoint of size %d", index, bestCP.Size)
			return
		}
		mb, err := d.store.Get(ctx, histKey(ch, index))
		if err != nil {
			err2 = fmt.Errorf("entry %d: %w", index, err)
			return
		}
		var m Message
		if err := jsonUnmarshal(mb, &m); err != nil {
			err2 = err
			return
		}
		if _, ok := certs[m.Sender.Device]; !ok {
			devs, err := d.api.devices(ctx, m.Sender.Delegation)
			if err != nil {
				err2 = err
				return
			}
			for _, dv := range devs {
				if dv.ID == m.Sender.Device {
					addCert(dv.Certificate)
				}
			}
			if _, ok := certs[m.Sender.Device]; !ok {
				err2 = fmt.Errorf("entry %d: no verifiable certificate of its sender", index)
				return
			}
		}
		data, err := cl.Entries(ctx, bestCP, index, index+1)
		if err != nil {
			err2 = fmt.Errorf("entry %d: %w", index, err)
			return
		}
		p, err := xtlog.ProveRecord(bestCP.Size, index, hr)
		if err != nil {
			err2 = fmt.Errorf("entry %d: failed to prove inclusion: %w", index, err)
			return
		}
		e := outcome.Entry{Index: index, Kind: kind, Device: m.Sender.Device, Data: data[0]}
		if db, err := d.store.Get(ctx, disclosureKey(ch, data[0])); err == nil {
			e.Disclosure = db // briefing.go
		}
		for _, h := range p {
			e.Proof = append(e.Proof, bytes.Clone(h[:]))
		}
		ev.Entries = append(ev.Entries, e)
	})
	if err2 != nil {
		return nil, err2
	}
	// Only the cosignatures of devices whose certificates are in.
	var names []string
	for n := range best.lines {
		if _, id, ok := strings.Cut(n, "/"); ok && certs[id] != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	msg := best.text + "\n" + best.venue
	for _, n := range names {
		msg += best.lines[n]
	}
	ev.Checkpoint = msg
	for _, c := range certs {
		ev.Certificates = append(ev.Certificates, c)
	}
	slices.Sort(ev.Certificates)
	return ev, nil
}

// splitNote splits a signed note into its text (ending in a newline), the
// venue's signature line and the other signature lines by name (each line
// ending in a newline). venue is "" if there is no line of venueName.
func splitNote(msg []byte, venueName string) (text, venue string, lines map[string]string) {
	lines = map[string]string{}
	t, sigs, ok := strings.Cut(string(msg), "\n\n")
	if !ok {
		return "", "", lines
	}
	text = t + "\n"
	for _, l := range strings.SplitAfter(sigs, "\n") {
		rest, ok := strings.CutPrefix(l, "— ")
		name, _, ok2 := strings.Cut(rest, " ")
		if !ok || !ok2 || !strings.HasSuffix(l, "\n") {
			continue
		}
		if name == venueName {
			venue = l
		} else {
			lines[name] = l
		}
	}
	return text, venue, lines
}
