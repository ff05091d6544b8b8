// Package tree implements the MLS ratchet tree (RFC 9420 §4, §7) and TreeKEM
// (§7.4-§7.6): the public tree every member holds, its tree hash and parent
// hashes, leaf-node validation, and the private keys one member knows.
//
// # The tree
//
// A Tree is an array of nodes in the layout of package treemath (leaves at
// even indices, parents at odd ones). Its leaf count is always a power of two
// (§7.7): adding a member to a full tree doubles it, and removing members
// truncates the right half while it is all blank. A blank node is a nil
// *wire.Node. The nodes a Tree holds are never modified in place: every change
// replaces the node, so Tree.Clone is cheap (it copies pointers) and a clone
// can be changed without affecting the original. Nodes returned by accessors
// must not be modified by the caller, and nodes handed to the tree
// (AddLeaf, UpdateLeaf, SetNode) belong to the tree afterwards.
//
// The operations of §7.7 and §12.1 are Tree.AddLeaf (the leftmost blank leaf
// or extend, adding the new leaf to the unmerged_leaves of the non-blank
// nodes above it, kept sorted), Tree.UpdateLeaf (replace a leaf and blank its
// direct path) and Tree.RemoveLeaf (blank the leaf and its direct path, then
// truncate).
//
// # Hashes
//
// Tree.TreeHash is the tree hash of §7.8. Node hashes and resolutions are
// cached per node and invalidated along the direct path of a changed node, so
// after a change of one leaf only log(n) hashes are recomputed. Parent hashes
// (§7.9) are computed by Tree.ParentHash, including the original sibling tree
// hash with a parent's unmerged leaves removed; Tree.VerifyParentHashes checks
// that every non-blank parent node is parent-hash valid (§7.9.2).
//
// # Validation
//
// Tree.ValidateLeafNode applies the checks of §7.3 to one leaf node (the
// credential through a callback supplied by the caller); Tree.Validate
// applies the checks a new member makes on a received tree (§12.4.3.1):
// tree hash, parent hashes, every leaf, unmerged leaves and key uniqueness.
// Decoding a ratchet_tree extension with FromRatchetTree or Decode checks its
// shape (§12.4.3.3) but not its contents; call Validate before trusting it.
//
// # TreeKEM
//
// Tree.GeneratePath creates an UpdatePath for a committer (§7.4, §7.5,
// §12.4.2) and merges it into the tree; Tree.ApplyPath merges a received one
// and decrypts the path secret for the receiving member (§7.5, §12.4.2).
// PrivateState holds the HPKE private keys one member knows (its leaf's and
// those of the parent nodes it learned path secrets for) and serialises to
// bytes.
//
// A Tree is not safe for concurrent use; reading methods fill caches.
package tree

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Re-exported index types, so callers need not import treemath.
type (
	// LeafIndex is the index of a leaf among the leaves.
	LeafIndex = treemath.LeafIndex
	// NodeIndex is the index of a node in the array representation.
	NodeIndex = treemath.NodeIndex
)

// MaxLeaves bounds the leaves of a tree this package builds or accepts.
// About a million members is far beyond any group MLS is used for, and keeps
// a hostile ratchet_tree (mostly blank nodes, one byte each) from making the
// receiver allocate more than about 150 MB.
const MaxLeaves = 1 << 20

// Errors of tree operations. Errors wrap these sentinels; verification
// failures carry no further detail.
var (
	ErrMalformedTree      = errors.New("tree: malformed ratchet tree")
	ErrBlankLeaf          = errors.New("tree: leaf is blank")
	ErrLeafOutOfRange     = errors.New("tree: leaf index out of range")
	ErrTreeHash           = errors.New("tree: tree hash mismatch")
	ErrParentHash         = errors.New("tree: invalid parent hash")
	ErrInvalidLeafNode    = errors.New("tree: invalid leaf node")
	ErrDuplicateKey       = errors.New("tree: duplicate key in tree")
	ErrUnmergedLeaves     = errors.New("tree: invalid unmerged leaves")
	ErrInvalidPath        = errors.New("tree: invalid update path")
	ErrNoPrivateKey       = errors.New("tree: no private key for update path")
	ErrPathKeyMismatch    = errors.New("tree: derived public key does not match")
	ErrTooLarge           = errors.New("tree: tree too large")
	ErrInvalidCredential  = errors.New("tree: credential rejected")
	ErrPrivateStateFormat = errors.New("tree: malformed private state")
)

