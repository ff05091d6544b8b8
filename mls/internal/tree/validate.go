package tree

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// CredentialValidator is the application's check of a credential (§5.3.1):
// that it is acceptable and that it binds the identity to signatureKey.
// It returns an error to reject the leaf node. The error is wrapped in
// ErrInvalidCredential.
type CredentialValidator func(cred *wire.Credential, signatureKey []byte) error

// LeafValidation is the context in which a leaf node is validated (§7.3).
type LeafValidation struct {
	// GroupID is the group's ID, signed by leaf nodes of the update and
	// commit sources.
	GroupID []byte
	// Source is the source the leaf node must have: key_package for an Add
	// or a KeyPackage, update for an Update proposal, commit for the leaf of
	// an UpdatePath. Zero accepts any source.
	Source wire.LeafNodeSource
	// Index is the leaf the node is at, or will replace when Replacing is
	// set (update and commit sources). It is part of the signed content for
	// those sources.
	Index LeafIndex
	// Replacing is set when the node replaces the member at Index (Update
	// proposal, UpdatePath): that member's signature key may be kept, and its
	// encryption key must change.
	Replacing bool
	// RequiredCapabilities is the group's required_capabilities extension,
	// nil when the group has none.
	RequiredCapabilities *wire.RequiredCapabilities
	// Credential validates the credential; nil accepts every credential.
	Credential CredentialValidator
	// Now, when not zero, is checked against the lifetime of a leaf node of
	// the key_package source. §7.3 requires it for nodes a client sends and
	// allows it for nodes it receives.
	Now time.Time

	signatureChecked bool // set by Validate, which verifies in parallel
}

// defaultExtension reports whether an extension type is one of RFC 9420's
// default extensions (§17.3), which need not be listed in capabilities.
func defaultExtension(t wire.ExtensionType) bool { return t >= 1 && t <= 5 }

// defaultProposal reports whether a proposal type is one of RFC 9420's
// default proposal types (§17.4), which need not be listed in capabilities.
func defaultProposal(t wire.ProposalType) bool { return t >= 1 && t <= 7 }

// checkLeafAlone applies the checks of §7.3 that need no other member: the
// credential, the signature, required capabilities, extension support,
// lifetime and source.
func (t *Tree) checkLeafAlone(leaf *wire.LeafNode, groupID []byte, index LeafIndex, v *LeafValidation) error {
	if v.Source != 0 && leaf.Source != v.Source {
		return fmt.Errorf("%w: leaf_node_source %d, want %d", ErrInvalidLeafNode, leaf.Source, v.Source)
	}
	if err := t.s.ValidateHPKEPublicKey(leaf.EncryptionKey); err != nil {
		return fmt.Errorf("%w: invalid encryption key", ErrInvalidLeafNode)
	}
	caps := &leaf.Capabilities
	if !slices.Contains(caps.Credentials, leaf.Credential.Type) {
		return fmt.Errorf("%w: credential type %d not in its capabilities", ErrInvalidLeafNode, leaf.Credential.Type)
	}
	for _, e := range leaf.Extensions {
		if !defaultExtension(e.Type) && !slices.Contains(caps.Extensions, e.Type) {
			return fmt.Errorf("%w: extension %d not in its capabilities", ErrInvalidLeafNode, e.Type)
		}
	}
	if rc := v.RequiredCapabilities; rc != nil {
		for _, e := range rc.ExtensionTypes {
			if !defaultExtension(e) && !slices.Contains(caps.Extensions, e) {
				return fmt.Errorf("%w: required extension %d not supported", ErrInvalidLeafNode, e)
			}
		}
		for _, p := range rc.ProposalTypes {
			if !defaultProposal(p) && !slices.Contains(caps.Proposals, p) {
				return fmt.Errorf("%w: required proposal %d not supported", ErrInvalidLeafNode, p)
			}
		}
		for _, c := range rc.CredentialTypes {
			if !slices.Contains(caps.Credentials, c) {
				return fmt.Errorf("%w: required credential type %d not supported", ErrInvalidLeafNode, c)
			}
		}
	}
	if !v.Now.IsZero() && leaf.Source == wire.LeafNodeSourceKeyPackage {
		now := v.Now.Unix()
		if leaf.Lifetime == nil || now < 0 || uint64(now) < leaf.Lifetime.NotBefore || uint64(now) > leaf.Lifetime.NotAfter {
			return fmt.Errorf("%w: outside its lifetime", ErrInvalidLeafNode)
		}
	}
	if !v.signatureChecked {
		if err := leaf.VerifySignature(t.s, groupID, uint32(index)); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidLeafNode, err)
		}
	}
	if v.Credential != nil {
		if err := v.Credential(&leaf.Credential, leaf.SignatureKey); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidCredential, err)
		}
	}
	return nil
}

