package mls

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// isDefaultExtension reports whether t is one of the extension types of RFC
// 9420 §17.3, which every implementation supports and capabilities need not
// list.
func isDefaultExtension(t wire.ExtensionType) bool { return t >= 1 && t <= 5 }

func isDefaultProposal(t wire.ProposalType) bool { return t >= 1 && t <= 7 }

func isDefaultCredential(t wire.CredentialType) bool { return t == 1 || t == 2 }

func containsT[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// supportsExtensions reports whether capabilities caps support the given
// group context extensions and their required_capabilities (§11.1, §12.1.7).
func supportsExtensions(caps *wire.Capabilities, exts wire.Extensions) error {
	for _, e := range exts {
		if !isDefaultExtension(e.Type) && !containsT(caps.Extensions, e.Type) {
			return fmt.Errorf("extension type 0x%04x not supported", uint16(e.Type))
		}
	}
	data, ok := exts.Find(wire.ExtensionRequiredCapabilities)
	if !ok {
		return nil
	}
	var rc wire.RequiredCapabilities
	if err := wire.Unmarshal(data, &rc); err != nil {
		return err
	}
	for _, t := range rc.ExtensionTypes {
		if !isDefaultExtension(t) && !containsT(caps.Extensions, t) {
			return fmt.Errorf("required extension type 0x%04x not supported", uint16(t))
		}
	}
	for _, t := range rc.ProposalTypes {
		if !isDefaultProposal(t) && !containsT(caps.Proposals, t) {
			return fmt.Errorf("required proposal type 0x%04x not supported", uint16(t))
		}
	}
	for _, t := range rc.CredentialTypes {
		if !containsT(caps.Credentials, t) {
			return fmt.Errorf("required credential type 0x%04x not supported", uint16(t))
		}
	}
	return nil
}

// checkGroupContextExtensions checks that every member of t supports exts.
func (g *Group) checkGroupContextExtensions(exts wire.Extensions, t *tree.Tree) error {
	var err error
	t.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
		if e := supportsExtensions(&leaf.Capabilities, exts); e != nil {
			err = fmt.Errorf("%w: member %d: %w", ErrInvalidProposal, l, e)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if data, ok := exts.Find(wire.ExtensionExternalSenders); ok {
		var es wire.ExternalSenders
		if e := wire.Unmarshal(data, &es); e != nil {
			return fmt.Errorf("%w: external_senders: %w", ErrInvalidProposal, e)
		}
	}
	if data, ok := exts.Find(wire.ExtensionRequiredCapabilities); ok {
		var rc wire.RequiredCapabilities
		if e := wire.Unmarshal(data, &rc); e != nil {
			return fmt.Errorf("%w: required_capabilities: %w", ErrInvalidProposal, e)
		}
	}
	return nil
}

// validateLeaf applies §7.3 to a leaf node entering tree t at index l
// (tree.ValidateLeafNode), plus the group-level check that the node
// supports the group context extensions exts. §7.3 does not ask that the
// capabilities list the group's version and cipher suite, so a received
// leaf is not refused for that (see supportsGroupSuite for the Adds this
// member makes). A key package's lifetime is checked when checkLifetime is
// set.
func (g *Group) validateLeaf(t *tree.Tree, leaf *wire.LeafNode, src wire.LeafNodeSource, l uint32, exts wire.Extensions, checkLifetime, replacing bool) error {
	caps := &leaf.Capabilities
	if err := supportsExtensions(caps, exts); err != nil {
		return fmt.Errorf("%w: leaf: %w", ErrInvalidTree, err)
	}
	if err := g.s.ValidateSignaturePublicKey(leaf.SignatureKey); err != nil {
		return fmt.Errorf("%w: leaf signature key: %w", ErrInvalidTree, err)
	}
	v := &tree.LeafValidation{
		Source:     src,
		Index:      tree.LeafIndex(l),
		Replacing:  replacing,
		Credential: g.cfg.treeCredentialValidator(),
	}
	if src != wire.LeafNodeSourceKeyPackage {
		v.GroupID = g.ctx.GroupID
	}
	if checkLifetime {
		v.Now = g.cfg.now()
	}
	if err := t.ValidateLeafNode(leaf, v); err != nil {
		return classifyTree(err)
	}
	return nil
}

// validateSingleProposal applies the checks of §12.1 to one proposal and
// the sender rules of §12.1.8 and §6, against tree t as it stands when the
// proposal is applied (the current tree for a proposal received on its
// own). inCommit defers the check that every member supports new group
// context extensions to the end of the commit, when the final membership
// is known. sending is set when this member makes the proposal or commit:
// only then is a key package's lifetime checked (§7.3), so that members
// with skewed clocks do not disagree on a commit.
func (g *Group) validateSingleProposal(p *wire.Proposal, sender wire.Sender, t *tree.Tree, inCommit, sending bool) error {
	switch sender.Type {
	case wire.SenderTypeMember:
		if leafAt(g.tree, sender.Index) == nil {
			return fmt.Errorf("%w: proposal from blank leaf %d", ErrUnknownSender, sender.Index)
		}
		if p.Type == wire.ProposalTypeExternalInit {
			return fmt.Errorf("%w: ExternalInit from a member", ErrInvalidProposal)
		}
	case wire.SenderTypeExternal:
		switch p.Type {
		case wire.ProposalTypeAdd, wire.ProposalTypeRemove, wire.ProposalTypePreSharedKey, wire.ProposalTypeReInit, wire.ProposalTypeGroupContextExtensions:
		default:
			return fmt.Errorf("%w: an external sender cannot propose %s", ErrInvalidProposal, ProposalType(p.Type))
		}
	case wire.SenderTypeNewMemberProposal:
		if p.Type != wire.ProposalTypeAdd {
			return fmt.Errorf("%w: a new member can only propose its own Add", ErrInvalidProposal)
		}
		// Asking to be added is joining from outside: the same policy as
		// external commits applies.
		leaf := &p.Add.KeyPackage.LeafNode
		if g.cfg.AllowExternalJoin == nil {
			return fmt.Errorf("%w: external joins are not allowed (Config.AllowExternalJoin)", ErrCredentialRejected)
		}
		if err := g.cfg.AllowExternalJoin(credentialFromWire(&leaf.Credential), clone(leaf.SignatureKey)); err != nil {
			return fmt.Errorf("%w: external join: %w", ErrCredentialRejected, err)
		}
	case wire.SenderTypeNewMemberCommit:
		// Proposals of an external commit are checked by the commit rules.
	default:
		return fmt.Errorf("%w: sender type %d", ErrUnknownSender, sender.Type)
	}
	switch p.Type {
	case wire.ProposalTypeAdd:
		// §10.1: the key package's suite and version are the group's.
		kp := &KeyPackage{s: g.s, kp: p.Add.KeyPackage}
		if kp.kp.CipherSuite != g.ctx.CipherSuite {
			return fmt.Errorf("%w: key package of suite %d in a group of suite %d", ErrInvalidKeyPackage, kp.kp.CipherSuite, g.ctx.CipherSuite)
		}
		if kp.kp.Version != g.ctx.Version {
			return fmt.Errorf("%w: key package of version %d in a group of version %d", ErrInvalidKeyPackage, kp.kp.Version, g.ctx.Version)
		}
		if err := kp.verify(); err != nil {
			return err
		}
		if err := g.validateLeaf(t, &kp.kp.LeafNode, wire.LeafNodeSourceKeyPackage, 0, g.ctx.Extensions, sending, false); err != nil {
			return err
		}
	case wire.ProposalTypeUpdate:
		if sender.Type != wire.SenderTypeMember {
			return fmt.Errorf("%w: Update from a non-member", ErrInvalidProposal)
		}
		old := leafAt(t, sender.Index)
		if old == nil {
			return fmt.Errorf("%w: Update of blank leaf %d", ErrInvalidProposal, sender.Index)
		}
		if err := g.validateLeaf(t, &p.Update.LeafNode, wire.LeafNodeSourceUpdate, sender.Index, g.ctx.Extensions, false, true); err != nil {
			return err
		}
		if err := g.checkSameClient(old, &p.Update.LeafNode); err != nil {
			return err
		}
	case wire.ProposalTypeRemove:
		if leafAt(t, p.Remove.Removed) == nil {
			return fmt.Errorf("%w: Remove of blank or absent leaf %d", ErrInvalidProposal, p.Remove.Removed)
		}
	case wire.ProposalTypePreSharedKey:
		id := &p.PreSharedKey.PSK
		if len(id.PSKNonce) != g.s.Nh() {
			return fmt.Errorf("%w: PSK nonce of %d bytes, want %d", ErrInvalidProposal, len(id.PSKNonce), g.s.Nh())
		}
		// §12.1.4: a PreSharedKey proposal of a resumption PSK with usage
		// reinit or branch is invalid; the one exception is the first
		// commit of a group this member creates as a successor or branch
		// (§11.2, §11.3), which nobody else processes.
		if id.Type == wire.PSKTypeResumption && id.Usage != wire.ResumptionPSKUsageApplication && !g.initialResumption(id, sender, sending) {
			return fmt.Errorf("%w: resumption PSK with usage %d in a PreSharedKey proposal", ErrInvalidProposal, id.Usage)
		}
	case wire.ProposalTypeReInit:
		if p.ReInit.Version < g.ctx.Version {
			return fmt.Errorf("%w: ReInit to an older protocol version", ErrInvalidProposal)
		}
	case wire.ProposalTypeExternalInit:
		if len(p.ExternalInit.KEMOutput) == 0 {
			return fmt.Errorf("%w: empty ExternalInit", ErrInvalidProposal)
		}
	case wire.ProposalTypeGroupContextExtensions:
		if !inCommit {
			if err := g.checkGroupContextExtensions(p.GroupContextExtensions.Extensions, t); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: proposal type %d", ErrInvalidProposal, p.Type)
	}
	return nil
}

// supportsGroupSuite checks that a client this member adds says, in its
// capabilities, that it supports the group's protocol version and cipher
// suite. §11.1: "At a minimum, all members of the group need to support
// the ciphersuite and protocol version in use"; §10: the capabilities say
// what the client supports. It applies only to the Adds this member makes
// (proposalToWire): §7.3 and §10.1 do not make it a reason to refuse a
// leaf or an Add received from others, and OpenMLS, mls-rs and mlspp do not
// refuse them.
func (g *Group) supportsGroupSuite(caps *wire.Capabilities) error {
	if !containsT(caps.Versions, g.ctx.Version) || !containsT(caps.CipherSuites, g.ctx.CipherSuite) {
		return fmt.Errorf("%w: the key package's capabilities do not list the group's version and cipher suite", ErrInvalidKeyPackage)
	}
	return nil
}

// treeCredentialValidator adapts the application's validator for package
// tree.
func (c *Config) treeCredentialValidator() tree.CredentialValidator {
	return func(cred *wire.Credential, sigKey []byte) error { return c.validateCredential(cred, sigKey) }
}

// classifyTree maps package tree's errors to the public ones.
func classifyTree(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrCredentialRejected):
		return err
	case errors.Is(err, suite.ErrInvalidSignature):
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	case errors.Is(err, tree.ErrInvalidLeafNode) && errors.Is(err, suite.ErrInvalidSignature):
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidTree, err)
}

// checkSameClient checks that a leaf replacing old (an Update, a commit's
// path, an external resync) belongs to the same client (§5.3.3, §12.1.2):
// Config.ValidateCredentialChange decides when set; otherwise the
// credential must stay byte-for-byte the same.
func (g *Group) checkSameClient(old, leaf *wire.LeafNode) error {
	if old == nil {
		return fmt.Errorf("%w: no leaf to replace", ErrInvalidTree)
	}
	if g.cfg.ValidateCredentialChange != nil {
		if err := g.cfg.ValidateCredentialChange(credentialFromWire(&old.Credential), credentialFromWire(&leaf.Credential)); err != nil {
			return fmt.Errorf("%w: credential change: %w", ErrCredentialRejected, err)
		}
		return nil
	}
	if !equalCredentials(&old.Credential, &leaf.Credential) {
		return fmt.Errorf("%w: a member may not change its identity", ErrCredentialRejected)
	}
	return nil
}

// equalCredentials reports whether two credentials are byte-for-byte the
// same.
func equalCredentials(o, n *wire.Credential) bool {
	same := o.Type == n.Type && string(o.Identity) == string(n.Identity) && len(o.Certificates) == len(n.Certificates)
	for i := 0; same && i < len(o.Certificates); i++ {
		same = string(o.Certificates[i]) == string(n.Certificates[i])
	}
	return same
}

// leafAt returns the leaf node at index i of t, or nil when it is blank or
// i is outside the tree. Leaf indices from messages go through it: they are
// checked against the tree's size before any use.
func leafAt(t *tree.Tree, i uint32) *wire.LeafNode {
	if i >= t.NumLeaves() {
		return nil
	}
	return t.Leaf(tree.LeafIndex(i))
}
