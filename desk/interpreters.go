package desk

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/venue/client"
)

type clientDevice = client.Device

// Interpreters (negotiation.TypeConsentInterpreter). The venue lets an
// interpreter's device use a channel's log when the host says so; only the
// parties decide whether it reads: the desks add it to the channel's group
// when every party has consented in the channel (one desk commits, as for
// missing devices), remove it when any party ends its admission, and
// refuse to send while the group holds an interpreter the parties have not
// admitted (a commit by a rogue member or a compromised desk), raising an
// alarm: nothing is encrypted to a reader the parties did not accept. A
// device that joined after messages it cannot read (the consents may be
// among them) cannot tell: it raises no alarm and changes nothing, but
// sends nothing there until a hand-over (handover.go) lets it check.

// AlarmInterpreter: the channel's group holds an interpreter's device that
// not every party admitted.
const AlarmInterpreter = "interpreter"

// prefInterpreterAlarm marks an interpreter alarm raised, by channel,
// device and epoch, so that a sync does not raise it again.
const prefInterpreterAlarm = "interpreter-alarm/"

// ErrInterpreterNotAdmitted refuses a send while the group holds an
// interpreter the parties have not admitted.
var ErrInterpreterNotAdmitted = errors.New("the channel's group holds an interpreter not every party admitted: nothing was sent")

// groupInterpreters returns the leaf indexes and device IDs of the
// interpreters' devices in g: members certified as interpreters by a
// delegation that is not a member of the channel.
func groupInterpreters(g *mls.Group, members []string) map[uint32]string {
	out := map[uint32]string{}
	for _, m := range g.Members() {
		mi := memberOf(m)
		if mi.Role == delegation.RoleInterpreter && !slices.Contains(members, mi.Delegation) {
			out[m.Index] = delegation.DeviceID(ed25519.PublicKey(m.SignatureKey))
		}
	}
	return out
}

// admitted returns the interpreters' devices every party of channel ch
// has consented to and none has removed since, as this desk's state of the
// talks says.
func (d *Desk) admitted(ctx context.Context, ch string) ([]string, *negotiation.State, error) {
	st, err := d.Talks(ctx, ch, "")
	if err != nil {
		return nil, nil, err
	}
	return st.AdmittedInterpreters(), st, nil
}

// blindBeforeJoin reports whether this desk joined channel ch after
// messages it cannot read (sent before it joined, and no hand-over opened
// them): the parties' consents to an interpreter may be among them, so the
// desk cannot tell an interpreter admitted before it joined from one
// nobody admitted.
func (d *Desk) blindBeforeJoin(ctx context.Context, ch string) (bool, error) {
	rs, err := d.Unreadable(ctx, ch)
	return len(rs) > 0, err
}

