package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// Recovery after an alarm. A channel whose log the venue forked (or
// rolled back, or rewrote) cannot go on: the desk keeps the checkpoint it
// last accepted, so every sync raises the alarm again. The delegate keeps
// the evidence, clears the alarm with a reason (ClearAlarmBecause), has the
// host create a fresh channel with the same member delegations, and
// recovers into it (Recover): the desk sends, as the first words in the
// fresh channel, a recovery notice that carries the old channel's last
// good checkpoint — the venue-signed commitment to the verified history,
// entries 0 to size-1 — and stops syncing the old channel. Every other
// party's desk verifies the notice against its own view of the old
// channel (the checkpoint's signature, then the consistency of the two
// checkpoints, whose proof the venue cannot forge) and records the result
// on the notice; a notice that does not agree is an alarm.
//
// The talks go on where they were: the state of the talks in the fresh
// channel starts from the old channel's state after the entries the
// notice's checkpoint covers (0 to size-1), which every desk that verified
// the notice holds and computes alike, so that texts, positions, proposals
// and readiness need not be tabled again (Continuation, talks.go). Only the
// first recovery notice in a channel counts, and only once this desk has
// verified it (or sent it).

// AlarmRecovery: a recovery notice whose checkpoint of the old channel
// does not verify, or is not consistent with this desk's own.
const AlarmRecovery = "recovery"

const recoveryHeader = "goodoffices channel recovery v1\n"

