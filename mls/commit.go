package mls

import (
	"bytes"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/welcome"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// proposalEntry is one proposal a commit covers, with its sender.
type proposalEntry struct {
	p      *wire.Proposal
	sender wire.Sender
	ref    []byte // nil when committed by value
}

// proposalToWire builds the wire form of a proposal this member makes.
// Update proposals get a fresh leaf, whose private key is returned.
func (g *Group) proposalToWire(p Proposal, standalone bool) (*wire.Proposal, []byte, error) {
	switch p.Type {
	case ProposalAdd:
		if p.KeyPackage == nil {
			return nil, nil, fmt.Errorf("%w: Add without key package", ErrInvalidProposal)
		}
		if err := g.supportsGroupSuite(&p.KeyPackage.kp.LeafNode.Capabilities); err != nil {
			return nil, nil, err
		}
		return &wire.Proposal{Type: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: p.KeyPackage.kp}}, nil, nil
	case ProposalUpdate:
		if !standalone {
			return nil, nil, fmt.Errorf("%w: a committer cannot commit its own Update; the commit path updates it", ErrInvalidProposal)
		}
		priv, leaf, err := g.freshLeaf()
		if err != nil {
			return nil, nil, err
		}
		return &wire.Proposal{Type: wire.ProposalTypeUpdate, Update: &wire.Update{LeafNode: *leaf}}, priv, nil
	case ProposalRemove:
		return &wire.Proposal{Type: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: p.Removed}}, nil, nil
	case ProposalPreSharedKey:
		nonce, err := randomBytes(g.s.Nh())
		if err != nil {
			return nil, nil, err
		}
		id := wire.PreSharedKeyID{PSKNonce: nonce}
		if p.PSK.External {
			id.Type, id.PSKID = wire.PSKTypeExternal, nonNil(clone(p.PSK.ID))
		} else {
			usage := p.PSK.usage
			if usage == 0 {
				usage = wire.ResumptionPSKUsageApplication
			}
			id.Type, id.Usage, id.PSKGroupID, id.PSKEpoch = wire.PSKTypeResumption, usage, nonNil(clone(p.PSK.GroupID)), p.PSK.Epoch
		}
		if _, err := g.resolvePSK(&id); err != nil {
			return nil, nil, err
		}
		return &wire.Proposal{Type: wire.ProposalTypePreSharedKey, PreSharedKey: &wire.PreSharedKey{PSK: id}}, nil, nil
	case ProposalReInit:
		groupID := clone(p.GroupID)
		if groupID == nil {
			var err error
			if groupID, err = randomBytes(16); err != nil {
				return nil, nil, err
			}
		}
		if !p.CipherSuite.Supported() {
			return nil, nil, fmt.Errorf("%w: ReInit to suite 0x%04x", ErrUnsupportedSuite, uint16(p.CipherSuite))
		}
		return &wire.Proposal{Type: wire.ProposalTypeReInit, ReInit: &wire.ReInit{
			GroupID: groupID, Version: wire.MLS10, CipherSuite: wire.CipherSuite(p.CipherSuite), Extensions: extensionsToWire(p.Extensions),
		}}, nil, nil
	case ProposalGroupContextExtensions:
		return &wire.Proposal{Type: wire.ProposalTypeGroupContextExtensions, GroupContextExtensions: &wire.GroupContextExtensions{Extensions: extensionsToWire(p.Extensions)}}, nil, nil
	}
	return nil, nil, fmt.Errorf("%w: cannot make a proposal of type %s", ErrInvalidProposal, p.Type)
}

// freshLeaf returns a new leaf node of the update source for this member,
// with a fresh encryption key, signed (§12.1.2), and its private key.
func (g *Group) freshLeaf() ([]byte, *wire.LeafNode, error) {
	priv, pub, err := g.s.GenerateKeyPair()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate encryption key: %w", err)
	}
	leaf := g.leafTemplate()
	leaf.EncryptionKey, leaf.Source = pub, wire.LeafNodeSourceUpdate
	if err := leaf.Sign(g.id.key, g.ctx.GroupID, g.own); err != nil {
		return nil, nil, err
	}
	return priv, leaf, nil
}

// secretsCopy returns an independent copy of the secret tree.
func (g *Group) secretsCopy() (*secrettree.Tree, error) {
	b, err := g.secrets.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return secrettree.Unmarshal(b)
}