// Tree is a ratchet tree of one cipher suite. The zero value is not usable;
// create one with New, FromRatchetTree or Decode.
type Tree struct {
	s     *suite.Suite
	nodes []*wire.Node
	cache []nodeCache // per node, same length as nodes
}

// nodeCache holds the cached tree hash and resolution of a node; nil means
// not computed (an empty resolution is the non-nil emptyResolution).
type nodeCache struct {
	hash []byte
	res  []NodeIndex
}

var emptyResolution = []NodeIndex{}

// New returns a one-member tree holding leaf, as the creator of a group
// builds it (§11). The leaf must be encodable (a key_package leaf has a
// lifetime, the credential type is known), as every leaf this library builds
// or decodes is; AddLeaf and UpdateLeaf check that, New does not.
func New(s *suite.Suite, leaf *wire.LeafNode) *Tree {
	t := &Tree{s: s}
	t.resize(1)
	t.nodes[0] = &wire.Node{Type: wire.NodeTypeLeaf, Leaf: leaf}
	return t
}

// FromRatchetTree builds a tree from the nodes of a ratchet_tree extension
// (§12.4.3.3). It checks the shape only: at least one node, the last one
// non-blank, leaves at even and parents at odd indices. The array is extended
// with blanks to the next full size. The nodes are kept, not copied.
func FromRatchetTree(s *suite.Suite, rt wire.RatchetTree) (*Tree, error) {
	n := len(rt)
	if n == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformedTree)
	}
	if rt[n-1] == nil {
		return nil, fmt.Errorf("%w: last node is blank", ErrMalformedTree)
	}
	// Leaves needed: the smallest power of two whose width covers n nodes.
	leaves := uint32(1)
	for treemath.NodeWidth(leaves) < uint32(min(n, 2*MaxLeaves)) {
		if leaves >= MaxLeaves {
			return nil, ErrTooLarge
		}
		leaves *= 2
	}
	if uint64(n) > uint64(treemath.NodeWidth(leaves)) {
		return nil, ErrTooLarge
	}
	t := &Tree{s: s}
	t.resize(leaves)
	for i, node := range rt {
		if node == nil {
			continue
		}
		isLeaf := i%2 == 0
		switch {
		case isLeaf && (node.Type != wire.NodeTypeLeaf || node.Leaf == nil):
			return nil, fmt.Errorf("%w: node %d must be a leaf", ErrMalformedTree, i)
		case !isLeaf && (node.Type != wire.NodeTypeParent || node.Parent == nil):
			return nil, fmt.Errorf("%w: node %d must be a parent", ErrMalformedTree, i)
		}
		t.nodes[i] = node
	}
	return t, nil
}

// Decode decodes the content of a ratchet_tree extension and builds the tree
// with FromRatchetTree.
func Decode(s *suite.Suite, data []byte) (*Tree, error) {
	var rt wire.RatchetTree
	if err := wire.Unmarshal(data, &rt); err != nil {
		return nil, fmt.Errorf("failed to decode ratchet tree: %w", err)
	}
	return FromRatchetTree(s, rt)
}

// RatchetTree returns the nodes for a ratchet_tree extension: the array with
// trailing blank nodes removed (§12.4.3.3). The nodes are shared with the
// tree and must not be modified.
func (t *Tree) RatchetTree() wire.RatchetTree {
	end := len(t.nodes)
	for end > 0 && t.nodes[end-1] == nil {
		end--
	}
	rt := make(wire.RatchetTree, end)
	copy(rt, t.nodes[:end])
	return rt
}

// Encode returns the encoding of t.RatchetTree().
func (t *Tree) Encode() ([]byte, error) {
	rt := t.RatchetTree()
	return wire.Marshal(&rt)
}

// Suite returns the tree's cipher suite.
func (t *Tree) Suite() *suite.Suite { return t.s }

// Clone returns a copy of t that can be changed independently. Nodes and
// cached hashes are shared, which is safe because neither is ever modified in
// place.
func (t *Tree) Clone() *Tree {
	c := &Tree{s: t.s}
	c.nodes = append([]*wire.Node(nil), t.nodes...)
	c.cache = append([]nodeCache(nil), t.cache...)
	return c
}

// NumLeaves returns the number of leaves (blank or not), a power of two.
func (t *Tree) NumLeaves() uint32 { return uint32((len(t.nodes) + 1) / 2) }

// Width returns the number of nodes.
func (t *Tree) Width() uint32 { return uint32(len(t.nodes)) }

