package desk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
)

// Upgrading a channel in place (RFC 9420 §11.2). A member commits a ReInit
// proposal naming the channel's next group (the same channel, generation
// n+1: groupIDGen) and the new suite; the commit closes the group. That
// member then creates the successor with every member of the old group
// (Group.CreateSuccessor: a first commit injecting the old group's
// resumption PSK of usage reinit) and sends each other member a Welcome,
// which they accept only against their own state of the closed group
// (JoinOptions.ResumedGroup): the successor is provably the continuation of
// the group they were in, with the same members.
//
// The channel keeps its log, so its history keeps its index, its
// cosignatures and this desk's decrypted copy, and the negotiation state,
// computed from that history, carries over. Messages of the old group that
// land after the ReInit commit are skipped.
//
// The venue's one-commit-per-epoch rule counts epochs per log, and the
// successor starts again from epoch 1: a desk announces the commits of a
// group at the group's epoch plus the channel's epoch base, the sum of the
// final epochs of the groups before it.

// More store keys of the MLS layer.
const (
	prefEpochBase = "mls/epoch-base/" // per channel: added to the group's epoch when announcing a commit
	prefUpgrading = "mls/upgrading/"  // per channel: this desk's ReInit commit closed the group; it owes the successor
)

// errWaitingReInit keeps a Welcome into a channel's successor group until
// this desk has processed the ReInit commit that closed the old one.
var errWaitingReInit = errors.New("a Welcome into the successor of a group whose ReInit this desk has not processed yet")

// epochBase returns the channel's epoch base.
func (d *Desk) epochBase(ctx context.Context, q getter, ch string) uint64 {
	b, err := q.Get(ctx, prefEpochBase+ch)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}

// closedGroups returns the groups of this desk's channels that a ReInit
// commit closed, by channel.
func (d *Desk) closedGroups(ctx context.Context) (map[string]*mls.Group, error) {
	kvs, err := d.store.List(ctx, prefGroup, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]*mls.Group{}
	for _, kv := range kvs {
		ch := strings.TrimPrefix(kv.Key, prefGroup)
		g, err := d.loadGroup(ctx, d.store, ch)
		if err != nil || g == nil {
			continue
		}
		if _, _, _, closed := g.ReInitInfo(); closed {
			out[ch] = g
		}
	}
	return out, nil
}

