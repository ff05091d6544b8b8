package mls

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Resumption: a group's successor after a ReInit (RFC 9420 §11.2) and a
// subgroup branched from a group (§11.3). Both start with a commit to epoch
// 1 that injects the resumption_psk (§8.6) of the old group, named by a
// PreSharedKeyID of type resumption with usage reinit or branch, and a
// Welcome carrying that PreSharedKeyID to the other members, who check it
// against their own state of the old group (§12.4.3.1).

// ResumeOptions tune Group.CreateSuccessor and Group.Branch.
type ResumeOptions struct {
	// OmitRatchetTree leaves the ratchet_tree extension out of the
	// Welcome's GroupInfo.
	OmitRatchetTree bool
}

// resumedPSK is the resumption PSK of another group that the initial
// commit of a successor or branch injects. It is set only on the new
// group's epoch 0 state, for that commit.
type resumedPSK struct {
	usage   wire.ResumptionPSKUsage
	groupID []byte
	epoch   uint64
	psk     []byte
}

// CreateSuccessor creates the group that replaces g after a ReInit commit
// closed it (§11.2): the group ID, cipher suite and extensions of the ReInit
// proposal (Group.ReInitInfo), with every member of g. id is this client's
// identity in the new suite; keyPackages are key packages, of the new suite,
// of every other member of g (matched by credential, see
// Config.ValidateCredentialChange). The new group's first commit, to epoch
// 1, injects the resumption PSK of g's final epoch (usage reinit); the
// returned group is already in epoch 1, and welcome is for the other
// members, who join it with Join and JoinOptions.ResumedGroup set to their
// state of g. Any member of g may create the successor; only one should.
func (g *Group) CreateSuccessor(id *Identity, keyPackages []*KeyPackage, cfg *Config, opts *ResumeOptions) (successor *Group, welcome []byte, err error) {
	defer guard(&err)
	if g.reinit == nil {
		return nil, nil, fmt.Errorf("%w: the group was not closed by a ReInit commit", ErrResumption)
	}
	if g.removed {
		return nil, nil, ErrNotMember
	}
	ri := g.reinit
	if id.cs != CipherSuite(ri.CipherSuite) {
		return nil, nil, fmt.Errorf("%w: the identity is of suite %v, the ReInit asks for %v", ErrResumption, id.cs, CipherSuite(ri.CipherSuite))
	}
	if ri.Version != wire.MLS10 {
		return nil, nil, fmt.Errorf("%w: the ReInit asks for protocol version %d", ErrResumption, ri.Version)
	}
	if cfg == nil {
		cfg = &Config{}
	}
	if err := g.coversMembers(cfg, keyPackages, true); err != nil {
		return nil, nil, err
	}
	exts := extensionsFromWire(ri.Extensions)
	return g.resume(id, ri.GroupID, cfg, exts, keyPackages, wire.ResumptionPSKUsageReInit, opts)
}

// Branch creates a subgroup of g (§11.3): a new group with the same
// protocol version, cipher suite and extensions, of this member and the
// members of g whose key packages are given (each must match a member of
// g, see Config.ValidateCredentialChange). groupID names the new group (nil
// gives a random one). Its first commit, to epoch 1, injects the resumption
// PSK of g's current epoch (usage branch); welcome is for the other members,
// who join with Join and JoinOptions.ResumedGroup set to their state of g.
// g itself is unchanged and stays usable.
func (g *Group) Branch(groupID []byte, keyPackages []*KeyPackage, cfg *Config, opts *ResumeOptions) (branch *Group, welcome []byte, err error) {
	defer guard(&err)
	if err := g.usable(); err != nil {
		return nil, nil, err
	}
	if cfg == nil {
		cfg = &Config{}
	}
	if err := g.coversMembers(cfg, keyPackages, false); err != nil {
		return nil, nil, err
	}
	return g.resume(g.id, groupID, cfg, g.Extensions(), keyPackages, wire.ResumptionPSKUsageBranch, opts)
}

// resume creates the new group and its first commit with the resumption
// PSK of g's current epoch.
func (g *Group) resume(id *Identity, groupID []byte, cfg *Config, exts []Extension, keyPackages []*KeyPackage, usage wire.ResumptionPSKUsage, opts *ResumeOptions) (*Group, []byte, error) {
	if opts == nil {
		opts = &ResumeOptions{}
	}
	if len(keyPackages) == 0 {
		return nil, nil, fmt.Errorf("%w: no other member to welcome", ErrResumption)
	}
	var psk []byte
	for _, r := range g.pastPSKs {
		if r.epoch == g.ctx.Epoch {
			psk = r.psk
		}
	}
	if psk == nil {
		return nil, nil, fmt.Errorf("%w: no resumption PSK for the current epoch", ErrUnknownPSK)
	}
	if groupID == nil {
		var err error
		if groupID, err = randomBytes(16); err != nil {
			return nil, nil, err
		}
	}
	n, err := Create(id, groupID, cfg, exts...)
	if err != nil {
		return nil, nil, err
	}
	n.resumed = &resumedPSK{usage: usage, groupID: clone(g.ctx.GroupID), epoch: g.ctx.Epoch, psk: psk}
	props := make([]Proposal, 0, len(keyPackages)+1)
	for _, kp := range keyPackages {
		props = append(props, AddProposal(kp))
	}
	props = append(props, Proposal{Type: ProposalPreSharedKey, PSK: PSKID{GroupID: clone(g.ctx.GroupID), Epoch: g.ctx.Epoch, usage: usage}})
	b, err := n.Commit(&CommitOptions{Proposals: props, OmitRatchetTree: opts.OmitRatchetTree})
	if err != nil {
		return nil, nil, err
	}
	if err := n.MergeCommit(); err != nil {
		return nil, nil, err
	}
	return n, b.Welcome, nil
}