// Root returns the root's node index.
func (t *Tree) Root() NodeIndex { return treemath.Root(t.NumLeaves()) }

// Node returns node x, or nil when it is blank or outside the tree.
func (t *Tree) Node(x NodeIndex) *wire.Node {
	if uint64(x) >= uint64(len(t.nodes)) {
		return nil
	}
	return t.nodes[x]
}

// Leaf returns the leaf node at l, or nil when it is blank or outside the
// tree.
func (t *Tree) Leaf(l LeafIndex) *wire.LeafNode {
	if uint32(l) >= t.NumLeaves() {
		// Checked here, not left to Node: l.Node() wraps for l >= 2^31
		// and would alias a leaf inside the tree.
		return nil
	}
	n := t.Node(l.Node())
	if n == nil {
		return nil
	}
	return n.Leaf
}

// ParentNode returns the parent node at x, or nil when it is blank, a leaf or
// outside the tree.
func (t *Tree) ParentNode(x NodeIndex) *wire.ParentNode {
	if x.IsLeaf() {
		return nil
	}
	n := t.Node(x)
	if n == nil {
		return nil
	}
	return n.Parent
}

// EncryptionKey returns the HPKE public key of node x, or nil when blank.
func (t *Tree) EncryptionKey(x NodeIndex) []byte {
	n := t.Node(x)
	switch {
	case n == nil:
		return nil
	case n.Leaf != nil:
		return n.Leaf.EncryptionKey
	case n.Parent != nil:
		return n.Parent.EncryptionKey
	}
	return nil
}

// Members calls f for every non-blank leaf in index order until f returns
// false.
func (t *Tree) Members(f func(l LeafIndex, leaf *wire.LeafNode) bool) {
	for i := 0; i < len(t.nodes); i += 2 {
		if n := t.nodes[i]; n != nil {
			if !f(LeafIndex(i/2), n.Leaf) {
				return
			}
		}
	}
}

// NumMembers returns the number of non-blank leaves.
func (t *Tree) NumMembers() int {
	c := 0
	t.Members(func(LeafIndex, *wire.LeafNode) bool { c++; return true })
	return c
}

// FindLeaf returns the first non-blank leaf for which match returns true.
func (t *Tree) FindLeaf(match func(*wire.LeafNode) bool) (LeafIndex, bool) {
	var found LeafIndex
	ok := false
	t.Members(func(l LeafIndex, leaf *wire.LeafNode) bool {
		if match(leaf) {
			found, ok = l, true
			return false
		}
		return true
	})
	return found, ok
}

// DirectPath returns the direct path of leaf l (§4.1.2).
func (t *Tree) DirectPath(l LeafIndex) []NodeIndex {
	return treemath.DirectPath(l.Node(), t.NumLeaves())
}

// resize sets the leaf count, keeping the nodes that remain and their caches.
func (t *Tree) resize(leaves uint32) {
	w := int(treemath.NodeWidth(leaves))
	if w <= len(t.nodes) {
		clear(t.nodes[w:])
		t.nodes = t.nodes[:w]
		clear(t.cache[w:])
		t.cache = t.cache[:w]
		// The new root's cached values do not depend on the removed nodes
		// (subtrees of a full tree keep their shape), so nothing else changes.
		return
	}
	t.nodes = append(t.nodes, make([]*wire.Node, w-len(t.nodes))...)
	t.cache = append(t.cache, make([]nodeCache, w-len(t.cache))...)
}

// invalidate drops the cached values of x and its ancestors.
func (t *Tree) invalidate(x NodeIndex) {
	n := t.NumLeaves()
	for {
		t.cache[x] = nodeCache{}
		p, ok := treemath.Parent(x, n)
		if !ok {
			return
		}
		x = p
	}
}

// SetNode replaces node x (nil blanks it). The node must match the position
// (a leaf at an even index, a parent at an odd one).
func (t *Tree) SetNode(x NodeIndex, node *wire.Node) error {
	if uint64(x) >= uint64(len(t.nodes)) {
		return ErrLeafOutOfRange
	}
	if node != nil {
		okLeaf := node.Type == wire.NodeTypeLeaf && node.Leaf != nil
		okParent := node.Type == wire.NodeTypeParent && node.Parent != nil
		if (x.IsLeaf() && !okLeaf) || (!x.IsLeaf() && !okParent) {
			return fmt.Errorf("%w: node type does not match position %d", ErrMalformedTree, x)
		}
		if err := checkEncodes(node); err != nil {
			return err
		}
	}
	t.set(x, node)
	return nil
}