// resolvePSK returns the PSK named by id (§8.4).
func (g *Group) resolvePSK(id *wire.PreSharedKeyID) ([]byte, error) {
	switch id.Type {
	case wire.PSKTypeExternal:
		if g.cfg.ExternalPSKs != nil {
			if psk, ok := g.cfg.ExternalPSKs(id.PSKID); ok {
				return psk, nil
			}
		}
		return nil, fmt.Errorf("%w: external PSK %x", ErrUnknownPSK, id.PSKID)
	case wire.PSKTypeResumption:
		if r := g.resumed; r != nil && id.Usage == r.usage && bytes.Equal(id.PSKGroupID, r.groupID) && id.PSKEpoch == r.epoch {
			return r.psk, nil
		}
		if o := g.resumedFrom; o != nil && bytes.Equal(id.PSKGroupID, o.ctx.GroupID) {
			// A joiner's PSKs of the group its Welcome resumes.
			for _, r := range o.pastPSKs {
				if r.epoch == id.PSKEpoch {
					return r.psk, nil
				}
			}
			return nil, fmt.Errorf("%w: resumption PSK of epoch %d of the resumed group", ErrUnknownPSK, id.PSKEpoch)
		}
		if id.Usage == wire.ResumptionPSKUsageApplication && bytes.Equal(id.PSKGroupID, g.ctx.GroupID) {
			for _, r := range g.pastPSKs {
				if r.epoch == id.PSKEpoch {
					return r.psk, nil
				}
			}
		}
		return nil, fmt.Errorf("%w: resumption PSK of epoch %d", ErrUnknownPSK, id.PSKEpoch)
	}
	return nil, fmt.Errorf("%w: PSK type %d", ErrUnknownPSK, id.Type)
}

// pskSecret chains the PSKs of a commit or Welcome into psk_secret.
func (g *Group) pskSecret(ids []wire.PreSharedKeyID) ([]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	psks := make([]keyschedule.PSK, len(ids))
	for i := range ids {
		psk, err := g.resolvePSK(&ids[i])
		if err != nil {
			return nil, err
		}
		psks[i] = keyschedule.PSK{ID: &ids[i], PSK: psk}
	}
	return keyschedule.PSKSecret(g.s, psks)
}

