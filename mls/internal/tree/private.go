package tree

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
)

// PrivateState is the secret part of one member's view of the ratchet tree
// (§7.4): the HPKE private key of its leaf and those of the parent nodes on
// its direct path that it learned path secrets for. Each key is stored with
// its public key; a key counts only while the tree still holds that public
// key at the node, so keys of nodes that were blanked or replaced are never
// used (and Prune deletes them).
//
// Path secrets themselves are not kept: once a node's key pair and the next
// path secret are derived, the path secret is dropped (§7.4, deletion
// schedule of §9.2 in spirit).
type PrivateState struct {
	leaf LeafIndex
	keys map[NodeIndex]keyPair
}

type keyPair struct{ priv, pub []byte }

// NewPrivateState returns the private state of the member at leaf l of t,
// whose leaf encryption private key is encryptionPriv. It checks that the key
// matches the leaf's encryption_key.
func NewPrivateState(t *Tree, l LeafIndex, encryptionPriv []byte) (*PrivateState, error) {
	leaf := t.Leaf(l)
	if leaf == nil {
		return nil, t.leafErr(l)
	}
	pub, err := t.s.HPKEPublicKey(encryptionPriv)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid leaf private key", ErrPathKeyMismatch)
	}
	if !bytes.Equal(pub, leaf.EncryptionKey) {
		return nil, fmt.Errorf("%w: leaf private key does not match leaf %d", ErrPathKeyMismatch, l)
	}
	p := &PrivateState{leaf: l, keys: make(map[NodeIndex]keyPair)}
	p.keys[l.Node()] = keyPair{priv: bytes.Clone(encryptionPriv), pub: pub}
	return p, nil
}

// Leaf returns the member's leaf index.
func (p *PrivateState) Leaf() LeafIndex { return p.leaf }

// Clone returns an independent copy.
func (p *PrivateState) Clone() *PrivateState {
	return &PrivateState{leaf: p.leaf, keys: maps.Clone(p.keys)}
}

// SetLeafKey replaces the leaf's key pair, for a member whose Update proposal
// was committed (the new leaf node carries pub). It does not check the pair.
func (p *PrivateState) SetLeafKey(priv, pub []byte) {
	p.keys[p.leaf.Node()] = keyPair{priv: bytes.Clone(priv), pub: bytes.Clone(pub)}
}

// privateKey returns the private key of node x if p holds the key that t
// currently has at x.
func (p *PrivateState) privateKey(t *Tree, x NodeIndex) ([]byte, bool) {
	k, ok := p.keys[x]
	if !ok {
		return nil, false
	}
	pub := t.EncryptionKey(x)
	if pub == nil || !bytes.Equal(pub, k.pub) {
		return nil, false
	}
	return k.priv, true
}

// HasKey reports whether p holds the private key of node x as t has it.
func (p *PrivateState) HasKey(t *Tree, x NodeIndex) bool {
	_, ok := p.privateKey(t, x)
	return ok
}

// Prune deletes the keys of nodes whose public key in t is no longer the
// one the key belongs to (blanked or replaced nodes), and of nodes outside
// t.
func (p *PrivateState) Prune(t *Tree) {
	for x := range p.keys {
		if _, ok := p.privateKey(t, x); !ok {
			delete(p.keys, x)
		}
	}
}

// Check verifies that p fits t: its leaf is non-blank and p holds that
// leaf's key, and every stored key that t still uses is a real key pair.
func (p *PrivateState) Check(t *Tree) error {
	if t.Leaf(p.leaf) == nil {
		return t.leafErr(p.leaf)
	}
	if !p.HasKey(t, p.leaf.Node()) {
		return fmt.Errorf("%w: no key for own leaf", ErrPathKeyMismatch)
	}
	for x, k := range p.keys {
		if !p.HasKey(t, x) {
			continue
		}
		pub, err := t.s.HPKEPublicKey(k.priv)
		if err != nil || !bytes.Equal(pub, k.pub) {
			return fmt.Errorf("%w: node %d", ErrPathKeyMismatch, x)
		}
	}
	return nil
}