// joinSuccessor joins the successor of a closed group from a Welcome, with
// the key package private part kpPriv. It returns the channel, the group and
// the closed group it succeeds, or errWaitingReInit when the Welcome
// resumes a group this desk has not seen closed.
func (d *Desk) joinSuccessor(ctx context.Context, id *mls.Identity, kpPriv, welcome []byte, cfg *mls.Config) (string, *mls.Group, *mls.Group, error) {
	closed, err := d.closedGroups(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	for ch, old := range closed {
		next, _, _, _ := old.ReInitInfo()
		g, err := mls.Join(id, kpPriv, welcome, cfg, &mls.JoinOptions{ResumedGroup: old})
		if errors.Is(err, mls.ErrUnknownPSK) {
			continue // it resumes another group
		}
		if err != nil {
			return "", nil, nil, err
		}
		if string(g.GroupID()) != string(next) {
			return "", nil, nil, fmt.Errorf("a Welcome resuming %s into a group other than the one its ReInit named", ch)
		}
		return ch, g, old, nil
	}
	return "", nil, nil, errWaitingReInit
}

// resumesGroup reports whether a Join error says that the Welcome resumes
// another group (a resumption PSK of usage reinit or branch).
func resumesGroup(err error) bool {
	return errors.Is(err, mls.ErrUnknownPSK) || errors.Is(err, mls.ErrResumption)
}

// Upgrade moves a channel to the cipher suite cs in place (RFC 9420
// §11.2): a ReInit commit closes the channel's group, and this desk creates
// its successor in cs with every member and welcomes them. Every other
// member device must have published a key package of cs (its desk's suite
// policy, 'desk policy --suite'); the upgrade is refused before anything is
// sent otherwise. If this desk committed the ReInit but stopped before
// welcoming the others, running Upgrade again finishes it; the other
// members wait for its Welcome.
func (d *Desk) Upgrade(ctx context.Context, ch string, cs mls.CipherSuite) error {
	pol, err := d.SuitePolicy(ctx)
	if err != nil {
		return err
	}
	if err := pol.Check(cs); err != nil {
		return fmt.Errorf("refused to upgrade %s: %w", ch, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.syncLogLocked(ctx, ch); err != nil {
		return err
	}
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return err
	}
	if g == nil {
		return ErrNoGroup
	}
	claimed := map[string]*mls.KeyPackage{}
	if g.Active() {
		if g.CipherSuite() == cs {
			return fmt.Errorf("channel %s is already on %s", ch, suiteLabel(cs))
		}
		// Refuse before sending: every other member must be reachable in cs.
		kps, devs, err := d.successorKeyPackages(ctx, g, cs, nil)
		if err != nil {
			return fmt.Errorf("refused to upgrade %s: %w", ch, err)
		}
		for i, dev := range devs {
			claimed[dev] = kps[i]
		}
		err = d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
			_, gen, _ := d.parseGroupID(g.GroupID())
			next := groupIDGen(d.venue.Name, ch, gen+1)
			exts := g.Extensions()
			return &mls.CommitOptions{Proposals: []mls.Proposal{mls.ReInitProposal(next, cs, exts)}}, nil, nil
		})
		if err != nil {
			return err
		}
		if g, err = d.loadGroup(ctx, d.store, ch); err != nil {
			return err
		}
	}
	_, newCS, _, closed := g.ReInitInfo()
	if !closed {
		return fmt.Errorf("this desk is no longer a member of %s", ch)
	}
	if _, err := d.store.Get(ctx, prefUpgrading+ch); err != nil {
		// One member makes the successor: the one whose ReInit closed
		// the group.
		return fmt.Errorf("the group of %s was closed for an upgrade to %s by another member, whose desk makes its successor: sync to receive the Welcome", ch, suiteLabel(newCS))
	}
	id, err := d.identityFor(newCS)
	if err != nil {
		return err
	}
	// The members of the closed group (a rebase of the ReInit commit may
	// have changed them): the key packages claimed above, and more.
	kps, devs, err := d.successorKeyPackages(ctx, g, newCS, claimed)
	if err != nil {
		return fmt.Errorf("the group of %s is closed for the upgrade, but its successor cannot be made yet (run 'desk upgrade %s' again): %w", ch, ch, err)
	}
	cfg, err := d.groupConfig(ctx, d.store, ch)
	if err != nil {
		return err
	}
	next, welcome, err := g.CreateSuccessor(id, kps, cfg, nil)
	if err != nil {
		return fmt.Errorf("failed to create the successor of %s's group: %w", ch, err)
	}
	base := d.epochBase(ctx, d.store, ch) + g.Epoch()
	if err := d.store.Update(ctx, func(tx *Tx) error {
		b, err := jsonMarshal(welcomeOut{Epoch: base, Welcome: welcome, Devices: devs, Accepted: true})
		if err != nil {
			return err
		}
		if err := tx.Put(ctx, outboxKey(ch, base), b); err != nil {
			return err
		}
		if err := tx.Delete(ctx, prefUpgrading+ch); err != nil {
			return err
		}
		return d.enterSuccessor(ctx, tx, ch, next, base)
	}); err != nil {
		return err
	}
	d.log.Info("channel upgraded", "channel", ch, "suite", newCS.String())
	if err := d.deliverOutbox(ctx); err != nil {
		d.log.Warn("Welcomes not all delivered; the next sync retries", "err", err)
	}
	return nil
}

// enterSuccessor makes g, the successor of the channel's closed group, the
// channel's group, with the epoch base of its commits.
func (d *Desk) enterSuccessor(ctx context.Context, tx *Tx, ch string, g *mls.Group, base uint64) error {
	if err := saveGroup(ctx, tx, ch, g); err != nil {
		return err
	}
	if err := tx.Put(ctx, prefEpochBase+ch, []byte(strconv.FormatUint(base, 10))); err != nil {
		return err
	}
	return tx.Put(ctx, prefJoin+ch, []byte(strconv.FormatUint(g.Epoch(), 10)))
}

// successorKeyPackages returns a key package of suite cs for every member
// device of g but this one, with the devices: the one in have, or one it
// claims.
func (d *Desk) successorKeyPackages(ctx context.Context, g *mls.Group, cs mls.CipherSuite, have map[string]*mls.KeyPackage) ([]*mls.KeyPackage, []string, error) {
	var kps []*mls.KeyPackage
	var devs, missing []string
	for _, m := range g.Members() {
		if m.Index == g.OwnIndex() {
			continue
		}
		dev := delegation.DeviceID(ed25519.PublicKey(m.SignatureKey))
		if kp := have[dev]; kp != nil && kp.CipherSuite() == cs {
			kps, devs = append(kps, kp), append(devs, dev)
			continue
		}
		kp, err := d.claimKeyPackage(ctx, dev, cs)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s): %v", dev, memberOf(m).Person, err))
			continue
		}
		// The successor must hold the same devices: a key package of
		// another key is the venue's substitution (see candidates).
		if !bytes.Equal(kp.SignatureKey(), m.SignatureKey) || !bytes.Equal(kp.Credential().Identity, m.Credential.Identity) {
			return nil, nil, fmt.Errorf("the venue answered the claim for a key package of %s with one of another key or credential", dev)
		}
		kps, devs = append(kps, kp), append(devs, dev)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("no key package of %s for %s", suiteLabel(cs), strings.Join(missing, "; "))
	}
	return kps, devs, nil
}