// resolveProposals turns a commit's proposal list into proposals with their
// senders (§12.4.2): references must name proposals cached in this epoch.
func (g *Group) resolveProposals(c *wire.Commit, committer wire.Sender) ([]proposalEntry, error) {
	list := make([]proposalEntry, 0, len(c.Proposals))
	seen := make(map[string]bool)
	for i := range c.Proposals {
		por := &c.Proposals[i]
		switch por.Type {
		case wire.ProposalOrRefProposal:
			list = append(list, proposalEntry{p: por.Proposal, sender: committer})
		case wire.ProposalOrRefReference:
			if seen[string(por.Reference)] {
				return nil, fmt.Errorf("%w: proposal referenced twice", ErrInvalidCommit)
			}
			seen[string(por.Reference)] = true
			found := false
			for _, cp := range g.proposals {
				if bytes.Equal(cp.ref, por.Reference) {
					list = append(list, proposalEntry{p: cp.p, sender: cp.sender, ref: cp.ref})
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("%w: %x", ErrUnknownProposal, por.Reference)
			}
		default:
			return nil, fmt.Errorf("%w: proposal-or-ref type %d", ErrInvalidCommit, por.Type)
		}
	}
	return list, nil
}

// checkProposalList applies the list rules of §12.2 and, for an external
// commit, §12.4.3.2. It reports whether the commit needs a path (§12.4).
func checkProposalList(list []proposalEntry, committer wire.Sender) (pathRequired bool, err error) {
	external := committer.Type == wire.SenderTypeNewMemberCommit
	if committer.Type != wire.SenderTypeMember && !external {
		return false, fmt.Errorf("%w: a commit from sender type %d", ErrUnknownSender, committer.Type)
	}
	pathRequired = len(list) == 0
	touched := make(map[uint32]bool)
	psks := make(map[string]bool)
	var nGCE, nReInit, nExtInit, nRemove int
	for _, e := range list {
		p := e.p
		switch p.Type {
		case wire.ProposalTypeUpdate, wire.ProposalTypeRemove, wire.ProposalTypeExternalInit, wire.ProposalTypeGroupContextExtensions:
			pathRequired = true
		}
		if external {
			if e.ref != nil {
				return false, fmt.Errorf("%w: an external commit may not reference proposals", ErrInvalidCommit)
			}
			switch p.Type {
			case wire.ProposalTypeExternalInit, wire.ProposalTypeRemove, wire.ProposalTypePreSharedKey:
			default:
				return false, fmt.Errorf("%w: an external commit may not carry a %s proposal", ErrInvalidCommit, ProposalType(p.Type))
			}
		}
		switch p.Type {
		case wire.ProposalTypeUpdate:
			if e.ref == nil || (committer.Type == wire.SenderTypeMember && e.sender.Index == committer.Index) {
				return false, fmt.Errorf("%w: the commit covers an Update of the committer", ErrInvalidCommit)
			}
			if e.sender.Type != wire.SenderTypeMember {
				return false, fmt.Errorf("%w: Update from a non-member", ErrInvalidCommit)
			}
			if touched[e.sender.Index] {
				return false, fmt.Errorf("%w: several Update/Remove proposals for leaf %d", ErrInvalidCommit, e.sender.Index)
			}
			touched[e.sender.Index] = true
		case wire.ProposalTypeRemove:
			nRemove++
			r := p.Remove.Removed
			if committer.Type == wire.SenderTypeMember && r == committer.Index {
				return false, fmt.Errorf("%w: the commit removes the committer", ErrInvalidCommit)
			}
			if touched[r] {
				return false, fmt.Errorf("%w: several Update/Remove proposals for leaf %d", ErrInvalidCommit, r)
			}
			touched[r] = true
		case wire.ProposalTypePreSharedKey:
			id, err := wire.Marshal(&p.PreSharedKey.PSK)
			if err != nil {
				return false, err
			}
			if psks[string(id)] {
				return false, fmt.Errorf("%w: the same PSK twice", ErrInvalidCommit)
			}
			psks[string(id)] = true
		case wire.ProposalTypeGroupContextExtensions:
			nGCE++
		case wire.ProposalTypeReInit:
			nReInit++
		case wire.ProposalTypeExternalInit:
			nExtInit++
			if e.ref != nil {
				return false, fmt.Errorf("%w: ExternalInit by reference", ErrInvalidCommit)
			}
		}
	}
	switch {
	case nGCE > 1:
		return false, fmt.Errorf("%w: several GroupContextExtensions proposals", ErrInvalidCommit)
	case nReInit > 0 && len(list) > 1:
		return false, fmt.Errorf("%w: ReInit with other proposals", ErrInvalidCommit)
	case !external && nExtInit > 0:
		return false, fmt.Errorf("%w: ExternalInit in a member's commit", ErrInvalidCommit)
	case external && nExtInit != 1:
		return false, fmt.Errorf("%w: an external commit needs exactly one ExternalInit", ErrInvalidCommit)
	case external && nRemove > 1:
		return false, fmt.Errorf("%w: an external commit may remove at most one member", ErrInvalidCommit)
	}
	return pathRequired, nil
}

// applied is the outcome of applying a commit's proposals (§12.3).
type applied struct {
	tree        *tree.Tree
	exts        wire.Extensions
	added       []tree.LeafIndex
	addedKPs    []*wire.KeyPackage
	updated     []uint32
	removed     []Member
	psks        []wire.PreSharedKeyID
	reinit      *wire.ReInit
	extInit     *wire.ExternalInit
	selfRemoved bool
	ownUpdate   []byte // private key of this member's committed Update
}

// applyProposals applies the proposals in the order of §12.3 to a copy of
// the tree, validating each against the tree as it stands at that point.
func (g *Group) applyProposals(list []proposalEntry, sending bool) (*applied, error) {
	a := &applied{tree: g.tree.Clone(), exts: g.ctx.Extensions}
	t := a.tree
	// Adds and Updates are validated below against the tree as it stands
	// when they are applied; the rest against the current tree.
	for _, e := range list {
		if e.p.Type == wire.ProposalTypeAdd || e.p.Type == wire.ProposalTypeUpdate {
			continue
		}
		if err := g.validateSingleProposal(e.p, e.sender, g.tree, true, sending); err != nil {
			return nil, err
		}
	}
	for _, e := range list {
		if e.p.Type == wire.ProposalTypeGroupContextExtensions {
			a.exts = e.p.GroupContextExtensions.Extensions
		}
	}
	for _, e := range list {
		if e.p.Type != wire.ProposalTypeUpdate {
			continue
		}
		if err := g.validateSingleProposal(e.p, e.sender, t, true, sending); err != nil {
			return nil, err
		}
		leaf := e.p.Update.LeafNode
		if err := t.UpdateLeaf(tree.LeafIndex(e.sender.Index), &leaf); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidProposal, err)
		}
		a.updated = append(a.updated, e.sender.Index)
		if e.sender.Index == g.own {
			for _, cp := range g.proposals {
				if bytes.Equal(cp.ref, e.ref) {
					a.ownUpdate = cp.updatePriv
				}
			}
			if a.ownUpdate == nil {
				return nil, fmt.Errorf("%w: the commit covers an Update of this member that it did not send", ErrInvalidCommit)
			}
		}
	}
	for _, e := range list {
		if e.p.Type != wire.ProposalTypeRemove {
			continue
		}
		r := e.p.Remove.Removed
		if m, ok := g.Member(r); ok {
			a.removed = append(a.removed, m)
		}
		if err := t.RemoveLeaf(tree.LeafIndex(r)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidProposal, err)
		}
		if r == g.own {
			a.selfRemoved = true
		}
	}
	for _, e := range list {
		if e.p.Type != wire.ProposalTypeAdd {
			continue
		}
		if err := g.validateSingleProposal(e.p, e.sender, t, true, sending); err != nil {
			return nil, err
		}
		kp := &e.p.Add.KeyPackage
		leaf := kp.LeafNode
		l, err := t.AddLeaf(&leaf)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidProposal, err)
		}
		a.added = append(a.added, l)
		a.addedKPs = append(a.addedKPs, kp)
	}
	for _, e := range list {
		switch e.p.Type {
		case wire.ProposalTypePreSharedKey:
			a.psks = append(a.psks, e.p.PreSharedKey.PSK)
		case wire.ProposalTypeReInit:
			a.reinit = e.p.ReInit
		case wire.ProposalTypeExternalInit:
			a.extInit = e.p.ExternalInit
		}
	}
	for _, l := range a.added {
		if err := supportsExtensions(&t.Leaf(l).Capabilities, a.exts); err != nil {
			return nil, fmt.Errorf("%w: added member %d: %w", ErrInvalidProposal, l, err)
		}
	}
	if !equalExtensions(a.exts, g.ctx.Extensions) {
		if err := g.checkGroupContextExtensions(a.exts, t); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func equalExtensions(a, b wire.Extensions) bool {
	x, err1 := wire.Marshal(&a)
	y, err2 := wire.Marshal(&b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// nextGroup returns a copy of g to become the next epoch's state.
func (g *Group) nextGroup(t *tree.Tree) *Group {
	n := &Group{cfg: g.cfg, s: g.s, id: g.id, ctx: g.ctx, tree: t, own: g.own, priv: g.priv}
	n.ctx.Extensions = g.ctx.Extensions
	n.pastPSKs = append([]resumptionPSK{}, g.pastPSKs...)
	n.sent = g.sent.clone()
	keep := min(g.cfg.PastEpochs, maxPastEpochs)
	if keep > 0 && g.secrets != nil {
		n.past = append(append([]pastEpoch{}, g.past...), pastEpoch{
			ctx: g.ctx, tree: g.tree, own: g.own, secrets: g.secrets, senderDataSecret: g.senderDataSecret,
		})
		if len(n.past) > keep {
			n.past = n.past[len(n.past)-keep:]
		}
	}
	return n
}

// provisionalContext returns the GroupContext used to encrypt and decrypt
// path secrets (§12.4.1, §12.4.2): the next epoch, the new extensions and
// the current confirmed transcript hash; package tree fills in the tree hash
// after merging the path.
func (g *Group) provisionalContext(exts wire.Extensions) *wire.GroupContext {
	gc := g.ctx
	gc.Epoch++
	gc.Extensions = exts
	return &gc
}

// finishEpoch computes the new epoch from a commit's authenticated content
// (§8, §12.4.2). It returns the next state and the confirmation tag it
// derived.
func (g *Group) finishEpoch(next *Group, a *applied, ac *wire.AuthenticatedContent, commitSecret, initSecret []byte) ([]byte, error) {
	confirmed, err := keyschedule.ConfirmedTranscriptHash(g.s, g.interim, ac.WireFormat, &ac.Content, ac.Auth.Signature)
	if err != nil {
		return nil, err
	}
	next.ctx = wire.GroupContext{
		Version: g.ctx.Version, CipherSuite: g.ctx.CipherSuite, GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch + 1,
		TreeHash: next.tree.TreeHash(), ConfirmedTranscriptHash: confirmed, Extensions: a.exts,
	}
	gc, err := wire.Marshal(&next.ctx)
	if err != nil {
		return nil, err
	}
	psk, err := g.pskSecret(a.psks)
	if err != nil {
		return nil, err
	}
	ep, err := keyschedule.Derive(g.s, initSecret, commitSecret, psk, gc)
	if err != nil {
		return nil, err
	}
	tag := keyschedule.ConfirmationTag(g.s, ep.ConfirmationKey, confirmed)
	if ac.Auth.ConfirmationTag != nil && !keyschedule.VerifyConfirmationTag(g.s, ep.ConfirmationKey, confirmed, ac.Auth.ConfirmationTag) {
		return nil, ErrBadConfirmationTag
	}
	if next.interim, err = keyschedule.InterimTranscriptHash(g.s, confirmed, tag); err != nil {
		return nil, err
	}
	next.confirmationTag = tag
	next.joinerSecret, next.welcomeSecret = ep.JoinerSecret, ep.WelcomeSecret
	if err := next.enterEpoch(ep); err != nil {
		return nil, err
	}
	next.reinit = a.reinit
	return tag, nil
}

// processCommit validates and applies a received commit (§12.4.2) and
// returns the next epoch's state.
func (g *Group) processCommit(ac *wire.AuthenticatedContent) (*Group, *CommitInfo, error) {
	c := ac.Content.Commit
	committer := ac.Content.Sender
	external := committer.Type == wire.SenderTypeNewMemberCommit
	if external && ac.WireFormat != wire.WireFormatPublicMessage {
		return nil, nil, fmt.Errorf("%w: an external commit must be a PublicMessage", ErrInvalidCommit)
	}
	list, err := g.resolveProposals(c, committer)
	if err != nil {
		return nil, nil, err
	}
	pathRequired, err := checkProposalList(list, committer)
	if err != nil {
		return nil, nil, err
	}
	if pathRequired && c.Path == nil {
		return nil, nil, fmt.Errorf("%w: the proposals require a path", ErrInvalidCommit)
	}
	a, err := g.applyProposals(list, false)
	if err != nil {
		return nil, nil, err
	}
	info := &CommitInfo{NewEpoch: g.ctx.Epoch + 1, External: external, Removed: a.removed, ReInit: a.reinit != nil}
	for _, e := range list {
		info.Proposals = append(info.Proposals, proposalFromWire(g, e.p))
	}
	if a.selfRemoved {
		// This member cannot follow the group into the next epoch; the
		// commit was authenticated by the framing layer.
		next := *g
		next.removed = true
		next.pending = nil
		info.SelfRemoved = true
		return &next, info, nil
	}
	t := a.tree
	next := g.nextGroup(t)
	senderLeaf := tree.LeafIndex(committer.Index)
	if external {
		leaf := c.Path.LeafNode
		if g.cfg.AllowExternalJoin == nil {
			return nil, nil, fmt.Errorf("%w: external joins are not allowed (Config.AllowExternalJoin)", ErrCredentialRejected)
		}
		if err := g.cfg.AllowExternalJoin(credentialFromWire(&leaf.Credential), clone(leaf.SignatureKey)); err != nil {
			return nil, nil, fmt.Errorf("%w: external join: %w", ErrCredentialRejected, err)
		}
		// The joiner takes the leaf an Add would give it (§12.4.3.2).
		probe := t.Clone()
		if senderLeaf, err = probe.AddLeaf(&leaf); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidCommit, err)
		}
		if err := g.validateLeaf(t, &leaf, wire.LeafNodeSourceCommit, uint32(senderLeaf), a.exts, false, false); err != nil {
			return nil, nil, err
		}
		if _, err := t.AddLeaf(&leaf); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidCommit, err)
		}
	}
	var commitSecret []byte
	next.priv = g.priv.Clone()
	if a.ownUpdate != nil {
		next.priv.SetLeafKey(a.ownUpdate, leafAt(t, g.own).EncryptionKey)
	}
	if c.Path != nil {
		if !external {
			if err := g.validateLeaf(t, &c.Path.LeafNode, wire.LeafNodeSourceCommit, uint32(senderLeaf), a.exts, false, true); err != nil {
				return nil, nil, err
			}
			if err := g.checkSameClient(g.tree.Leaf(senderLeaf), &c.Path.LeafNode); err != nil {
				return nil, nil, err
			}
		} else if len(a.removed) == 1 {
			// A resync: the joiner replaces its own old leaf (§12.4.3.2).
			old := leafAt(g.tree, a.removed[0].Index)
			if err := g.checkSameClient(old, &c.Path.LeafNode); err != nil {
				return nil, nil, err
			}
		}
		commitSecret, next.priv, err = g.applyPath(t, next.priv, senderLeaf, c.Path, a.added, g.provisionalContext(a.exts))
		if err != nil {
			return nil, nil, err
		}
	} else {
		next.priv.Prune(t)
	}
	initSecret := g.initSecret
	if external {
		priv, _, err := keyschedule.ExternalKeyPair(g.s, g.externalSecret)
		if err != nil {
			return nil, nil, err
		}
		if initSecret, err = g.s.ExportRecipient(priv, a.extInit.KEMOutput, nil, keyschedule.ExternalInitExportLabel, g.s.Nh()); err != nil {
			return nil, nil, fmt.Errorf("%w: ExternalInit: %w", ErrDecrypt, err)
		}
	}
	if _, err := g.finishEpoch(next, a, ac, commitSecret, initSecret); err != nil {
		return nil, nil, err
	}
	for _, l := range a.added {
		if m, ok := next.Member(uint32(l)); ok {
			info.Added = append(info.Added, m)
		}
	}
	if external {
		if m, ok := next.Member(uint32(senderLeaf)); ok {
			info.Added = append(info.Added, m)
		}
	}
	for _, u := range a.updated {
		if m, ok := next.Member(u); ok {
			info.Updated = append(info.Updated, m)
		}
	}
	if c.Path != nil && !external {
		if m, ok := next.Member(committer.Index); ok {
			info.Updated = append(info.Updated, m)
		}
	}
	return next, info, nil
}