func (t *Tree) set(x NodeIndex, node *wire.Node) {
	t.nodes[x] = node
	t.invalidate(x)
}

// blankPath blanks the direct path of leaf l.
func (t *Tree) blankPath(l LeafIndex) {
	for _, p := range t.DirectPath(l) {
		if t.nodes[p] != nil {
			t.set(p, nil)
		}
	}
}

// checkEncodes rejects a node that has no valid encoding (for example a
// key_package leaf without a lifetime), which could not be hashed.
func checkEncodes(node *wire.Node) error {
	if _, err := wire.Marshal(node); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedTree, err)
	}
	return nil
}

func leafNode(leaf *wire.LeafNode) (*wire.Node, error) {
	if leaf == nil {
		return nil, fmt.Errorf("%w: missing leaf node", ErrMalformedTree)
	}
	n := &wire.Node{Type: wire.NodeTypeLeaf, Leaf: leaf}
	return n, checkEncodes(n)
}

// AddLeaf inserts leaf at the leftmost blank leaf, extending the tree to the
// right when there is none, and adds its index to the unmerged_leaves of
// every non-blank parent on its direct path, keeping each list sorted
// (§7.7, §12.1.1). It returns the new leaf's index.
func (t *Tree) AddLeaf(leaf *wire.LeafNode) (LeafIndex, error) {
	node, err := leafNode(leaf)
	if err != nil {
		return 0, err
	}
	n := t.NumLeaves()
	l := LeafIndex(n)
	for i := uint32(0); i < n; i++ {
		if t.nodes[2*i] == nil {
			l = LeafIndex(i)
			break
		}
	}
	if uint32(l) == n {
		if n >= MaxLeaves {
			return 0, ErrTooLarge
		}
		t.resize(2 * n)
	}
	for _, p := range t.DirectPath(l) {
		old := t.nodes[p]
		if old == nil {
			continue
		}
		pn := *old.Parent
		pn.UnmergedLeaves = insertSorted(pn.UnmergedLeaves, uint32(l))
		t.set(p, &wire.Node{Type: wire.NodeTypeParent, Parent: &pn})
	}
	t.set(l.Node(), node)
	return l, nil
}

// insertSorted returns a new slice with v inserted in order (no duplicate).
func insertSorted(list []uint32, v uint32) []uint32 {
	out := make([]uint32, 0, len(list)+1)
	done := false
	for _, u := range list {
		if !done && v <= u {
			if v != u {
				out = append(out, v)
			}
			done = true
		}
		out = append(out, u)
	}
	if !done {
		out = append(out, v)
	}
	return out
}

// UpdateLeaf replaces the non-blank leaf l and blanks its direct path
// (§12.1.2).
func (t *Tree) UpdateLeaf(l LeafIndex, leaf *wire.LeafNode) error {
	if t.Leaf(l) == nil {
		return t.leafErr(l)
	}
	node, err := leafNode(leaf)
	if err != nil {
		return err
	}
	t.blankPath(l)
	t.set(l.Node(), node)
	return nil
}

// RemoveLeaf blanks the non-blank leaf l and its direct path, then truncates
// the tree while the right half is blank (§12.1.3, §7.7).
func (t *Tree) RemoveLeaf(l LeafIndex) error {
	if t.Leaf(l) == nil {
		return t.leafErr(l)
	}
	t.blankPath(l)
	t.set(l.Node(), nil)
	t.Truncate()
	return nil
}

func (t *Tree) leafErr(l LeafIndex) error {
	if uint32(l) >= t.NumLeaves() {
		return fmt.Errorf("%w: %d", ErrLeafOutOfRange, l)
	}
	return fmt.Errorf("%w: %d", ErrBlankLeaf, l)
}

// Truncate halves the tree while no leaf of the root's right subtree is
// non-blank, discarding the root and that subtree (§7.7, §12.1.3). A tree
// always keeps at least one leaf.
func (t *Tree) Truncate() {
	for n := t.NumLeaves(); n > 1; n /= 2 {
		for l := n / 2; l < n; l++ {
			if t.nodes[2*l] != nil {
				return
			}
		}
		t.resize(n / 2)
	}
}