// ValidateLeafNode validates a leaf node that is to enter the tree (§7.3):
// by an Add (Source key_package, Replacing false), an Update proposal
// (Source update, Replacing true) or the UpdatePath of a commit (Source
// commit, Replacing true). t is the tree before the change. Besides the
// checks on the node alone, it checks that the node's credential type is
// supported by every other member and that the node supports theirs, that
// its signature key differs from every other member's, and that its
// encryption key appears nowhere in the tree (including the leaf it
// replaces).
func (t *Tree) ValidateLeafNode(leaf *wire.LeafNode, v *LeafValidation) error {
	if leaf == nil {
		return fmt.Errorf("%w: missing", ErrInvalidLeafNode)
	}
	if v.Replacing && t.Leaf(v.Index) == nil {
		return t.leafErr(v.Index)
	}
	if err := t.checkLeafAlone(leaf, v.GroupID, v.Index, v); err != nil {
		return err
	}
	var err error
	t.Members(func(l LeafIndex, m *wire.LeafNode) bool {
		if v.Replacing && l == v.Index {
			return true
		}
		switch {
		case !slices.Contains(m.Capabilities.Credentials, leaf.Credential.Type):
			err = fmt.Errorf("%w: credential type %d not supported by member %d", ErrInvalidLeafNode, leaf.Credential.Type, l)
		case !slices.Contains(leaf.Capabilities.Credentials, m.Credential.Type):
			err = fmt.Errorf("%w: credential type %d of member %d not supported", ErrInvalidLeafNode, m.Credential.Type, l)
		case bytes.Equal(m.SignatureKey, leaf.SignatureKey):
			err = fmt.Errorf("%w: signature key of member %d", ErrDuplicateKey, l)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	for x := range t.nodes {
		if k := t.EncryptionKey(NodeIndex(x)); k != nil && bytes.Equal(k, leaf.EncryptionKey) {
			return fmt.Errorf("%w: encryption key of node %d", ErrDuplicateKey, x)
		}
	}
	return nil
}

// TreeValidation is the context of validating a whole received tree.
type TreeValidation struct {
	// GroupID is the group's ID (leaf signatures of the update and commit
	// sources cover it).
	GroupID []byte
	// TreeHash, when not nil, must equal the tree hash (the GroupInfo's
	// GroupContext.tree_hash).
	TreeHash []byte
	// RequiredCapabilities is the group's required_capabilities extension,
	// nil when the group has none.
	RequiredCapabilities *wire.RequiredCapabilities
	// Credential validates every member's credential; nil accepts all.
	Credential CredentialValidator
	// Now, when not zero, is checked against the lifetimes of leaf nodes of
	// the key_package source.
	Now time.Time
}

// Validate checks a tree received from others, as a new member must before
// using it (§12.4.3.1): the tree hash, that every non-blank parent node is
// parent-hash valid, every leaf node (§7.3, at its own index), that
// credential types are mutually supported, that signature keys and
// encryption keys are unique, and the unmerged leaves of every parent (each
// a non-blank leaf under it, sorted, and listed by every non-blank node in
// between).
func (t *Tree) Validate(v *TreeValidation) error {
	if v.TreeHash != nil && subtle.ConstantTimeCompare(t.TreeHash(), v.TreeHash) != 1 {
		return ErrTreeHash
	}
	if err := t.VerifyParentHashes(); err != nil {
		return err
	}
	if err := t.checkUnmerged(); err != nil {
		return err
	}
	// Unique encryption keys across all nodes, signature keys across leaves.
	encKeys := make(map[string]struct{}, len(t.nodes))
	for x := range t.nodes {
		k := t.EncryptionKey(NodeIndex(x))
		if k == nil {
			continue
		}
		if _, dup := encKeys[string(k)]; dup {
			return fmt.Errorf("%w: encryption key of node %d", ErrDuplicateKey, x)
		}
		encKeys[string(k)] = struct{}{}
	}
	// Leaf signatures first, on all CPUs: they dominate the cost of joining
	// a large group.
	var members []LeafIndex
	t.Members(func(l LeafIndex, _ *wire.LeafNode) bool { members = append(members, l); return true })
	err := parallel(len(members), func(i int) error {
		l := members[i]
		if e := t.Leaf(l).VerifySignature(t.s, v.GroupID, uint32(l)); e != nil {
			return fmt.Errorf("member %d: %w: %w", l, ErrInvalidLeafNode, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sigKeys := make(map[string]struct{})
	var credTypes []wire.CredentialType
	t.Members(func(l LeafIndex, leaf *wire.LeafNode) bool {
		if _, dup := sigKeys[string(leaf.SignatureKey)]; dup {
			err = fmt.Errorf("%w: signature key of member %d", ErrDuplicateKey, l)
			return false
		}
		sigKeys[string(leaf.SignatureKey)] = struct{}{}
		if !slices.Contains(credTypes, leaf.Credential.Type) {
			credTypes = append(credTypes, leaf.Credential.Type)
		}
		lv := LeafValidation{RequiredCapabilities: v.RequiredCapabilities, Credential: v.Credential, Now: v.Now, signatureChecked: true}
		if e := t.checkLeafAlone(leaf, v.GroupID, l, &lv); e != nil {
			err = fmt.Errorf("member %d: %w", l, e)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	t.Members(func(l LeafIndex, leaf *wire.LeafNode) bool {
		for _, ct := range credTypes {
			if !slices.Contains(leaf.Capabilities.Credentials, ct) {
				err = fmt.Errorf("%w: member %d does not support credential type %d in use", ErrInvalidLeafNode, l, ct)
				return false
			}
		}
		return true
	})
	return err
}

// checkUnmerged checks the unmerged_leaves of every non-blank parent.
func (t *Tree) checkUnmerged() error {
	n := t.NumLeaves()
	for x := 1; x < len(t.nodes); x += 2 {
		p := t.ParentNode(NodeIndex(x))
		if p == nil {
			continue
		}
		for i, u := range p.UnmergedLeaves {
			if i > 0 && p.UnmergedLeaves[i-1] >= u {
				return fmt.Errorf("%w: node %d: not sorted", ErrUnmergedLeaves, x)
			}
			if u >= n || t.Leaf(LeafIndex(u)) == nil {
				return fmt.Errorf("%w: node %d: leaf %d is blank", ErrUnmergedLeaves, x, u)
			}
			leaf := LeafIndex(u).Node()
			if !treemath.IsAncestor(NodeIndex(x), leaf) {
				return fmt.Errorf("%w: node %d: leaf %d is not below it", ErrUnmergedLeaves, x, u)
			}
			for _, a := range treemath.DirectPath(leaf, n) {
				if a == NodeIndex(x) {
					break
				}
				if ap := t.ParentNode(a); ap != nil && !slices.Contains(ap.UnmergedLeaves, u) {
					return fmt.Errorf("%w: node %d lacks leaf %d", ErrUnmergedLeaves, a, u)
				}
			}
		}
	}
	return nil
}