// CommitOptions tune Group.Commit.
type CommitOptions struct {
	// Proposals are committed by value, after every proposal cached in
	// this epoch (which are committed by reference).
	Proposals []Proposal
	// ForcePath includes an UpdatePath even when no proposal requires one,
	// refreshing this member's keys (a "full" commit, §12.4).
	ForcePath bool
	// OmitRatchetTree leaves the ratchet_tree extension out of the
	// Welcome's GroupInfo; new members must then get the tree another way.
	OmitRatchetTree bool
	// AuthenticatedData is sent in the clear with the commit.
	AuthenticatedData []byte
}

// CommitBundle is what Group.Commit produces: the commit for the group, and
// a Welcome for the added members (nil when nobody is added).
type CommitBundle struct {
	Commit  []byte
	Welcome []byte
}

// Commit creates a commit (§12.4) covering every valid proposal cached in
// this epoch plus opts.Proposals, and returns it with the Welcome for new
// members. The group stays in the current epoch with the commit pending
// until Process sees the commit echoed back (or MergeCommit is called);
// DiscardCommit drops it if the delivery service rejected it. If another
// member's commit for the epoch arrives instead, Process applies that one
// and the pending commit is dropped. While a commit is pending, Encrypt,
// Propose and Commit refuse with ErrPendingCommit.
func (g *Group) Commit(opts *CommitOptions) (*CommitBundle, error) {
	if opts == nil {
		opts = &CommitOptions{}
	}
	if err := g.usable(); err != nil {
		return nil, err
	}
	if g.pending != nil {
		return nil, ErrPendingCommit
	}
	committer := wire.Sender{Type: wire.SenderTypeMember, Index: g.own}
	var por []wire.ProposalOrRef
	var list []proposalEntry
	for _, cp := range g.selectProposals(len(opts.Proposals) > 0) {
		por = append(por, wire.ProposalOrRef{Type: wire.ProposalOrRefReference, Reference: cp.ref})
		list = append(list, proposalEntry{p: cp.p, sender: cp.sender, ref: cp.ref})
	}
	for _, p := range opts.Proposals {
		wp, _, err := g.proposalToWire(p, false)
		if err != nil {
			return nil, err
		}
		por = append(por, wire.ProposalOrRef{Type: wire.ProposalOrRefProposal, Proposal: wp})
		list = append(list, proposalEntry{p: wp, sender: committer})
	}
	pathRequired, err := checkProposalList(list, committer)
	if err != nil {
		return nil, err
	}
	a, err := g.applyProposals(list, true)
	if err != nil {
		return nil, err
	}
	next := g.nextGroup(a.tree)
	commit := &wire.Commit{Proposals: por}
	if commit.Proposals == nil {
		commit.Proposals = []wire.ProposalOrRef{}
	}
	var commitSecret []byte
	var pathSecrets pathSecretFunc
	if pathRequired || opts.ForcePath {
		commit.Path, commitSecret, next.priv, pathSecrets, err = g.generatePath(a.tree, tree.LeafIndex(g.own), a.added, g.provisionalContext(a.exts))
		if err != nil {
			return nil, err
		}
	} else {
		next.priv = g.priv.Clone()
		next.priv.Prune(a.tree)
	}
	content := &wire.FramedContent{
		GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch, Sender: committer,
		AuthenticatedData: nonNil(opts.AuthenticatedData), ContentType: wire.ContentTypeCommit, Commit: commit,
	}
	wf := g.handshakeFormat()
	ac, err := g.sign(content, wf)
	if err != nil {
		return nil, err
	}
	tag, err := g.finishEpoch(next, a, ac, commitSecret, g.initSecret)
	if err != nil {
		return nil, err
	}
	ac.Auth.ConfirmationTag = tag
	msg, err := g.protect(content, wf, ac)
	if err != nil {
		return nil, err
	}
	bundle := &CommitBundle{Commit: msg}
	if len(a.added) > 0 {
		if bundle.Welcome, err = next.makeWelcome(a, pathSecrets, !opts.OmitRatchetTree); err != nil {
			return nil, err
		}
	}
	info := &CommitInfo{NewEpoch: next.ctx.Epoch, Removed: a.removed, ReInit: a.reinit != nil}
	for _, e := range list {
		info.Proposals = append(info.Proposals, proposalFromWire(g, e.p))
	}
	for _, l := range a.added {
		if m, ok := next.Member(uint32(l)); ok {
			info.Added = append(info.Added, m)
		}
	}
	for _, u := range a.updated {
		if m, ok := next.Member(u); ok {
			info.Updated = append(info.Updated, m)
		}
	}
	if commit.Path != nil {
		if m, ok := next.Member(g.own); ok {
			info.Updated = append(info.Updated, m)
		}
	}
	g.pending = &pendingCommit{message: msg, next: next, info: info}
	return bundle, nil
}

