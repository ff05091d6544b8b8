package desk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
)

// More store keys of the MLS layer.
const (
	keyLastResort     = "mls/last-resort"      // the ref of our last-resort key package on the venue
	keyLastResortTime = "mls/last-resort-time" // when it was made
	prefRemoved       = "mls/removed/"         // devices removed from a channel: not re-invited automatically
	prefWelcome       = "mls/welcome/"         // Welcomes waiting for a confirmation of a party
	prefProposal      = "mls/proposals/"       // a channel has proposals waiting for a commit
)

// ErrNoGroup means this desk is not (yet) a member of the channel's group.
var ErrNoGroup = errors.New("this desk is not a member of the channel's group yet: a member adds it, or 'goodoffices desk open' starts the group of a new channel")

// afterSyncLocked does the MLS housekeeping after a sync: the key package
// stock on the venue, the Welcome mailbox, proposals waiting for a commit
// and devices waiting to be added. d.mu must be held.
func (d *Desk) afterSyncLocked(ctx context.Context) error {
	var errs []error
	if err := d.replenishKeyPackages(ctx); err != nil {
		errs = append(errs, fmt.Errorf("key packages: %w", err))
	}
	if err := d.deliverOutbox(ctx); err != nil {
		errs = append(errs, fmt.Errorf("outbox: %w", err))
	}
	joined, err := d.processMail(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("mailbox: %w", err))
	}
	for _, ch := range joined {
		if err := d.syncLogLocked(ctx, ch); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ch, err))
		}
	}
	chans, err := d.Channels(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, c := range chans {
		if g, err := d.loadGroup(ctx, d.store, c.ID); err == nil && g != nil {
			if err := d.checkInterpreters(ctx, c.ID, g); err != nil && !errors.Is(err, ErrInterpreterNotAdmitted) {
				errs = append(errs, fmt.Errorf("%s: %w", c.ID, err))
			}
		}
		if c.State.Alarm != nil || c.State.Pending() > 0 {
			continue
		}
		if to, err := d.ContinuedIn(ctx, c.ID); err != nil || to != "" {
			continue // no commit in a channel whose talks continue in another (recover.go)
		}
		if err := d.removeRevoked(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("%s: removing revoked devices: %w", c.ID, err))
		}
		if err := d.maintainGroup(ctx, c.ID); err != nil && !errors.Is(err, ErrNoGroup) {
			errs = append(errs, fmt.Errorf("%s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// replenishKeyPackages keeps at least kpLowWater one-time key packages and
// one last-resort package (RFC 9420 §16.8) on the venue. The private parts
// are stored before the upload.
func (d *Desk) replenishKeyPackages(ctx context.Context) error {
	n, err := d.api.countKeyPackages(ctx)
	if err != nil {
		return err
	}
	_, lrErr := d.store.Get(ctx, keyLastResort)
	needLR := errors.Is(lrErr, ErrNotFound)
	// Renew the last-resort package at half its lifetime, so that the venue
	// never hands out an expired one.
	if b, err := d.store.Get(ctx, keyLastResortTime); err == nil {
		if t, err := time.Parse(time.RFC3339, string(b)); err == nil && time.Since(t) > mls.DefaultKeyPackageLifetime/2 {
			needLR = true
		}
	}
	pol, err := d.SuitePolicy(ctx)
	if err != nil {
		return err
	}
	// A new suite policy replaces the stock: a new last-resort package
	// (the venue keeps one) and a full batch, handed out after the old
	// one-time packages, which candidates skips.
	stock, _ := d.store.Get(ctx, keyKPSuite)
	newSuite := string(stock) != strconv.Itoa(int(pol.Suite))
	if newSuite {
		needLR, n = true, 0
	}
	if n >= kpLowWater && !needLR {
		return d.store.Put(ctx, keyKPCount, []byte(strconv.Itoa(n)))
	}
	id, err := d.identityFor(pol.Suite)
	if err != nil {
		return err
	}
	var oneTime [][]byte
	var lastResort []byte
	privs := map[string][]byte{}
	mk := func(lr bool) ([]byte, error) {
		kp, priv, err := mls.NewKeyPackage(id, &mls.KeyPackageOptions{LastResort: lr})
		if err != nil {
			return nil, fmt.Errorf("failed to create key package: %w", err)
		}
		ref, err := kp.Ref()
		if err != nil {
			return nil, err
		}
		privs[hex.EncodeToString(ref)] = priv
		return kp.Bytes(), nil
	}
	for i := n; i < kpBatch; i++ {
		b, err := mk(false)
		if err != nil {
			return err
		}
		oneTime = append(oneTime, b)
	}
	var lrRef string
	if needLR {
		if lastResort, err = mk(true); err != nil {
			return err
		}
		kp, _ := mls.ParseKeyPackage(lastResort)
		ref, _ := kp.Ref()
		lrRef = hex.EncodeToString(ref)
	}
	if err := d.store.Update(ctx, func(tx *Tx) error {
		for ref, priv := range privs {
			if err := tx.Put(ctx, prefKP+ref, priv); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	total, err := d.api.uploadKeyPackages(ctx, oneTime, lastResort)
	if err != nil {
		return err
	}
	return d.store.Update(ctx, func(tx *Tx) error {
		if err := tx.Put(ctx, keyKPSuite, []byte(strconv.Itoa(int(pol.Suite)))); err != nil {
			return err
		}
		if lrRef != "" {
			if err := tx.Put(ctx, keyLastResort, []byte(lrRef)); err != nil {
				return err
			}
			if err := tx.Put(ctx, keyLastResortTime, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		return tx.Put(ctx, keyKPCount, []byte(strconv.Itoa(total)))
	})
}

// maxWaitingWelcomes bounds the Welcomes a desk keeps for later (waiting
// for a party's confirmation or for a ReInit commit), so that a venue or a
// member cannot fill the store with them.
const maxWaitingWelcomes = 64

// processMail joins the groups of the Welcomes in the device's mailbox
// (RFC 9420 §12.4.3.1). A Welcome is accepted only for a channel of this
// delegation that this desk is not yet in, and only if every member of the
// group passes the credential check; one that names a device no confirmed
// party certified raises an alarm. It returns the channels joined.
func (d *Desk) processMail(ctx context.Context) ([]string, error) {
	var joined []string
	// Welcomes kept until a party is confirmed.
	waiting, err := d.store.List(ctx, prefWelcome, 0)
	if err != nil {
		return nil, err
	}
	kept := 0
	for _, kv := range waiting {
		ch, err := d.tryWelcome(ctx, kv.Value)
		if errors.Is(err, ErrNotConfirmed) || errors.Is(err, errWaitingReInit) {
			kept++
			continue
		}
		d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, kv.Key) })
		if ch != "" {
			joined = append(joined, ch)
		}
	}
	var cur int64
	if b, err := d.store.Get(ctx, keyMailCur); err == nil {
		cur, _ = strconv.ParseInt(string(b), 10, 64)
	}
	mail, err := d.api.mail(ctx, cur)
	if err != nil {
		return joined, err
	}
	for _, m := range mail {
		if isHandoverMail(m.Data) { // applied after the sync (handover.go)
			if err := d.keepHandoverMail(ctx, m.ID, m.Data); err != nil {
				return joined, err
			}
			if err := d.store.Put(ctx, keyMailCur, []byte(strconv.FormatInt(m.ID, 10))); err != nil {
				return joined, err
			}
			continue
		}
		ch, err := d.tryWelcome(ctx, m.Data)
		switch {
		case (errors.Is(err, ErrNotConfirmed) || errors.Is(err, errWaitingReInit)) && kept >= maxWaitingWelcomes:
			d.log.Warn("dropped a Welcome: too many wait already", "mail", m.ID, "err", err)
		case errors.Is(err, ErrNotConfirmed), errors.Is(err, errWaitingReInit):
			if errors.Is(err, ErrNotConfirmed) {
				d.log.Warn("a Welcome waits until its members' delegations are confirmed (desk verify-party)", "mail", m.ID)
			} else {
				d.log.Info("a Welcome into an upgraded channel waits for the ReInit commit in its log", "mail", m.ID)
			}
			if err := d.store.Put(ctx, fmt.Sprintf("%s%016d", prefWelcome, m.ID), m.Data); err != nil {
				return joined, err
			}
			kept++
		case err != nil:
			d.log.Warn("ignored a message in the mailbox", "mail", m.ID, "err", err)
		case ch != "":
			joined = append(joined, ch)
		}
		if err := d.store.Put(ctx, keyMailCur, []byte(strconv.FormatInt(m.ID, 10))); err != nil {
			return joined, err
		}
	}
	if len(mail) > 0 {
		if err := d.api.deleteMail(ctx, mail[len(mail)-1].ID); err != nil {
			d.log.Warn("failed to delete handled mail", "err", err)
		}
	}
	return joined, nil
}

// tryWelcome joins the group of a Welcome with one of our key packages.
func (d *Desk) tryWelcome(ctx context.Context, welcome []byte) (string, error) {
	h, err := mls.ParseHeader(welcome)
	if err != nil || h.WireFormat != mls.WireFormatWelcome {
		return "", errors.New("not a Welcome")
	}
	pol, err := d.SuitePolicy(ctx)
	if err != nil {
		return "", err
	}
	if err := pol.Check(h.CipherSuite); err != nil {
		return "", fmt.Errorf("refused to join a channel: %w", err)
	}
	id, err := d.identityFor(h.CipherSuite)
	if err != nil {
		return "", err
	}
	// Only our key packages the Welcome is addressed to (of its suite).
	refs, err := mls.WelcomeRecipients(welcome)
	if err != nil {
		return "", err
	}
	var kps []KV
	for _, ref := range refs {
		k := prefKP + hex.EncodeToString(ref)
		if v, err := d.store.Get(ctx, k); err == nil {
			kps = append(kps, KV{Key: k, Value: v})
		}
	}
	parties, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return "", err
	}
	var rejected error
	cfg := &mls.Config{PublicHandshake: true, PaddingBuckets: paddingBuckets(), ValidateCredential: func(c mls.Credential, sigKey []byte) error {
		_, err := d.verifyCredential(parties, nil, nil, c, sigKey)
		if err != nil && rejected == nil {
			rejected = err
		}
		return err
	}}
	lr, _ := d.store.Get(ctx, keyLastResort)
	for _, kv := range kps {
		rejected = nil
		g, err := mls.Join(id, kv.Value, welcome, cfg, nil)
		var resumed *mls.Group // the closed group g succeeds (upgrade.go)
		if resumesGroup(err) {
			_, g, resumed, err = d.joinSuccessor(ctx, id, kv.Value, welcome, cfg)
			if errors.Is(err, errWaitingReInit) {
				return "", err
			}
		}
		if errors.Is(err, mls.ErrNotForUs) {
			continue
		}
		if errors.Is(err, mls.ErrCredentialRejected) {
			if errors.Is(rejected, ErrNotConfirmed) {
				return "", rejected
			}
			a := d.raise(ctx, &Alarm{Log: "mailbox", Kind: AlarmMember,
				Detail: fmt.Sprintf("a Welcome into a group with a member this desk does not accept: %v", rejected)}, nil, nil,
				map[string][]byte{"welcome": welcome})
			return "", a
		}
		if err != nil {
			return "", fmt.Errorf("failed to join from a Welcome: %w", err)
		}
		ch, ok := d.channelOfGroup(g.GroupID())
		if !ok {
			return "", errors.New("a Welcome for a group that is not a channel of this venue")
		}
		meta, err := d.channelMeta(ctx, d.store, ch)
		if err != nil {
			return "", fmt.Errorf("a Welcome for channel %s, which this delegation is not in", ch)
		}
		for _, m := range g.Members() {
			mi := memberOf(m)
			interpreter := mi.Role == delegation.RoleInterpreter && containsStr(meta.Interpreters, mi.Device)
			if !containsStr(meta.Members, mi.Delegation) && !interpreter {
				a := d.raise(ctx, &Alarm{Log: ch, Kind: AlarmMember,
					Detail: fmt.Sprintf("a Welcome into %s whose group holds a device of %q, not a member delegation", ch, mi.Delegation)}, nil, nil,
					map[string][]byte{"welcome": welcome})
				return "", a
			}
		}
		old, err := d.loadGroup(ctx, d.store, ch)
		if err == nil && old != nil && resumed == nil {
			if old.Active() {
				return "", fmt.Errorf("a Welcome into %s, whose group this desk is already in", ch)
			}
			if _, _, _, closed := old.ReInitInfo(); closed {
				return "", fmt.Errorf("a Welcome into %s that does not resume its group closed for an upgrade", ch)
			}
		}
		err = d.store.Update(ctx, func(tx *Tx) error {
			if resumed != nil {
				if err := d.enterSuccessor(ctx, tx, ch, g, d.epochBase(ctx, tx, ch)+resumed.Epoch()); err != nil {
					return err
				}
				if string(lr) != strings.TrimPrefix(kv.Key, prefKP) {
					return tx.Delete(ctx, kv.Key)
				}
				return nil
			}
			if err := saveGroup(ctx, tx, ch, g); err != nil {
				return err
			}
			if err := tx.Put(ctx, prefJoin+ch, []byte(strconv.FormatUint(g.Epoch(), 10))); err != nil {
				return err
			}
			if string(lr) != strings.TrimPrefix(kv.Key, prefKP) {
				return tx.Delete(ctx, kv.Key) // one-time key package used
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		d.log.Info("joined channel", "channel", ch, "epoch", g.Epoch())
		return ch, nil
	}
	return "", errors.New("a Welcome for none of this desk's key packages")
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A welcomeOut is a Welcome to deliver once our commit is accepted. It is
// stored with the pending commit, marked Accepted when the desk processes
// its own commit from the log, delivered and then deleted; so a desk killed
// between the append and the delivery delivers it after restarting.
type welcomeOut struct {
	Epoch    uint64   `json:"epoch"` // the epoch the commit was made in
	Welcome  []byte   `json:"welcome"`
	Devices  []string `json:"devices"`
	Accepted bool     `json:"accepted"`
}

func outboxKey(ch string, epoch uint64) string {
	return fmt.Sprintf("%s%s/%020d", prefOutbox, ch, epoch)
}

// deliverOutbox sends the Welcomes of accepted commits and drops those of
// commits that lost their epoch.
func (d *Desk) deliverOutbox(ctx context.Context) error {
	kvs, err := d.store.List(ctx, prefOutbox, 0)
	if err != nil {
		return err
	}
	var errs []error
	for _, kv := range kvs {
		var w welcomeOut
		if err := jsonUnmarshal(kv.Value, &w); err != nil {
			return err
		}
		ch := strings.TrimPrefix(kv.Key, prefOutbox)
		ch = ch[:strings.LastIndexByte(ch, '/')]
		if !w.Accepted {
			g, err := d.loadGroup(ctx, d.store, ch)
			if err != nil {
				return err
			}
			if g != nil && g.Epoch() <= w.Epoch && g.HasPendingCommit() {
				continue // not yet known whether it was accepted
			}
			if g != nil {
				d.groups.put(ch, g, mustGet(ctx, d.store, prefGroup+ch))
			}
			d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, kv.Key) })
			continue
		}
		var left []string
		for _, dev := range w.Devices {
			if err := d.api.sendMail(ctx, dev, w.Welcome); err != nil {
				errs = append(errs, fmt.Errorf("failed to deliver a Welcome to %s: %w", dev, err))
				left = append(left, dev)
			}
		}
		err := d.store.Update(ctx, func(tx *Tx) error {
			if len(left) == 0 {
				return tx.Delete(ctx, kv.Key)
			}
			w.Devices = left
			b, err := jsonMarshal(w)
			if err != nil {
				return err
			}
			return tx.Put(ctx, kv.Key, b)
		})
		if err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func mustGet(ctx context.Context, s *Store, key string) []byte {
	b, _ := s.Get(ctx, key)
	return b
}

// commitLocked makes a commit in a channel under the venue's one commit per
// epoch rule: it syncs the log, builds the commit on the current epoch,
// keeps the pending state, and appends it announced for that epoch. If
// another commit won the epoch (409) it discards its own, re-bases on the
// log and tries again. create makes the group when the channel has none.
func (d *Desk) commitLocked(ctx context.Context, ch string, create bool, build func(g *mls.Group) (*mls.CommitOptions, []string, error)) error {
	for attempt := 0; attempt < maxCommitRetries; attempt++ {
		err := d.syncLogLocked(ctx, ch)
		if err != nil && !(create && errors.Is(err, errWaitingWelcome)) {
			return err
		}
		g, err := d.loadGroup(ctx, d.store, ch)
		if err != nil {
			return err
		}
		if g == nil {
			// Without a group, only a creation may go on. Whether the
			// group was started is the venue's one commit per epoch to
			// tell, not the log's size: entries that are not its creation
			// (junk a member appended first) must not block it. If the
			// commit for epoch 0 is taken, another desk started it.
			if !create {
				return ErrNoGroup
			}
			pol, err := d.SuitePolicy(ctx)
			if err != nil {
				return err
			}
			if err := pol.Check(pol.Suite); err != nil {
				return fmt.Errorf("refused to open %s: %w", ch, err)
			}
			id, err := d.identityFor(pol.Suite)
			if err != nil {
				return err
			}
			cfg, err := d.groupConfig(ctx, d.store, ch)
			if err != nil {
				return err
			}
			if g, err = mls.Create(id, groupID(d.venue.Name, ch), cfg); err != nil {
				return fmt.Errorf("failed to create the group: %w", err)
			}
		}
		if !g.Active() {
			return fmt.Errorf("this desk is no longer a member of %s", ch)
		}
		if err := d.discardUnlogged(ctx, ch, g); err != nil {
			return err
		}
		opts, to, err := build(g)
		if err != nil {
			return err
		}
		bundle, err := g.Commit(opts)
		if err != nil {
			return fmt.Errorf("failed to make the commit: %w", err)
		}
		epoch := g.Epoch()
		if err := d.store.Update(ctx, func(tx *Tx) error {
			if epoch == 0 {
				// The start of the group: kept until the log shows whose
				// start won (creationLost, channel.go).
				if err := tx.Put(ctx, prefCreate+ch, bundle.Commit); err != nil {
					return err
				}
			}
			if bundle.Welcome != nil {
				b, err := jsonMarshal(welcomeOut{Epoch: epoch, Welcome: bundle.Welcome, Devices: to})
				if err != nil {
					return err
				}
				if err := tx.Put(ctx, outboxKey(ch, epoch), b); err != nil {
					return err
				}
			}
			return saveGroup(ctx, tx, ch, g)
		}); err != nil {
			return err
		}
		before, err := d.logState(ctx, d.store, ch)
		if err != nil {
			return err
		}
		var idx int64
		idx, err = d.api.appendEntryBased(ctx, ch, bundle.Commit, int64(epoch), d.epochBase(ctx, d.store, ch))
		if err == nil {
			// Acknowledged: the log will hold it (discardUnlogged).
			if err := d.store.Put(ctx, prefCommitAck+ch, []byte(strconv.FormatInt(idx, 10))); err != nil {
				return err
			}
		}
		if errors.Is(err, ErrEpochTaken) {
			// The commit holding the epoch may be this very one, logged
			// when the request reached the venue twice: read the log with
			// the pending commit kept (processing merges it if it is ours,
			// and discards it, or for the start of the group the group
			// itself, if another won), then look.
			serr := d.syncLogLocked(ctx, ch)
			if epoch == 0 && errors.Is(serr, errWaitingWelcome) {
				serr = nil // another desk's start of the group won
			}
			if serr != nil {
				// The log could not be read: whose commit took the epoch
				// is not known yet. The pending commit and its Welcomes
				// stay for the next sync to decide, as for a lost answer.
				return fmt.Errorf("failed to append the commit (its epoch is taken, maybe by this very commit: sync to see): %w", serr)
			}
			if d.ownCommitSince(ctx, ch, before.Next, epoch) {
				if err := d.deliverOutbox(ctx); err != nil {
					d.log.Warn("Welcomes not all delivered; the next sync retries", "err", err)
				}
				return nil
			}
			d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, outboxKey(ch, epoch)) })
			if epoch == 0 {
				return ErrNoGroup // another desk started the group: wait for its Welcome
			}
			d.log.Info("another commit won the epoch; re-basing", "channel", ch, "epoch", epoch)
			continue
		}
		if err != nil && maybeLogged(err) {
			// The venue may have logged it (its answer was lost): keep the
			// pending commit and its Welcomes. The next sync merges it if
			// the log holds it; the next commit discards it if not.
			return fmt.Errorf("failed to append the commit (the venue may have logged it: sync to see): %w", err)
		}
		if err != nil {
			g.DiscardCommit()
			d.store.Update(ctx, func(tx *Tx) error {
				if err := tx.Delete(ctx, outboxKey(ch, epoch)); err != nil {
					return err
				}
				if epoch == 0 {
					if err := tx.Delete(ctx, prefCreate+ch); err != nil {
						return err
					}
					if st, _ := d.logState(ctx, tx, ch); create && st.Next == 0 {
						return tx.Delete(ctx, prefGroup+ch) // our group never started
					}
				}
				return saveGroup(ctx, tx, ch, g)
			})
			return fmt.Errorf("failed to append the commit: %w", err)
		}
		if err := d.syncLogLocked(ctx, ch); err != nil {
			return err
		}
		if err := d.deliverOutbox(ctx); err != nil {
			d.log.Warn("Welcomes not all delivered; the next sync retries", "err", err)
		}
		return nil
	}
	return fmt.Errorf("failed to commit in %s: the epoch kept being taken", ch)
}

// discardUnlogged drops the pending commit of g, a commit of this desk's
// that the log, just synced, does not hold: the desk stopped between
// keeping it and appending it. Unless the venue acknowledged it at an index
// the log it shows this desk does not reach yet (a stale view): then the
// log will hold it, and dropping it would leave this desk in an epoch the
// others have left, sending what they cannot read; the desk waits instead.
func (d *Desk) discardUnlogged(ctx context.Context, ch string, g *mls.Group) error {
	if !g.HasPendingCommit() {
		return nil
	}
	if b, err := d.store.Get(ctx, prefCommitAck+ch); err == nil {
		idx, _ := strconv.ParseInt(string(b), 10, 64)
		st, err := d.logState(ctx, d.store, ch)
		if err != nil {
			return err
		}
		if idx >= st.Size {
			return fmt.Errorf("the venue acknowledged this desk's commit in %s at index %d but shows this desk a log of %d entries: it waits for it before sending (the stale-view alarm says so if it lasts)", ch, idx, st.Size)
		}
	}
	g.DiscardCommit()
	return d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, prefCommitAck+ch) })
}

// ownCommitSince reports whether the channel's history from index from on
// holds a commit of this desk sent in epoch.
func (d *Desk) ownCommitSince(ctx context.Context, ch string, from int64, epoch uint64) bool {
	ms, err := d.Read(ctx, ch, from, 0)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.Kind == "commit" && m.Own && m.Epoch == epoch {
			return true
		}
	}
	return false
}

// candidates returns the key packages of the devices of the channel's
// member delegations that are not in the group, pass the credential check
// and were not removed on purpose. It claims one key package per device.
func (d *Desk) candidates(ctx context.Context, ch string, g *mls.Group, only string) ([]*mls.KeyPackage, []string, error) {
	meta, err := d.channelMeta(ctx, d.store, ch)
	if err != nil {
		return nil, nil, err
	}
	parties, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return nil, nil, err
	}
	if g == nil {
		return nil, nil, ErrNoGroup
	}
	cs := g.CipherSuite()
	in := map[string]bool{d.DeviceID(): true}
	for _, m := range g.Members() {
		in[delegation.DeviceID(ed25519.PublicKey(m.SignatureKey))] = true
	}
	revoked, err := d.revokedIn(ctx, d.store)
	if err != nil {
		return nil, nil, err
	}
	var kps []*mls.KeyPackage
	var devs []string
	for _, del := range meta.Members {
		if p, ok := parties[del]; !ok || p.Confirmed.IsZero() {
			continue
		}
		devices, err := d.api.devices(ctx, del)
		if err != nil {
			return nil, nil, err
		}
		for _, dev := range devices {
			if in[dev.ID] || (only != "" && dev.ID != only) {
				continue
			}
			if _, ok := revoked[dev.ID]; ok {
				continue // revoked in the verified revocations log, whatever the venue lists
			}
			if only == "" {
				if _, err := d.store.Get(ctx, prefRemoved+ch+"/"+dev.ID); err == nil {
					continue
				}
			}
			kp, err := d.claimKeyPackage(ctx, dev.ID, cs)
			if err != nil {
				d.log.Warn("no key package for device", "device", dev.ID, "err", err)
				continue
			}
			if nb, na := kp.Lifetime(); time.Now().Before(nb) || time.Now().After(na) {
				d.log.Warn("expired key package from the venue; the device must sync to upload fresh ones", "device", dev.ID)
				continue
			}
			// The venue answered a claim for this device's key package: one
			// that is not the device's is a substitution by the venue (or
			// its path), never a reason to carry on without the device.
			pub, _ := delegation.ParseDeviceID(dev.ID)
			if !bytes.Equal(kp.SignatureKey(), pub) {
				return nil, nil, d.warn(ctx, &Alarm{Log: ch, Kind: AlarmKeyPackage,
					Detail: fmt.Sprintf("the venue answered the claim for a key package of device %s of %s with one whose signature key is not that device's: the channel's group was not changed, so that no party's device is left out of it unseen", dev.ID, del)},
					map[string][]byte{"keypackage": kp.Bytes()})
			}
			if _, err := d.verifyCredential(parties, meta.Members, nil, kp.Credential(), kp.SignatureKey()); err != nil {
				// The device's own key with a credential that no longer
				// holds (an expired or revoked certificate): not added.
				d.log.Warn("key package credential refused", "device", dev.ID, "err", err)
				continue
			}
			kps = append(kps, kp)
			devs = append(devs, dev.ID)
		}
	}
	if only != "" && len(kps) == 0 {
		return nil, nil, fmt.Errorf("device %s cannot be added (not registered for a confirmed member delegation, already in, or no key package)", only)
	}
	return kps, devs, nil
}