// A RecoveryNotice is the payload (after recoveryHeader) of the message
// that continues a channel in a fresh one.
type RecoveryNotice struct {
	From       string `json:"from"`       // the old channel
	To         string `json:"to"`         // the fresh channel the notice is sent in
	Checkpoint []byte `json:"checkpoint"` // the last good checkpoint of From, as the venue signed it
	Alarm      string `json:"alarm,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// maxRecoveryNotice bounds the notice's payload.
const maxRecoveryNotice = 8 << 10

func (n *RecoveryNotice) marshal() []byte {
	b, _ := json.Marshal(n)
	return append([]byte(recoveryHeader), b...)
}

// parseRecoveryNotice parses a message's plaintext as a recovery notice;
// ok is false if it is not one (ordinary words).
func parseRecoveryNotice(data []byte) (n *RecoveryNotice, ok bool, err error) {
	body, ok := bytes.CutPrefix(data, []byte(recoveryHeader))
	if !ok {
		return nil, false, nil
	}
	if len(body) > maxRecoveryNotice {
		return nil, true, errors.New("recovery notice too large")
	}
	n = &RecoveryNotice{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(n); err != nil || dec.More() {
		return nil, true, errors.New("malformed recovery notice")
	}
	if n.From == "" || n.To == "" || len(n.Checkpoint) == 0 {
		return nil, true, errors.New("malformed recovery notice")
	}
	return n, true, nil
}

// Store keys of recovery.
const (
	prefRecovered     = "recovered/"      // old channel → Recovered
	prefRecoveryCheck = "recovery-check/" // channel/index of a notice received, waiting for its verification
	prefContinuation  = "continuation/"   // fresh channel → Continuation
)

// A Continuation says that the talks of a fresh channel continue those of
// an old one, from the first recovery notice in the fresh channel that
// this desk sent or verified.
type Continuation struct {
	From  string `json:"from"`  // the old channel
	Size  int64  `json:"size"`  // its entries 0 to Size-1 are carried
	Index int64  `json:"index"` // of the notice in the fresh channel
}

// continueFrom records that channel ch continues the talks of c.From,
// unless an earlier notice in ch already decided it.
func continueFrom(ctx context.Context, tx *Tx, ch string, c Continuation) error {
	if b, err := tx.Get(ctx, prefContinuation+ch); err == nil {
		var old Continuation
		if json.Unmarshal(b, &old) == nil && old.Index <= c.Index {
			return nil
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Put(ctx, prefContinuation+ch, b)
}

// Continuation returns what the talks of channel ch continue, nil if ch
// is not a recovery's fresh channel.
func (d *Desk) Continuation(ctx context.Context, ch string) (*Continuation, error) {
	b, err := d.store.Get(ctx, prefContinuation+ch)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Continuation
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("continuation of %s: %w", ch, err)
	}
	return &c, nil
}

// Continued is a fresh channel and what its talks continue.
type Continued struct {
	Channel string `json:"channel"`
	Continuation
}

// ContinuedChannels returns the fresh channels whose talks continue those
// of old ones.
func (d *Desk) ContinuedChannels(ctx context.Context) ([]Continued, error) {
	return continuedChannels(ctx, d.store)
}

func continuedChannels(ctx context.Context, q getter) ([]Continued, error) {
	kvs, err := q.List(ctx, prefContinuation, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Continued, 0, len(kvs))
	for _, kv := range kvs {
		c := Continued{Channel: strings.TrimPrefix(kv.Key, prefContinuation)}
		if err := json.Unmarshal(kv.Value, &c.Continuation); err != nil {
			return nil, fmt.Errorf("continuation of %s: %w", c.Channel, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ContinuedIn returns the fresh channel that continues the talks of ch,
// "" if none: one this desk recovered ch into, or one whose recovery
// notice it verified. Nothing more is sent in ch.
func (d *Desk) ContinuedIn(ctx context.Context, ch string) (string, error) {
	return continuedIn(ctx, d.store, ch)
}

func continuedIn(ctx context.Context, q getter, ch string) (string, error) {
	if b, err := q.Get(ctx, prefRecovered+ch); err == nil {
		var r Recovered
		if err := json.Unmarshal(b, &r); err == nil {
			return r.To, nil
		}
	}
	cs, err := continuedChannels(ctx, q)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.From == ch {
			return c.Channel, nil
		}
	}
	return "", nil
}

// continuing returns the channels whose talks continue those of ch, near
// and far (a chain of recoveries: ch → a → b).
func (d *Desk) continuing(ctx context.Context, ch string) ([]string, error) {
	cs, err := d.ContinuedChannels(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for next := []string{ch}; len(next) > 0; {
		from := next[0]
		next = next[1:]
		for _, c := range cs {
			if c.From == from && c.Channel != ch && !slices.Contains(out, c.Channel) {
				out = append(out, c.Channel)
				next = append(next, c.Channel)
			}
		}
	}
	return out, nil
}

// catchUpLocked processes the entries of channel ch that this desk has not
// processed yet, up to the size of the signed checkpoint cpNote (one it
// accepted, or the checkpoint of a recovery notice it verified as
// consistent with its own), each checked for inclusion in it. The state of
// the talks a recovery carries needs all of them, also where an alarm
// halted the channel before this desk could process them: the checkpoint
// the parties agreed on decides what they are, not the alarm. An entry
// that does not process stops it with the error, and nothing is raised
// again. d.mu must be held.
func (d *Desk) catchUpLocked(ctx context.Context, ch string, cpNote []byte) error {
	v, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return err
	}
	cp, _, err := tlog.OpenCheckpoint(cpNote, d.origin(ch), v)
	if err != nil {
		return fmt.Errorf("checkpoint of %s: %w", ch, err)
	}
	st, err := d.logState(ctx, d.store, ch)
	if err != nil {
		return err
	}
	c := tlog.NewClient(d.origin(ch), v, d.api.fetcher(ch))
	proc := d.processor(ch)
	for st.Next < cp.Size {
		end := min(cp.Size, (st.Next/tlog.TileWidth+1)*tlog.TileWidth)
		entries, err := c.Entries(ctx, cp, st.Next, end)
		if err != nil {
			return fmt.Errorf("entries of %s from %d: %w", ch, st.Next, err)
		}
		for _, e := range entries {
			idx := st.Next
			if err := d.processEntry(ctx, ch, idx, e, proc, nil, &st); err != nil {
				return fmt.Errorf("entry %d of %s: %w", idx, ch, err)
			}
		}
	}
	return nil
}

// catchUpCarriedLocked brings the old channels of the recoveries this desk
// knows up to the sizes their notices carry (catchUpLocked), so that the
// talks of the fresh channels can be computed. d.mu must be held.
func (d *Desk) catchUpCarriedLocked(ctx context.Context) error {
	cs, err := d.ContinuedChannels(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		st, err := d.logState(ctx, d.store, c.From)
		if err != nil {
			return err
		}
		if st.Next >= c.Size {
			continue
		}
		ms, err := d.Read(ctx, c.Channel, c.Index, 1)
		if err != nil || len(ms) != 1 || ms[0].Index != c.Index {
			errs = append(errs, fmt.Errorf("the recovery notice of %s at %d is not in this desk's history", c.Channel, c.Index))
			continue
		}
		n, _, err := parseRecoveryNotice(ms[0].Data)
		if err != nil || n == nil {
			errs = append(errs, fmt.Errorf("the recovery notice of %s at %d: %v", c.Channel, c.Index, err))
			continue
		}
		if err := d.catchUpLocked(ctx, c.From, n.Checkpoint); err != nil {
			errs = append(errs, fmt.Errorf("the talks of %s carry entries of %s this desk cannot process: %w", c.Channel, c.From, err))
		}
	}
	return errors.Join(errs...)
}

// noticeSize is the size of the old channel's history a notice carries.
func noticeSize(n *RecoveryNotice) (int64, error) {
	c, err := tlog.ParseCheckpoint(checkpointBody(n.Checkpoint))
	if err != nil {
		return 0, err
	}
	return c.Size, nil
}

// Recovered is a channel this desk stopped syncing after recovering it into
// a fresh one.
type Recovered struct {
	From  string    `json:"from"`
	To    string    `json:"to"`
	Size  int64     `json:"size"`  // the verified history carried: entries 0 to Size-1
	Index int64     `json:"index"` // of the notice in To
	Time  time.Time `json:"time"`
}

// Recover continues the talks of channel from in the fresh channel to,
// which the host created with the same member delegations: it sends the
// recovery notice in to (starting its group if needed) and stops syncing
// from, whose verified history stays readable. It refuses before sending
// if from has no accepted checkpoint, was recovered already, or to is not a
// fresh channel of the same members.
func (d *Desk) Recover(ctx context.Context, from, to, reason string) (*Recovered, error) {
	if from == to || from == RegisterLog || from == RevocationsLog || to == RegisterLog || to == RevocationsLog {
		return nil, errors.New("recover a channel into another, fresh channel")
	}
	d.mu.Lock()
	if _, err := d.store.Get(ctx, prefRecovered+from); err == nil {
		d.mu.Unlock()
		return nil, fmt.Errorf("channel %s was recovered already", from)
	}
	st, err := d.logState(ctx, d.store, from)
	if err == nil && st.Alarm != nil {
		err = fmt.Errorf("%s is halted by an alarm: keep its evidence and clear it first ('goodoffices desk clear-alarm %s --reason TEXT', or 'goodoffices desk recover' with --clear-alarm TEXT)", from, from)
	}
	if err == nil && st.Checkpoint == nil {
		err = fmt.Errorf("this desk has no verified checkpoint of %s: nothing to carry", from)
	}
	if err == nil && st.Next < st.Size {
		// The talks carried need every entry the checkpoint covers.
		if cerr := d.catchUpLocked(ctx, from, st.Checkpoint); cerr != nil {
			err = fmt.Errorf("this desk has processed %d of the %d entries of %s its checkpoint covers, and cannot process the others (%w): the talks it would carry are not whole", st.Next, st.Size, from, cerr)
		}
	}
	if err == nil {
		// The channel list only: from is not synced again (a venue that
		// keeps forking it would raise its alarm again).
		var chans []client.Channel
		if chans, err = d.api.channels(ctx); err == nil {
			err = d.rememberChannels(ctx, chans)
		}
	}
	if err != nil {
		d.mu.Unlock()
		return nil, err
	}
	var mf, mt []string
	if _, err = d.channelMeta(ctx, d.store, to); err != nil {
		err = fmt.Errorf("the venue has no channel %q for this delegation: the host creates it first", to)
	} else if mf, mt, err = d.membersOf(ctx, from, to); err == nil && !sameMembers(mf, mt) {
		err = fmt.Errorf("channel %s has members %s, not those of %s (%s)", to, strings.Join(mt, ","), from, strings.Join(mf, ","))
	}
	var kind string
	if err == nil {
		if as, aerr := d.Alarms(ctx); aerr == nil {
			for _, a := range as {
				if a.Log == from {
					kind = a.Kind
				}
			}
		}
	}
	if err == nil {
		err = d.partiesInGroupLocked(ctx, to, mt)
	}
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	n := &RecoveryNotice{From: from, To: to, Checkpoint: st.Checkpoint, Alarm: kind, Reason: reason}
	// Fresh: nothing said in it yet, once its log is up to date. Its group
	// may have been started already (by another desk, or by an earlier
	// attempt whose answer was lost), and an earlier attempt may have sent
	// the notice itself: then it is the one that counts.
	sent := int64(-1)
	idx, err := d.send(ctx, to, n.marshal(), func() error {
		words := 0
		_, err := d.forHistory(ctx, to, 0, func(m Message) {
			switch {
			case m.Kind == "recovery" && m.Own && sent < 0 && words == 0:
				if earlier, _, _ := parseRecoveryNotice(m.Data); earlier != nil && earlier.From == from {
					sent = m.Index
					return
				}
				words++
			case m.Said():
				words++
			}
		})
		switch {
		case err != nil:
			return err
		case sent >= 0:
			return errSentAlready
		case words > 0:
			return fmt.Errorf("channel %s is not fresh (%d messages in it): recover into a new channel", to, words)
		}
		return nil
	})
	if errors.Is(err, errSentAlready) {
		idx, err = sent, nil
	}
	if err != nil {
		return nil, err
	}
	r := &Recovered{From: from, To: to, Size: st.Size, Index: idx, Time: time.Now().UTC()}
	b, _ := json.Marshal(r)
	if err := d.store.Put(ctx, prefRecovered+from, b); err != nil {
		return nil, err
	}
	return r, nil
}

// partiesInGroupLocked starts the group of channel ch if it has none and
// adds the missing devices of the delegations parties, and fails unless
// each of them then has a device in it: a party without one could never
// read what is sent now (MLS gives a member no key to what was sent before
// it joined), so a recovery notice sent now would leave its talks behind.
func (d *Desk) partiesInGroupLocked(ctx context.Context, ch string, parties []string) error {
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return err
	}
	if g == nil {
		if err := d.syncLogLocked(ctx, ch); err != nil && !errors.Is(err, errWaitingWelcome) {
			return err
		}
		if err := d.openLocked(ctx, ch); errors.Is(err, ErrNoGroup) {
			return fmt.Errorf("%s's group was started by another desk, which has not added this one yet: sync and try again", ch)
		} else if err != nil {
			return err
		}
	}
	missing := func() ([]string, error) {
		g, err := d.loadGroup(ctx, d.store, ch)
		if err != nil || g == nil {
			return nil, errOr(err, ErrNoGroup)
		}
		in := map[string]bool{}
		for _, m := range g.Members() {
			in[memberOf(m).Delegation] = true
		}
		var out []string
		for _, p := range parties {
			if !in[p] {
				out = append(out, p)
			}
		}
		return out, nil
	}
	out, err := missing()
	if err != nil || len(out) == 0 {
		return err
	}
	if err := d.inviteLocked(ctx, ch, ""); err != nil {
		d.log.Info("could not add the missing parties' devices", "channel", ch, "err", err)
	}
	if out, err = missing(); err != nil || len(out) == 0 {
		return err
	}
	return fmt.Errorf("%s has no device in %s's group yet (none with a key package this desk could claim and accept): the notice would be unreadable to it; try again once it is in", strings.Join(out, ", "), ch)
}

// errNoView: a recovery notice this desk cannot verify yet, having no
// accepted checkpoint of the old channel (it has not synced it, or the
// venue does not list it for this desk). Starting the fresh channel's talks
// from nothing would make them differ from those of the desks that carry
// the old channel's, so they wait (talksStart).
var errNoView = errors.New("this desk has no view")

// UnverifiedNotice returns the index of a recovery notice in channel ch
// that this desk has not verified yet (-1 if none): until it has, the
// talks of ch are not computed (talksStart).
func (d *Desk) UnverifiedNotice(ctx context.Context, ch string) (int64, error) {
	kvs, err := d.store.List(ctx, prefRecoveryCheck+ch+"/", 1)
	if err != nil || len(kvs) == 0 {
		return -1, err
	}
	idx, err := strconv.ParseInt(strings.TrimPrefix(kvs[0].Key, prefRecoveryCheck+ch+"/"), 10, 64)
	if err != nil {
		return -1, fmt.Errorf("recovery check of %s: %w", ch, err)
	}
	return idx, nil
}

// errSentAlready: the notice of a recovery is in the fresh channel already.
var errSentAlready = errors.New("recovery notice sent already")

// membersOf returns the member delegations of channels a and b: those the
// venue's channel list names and those whose devices the channel's
// encrypted group holds, where this desk is in it. The group is the
// parties' word, the list the host's: a host that drops a party from the
// old channel's list (and creates the fresh channel without it) does not
// make the talks move where that party is not.
func (d *Desk) membersOf(ctx context.Context, a, b string) ([]string, []string, error) {
	ma, err := d.channelMeta(ctx, d.store, a)
	if err != nil {
		return nil, nil, err
	}
	mb, err := d.channelMeta(ctx, d.store, b)
	if err != nil {
		return nil, nil, err
	}
	sa, _ := d.confirmationSet(ctx, a, ma.Members)
	sb, _ := d.confirmationSet(ctx, b, mb.Members)
	return sa, sb, nil
}

func sameMembers(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// RecoveredChannels returns the channels this desk recovered into fresh
// ones.
func (d *Desk) RecoveredChannels(ctx context.Context) ([]Recovered, error) {
	kvs, err := d.store.List(ctx, prefRecovered, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Recovered, 0, len(kvs))
	for _, kv := range kvs {
		var r Recovered
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *Desk) isRecovered(ctx context.Context, ch string) bool {
	_, err := d.store.Get(ctx, prefRecovered+ch)
	return err == nil
}

// recoveryReceived marks a recovery notice in a channel's history (kind
// "recovery") and queues its verification, which needs the venue
// (checkRecoveriesLocked, after the sync).
func recoveryReceived(ctx context.Context, tx *Tx, m *Message) error {
	n, ok, err := parseRecoveryNotice(m.Data)
	if !ok {
		return nil
	}
	m.Kind = "recovery"
	if err != nil {
		m.Note = "not verified: " + err.Error()
		return nil
	}
	m.Note = fmt.Sprintf("%s continues channel %s here; not verified yet", who(m.Sender), n.From)
	if m.Own {
		m.Note = fmt.Sprintf("this desk continues channel %s here", n.From)
		size, err := noticeSize(n)
		if err != nil || n.To != m.Channel {
			return nil // not one Recover sends
		}
		return continueFrom(ctx, tx, m.Channel, Continuation{From: n.From, Size: size, Index: m.Index})
	}
	return tx.Put(ctx, fmt.Sprintf("%s%s/%016d", prefRecoveryCheck, m.Channel, m.Index), []byte("1"))
}

func who(s MemberInfo) string {
	if s.Person == "" {
		return "a member"
	}
	return s.Person + " (" + s.Delegation + ")"
}

// checkRecoveriesLocked verifies the recovery notices received: the
// checkpoint must be the venue's, of the old channel, and consistent with
// this desk's accepted checkpoint of it (a consistency proof from the
// venue, which it cannot forge). It records the result on the notice; a
// notice that does not agree raises an alarm on the fresh channel.
func (d *Desk) checkRecoveriesLocked(ctx context.Context) error {
	kvs, err := d.store.List(ctx, prefRecoveryCheck, 0)
	if err != nil || len(kvs) == 0 {
		return err
	}
	v, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return err
	}
	var errs []error
	for _, kv := range kvs {
		rest := strings.TrimPrefix(kv.Key, prefRecoveryCheck)
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			continue
		}
		ch := rest[:i]
		idx, err := strconv.ParseInt(rest[i+1:], 10, 64)
		if err != nil {
			continue
		}
		ms, err := d.Read(ctx, ch, idx, 1)
		if err != nil || len(ms) == 0 || ms[0].Index != idx {
			continue
		}
		m := ms[0]
		n, _, err := parseRecoveryNotice(m.Data)
		if err != nil {
			continue
		}
		verdict, agreed, alarm, err := d.verifyRecovery(ctx, v, ch, idx, n)
		if errors.Is(err, errNoView) {
			// Kept pending: the talks of ch wait for it (talksStart).
			m.Note = fmt.Sprintf("%s continues channel %s here; not verified: %v", who(m.Sender), n.From, err)
			if err := d.store.Update(ctx, func(tx *Tx) error { return putMessage(ctx, tx, m) }); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("recovery notice %d of %s: %w", idx, ch, err))
			continue // transient: tried again at the next sync
		}
		if alarm != nil {
			alarm.Log, alarm.Index = ch, idx
			d.warn(ctx, alarm, map[string][]byte{"notice": m.Data})
			errs = append(errs, alarm)
		}
		m.Note = fmt.Sprintf("%s continues channel %s here: %s", who(m.Sender), n.From, verdict)
		if n.Reason != "" {
			m.Note += "; their word: " + strconv.Quote(n.Reason)
		}
		var cont *Continuation
		if alarm == nil && agreed {
			if size, err := noticeSize(n); err == nil {
				cont = &Continuation{From: n.From, Size: size, Index: idx}
			}
		}
		if err := d.store.Update(ctx, func(tx *Tx) error {
			b, err := jsonMarshal(m)
			if err != nil {
				return err
			}
			if err := tx.Put(ctx, histKey(ch, idx), b); err != nil {
				return err
			}
			if cont != nil {
				if err := continueFrom(ctx, tx, ch, *cont); err != nil {
					return err
				}
				tx.OnCommit(func() { d.talks.forget(ch) })
			}
			return tx.Delete(ctx, kv.Key)
		}); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// verifyRecovery checks a notice against this desk's view of the old
// channel; agreed reports that both views are of one history. A non-nil
// error is transient (the venue unreachable).
func (d *Desk) verifyRecovery(ctx context.Context, v note.Verifier, ch string, idx int64, n *RecoveryNotice) (verdict string, agreed bool, alarm *Alarm, err error) {
	if n.To != ch {
		return "REFUSED", false, &Alarm{Kind: AlarmRecovery, Detail: fmt.Sprintf("a recovery notice for channel %s was sent in %s", n.To, ch)}, nil
	}
	// A notice continues a fresh channel: as its first words (Recover
	// sends it into a channel without entries), and not into a channel
	// the old one continues itself. A late notice would rewrite the talks
	// already held in ch, and a loop would leave both channels without any.
	var earlier []Message
	if idx > 0 { // (a limit of 0 reads everything)
		if earlier, err = d.Read(ctx, ch, 0, int(idx)); err != nil {
			return "", false, nil, err
		}
	}
	if slices.ContainsFunc(earlier, func(m Message) bool { return m.Kind == "application" && m.Index < idx }) {
		return "REFUSED: not the first words in " + ch, false, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("a recovery notice at entry %d of %s comes after messages there: talks already held in %s cannot be made to continue those of %s", idx, ch, ch, n.From)}, nil
	}
	chain, err := d.continuations(ctx, n.From)
	if err != nil {
		return "", false, nil, err
	}
	if n.From == ch {
		return "REFUSED: a channel cannot continue itself", false, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("a recovery notice in %s would continue %s itself", ch, ch)}, nil
	}
	if slices.ContainsFunc(chain, func(c Continuation) bool { return c.From == ch }) {
		return "REFUSED: " + n.From + " already continues " + ch, false, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("a recovery notice in %s would continue %s, whose talks continue those of %s: a loop", ch, n.From, ch)}, nil
	}
	origin := client.ChannelOrigin(d.venue.Name, n.From)
	theirs, _, err := tlog.OpenCheckpoint(n.Checkpoint, origin, v)
	if err != nil {
		return "REFUSED: its checkpoint is not the venue's of " + n.From, false, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("the recovery notice of %s carries a checkpoint that does not verify as the venue's of %s", ch, n.From)}, nil
	}
	st, err := d.logState(ctx, d.store, n.From)
	if err != nil {
		return "", false, nil, err
	}
	if st.Checkpoint == nil {
		// Not synced yet: try once.
		if err := d.syncLogLocked(ctx, n.From); err != nil {
			d.log.Info("no view of a recovered channel", "channel", n.From, "err", err)
		}
		if st, err = d.logState(ctx, d.store, n.From); err != nil {
			return "", false, nil, err
		}
	}
	if st.Checkpoint == nil {
		return "", false, nil, fmt.Errorf("%w of %s to compare its history with (entries 0 to %d, signed by the venue): the talks here wait until it has one", errNoView, n.From, theirs.Size-1)
	}
	ours, err := tlog.ParseCheckpoint(checkpointBody(st.Checkpoint))
	if err != nil {
		return "", false, nil, err
	}
	old, cur := theirs, ours
	if old.Size > cur.Size {
		old, cur = cur, old
	}
	c := tlog.NewClient(origin, v, d.api.fetcher(n.From))
	agree := old.Hash == cur.Hash
	if old.Size != cur.Size {
		err := c.VerifyConsistency(ctx, old, cur)
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
			// The venue does not serve the tree of a checkpoint it
			// signed: it serves fewer entries than it once committed to.
			return "DISAGREES with what the venue serves of " + n.From, false, &Alarm{Kind: AlarmRecovery,
				Detail: fmt.Sprintf("the venue signed checkpoints of %s of sizes %d and %d but does not serve the larger tree (%v): it showed the parties different histories", n.From, old.Size, cur.Size, ce)}, nil
		}
		if err != nil && isTransient(err) {
			return "", false, nil, err
		}
		agree = err == nil
	}
	if !agree {
		return "DISAGREES with this desk's history of " + n.From, false, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("the history of %s carried into %s (size %d) is not consistent with this desk's (size %d): the venue showed the parties different histories", n.From, ch, theirs.Size, ours.Size)}, nil
	}
	// The talks move only among the same parties: a notice must not take
	// them where one of the old channel's delegations is not.
	if mf, mt, err := d.membersOf(ctx, n.From, ch); err != nil {
		return "", false, nil, err
	} else if !sameMembers(mf, mt) {
		return fmt.Sprintf("REFUSED: %s has members %s, not those of %s (%s)", ch, strings.Join(mt, ","), n.From, strings.Join(mf, ",")), false, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("a recovery notice would continue the talks of %s (members %s) in %s (members %s): not the same parties", n.From, strings.Join(mf, ","), ch, strings.Join(mt, ","))}, nil
	}
	return fmt.Sprintf("verified: its history of %s, entries 0 to %d, agrees with this desk's (size %d)", n.From, theirs.Size-1, ours.Size), true, nil, nil
}