// deriveNodeKey derives the key pair of a node from its path secret (§7.4):
// node_secret = DeriveSecret(path_secret, "node"), then KEM.DeriveKeyPair.
func deriveNodeKey(s *suite.Suite, pathSecret []byte) (keyPair, error) {
	nodeSecret, err := s.DeriveSecret(pathSecret, "node")
	if err != nil {
		return keyPair{}, err
	}
	priv, pub, err := s.DeriveKeyPair(nodeSecret)
	if err != nil {
		return keyPair{}, fmt.Errorf("failed to derive node key pair: %w", err)
	}
	return keyPair{priv: priv, pub: pub}, nil
}

// ImportNodeSecret derives the key pair of parent node x from its path
// secret, checks it against the public key t holds at x, and keeps it.
func (p *PrivateState) ImportNodeSecret(t *Tree, x NodeIndex, pathSecret []byte) error {
	pub := t.EncryptionKey(x)
	if x.IsLeaf() || pub == nil {
		return fmt.Errorf("%w: node %d is not a non-blank parent", ErrPathKeyMismatch, x)
	}
	k, err := deriveNodeKey(t.s, pathSecret)
	if err != nil {
		return err
	}
	if !bytes.Equal(k.pub, pub) {
		return fmt.Errorf("%w: node %d", ErrPathKeyMismatch, x)
	}
	p.keys[x] = k
	return nil
}

// ImportPathSecret is a new member's step of joining with a Welcome that
// carries a path_secret (§12.4.3.1): the secret is that of the lowest common
// ancestor of the member's leaf and the committer's leaf sender, on the
// committer's filtered direct path in t (the tree after the commit). The key
// pairs of that node and of every node above it on the path are derived
// and checked against t.
func (p *PrivateState) ImportPathSecret(t *Tree, sender LeafIndex, pathSecret []byte) error {
	if t.Leaf(sender) == nil {
		return t.leafErr(sender)
	}
	lca := treemath.CommonAncestor(p.leaf.Node(), sender.Node())
	steps := t.FilteredDirectPath(sender)
	start := -1
	for i, st := range steps {
		if st.Node == lca {
			start = i
			break
		}
	}
	if start < 0 {
		return fmt.Errorf("%w: common ancestor %d is not on the committer's filtered direct path", ErrInvalidPath, lca)
	}
	q := p.Clone()
	ps := pathSecret
	for _, st := range steps[start:] {
		if err := q.ImportNodeSecret(t, st.Node, ps); err != nil {
			return err
		}
		next, err := t.s.DeriveSecret(ps, "path")
		if err != nil {
			return err
		}
		ps = next
	}
	p.keys = q.keys
	return nil
}

// MarshalBinary encodes the private state:
//
//	struct { uint32 node; opaque priv<V>; opaque pub<V>; } NodeKey;
//	struct { uint32 leaf; NodeKey keys<V>; } PrivateState;
//
// with keys in node order. The encoding holds private keys: store it
// encrypted.
func (p *PrivateState) MarshalBinary() ([]byte, error) {
	w := codec.NewWriter(nil)
	w.Uint32(uint32(p.leaf))
	nodes := slices.Sorted(maps.Keys(p.keys))
	w.Vector(func(w *codec.Writer) {
		for _, x := range nodes {
			k := p.keys[x]
			w.Uint32(uint32(x))
			w.Opaque(k.priv)
			w.Opaque(k.pub)
		}
	})
	return w.Bytes()
}

// UnmarshalPrivateState decodes the encoding of MarshalBinary. Nodes must be
// strictly increasing; keys are checked against a tree with Check.
func UnmarshalPrivateState(data []byte) (*PrivateState, error) {
	r := codec.NewReader(data)
	p := &PrivateState{keys: make(map[NodeIndex]keyPair)}
	p.leaf = LeafIndex(r.Uint32())
	last := int64(-1)
	r.Vector(func(r *codec.Reader) {
		x := r.Uint32()
		k := keyPair{priv: r.Opaque(), pub: r.Opaque()}
		if r.Err() != nil {
			return
		}
		if int64(x) <= last || uint64(x) >= 2*MaxLeaves {
			r.Fail(ErrPrivateStateFormat)
			return
		}
		last = int64(x)
		p.keys[NodeIndex(x)] = k
	})
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrivateStateFormat, err)
	}
	if uint64(p.leaf) >= MaxLeaves {
		return nil, ErrPrivateStateFormat
	}
	return p, nil
}