// maxStaleKeyPackages bounds how many key packages of another suite
// claimKeyPackage skips: a device that changed its suite policy leaves its
// old one-time packages on the venue (kpBatch, or a few more).
const maxStaleKeyPackages = 2 * kpBatch

// claimKeyPackage claims a key package of a device in suite cs, skipping
// (and so using up) those of other suites that a device left on the venue
// when it changed its suite policy.
func (d *Desk) claimKeyPackage(ctx context.Context, dev string, cs mls.CipherSuite) (*mls.KeyPackage, error) {
	for range maxStaleKeyPackages + 1 {
		raw, lastResort, err := d.api.claimKeyPackage(ctx, dev)
		if err != nil {
			return nil, err
		}
		kp, err := mls.ParseKeyPackage(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid key package from the venue: %w", err)
		}
		if kp.CipherSuite() == cs {
			return kp, nil
		}
		if lastResort {
			return nil, fmt.Errorf("the device publishes key packages of %s, not of the channel's %s: it must change its suite policy or the channel upgrade", suiteLabel(kp.CipherSuite()), suiteLabel(cs))
		}
	}
	return nil, fmt.Errorf("no key package of the channel's %s among the device's next %d", suiteLabel(cs), maxStaleKeyPackages+1)
}

// maxAddBytes bounds the key packages one commit carries, so that the
// commit stays within the venue's largest log entry (64 KiB) with room for
// its UpdatePath: an X-Wing key package is about 2.6 KB (1216-byte init and
// encryption keys), so a commit adds at most a dozen devices; the rest are
// added by the next commits (maintainGroup, at the next sync).
const maxAddBytes = 32 << 10

