package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
)

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
		err = fmt.Errorf("%s is halted by an alarm: keep its evidence and clear it first ('goodoffices desk clear-alarm %s --reason TEXT')", from, from)
	}
	if err == nil && st.Checkpoint == nil {
		err = fmt.Errorf("this desk has no verified checkpoint of %s: nothing to carry", from)
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
	mf, err := d.channelMeta(ctx, d.store, from)
	if err == nil {
		var mt client.Channel
		if mt, err = d.channelMeta(ctx, d.store, to); err != nil {
			err = fmt.Errorf("the venue has no channel %q for this delegation: the host creates it first", to)
		} else if !sameMembers(mf.Members, mt.Members) {
			err = fmt.Errorf("channel %s has members %s, not those of %s (%s)", to, strings.Join(mt.Members, ","), from, strings.Join(mf.Members, ","))
		}
	}
	var kind string
	if err == nil {
		if ts, _ := d.logState(ctx, d.store, to); ts.Size > 0 {
			err = fmt.Errorf("channel %s is not fresh (%d entries): recover into a new channel", to, ts.Size)
		}
		if as, aerr := d.Alarms(ctx); aerr == nil {
			for _, a := range as {
				if a.Log == from {
					kind = a.Kind
				}
			}
		}
	}
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	n := &RecoveryNotice{From: from, To: to, Checkpoint: st.Checkpoint, Alarm: kind, Reason: reason}
	idx, err := d.Send(ctx, to, n.marshal())
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
		return nil
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
		verdict, alarm, err := d.verifyRecovery(ctx, v, ch, n)
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
		if err := d.store.Update(ctx, func(tx *Tx) error {
			b, err := jsonMarshal(m)
			if err != nil {
				return err
			}
			if err := tx.Put(ctx, histKey(ch, idx), b); err != nil {
				return err
			}
			return tx.Delete(ctx, kv.Key)
		}); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// verifyRecovery checks a notice against this desk's view of the old
// channel. A non-nil error is transient (the venue unreachable).
func (d *Desk) verifyRecovery(ctx context.Context, v note.Verifier, ch string, n *RecoveryNotice) (string, *Alarm, error) {
	if n.To != ch {
		return "REFUSED", &Alarm{Kind: AlarmRecovery, Detail: fmt.Sprintf("a recovery notice for channel %s was sent in %s", n.To, ch)}, nil
	}
	origin := client.ChannelOrigin(d.venue.Name, n.From)
	theirs, _, err := tlog.OpenCheckpoint(n.Checkpoint, origin, v)
	if err != nil {
		return "REFUSED: its checkpoint is not the venue's of " + n.From, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("the recovery notice of %s carries a checkpoint that does not verify as the venue's of %s", ch, n.From)}, nil
	}
	st, err := d.logState(ctx, d.store, n.From)
	if err != nil {
		return "", nil, err
	}
	if st.Checkpoint == nil {
		return fmt.Sprintf("its history of %s up to entry %d is signed by the venue; this desk has no view of %s to compare", n.From, theirs.Size-1, n.From), nil, nil
	}
	ours, err := tlog.ParseCheckpoint(checkpointBody(st.Checkpoint))
	if err != nil {
		return "", nil, err
	}
	old, cur := theirs, ours
	if old.Size > cur.Size {
		old, cur = cur, old
	}
	c := tlog.NewClient(origin, v, d.api.fetcher(n.From))
	agree := old.Hash == cur.Hash
	if old.Size != cur.Size {
		err := c.VerifyConsistency(ctx, old, cur)
		if err != nil && isTransient(err) {
			return "", nil, err
		}
		agree = err == nil
	}
	if !agree {
		return "DISAGREES with this desk's history of " + n.From, &Alarm{Kind: AlarmRecovery,
			Detail: fmt.Sprintf("the history of %s carried into %s (size %d) is not consistent with this desk's (size %d): the venue showed the parties different histories", n.From, ch, theirs.Size, ours.Size)}, nil
	}
	return fmt.Sprintf("verified: its history of %s, entries 0 to %d, agrees with this desk's (size %d)", n.From, theirs.Size-1, ours.Size), nil, nil
}