// selectProposals picks the cached proposals a commit by this member
// covers, dropping those that would make the list invalid (§12.2): the
// committer's own Updates and removal, duplicates, an Update of a removed
// member (Removes win), all but the most recent Update of a leaf and the
// last GroupContextExtensions, Adds of a client already present, and a
// ReInit when there is anything else to commit.
func (g *Group) selectProposals(byValue bool) []cachedProposal {
	removed := make(map[uint32]bool)
	lastUpdate := make(map[uint32]int)
	lastGCE := -1
	for i, cp := range g.proposals {
		switch cp.p.Type {
		case wire.ProposalTypeRemove:
			removed[cp.p.Remove.Removed] = true
		case wire.ProposalTypeUpdate:
			lastUpdate[cp.sender.Index] = i
		case wire.ProposalTypeGroupContextExtensions:
			lastGCE = i
		}
	}
	var out []cachedProposal
	seenRemove := make(map[uint32]bool)
	addKeys := make(map[string]bool)
	psks := make(map[string]bool)
	var reinit *cachedProposal
	for i, cp := range g.proposals {
		if cp.sender.Type == wire.SenderTypeMember && leafAt(g.tree, cp.sender.Index) == nil {
			continue
		}
		switch cp.p.Type {
		case wire.ProposalTypeRemove:
			r := cp.p.Remove.Removed
			if r == g.own || seenRemove[r] {
				continue
			}
			seenRemove[r] = true
		case wire.ProposalTypeUpdate:
			if cp.sender.Index == g.own || removed[cp.sender.Index] || lastUpdate[cp.sender.Index] != i {
				continue
			}
		case wire.ProposalTypeGroupContextExtensions:
			if i != lastGCE {
				continue
			}
		case wire.ProposalTypeAdd:
			key := string(cp.p.Add.KeyPackage.LeafNode.SignatureKey)
			if addKeys[key] {
				continue
			}
			if l, ok := g.tree.FindLeaf(func(n *wire.LeafNode) bool { return string(n.SignatureKey) == key }); ok && !removed[uint32(l)] {
				continue
			}
			addKeys[key] = true
		case wire.ProposalTypePreSharedKey:
			id, err := wire.Marshal(&cp.p.PreSharedKey.PSK)
			if err != nil || psks[string(id)] {
				continue
			}
			psks[string(id)] = true
		case wire.ProposalTypeReInit:
			if reinit == nil {
				reinit = &g.proposals[i]
			}
			continue
		}
		out = append(out, cp)
	}
	if reinit != nil && len(out) == 0 && !byValue {
		out = append(out, *reinit)
	}
	return out
}