// addOptions returns a commit adding the first of kps (of devs) that fit in
// maxAddBytes, and the devices it adds.
func addOptions(kps []*mls.KeyPackage, devs []string) (*mls.CommitOptions, []string) {
	opts := &mls.CommitOptions{}
	size := 0
	for i, kp := range kps {
		size += len(kp.Bytes())
		if i > 0 && size > maxAddBytes {
			return opts, devs[:i]
		}
		opts.Proposals = append(opts.Proposals, mls.AddProposal(kp))
	}
	return opts, devs
}

// Open starts the MLS group of a channel that has none yet, with every
// device of its member delegations that this delegate accepts. Entries
// already in the log that are not the group's creation (junk a member
// appended) do not stop it: the venue's one commit per epoch tells whether
// another desk started the group (ErrNoGroup then).
func (d *Desk) Open(ctx context.Context, ch string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.openLocked(ctx, ch)
}

func (d *Desk) openLocked(ctx context.Context, ch string) error {
	if _, err := d.channelMeta(ctx, d.store, ch); err != nil {
		if _, err := d.syncLocked(ctx); err != nil {
			return err
		}
	}
	return d.commitLocked(ctx, ch, true, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		if g.Epoch() > 0 {
			return nil, nil, fmt.Errorf("channel %s is open already (this desk is in its group at epoch %d): use 'desk invite' to add devices", ch, g.Epoch())
		}
		kps, devs, err := d.candidates(ctx, ch, g, "")
		if err != nil {
			return nil, nil, err
		}
		opts, devs := addOptions(kps, devs)
		return opts, devs, nil
	})
}

