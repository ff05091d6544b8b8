package mls

import (
	"bytes"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/welcome"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// JoinOptions tune Join and JoinExternal.
type JoinOptions struct {
	// RatchetTree is the encoded ratchet tree (Group.RatchetTree), needed
	// when the Welcome or GroupInfo does not carry the ratchet_tree
	// extension.
	RatchetTree []byte
	// AuthenticatedData is sent in the clear with an external commit.
	AuthenticatedData []byte
	// Resync names the leaf of a previous incarnation of the joiner that an
	// external commit removes (§12.4.3.2).
	Resync *uint32
	// ResumedGroup is this client's state of the group that a Welcome
	// resumes: the group a ReInit closed, for its successor (§11.2), or
	// the group a subgroup branches from (§11.3). Join takes the resumption
	// PSK the Welcome names from it and checks the new group against it
	// (§12.4.3.1). It is only read.
	ResumedGroup *Group
}

// loadTree decodes the ratchet tree from opts or from the extensions of a
// GroupInfo and validates it against the GroupInfo's GroupContext
// (§12.4.3.1).
func loadTree(s *suite.Suite, cfg *Config, gi *wire.GroupInfo, opts *JoinOptions) (*tree.Tree, error) {
	data := opts.RatchetTree
	if data == nil {
		var ok bool
		if data, ok = gi.Extensions.Find(wire.ExtensionRatchetTree); !ok {
			return nil, fmt.Errorf("%w: no ratchet tree given and none in the GroupInfo", ErrInvalidTree)
		}
	}
	t, err := tree.Decode(s, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTree, err)
	}
	v := &tree.TreeValidation{
		GroupID:    gi.GroupContext.GroupID,
		TreeHash:   gi.GroupContext.TreeHash,
		Credential: cfg.treeCredentialValidator(),
	}
	if rcData, ok := gi.GroupContext.Extensions.Find(wire.ExtensionRequiredCapabilities); ok {
		var rc wire.RequiredCapabilities
		if err := wire.Unmarshal(rcData, &rc); err != nil {
			return nil, fmt.Errorf("%w: required_capabilities: %w", ErrMalformed, err)
		}
		v.RequiredCapabilities = &rc
	}
	if err := t.Validate(v); err != nil {
		return nil, classifyTree(err)
	}
	// §12.4.3.1 validates every leaf as §7.3 says, and §7.3 checks a
	// leaf's capabilities only against the group's required_capabilities
	// (done by t.Validate) and its own extensions: it does not ask that the
	// capabilities list the group's cipher suite and version. Refusing
	// such a tree would refuse groups that OpenMLS, mls-rs and mlspp accept
	// (none of them checks it when validating a tree); that new members
	// support the suite is checked by the member who adds them
	// (supportsGroupSuite). The group context extensions must be supported
	// by every member, as mls-rs and mlspp check too (§7.3: "compatible
	// with the group's parameters", §12.1.7).
	var err2 error
	t.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		if e := supportsExtensions(&leaf.Capabilities, gi.GroupContext.Extensions); e != nil {
			err2 = fmt.Errorf("%w: member %d: %w", ErrInvalidTree, l, e)
			return false
		}
		return true
	})
	if err2 != nil {
		return nil, err2
	}
	return t, nil
}