// MergeCommit moves the group to the epoch of its pending commit, once the
// delivery service has accepted it.
func (g *Group) MergeCommit() error {
	if g.pending == nil {
		return fmt.Errorf("mls: no pending commit")
	}
	*g = *g.pending.next
	return nil
}

// DiscardCommit drops the pending commit (the delivery service rejected it,
// or another member's commit won the epoch).
func (g *Group) DiscardCommit() { g.pending = nil }

// HasPendingCommit reports whether a commit of this member awaits merging.
func (g *Group) HasPendingCommit() bool { return g.pending != nil }

// groupInfo returns the signed GroupInfo of the current epoch (§12.4.3).
func (g *Group) groupInfo(withTree bool) (*wire.GroupInfo, error) {
	gi, tbs, err := g.unsignedGroupInfo(withTree)
	if err != nil {
		return nil, err
	}
	if gi.Signature, err = g.id.key.SignWithLabel(wire.LabelGroupInfoTBS, tbs); err != nil {
		return nil, fmt.Errorf("failed to sign group info: %w", err)
	}
	return gi, nil
}

// unsignedGroupInfo returns the GroupInfo of the current epoch without its
// signature, and its GroupInfoTBS encoding.
func (g *Group) unsignedGroupInfo(withTree bool) (*wire.GroupInfo, []byte, error) {
	_, extPub, err := keyschedule.ExternalKeyPair(g.s, g.externalSecret)
	if err != nil {
		return nil, nil, err
	}
	ep, err := wire.Marshal(&wire.ExternalPub{ExternalPub: extPub})
	if err != nil {
		return nil, nil, err
	}
	exts := wire.Extensions{{Type: wire.ExtensionExternalPub, Data: ep}}
	if withTree {
		rt, err := g.tree.Encode()
		if err != nil {
			return nil, nil, err
		}
		exts = append(exts, wire.Extension{Type: wire.ExtensionRatchetTree, Data: rt})
	}
	gi := &wire.GroupInfo{GroupContext: g.ctx, Extensions: exts, ConfirmationTag: g.confirmationTag, Signer: g.own}
	tbs, err := gi.GroupInfoTBS()
	if err != nil {
		return nil, nil, err
	}
	return gi, tbs, nil
}