// Invite adds a device (or, with device "", every missing device of the
// channel's member delegations) to a channel's group.
func (d *Desk) Invite(ctx context.Context, ch, device string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if device != "" {
		d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, prefRemoved+ch+"/"+device) })
	}
	return d.inviteLocked(ctx, ch, device)
}

// inviteLocked is Invite with d.mu held.
func (d *Desk) inviteLocked(ctx context.Context, ch, device string) error {
	return d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		kps, devs, err := d.candidates(ctx, ch, g, device)
		if err != nil {
			return nil, nil, err
		}
		if len(kps) == 0 {
			return nil, nil, errors.New("no device to add")
		}
		opts, devs := addOptions(kps, devs)
		return opts, devs, nil
	})
}

// Remove removes a device from a channel's group. It is not re-added
// automatically.
func (d *Desk) Remove(ctx context.Context, ch, device string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.Put(ctx, prefRemoved+ch+"/"+device, []byte("1")); err != nil {
		return err
	}
	return d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		for _, m := range g.Members() {
			if delegation.DeviceID(ed25519.PublicKey(m.SignatureKey)) == device {
				if m.Index == g.OwnIndex() {
					return nil, nil, errors.New("a desk cannot remove itself: use 'desk leave'")
				}
				return &mls.CommitOptions{Proposals: []mls.Proposal{mls.RemoveProposal(m.Index)}}, nil, nil
			}
		}
		return nil, nil, fmt.Errorf("device %s is not a member of %s", device, ch)
	})
}