// Join joins a group from a Welcome message (§12.4.3.1) with the key package
// whose private part (from NewKeyPackage) is keyPackagePrivate. The ratchet
// tree comes from opts.RatchetTree or from the Welcome's GroupInfo. Every
// check of §12.4.3.1 is made: the tree (hashes, parent hashes, every leaf
// and credential), the GroupInfo signature and the confirmation tag.
func Join(id *Identity, keyPackagePrivate, welcomeMsg []byte, cfg *Config, opts *JoinOptions) (group *Group, err error) {
	defer guard(&err)
	if cfg == nil {
		cfg = &Config{}
	}
	if opts == nil {
		opts = &JoinOptions{}
	}
	kpp, err := parseKeyPackagePrivate(keyPackagePrivate)
	if err != nil {
		return nil, err
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(welcomeMsg, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if m.Welcome == nil {
		return nil, fmt.Errorf("%w: not a Welcome (wire format %d)", ErrMalformed, m.WireFormat)
	}
	if CipherSuite(m.Welcome.CipherSuite) != id.cs || kpp.kp.CipherSuite() != id.cs {
		return nil, fmt.Errorf("%w: the Welcome, key package and identity use different suites", ErrInvalidKeyPackage)
	}
	if !bytes.Equal(kpp.kp.kp.LeafNode.SignatureKey, id.key.Public()) {
		return nil, fmt.Errorf("%w: the key package is not this identity's", ErrInvalidKeyPackage)
	}
	s := id.s
	g := &Group{cfg: *cfg, s: s, id: id}
	var t *tree.Tree
	signerKey := func(gi *wire.GroupInfo) ([]byte, error) {
		g.ctx = gi.GroupContext
		var err error
		if t, err = loadTree(s, cfg, gi, opts); err != nil {
			return nil, err
		}
		leaf := leafAt(t, gi.Signer)
		if leaf == nil {
			return nil, fmt.Errorf("%w: GroupInfo signer %d is not a member", ErrUnknownSender, gi.Signer)
		}
		return leaf.SignatureKey, nil
	}
	var resumption *wire.PreSharedKeyID // of usage reinit or branch
	pskSecret := func(ids []wire.PreSharedKeyID) ([]byte, error) {
		for i := range ids {
			if ids[i].Type != wire.PSKTypeResumption || ids[i].Usage == wire.ResumptionPSKUsageApplication {
				continue
			}
			// §12.4.3.1: a resumption PSK of usage reinit or branch must be
			// the only such PSK.
			if resumption != nil {
				return nil, fmt.Errorf("%w: several resumption PSKs of usage reinit or branch", ErrResumption)
			}
			if ids[i].Usage != wire.ResumptionPSKUsageReInit && ids[i].Usage != wire.ResumptionPSKUsageBranch {
				return nil, fmt.Errorf("%w: resumption PSK of usage %d", ErrUnknownPSK, ids[i].Usage)
			}
			resumption = &ids[i]
		}
		return g.pskSecret(ids)
	}
	g.resumedFrom = opts.ResumedGroup
	j, err := welcome.Join(s, m.Welcome, &kpp.kp.kp, kpp.initPriv, pskSecret, signerKey)
	if err != nil {
		return nil, classify(err)
	}
	gi := j.GroupInfo
	if gi.GroupContext.Version != wire.MLS10 {
		return nil, fmt.Errorf("%w: group of protocol version %d", ErrMalformed, gi.GroupContext.Version)
	}
	g.resumedFrom = nil
	if resumption != nil {
		if err := checkResumption(cfg, opts.ResumedGroup, resumption, &gi.GroupContext, t); err != nil {
			return nil, err
		}
	}
	own, ok := t.FindLeaf(func(l *wire.LeafNode) bool {
		return bytes.Equal(l.SignatureKey, kpp.kp.kp.LeafNode.SignatureKey) && bytes.Equal(l.EncryptionKey, kpp.kp.kp.LeafNode.EncryptionKey)
	})
	if !ok {
		return nil, fmt.Errorf("%w: the tree does not hold this key package's leaf", ErrInvalidTree)
	}
	g.tree, g.own, g.ctx = t, uint32(own), gi.GroupContext
	if g.priv, err = tree.NewPrivateState(t, own, kpp.encPriv); err != nil {
		return nil, classifyTree(err)
	}
	if j.GroupSecrets.PathSecret != nil {
		if err := g.priv.ImportPathSecret(t, tree.LeafIndex(gi.Signer), j.GroupSecrets.PathSecret); err != nil {
			return nil, classifyTree(err)
		}
	}
	g.confirmationTag = gi.ConfirmationTag
	if g.interim, err = keyschedule.InterimTranscriptHash(s, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, err
	}
	if err := g.enterEpoch(j.Epoch); err != nil {
		return nil, err
	}
	return g, nil
}

// JoinExternal joins a group with an external commit (§12.4.3.2) from its
// GroupInfo (Group.GroupInfo of a member). It returns the new member's
// group, already in the new epoch, and the commit to send to the group. If
// the delivery service rejects the commit, drop the group and retry with a
// fresh GroupInfo.
func JoinExternal(id *Identity, groupInfo []byte, cfg *Config, opts *JoinOptions) (group *Group, commit []byte, err error) {
	defer guard(&err)
	if cfg == nil {
		cfg = &Config{}
	}
	if opts == nil {
		opts = &JoinOptions{}
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(groupInfo, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	gi := m.GroupInfo
	if gi == nil {
		return nil, nil, fmt.Errorf("%w: not a GroupInfo (wire format %d)", ErrMalformed, m.WireFormat)
	}
	if CipherSuite(gi.GroupContext.CipherSuite) != id.cs {
		return nil, nil, fmt.Errorf("%w: the group uses suite %d", ErrUnsupportedSuite, gi.GroupContext.CipherSuite)
	}
	s := id.s
	t, err := loadTree(s, cfg, gi, opts)
	if err != nil {
		return nil, nil, err
	}
	signer := leafAt(t, gi.Signer)
	if signer == nil {
		return nil, nil, fmt.Errorf("%w: GroupInfo signer %d is not a member", ErrUnknownSender, gi.Signer)
	}
	if err := gi.VerifySignature(s, signer.SignatureKey); err != nil {
		return nil, nil, classify(err)
	}
	epData, ok := gi.Extensions.Find(wire.ExtensionExternalPub)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the GroupInfo has no external_pub extension", ErrMalformed)
	}
	var extPub wire.ExternalPub
	if err := wire.Unmarshal(epData, &extPub); err != nil {
		return nil, nil, fmt.Errorf("%w: external_pub: %w", ErrMalformed, err)
	}
	kemOutput, initSecret, err := s.ExportSender(extPub.ExternalPub, nil, keyschedule.ExternalInitExportLabel, s.Nh())
	if err != nil {
		return nil, nil, fmt.Errorf("failed to set up the external init: %w", err)
	}
	// The state of the epoch being joined, as far as a non-member knows it.
	g := &Group{cfg: *cfg, s: s, id: id, ctx: gi.GroupContext, tree: t, own: ^uint32(0)}
	if g.interim, err = keyschedule.InterimTranscriptHash(s, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, nil, err
	}
	committer := wire.Sender{Type: wire.SenderTypeNewMemberCommit}
	list := []proposalEntry{{p: &wire.Proposal{Type: wire.ProposalTypeExternalInit, ExternalInit: &wire.ExternalInit{KEMOutput: kemOutput}}, sender: committer}}
	if opts.Resync != nil {
		list = append(list, proposalEntry{p: &wire.Proposal{Type: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: *opts.Resync}}, sender: committer})
	}
	if _, err := checkProposalList(list, committer); err != nil {
		return nil, nil, err
	}
	a, err := g.applyProposals(list, true)
	if err != nil {
		return nil, nil, err
	}
	template := g.leafTemplate()
	// A placeholder leaf marks the joiner's position; GeneratePath replaces
	// it with the signed leaf.
	ph := *template
	ph.EncryptionKey, ph.Source, ph.Lifetime = nil, wire.LeafNodeSourceCommit, nil
	base := a.tree.Clone() // the tree the joiner's leaf enters
	own, err := a.tree.AddLeaf(&ph)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidTree, err)
	}
	g.own = uint32(own)
	next := g.nextGroup(a.tree)
	gen, err := a.tree.GeneratePath(own, template, id.key, &tree.PathParams{Context: g.provisionalContext(a.exts)})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate the update path: %w", err)
	}
	next.priv = gen.Private
	if err := g.validateLeaf(base, &gen.Path.LeafNode, wire.LeafNodeSourceCommit, g.own, a.exts, false, false); err != nil {
		return nil, nil, err
	}
	por := make([]wire.ProposalOrRef, len(list))
	for i := range list {
		por[i] = wire.ProposalOrRef{Type: wire.ProposalOrRefProposal, Proposal: list[i].p}
	}
	content := &wire.FramedContent{
		GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch, Sender: committer,
		AuthenticatedData: nonNil(opts.AuthenticatedData), ContentType: wire.ContentTypeCommit,
		Commit: &wire.Commit{Proposals: por, Path: gen.Path},
	}
	ac, err := g.sign(content, wire.WireFormatPublicMessage)
	if err != nil {
		return nil, nil, err
	}
	tag, err := g.finishEpoch(next, a, ac, gen.CommitSecret, initSecret)
	if err != nil {
		return nil, nil, err
	}
	ac.Auth.ConfirmationTag = tag
	pm, err := framingPublic(g, ac)
	if err != nil {
		return nil, nil, err
	}
	msg, err := wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
	if err != nil {
		return nil, nil, err
	}
	return next, msg, nil
}