// GroupInfo returns a signed GroupInfo of the current epoch (§12.4.3) with
// the external_pub extension, so that a new member can join with
// JoinExternal; withTree includes the ratchet tree.
func (g *Group) GroupInfo(withTree bool) ([]byte, error) {
	if err := g.usable(); err != nil {
		return nil, err
	}
	gi, err := g.groupInfo(withTree)
	if err != nil {
		return nil, err
	}
	return wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatGroupInfo, GroupInfo: gi})
}

// RatchetTree returns the encoded ratchet tree of the current epoch, for a
// new member to pass to Join when the Welcome does not carry it.
func (g *Group) RatchetTree() ([]byte, error) { return g.tree.Encode() }

// makeWelcome builds the Welcome for the members a commit added (§12.4.3);
// g is the new epoch's state.
func (g *Group) makeWelcome(a *applied, pathSecrets pathSecretFunc, withTree bool) ([]byte, error) {
	// GroupInfo is GroupInfoTBS followed by the signature, so the
	// (possibly large, with the tree) encoding is made once.
	_, tbs, err := g.unsignedGroupInfo(withTree)
	if err != nil {
		return nil, err
	}
	sig, err := g.id.key.SignWithLabel(wire.LabelGroupInfoTBS, tbs)
	if err != nil {
		return nil, fmt.Errorf("failed to sign group info: %w", err)
	}
	sw := codec.NewWriter(tbs)
	sw.Opaque(sig)
	pt, err := sw.Bytes()
	if err != nil {
		return nil, err
	}
	key, nonce, err := keyschedule.WelcomeKeyNonce(g.s, g.welcomeSecret)
	if err != nil {
		return nil, err
	}
	egi, err := g.s.Seal(key, nonce, nil, pt)
	if err != nil {
		return nil, err
	}
	w := &wire.Welcome{CipherSuite: g.ctx.CipherSuite, EncryptedGroupInfo: egi}
	psks := a.psks
	if psks == nil {
		psks = []wire.PreSharedKeyID{}
	}
	for i, l := range a.added {
		kp := a.addedKPs[i]
		gs := &wire.GroupSecrets{JoinerSecret: g.joinerSecret, PSKs: psks}
		if pathSecrets != nil {
			gs.PathSecret = pathSecrets(l)
		}
		ref, err := kp.Ref(g.s)
		if err != nil {
			return nil, err
		}
		egs, err := welcome.EncryptGroupSecrets(g.s, ref, kp.InitKey, egi, gs)
		if err != nil {
			return nil, err
		}
		w.Secrets = append(w.Secrets, *egs)
	}
	return wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatWelcome, Welcome: w})
}