// Rotate refreshes this desk's keys in a channel with a full commit
// (RFC 9420 §12.4, an UpdatePath), for post-compromise security.
func (d *Desk) Rotate(ctx context.Context, ch string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		return &mls.CommitOptions{ForcePath: true}, nil, nil
	})
}

// Leave asks to be removed from a channel: it sends a Remove proposal for
// this desk's own leaf, which another member commits (RFC 9420 §12.1.3).
func (d *Desk) Leave(ctx context.Context, ch string) error {
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
	msg, err := g.Propose(mls.RemoveProposal(g.OwnIndex()), nil)
	if err != nil {
		return fmt.Errorf("failed to propose leaving: %w", err)
	}
	if err := d.store.Update(ctx, func(tx *Tx) error { return saveGroup(ctx, tx, ch, g) }); err != nil {
		return err
	}
	if _, err := d.api.appendEntry(ctx, ch, msg, -1); err != nil {
		return err
	}
	return d.syncLogLocked(ctx, ch)
}

// maintainGroup commits proposals waiting in a channel (a member's request
// to leave) and adds devices that should be in the group, when this desk
// has the lowest leaf index among the members, so that one desk does it.
func (d *Desk) maintainGroup(ctx context.Context, ch string) error {
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return err
	}
	if g == nil || !g.Active() {
		return ErrNoGroup
	}
	_, perr := d.store.Get(ctx, prefProposal+ch)
	hasProposals := perr == nil
	leaving := map[uint32]bool{}
	if hasProposals {
		b, _ := d.store.Get(ctx, prefProposal+ch)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.ParseUint(f, 10, 32); err == nil {
				leaving[uint32(n)] = true
			}
		}
	}
	for _, m := range g.Members() {
		if m.Index < g.OwnIndex() && !leaving[m.Index] {
			return nil // another desk does it
		}
	}
	if leaving[g.OwnIndex()] {
		return nil
	}
	if hasProposals {
		return d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
			return &mls.CommitOptions{}, nil, nil
		})
	}
	kps, devs, err := d.candidates(ctx, ch, g, "")
	if err == nil && len(kps) == 0 {
		err = d.maintainInterpreters(ctx, ch, g)
	}
	if err != nil || len(kps) == 0 {
		return err
	}
	return d.commitLocked(ctx, ch, false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		opts, devs := addOptions(kps, devs)
		return opts, devs, nil
	})
}