// coversMembers checks the key packages of a successor (all, for a ReInit)
// or a branch: each must match a member of g other than this one, and for
// a ReInit every other member must be matched (§11.2, §11.3).
func (g *Group) coversMembers(cfg *Config, kps []*KeyPackage, all bool) error {
	var old []Credential
	g.tree.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		if uint32(l) != g.own {
			old = append(old, credentialFromWire(&leaf.Credential))
		}
		return true
	})
	var added []Credential
	for _, kp := range kps {
		if kp == nil {
			return fmt.Errorf("%w: nil key package", ErrInvalidKeyPackage)
		}
		added = append(added, kp.Credential())
	}
	return matchMembers(cfg, old, added, all)
}

// matchMembers checks that every credential of newMembers matches one of
// oldMembers and, when all is set, that every one of oldMembers is matched.
// Two credentials match when Config.ValidateCredentialChange accepts the
// change from the old to the new one or, without it, when they are equal.
func matchMembers(cfg *Config, oldMembers, newMembers []Credential, all bool) error {
	used := make([]bool, len(oldMembers))
	for _, n := range newMembers {
		found := false
		for i, o := range oldMembers {
			if !used[i] && sameClient(cfg, o, n) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("%w: %s is not a member of the old group", ErrResumption, credentialName(n))
		}
	}
	if all {
		for i, u := range used {
			if !u {
				return fmt.Errorf("%w: %s of the old group is not in the new group", ErrResumption, credentialName(oldMembers[i]))
			}
		}
	}
	return nil
}

func sameClient(cfg *Config, o, n Credential) bool {
	if cfg.ValidateCredentialChange != nil {
		return cfg.ValidateCredentialChange(o, n) == nil
	}
	ow, nw := o.toWire(), n.toWire()
	return equalCredentials(&ow, &nw)
}

func credentialName(c Credential) string {
	if len(c.Identity) > 0 && len(c.Identity) <= 64 {
		return fmt.Sprintf("%q", c.Identity)
	}
	return "a client"
}

// initialResumption reports whether id is the resumption PSK that the first
// commit of a successor or branch this member creates injects.
func (g *Group) initialResumption(id *wire.PreSharedKeyID, sender wire.Sender, sending bool) bool {
	r := g.resumed
	return r != nil && sending && g.ctx.Epoch == 0 && sender.Type == wire.SenderTypeMember && sender.Index == g.own &&
		id.Usage == r.usage && string(id.PSKGroupID) == string(r.groupID) && id.PSKEpoch == r.epoch
}

// checkResumption makes the checks of §12.4.3.1 on a group joined with a
// resumption PSK of usage reinit or branch: the new group is in epoch 1;
// for reinit, the last commit of the old group had a ReInit whose group ID,
// version, suite and extensions are the new group's, the PSK is of the
// epoch that commit started, and every member of the old group is in the
// new one; for branch, the version and suite are the old group's and every
// member of the new group was in the old one.
func checkResumption(cfg *Config, old *Group, id *wire.PreSharedKeyID, gc *wire.GroupContext, t *tree.Tree) error {
	if old == nil || string(old.ctx.GroupID) != string(id.PSKGroupID) {
		return fmt.Errorf("%w: the Welcome resumes group %x, which JoinOptions.ResumedGroup does not hold", ErrUnknownPSK, id.PSKGroupID)
	}
	if gc.Epoch != 1 {
		return fmt.Errorf("%w: a resumed group starts in epoch 1, not %d", ErrResumption, gc.Epoch)
	}
	var oldMembers []Credential
	old.tree.Members(func(_ tree.LeafIndex, l *wire.LeafNode) bool {
		oldMembers = append(oldMembers, credentialFromWire(&l.Credential))
		return true
	})
	var newMembers []Credential
	t.Members(func(_ tree.LeafIndex, l *wire.LeafNode) bool {
		newMembers = append(newMembers, credentialFromWire(&l.Credential))
		return true
	})
	switch id.Usage {
	case wire.ResumptionPSKUsageReInit:
		ri := old.reinit
		if ri == nil {
			return fmt.Errorf("%w: the resumed group was not closed by a ReInit", ErrResumption)
		}
		if id.PSKEpoch != old.ctx.Epoch {
			return fmt.Errorf("%w: the reinit PSK is of epoch %d, the ReInit commit started epoch %d", ErrResumption, id.PSKEpoch, old.ctx.Epoch)
		}
		if string(gc.GroupID) != string(ri.GroupID) || gc.Version != ri.Version || gc.CipherSuite != ri.CipherSuite || !equalExtensions(gc.Extensions, ri.Extensions) {
			return fmt.Errorf("%w: the new group's ID, version, suite or extensions differ from the ReInit's", ErrResumption)
		}
		return matchMembers(cfg, oldMembers, newMembers, true)
	case wire.ResumptionPSKUsageBranch:
		if gc.Version != old.ctx.Version || gc.CipherSuite != old.ctx.CipherSuite {
			return fmt.Errorf("%w: a branch keeps the version and suite of its group", ErrResumption)
		}
		return matchMembers(cfg, oldMembers, newMembers, false)
	}
	return fmt.Errorf("%w: resumption PSK of usage %d", ErrUnknownPSK, id.Usage)
}