// hashNode returns Hash(TreeHashInput) for node x holding node (nil: blank),
// given its children's hashes when x is a parent (§7.8).
func (t *Tree) hashNode(x NodeIndex, node *wire.Node, left, right []byte) []byte {
	w := codec.NewWriter(make([]byte, 0, 256))
	if x.IsLeaf() {
		w.Uint8(uint8(wire.NodeTypeLeaf))
		w.Uint32(uint32(x) / 2)
		w.Optional(node != nil, func(w *codec.Writer) { node.Leaf.MarshalTLS(w) })
	} else {
		w.Uint8(uint8(wire.NodeTypeParent))
		w.Optional(node != nil, func(w *codec.Writer) { node.Parent.MarshalTLS(w) })
		w.Opaque(left)
		w.Opaque(right)
	}
	b, err := w.Bytes()
	if err != nil {
		// Nodes in a tree were decoded or built from valid values; an
		// encoding failure means a caller broke the invariant.
		panic("mls: internal error: tree node does not encode: " + err.Error())
	}
	return t.s.Hash(b)
}

// NodeHash returns the tree hash of the subtree rooted at x (§7.8), or nil
// when x is outside the tree. The slice must not be modified.
func (t *Tree) NodeHash(x NodeIndex) []byte {
	if uint64(x) >= uint64(len(t.nodes)) {
		return nil
	}
	if h := t.cache[x].hash; h != nil {
		return h
	}
	var h []byte
	if x.IsLeaf() {
		h = t.hashNode(x, t.nodes[x], nil, nil)
	} else {
		l, _ := treemath.Left(x)
		r, _ := treemath.Right(x)
		h = t.hashNode(x, t.nodes[x], t.NodeHash(l), t.NodeHash(r))
	}
	t.cache[x].hash = h
	return h
}

// TreeHash returns the tree hash of the root (§7.8).
func (t *Tree) TreeHash() []byte { return t.NodeHash(t.Root()) }

// Resolution returns the resolution of node x (§4.1.1): the node itself and
// its unmerged leaves when it is non-blank, the resolutions of its children
// when it is a blank parent, and nothing for a blank leaf. The slice is
// shared with the cache and must not be modified.
func (t *Tree) Resolution(x NodeIndex) []NodeIndex {
	if uint64(x) >= uint64(len(t.nodes)) {
		return nil
	}
	if r := t.cache[x].res; r != nil {
		return r
	}
	r := emptyResolution
	node := t.nodes[x]
	switch {
	case node != nil && x.IsLeaf():
		r = []NodeIndex{x}
	case node != nil:
		r = make([]NodeIndex, 0, 1+len(node.Parent.UnmergedLeaves))
		r = append(r, x)
		for _, u := range node.Parent.UnmergedLeaves {
			r = append(r, LeafIndex(u).Node())
		}
	case !x.IsLeaf():
		l, _ := treemath.Left(x)
		rt, _ := treemath.Right(x)
		rl, rr := t.Resolution(l), t.Resolution(rt)
		switch {
		case len(rl) == 0:
			r = rr // cached slices are never modified, so they can be shared
		case len(rr) == 0:
			r = rl
		default:
			r = make([]NodeIndex, 0, len(rl)+len(rr))
			r = append(append(r, rl...), rr...)
		}
	}
	t.cache[x].res = r
	return r
}

// PathStep is one node of a filtered direct path with its copath child.
type PathStep struct {
	Node   NodeIndex // a parent on the direct path
	Copath NodeIndex // its child that is not on the path
}

// FilteredDirectPath returns the filtered direct path of leaf l (§4.1.2): the
// direct path without the nodes whose copath child has an empty resolution,
// each with that copath child.
func (t *Tree) FilteredDirectPath(l LeafIndex) []PathStep {
	n := t.NumLeaves()
	x := l.Node()
	var steps []PathStep
	for {
		p, ok := treemath.Parent(x, n)
		if !ok {
			return steps
		}
		s, _ := treemath.Sibling(x, n)
		if len(t.Resolution(s)) > 0 {
			steps = append(steps, PathStep{Node: p, Copath: s})
		}
		x = p
	}
}

// UnmergedLeaves returns the unmerged leaves of parent node x (nil when x is
// blank or a leaf).
func (t *Tree) UnmergedLeaves(x NodeIndex) []LeafIndex {
	p := t.ParentNode(x)
	if p == nil {
		return nil
	}
	out := make([]LeafIndex, len(p.UnmergedLeaves))
	for i, u := range p.UnmergedLeaves {
		out[i] = LeafIndex(u)
	}
	return out
}