// Send encrypts data as an MLS application message (a PrivateMessage,
// RFC 9420 §6.3) in a channel and appends it to the channel's log. The
// channel's group is started if the channel's log is empty. It returns the
// entry's index.
func (d *Desk) Send(ctx context.Context, ch string, data []byte) (int64, error) {
	return d.send(ctx, ch, data, nil)
}

// send is Send; check, if not nil, runs once the channel's log is up to
// date and before anything is encrypted or appended (SendEvent).
func (d *Desk) send(ctx context.Context, ch string, data []byte, check func() error) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if to, err := d.ContinuedIn(ctx, ch); err != nil {
		return 0, err
	} else if to != "" {
		// What is said there now would not be carried (recover.go).
		return 0, fmt.Errorf("the talks of %s continue in %s since a recovery: send there", ch, to)
	}
	if _, err := d.channelMeta(ctx, d.store, ch); err != nil {
		if _, err := d.syncLocked(ctx); err != nil {
			return 0, err
		}
		if _, err := d.channelMeta(ctx, d.store, ch); err != nil {
			return 0, fmt.Errorf("the venue has no channel %q for this delegation", ch)
		}
	}
	// Only the entries matter before encrypting; the confirmation is
	// brought up to date after the message is sent.
	err := d.syncLogOpt(ctx, ch, false)
	if errors.Is(err, errWaitingWelcome) {
		// The Welcome may be in the mailbox: a full sync processes it.
		if _, err := d.syncLocked(ctx); err != nil {
			return 0, err
		}
		err = d.syncLogOpt(ctx, ch, false)
	}
	if errors.Is(err, errWaitingWelcome) {
		return 0, ErrNoGroup
	}
	if err != nil {
		return 0, err
	}
	if check != nil {
		if err := check(); err != nil {
			return 0, err
		}
	}
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return 0, err
	}
	if g != nil {
		if err := d.checkInterpreters(ctx, ch, g); err != nil {
			return 0, err
		}
	}
	if g == nil {
		err := d.openLocked(ctx, ch)
		if errors.Is(err, ErrNoGroup) {
			// Another desk started the group first: its Welcome may be in
			// the mailbox already.
			if _, err := d.syncLocked(ctx); err != nil {
				return 0, err
			}
		} else if err != nil {
			return 0, err
		}
		if g, err = d.loadGroup(ctx, d.store, ch); err != nil || g == nil {
			return 0, errOr(err, ErrNoGroup)
		}
	}
	for attempt := 0; ; attempt++ {
		idx, late, err := d.sendOnce(ctx, ch, g, data)
		if err != nil || !late || attempt == 2 {
			return idx, err
		}
		// A commit was logged before our message: the others cannot read it
		// in the epoch it was sent in. Send it again in the new epoch.
		d.log.Info("message landed after an epoch change; sending it again", "channel", ch, "index", idx)
		if g, err = d.loadGroup(ctx, d.store, ch); err != nil || g == nil {
			return idx, errOr(err, ErrNoGroup)
		}
	}
}

