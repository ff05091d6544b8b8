package desk

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
)

// RevocationsLog is the ID of the venue's public log of device revocations
// (package delegation, Revocation). The desk verifies it like the register
// (checkpoint, consistency, inclusion) and enforces it itself: the venue
// refusing a revoked device is not trusted to happen.
const RevocationsLog = "revocations"

// prefRevoked keys the devices the verified revocations log revokes, by
// device ID.
const prefRevoked = "revoked/"

// A Revoked is a device revocation this desk verified: logged in the
// revocations log and signed by the root of the device's delegation as this
// desk knows it from the register.
type Revoked struct {
	Delegation string    `json:"delegation"`
	Device     string    `json:"device"`
	Time       time.Time `json:"time"`  // as the root signed it
	Index      int64     `json:"index"` // in the revocations log
	// Marks holds, per channel, the size of the channel's log this desk
	// verified after it knew of the revocation: any entry of the device at
	// or after it was appended after the revocation (an honest venue
	// refuses it). Set at the end of the sync that processed the
	// revocation (markRevokedLocked).
	Marks map[string]int64 `json:"marks,omitempty"`
}

// processRevocation records a revocation. It must verify under the root key
// of the device's delegation from the verified register: an entry that
// does not is an alarm (the venue logged something no root signed). A
// revocation of a delegation the desk does not know yet waits (pending).
func (d *Desk) processRevocation(ctx context.Context, tx *Tx, index int64, entry []byte) error {
	peek, err := delegation.PeekRevocation(entry)
	if err != nil {
		return &Alarm{Kind: AlarmMalformed, Detail: "the revocations log holds an entry that is not a device revocation"}
	}
	pb, err := tx.Get(ctx, prefParty+peek.Delegation)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("revocation of a device of %s, which the register does not hold yet", peek.Delegation)
	}
	if err != nil {
		return err
	}
	var p Party
	if err := json.Unmarshal(pb, &p); err != nil {
		return err
	}
	r, err := delegation.VerifyRevocation(entry, p.RootKey)
	if err != nil {
		return &Alarm{Kind: AlarmMalformed, Detail: fmt.Sprintf("revocations entry %d is not signed by the root of %s", index, peek.Delegation)}
	}
	id := delegation.DeviceID(r.Device)
	if _, err := tx.Get(ctx, prefRevoked+id); err == nil {
		return nil // the first revocation counts
	}
	b, _ := json.Marshal(Revoked{Delegation: r.Delegation, Device: id, Time: r.Time, Index: index})
	return tx.Put(ctx, prefRevoked+id, b)
}

// RevokedDevices returns the revocations this desk verified, by device ID.
func (d *Desk) RevokedDevices(ctx context.Context) (map[string]Revoked, error) {
	return d.revokedIn(ctx, d.store)
}

func (d *Desk) revokedIn(ctx context.Context, q getter) (map[string]Revoked, error) {
	kvs, err := q.List(ctx, prefRevoked, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Revoked, len(kvs))
	for _, kv := range kvs {
		var r Revoked
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("failed to load revocation: %w", err)
		}
		out[r.Device] = r
	}
	return out, nil
}

// markRevokedLocked gives every revocation without marks the channels'
// verified sizes, once the channels were synced after the revocations log
// (syncLocked): entries of the device from there on came after its
// revocation.
func (d *Desk) markRevokedLocked(ctx context.Context) error {
	revoked, err := d.revokedIn(ctx, d.store)
	if err != nil || len(revoked) == 0 {
		return err
	}
	chans, err := d.Channels(ctx)
	if err != nil {
		return err
	}
	return d.store.Update(ctx, func(tx *Tx) error {
		for _, r := range revoked {
			if r.Marks == nil {
				r.Marks = map[string]int64{}
			}
			changed := false
			for _, c := range chans {
				if _, ok := r.Marks[c.ID]; !ok {
					r.Marks[c.ID], changed = c.State.Size, true
				}
			}
			if !changed {
				continue
			}
			b, _ := json.Marshal(r)
			if err := tx.Put(ctx, prefRevoked+r.Device, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// revokedSender reports why an entry of a channel from device is refused:
// the device was revoked and the entry is at or after the channel's mark.
func revokedSender(ctx context.Context, tx *Tx, ch string, index int64, device string) (string, bool) {
	b, err := tx.Get(ctx, prefRevoked+device)
	if err != nil {
		return "", false
	}
	var r Revoked
	if json.Unmarshal(b, &r) != nil {
		return "", false
	}
	mark, ok := r.Marks[ch]
	if !ok || index < mark {
		return "", false
	}
	return fmt.Sprintf("refused: sent by device %s of %s after its revocation (revocations log entry %d, %s)",
		device, r.Delegation, r.Index, r.Time.UTC().Format(time.RFC3339)), true
}

// removeRevoked removes from a channel's group every member whose device
// the verified revocations log revokes. Any member desk does it, not only
// the one with the lowest leaf (maintainGroup): a venue that hides the
// revocation from some parties must not keep the device in. Racing desks
// are ordered by the venue's one commit per epoch; the loser re-bases and
// finds nothing left to remove.
func (d *Desk) removeRevoked(ctx context.Context, ch string) error {
	revoked, err := d.revokedIn(ctx, d.store)
	if err != nil || len(revoked) == 0 {
		return err
	}
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return err
	}
	if g == nil || !g.Active() || len(revokedMembers(g, revoked)) == 0 {
		return nil
	}
	for _, m := range revokedMembers(g, revoked) {
		if m.Index == g.OwnIndex() {
			return nil // this device is revoked: another desk removes it
		}
	}
	err = d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		ms := revokedMembers(g, revoked)
		if len(ms) == 0 {
			return nil, nil, errNothingRevoked
		}
		opts := &mls.CommitOptions{}
		for _, m := range ms {
			opts.Proposals = append(opts.Proposals, mls.RemoveProposal(m.Index))
		}
		return opts, nil, nil
	})
	if errors.Is(err, errNothingRevoked) {
		return nil
	}
	if err == nil {
		d.log.Info("removed revoked devices from the channel's group", "channel", ch)
	}
	return err
}

var errNothingRevoked = errors.New("no revoked member")

func revokedMembers(g *mls.Group, revoked map[string]Revoked) []mls.Member {
	var out []mls.Member
	for _, m := range g.Members() {
		if _, ok := revoked[delegation.DeviceID(ed25519.PublicKey(m.SignatureKey))]; ok {
			out = append(out, m)
		}
	}
	return out
}