// checkInterpreters refuses (with an alarm) a group that holds an
// interpreter the parties have not admitted; one removed by a party after
// its admission is no alarm, only a device to remove. A desk that joined
// after messages it cannot read (blindBeforeJoin) raises no alarm, since
// the consents may be in what it cannot read, but sends nothing there
// until a hand-over of the history lets it check them.
func (d *Desk) checkInterpreters(ctx context.Context, ch string, g *mls.Group) error {
	meta, err := d.channelMeta(ctx, d.store, ch)
	if err != nil {
		return err
	}
	in := groupInterpreters(g, meta.Members)
	if len(in) == 0 || d.profile.Role == delegation.RoleInterpreter {
		return nil // an interpreter's desk did not see the consents, sent before it joined
	}
	ok, st, err := d.admitted(ctx, ch)
	if err != nil {
		return err
	}
	for _, dev := range in {
		if slices.Contains(ok, dev) {
			continue
		}
		if rec := st.Interpreter(dev); rec != nil && rec.RemovedBy != "" {
			return fmt.Errorf("%w (%s was removed by %s and is still in the group)", ErrInterpreterNotAdmitted, dev, rec.RemovedBy)
		}
		if blind, err := d.blindBeforeJoin(ctx, ch); err != nil {
			return err
		} else if blind {
			return fmt.Errorf("%w (this desk joined %s after messages it cannot read, which may hold the parties' consents to interpreter %s: it sends nothing there until the head of delegation hands the history over, desk handover)", ErrInterpreterNotAdmitted, ch, dev)
		}
		raised := prefInterpreterAlarm + ch + "/" + dev + "/" + strconv.FormatUint(g.Epoch(), 10)
		if _, err := d.store.Get(ctx, raised); err == nil {
			return fmt.Errorf("%w (%s)", ErrInterpreterNotAdmitted, dev) // raised already for this epoch
		}
		var members strings.Builder
		for _, m := range g.Members() {
			mi := memberOf(m)
			fmt.Fprintf(&members, "%d %s %s %s %s\n", mi.Leaf, mi.Delegation, mi.Role, mi.Device, mi.Person)
		}
		a := d.warn(ctx, &Alarm{Log: ch, Kind: AlarmInterpreter,
			Detail: fmt.Sprintf("the group of %s holds interpreter device %s, to which not every party consented: this desk sends nothing there until it is removed (goodoffices desk remove %s --device %s)", ch, dev, ch, dev)},
			map[string][]byte{"members.txt": []byte(members.String())})
		if err := d.store.Put(ctx, raised, []byte("1")); err != nil {
			d.log.Error("failed to record an interpreter alarm", "channel", ch, "err", err)
		}
		return a
	}
	return nil
}

// maintainInterpreters is maintainGroup's part for interpreters (this desk
// commits for the group): it removes the interpreters no longer admitted,
// then adds those admitted and let through by the venue.
func (d *Desk) maintainInterpreters(ctx context.Context, ch string, g *mls.Group) error {
	meta, err := d.channelMeta(ctx, d.store, ch)
	if err != nil {
		return err
	}
	if len(meta.Interpreters) == 0 && len(groupInterpreters(g, meta.Members)) == 0 {
		return nil
	}
	ok, _, err := d.admitted(ctx, ch)
	if err != nil {
		return err
	}
	var remove []mls.Proposal
	for leaf, dev := range groupInterpreters(g, meta.Members) {
		if !slices.Contains(ok, dev) {
			remove = append(remove, mls.RemoveProposal(leaf))
		}
	}
	if len(remove) > 0 {
		// A desk that cannot read what came before it joined cannot tell
		// an interpreter admitted then from one never admitted: it leaves
		// the group's interpreters to the desks that can.
		if blind, err := d.blindBeforeJoin(ctx, ch); err != nil || blind {
			return err
		}
	}
	if len(remove) > 0 {
		return d.commitLocked(ctx, ch, false, func(*mls.Group) (*mls.CommitOptions, []string, error) {
			return &mls.CommitOptions{Proposals: remove}, nil, nil
		})
	}
	in := map[string]bool{}
	for _, dev := range groupInterpreters(g, meta.Members) {
		in[dev] = true
	}
	parties, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return err
	}
	var kps []*mls.KeyPackage
	var devs []string
	for _, dev := range meta.Interpreters {
		if in[dev] || !slices.Contains(ok, dev) {
			continue
		}
		kp, err := d.claimKeyPackage(ctx, dev, g.CipherSuite())
		if err != nil {
			d.log.Warn("no key package for interpreter", "device", dev, "err", err)
			continue
		}
		pub, _ := delegation.ParseDeviceID(dev)
		if !slices.Equal(kp.SignatureKey(), []byte(pub)) {
			return d.warn(ctx, &Alarm{Log: ch, Kind: AlarmKeyPackage,
				Detail: fmt.Sprintf("the venue answered the claim for a key package of interpreter device %s with one whose signature key is not that device's", dev)},
				map[string][]byte{"keypackage": kp.Bytes()})
		}
		if _, err := d.verifyCredential(parties, meta.Members, meta.Interpreters, kp.Credential(), kp.SignatureKey()); err != nil {
			d.log.Warn("interpreter's key package credential refused", "device", dev, "err", err)
			continue
		}
		kps, devs = append(kps, kp), append(devs, dev)
	}
	if len(kps) == 0 {
		return nil
	}
	return d.commitLocked(ctx, ch, false, func(*mls.Group) (*mls.CommitOptions, []string, error) {
		opts, devs := addOptions(kps, devs)
		return opts, devs, nil
	})
}