// sendOnce encrypts and appends one message, then processes the log up to
// it. late reports that the message landed after a commit that ended the
// epoch it was encrypted in.
func (d *Desk) sendOnce(ctx context.Context, ch string, g *mls.Group, data []byte) (idx int64, late bool, err error) {
	if _, cs, _, closed := g.ReInitInfo(); closed {
		return 0, false, fmt.Errorf("channel %s is being upgraded to %s: this desk waits for the Welcome into its new group (sync again)", ch, suiteLabel(cs))
	}
	if !g.Active() {
		return 0, false, fmt.Errorf("this desk is no longer a member of %s", ch)
	}
	if err := d.discardUnlogged(ctx, ch, g); err != nil {
		return 0, false, err
	}
	ct, disc, err := g.EncryptDisclosed(data, nil) // disclosure: briefing.go
	if err != nil {
		return 0, false, fmt.Errorf("failed to encrypt: %w", err)
	}
	sb, _ := jsonMarshal(sentRecord{Epoch: g.Epoch(), Data: data})
	if err := d.store.Update(ctx, func(tx *Tx) error {
		if err := saveGroup(ctx, tx, ch, g); err != nil {
			return err
		}
		if err := putDisclosure(ctx, tx, ch, ct, disc); err != nil {
			return err
		}
		return tx.Put(ctx, sentKey(ch, ct), sb)
	}); err != nil {
		return 0, false, err
	}
	idx, err = d.api.appendEntry(ctx, ch, ct, -1)
	if err != nil {
		if maybeLogged(err) {
			// No answer, or a 5xx: the venue may have logged it. Keep the
			// record, so that this desk reads it as its own if it is.
			return 0, false, fmt.Errorf("failed to send (the venue may have logged it: sync to see): %w", err)
		}
		d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, sentKey(ch, ct)) })
		return 0, false, fmt.Errorf("failed to send: %w", err)
	}
	// The confirmation (handing over this desk's cosignature, fetching the
	// others') is off the sender's path: while Run is live, it confirms on
	// the event of this entry; otherwise confirmLater does.
	if err := d.syncLogOpt(ctx, ch, false); err != nil {
		return idx, false, err
	}
	if d.live.Load() == 0 {
		d.confirmLater(ctx, ch)
	}
	if b, err := d.store.Get(ctx, histKey(ch, idx)); err == nil {
		var m Message
		if jsonUnmarshal(b, &m) == nil && m.Own && m.Note != "" && m.Kind != "recovery" {
			return idx, true, nil
		}
	}
	return idx, false, nil
}

// Read returns the processed entries of a channel with index >= from, at
// most limit (0: all), in log order. It reads (and decrypts) only the
// entries it returns: the desk keeps each entry decrypted once, at sync, in
// its encrypted store, indexed by log position.
func (d *Desk) Read(ctx context.Context, ch string, from int64, limit int) ([]Message, error) {
	kvs, err := d.store.listRange(ctx, d.store.db, histKey(ch, max(from, 0)), prefHist+ch+"/\xff", limit, false)
	if err != nil {
		return nil, err
	}
	return decodeMessages(kvs)
}

// ReadLast returns the last n processed entries of a channel (fewer if it
// has fewer), in log order.
func (d *Desk) ReadLast(ctx context.Context, ch string, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	kvs, err := d.store.listRange(ctx, d.store.db, prefHist+ch+"/", prefHist+ch+"/\xff", n, true)
	if err != nil {
		return nil, err
	}
	slices.Reverse(kvs)
	return decodeMessages(kvs)
}

func decodeMessages(kvs []KV) ([]Message, error) {
	out := make([]Message, 0, len(kvs))
	for _, kv := range kvs {
		var m Message
		if err := jsonUnmarshal(kv.Value, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Members returns the members of a channel's group as this desk sees it.
func (d *Desk) Members(ctx context.Context, ch string) ([]MemberInfo, uint64, error) {
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return nil, 0, err
	}
	if g == nil {
		return nil, 0, ErrNoGroup
	}
	meta, err := d.channelMeta(ctx, d.store, ch)
	if err != nil {
		return nil, 0, err
	}
	in := groupInterpreters(g, meta.Members)
	var out []MemberInfo
	for _, m := range g.Members() {
		mi := memberOf(m)
		_, mi.Interpreter = in[m.Index]
		out = append(out, mi)
	}
	return out, g.Epoch(), nil
}