// ConsentInterpreter sends this party's consent, in channel ch, to the
// interpreter's device dev: its certificate, as the venue serves it, must
// verify under the root of its delegation that this desk confirmed and name
// the role interpreter. The device joins the channel's group when every
// party has consented and the venue lets it use the log.
func (d *Desk) ConsentInterpreter(ctx context.Context, ch, host, dev string) (int64, error) {
	if d.venue == nil {
		return 0, ErrNotEnrolled
	}
	devices, err := d.api.devices(ctx, "")
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(devices, func(x clientDevice) bool { return x.ID == dev })
	if i < 0 {
		return 0, fmt.Errorf("the venue knows no device %s", dev)
	}
	parties, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return 0, err
	}
	p, ok := parties[devices[i].Delegation]
	if !ok || p.Confirmed.IsZero() {
		return 0, fmt.Errorf("device %s is of %s, whose root key this desk has not confirmed (desk verify-party)", dev, devices[i].Delegation)
	}
	cert, err := delegation.VerifyCertificate([]byte(devices[i].Certificate), p.RootKey, time.Now())
	if err != nil || cert.DeviceID() != dev {
		return 0, fmt.Errorf("the certificate of device %s does not verify under the root key of %s", dev, p.Name)
	}
	if cert.Role != delegation.RoleInterpreter {
		return 0, fmt.Errorf("device %s is certified as %s, not as an interpreter", dev, cert.Role)
	}
	return d.SendEvent(ctx, ch, host, negotiation.NewInterpreterConsent(dev, cert.Delegation, cert.Person, cert.Languages))
}

// Interpret sends, from an interpreter's desk, an interpretation into lang
// of the statement at log index entry of channel ch. The interpreter's desk
// joined after the parties' consents, which it cannot read, so it checks
// what it can (the entry is a statement it read, lang is one of its
// certificate's languages) and the parties' desks apply the rules.
func (d *Desk) Interpret(ctx context.Context, ch string, entry int64, lang, body string) (int64, error) {
	if _, err := d.CheckInterpretation(ctx, ch, entry, lang); err != nil {
		return 0, err
	}
	return d.Send(ctx, ch, negotiation.NewInterpretation(uint64(entry), lang, body))
}

// CheckInterpretation checks, sending nothing, what Interpret checks before
// it sends: an interpreter's desk, a language of its certificate, and a
// statement at entry of the channel (after a sync); it returns the
// statement.
func (d *Desk) CheckInterpretation(ctx context.Context, ch string, entry int64, lang string) (Message, error) {
	cert, err := delegation.PeekCertificate(d.cert)
	if err != nil {
		return Message{}, ErrNotEnrolled
	}
	if cert.Role != delegation.RoleInterpreter {
		return Message{}, fmt.Errorf("this desk is certified as %s: only an interpreter's desk posts interpretations", cert.Role)
	}
	if !slices.Contains(cert.Languages, lang) {
		return Message{}, fmt.Errorf("your certificate names %v, not %q", cert.Languages, lang)
	}
	if _, err := d.Sync(ctx); err != nil {
		return Message{}, err
	}
	b, err := d.store.Get(ctx, histKey(ch, entry))
	if err != nil {
		return Message{}, fmt.Errorf("entry %d of %s: not read by this desk", entry, ch)
	}
	var m Message
	if err := jsonUnmarshal(b, &m); err != nil {
		return Message{}, err
	}
	var p struct{ Type string }
	if m.Kind != "application" || jsonUnmarshal(m.Data, &p) != nil || p.Type != negotiation.TypeStatement {
		return Message{}, fmt.Errorf("entry %d of %s is not a statement", entry, ch)
	}
	return m, nil
}
