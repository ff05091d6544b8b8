// Package treemath implements the array-based representation of the MLS
// ratchet tree: left-balanced binary trees whose nodes are numbered in
// in-order traversal, leaves at even indices and parents at odd ones
// (RFC 9420 §4.1.1, §7.1, Appendix C).
//
// A tree with n leaves has 2n-1 nodes; MLS trees always have a power-of-two
// number of leaves (§7.8), but the functions here accept any n >= 1 the way
// Appendix C does. Node and leaf indices are uint32, as on the wire (§7.8:
// leaf_index and unmerged_leaves are uint32). The functions are pure and
// never panic: navigation that does not exist (a leaf's child, the root's
// parent) is reported with ok == false.
package treemath

import "math/bits"

// NodeIndex is the index of a node in the array representation.
type NodeIndex uint32

// LeafIndex is the index of a leaf among the leaves (leaf i is node 2i).
type LeafIndex uint32

// MaxLeaves is the largest leaf count whose node indices fit a NodeIndex.
const MaxLeaves = 1 << 31

// Node returns the node index of leaf l.
func (l LeafIndex) Node() NodeIndex { return NodeIndex(2 * uint64(l)) }

// IsLeaf reports whether x is a leaf (an even index).
func (x NodeIndex) IsLeaf() bool { return x&1 == 0 }

// Leaf returns the leaf index of node x; ok is false when x is not a leaf.
func (x NodeIndex) Leaf() (LeafIndex, bool) {
	if !x.IsLeaf() {
		return 0, false
	}
	return LeafIndex(x >> 1), true
}

// Level returns the level of x: 0 for leaves, k for a parent whose
// subtrees have height k-1 (the number of trailing 1 bits).
func Level(x NodeIndex) int { return bits.TrailingZeros32(^uint32(x)) }

// NodeWidth returns the number of nodes of a tree with n leaves: 2n-1, or 0
// for n = 0.
func NodeWidth(nLeaves uint32) uint32 {
	if nLeaves == 0 {
		return 0
	}
	return 2*(nLeaves-1) + 1
}

// Root returns the root of a tree with n >= 1 leaves.
func Root(nLeaves uint32) NodeIndex {
	w := NodeWidth(nLeaves)
	if w == 0 {
		return 0
	}
	return NodeIndex(uint32(1)<<(bits.Len32(w)-1) - 1)
}

// Left returns the left child of x; ok is false for a leaf.
func Left(x NodeIndex) (NodeIndex, bool) {
	k := Level(x)
	if k == 0 {
		return 0, false
	}
	return x ^ (1 << (k - 1)), true
}

// Right returns the right child of x; ok is false for a leaf. In a tree
// that is not full the right child may lie beyond the tree; see
// [RightIn].
func Right(x NodeIndex) (NodeIndex, bool) {
	k := Level(x)
	if k == 0 {
		return 0, false
	}
	return x ^ (3 << (k - 1)), true
}

// RightIn returns the right child of x within a tree of n leaves,
// descending left past nodes beyond the tree (Appendix C).
func RightIn(x NodeIndex, nLeaves uint32) (NodeIndex, bool) {
	r, ok := Right(x)
	if !ok {
		return 0, false
	}
	w := NodeWidth(nLeaves)
	for uint32(r) >= w {
		if r, ok = Left(r); !ok {
			return 0, false
		}
	}
	return r, true
}

func parentStep(x NodeIndex) NodeIndex {
	k := Level(x)
	b := (uint32(x) >> (k + 1)) & 1
	return NodeIndex((uint32(x) | 1<<k) ^ (b << (k + 1)))
}

// InTree reports whether x is a node of a tree with n leaves.
func InTree(x NodeIndex, nLeaves uint32) bool { return uint32(x) < NodeWidth(nLeaves) }

// Parent returns the parent of x in a tree of n leaves; ok is false for the
// root and for nodes outside the tree.
func Parent(x NodeIndex, nLeaves uint32) (NodeIndex, bool) {
	if !InTree(x, nLeaves) || x == Root(nLeaves) {
		return 0, false
	}
	w := NodeWidth(nLeaves)
	p := parentStep(x)
	for uint32(p) >= w {
		p = parentStep(p)
	}
	return p, true
}

// Sibling returns the other child of x's parent; ok is false for the root
// and for nodes outside the tree.
func Sibling(x NodeIndex, nLeaves uint32) (NodeIndex, bool) {
	p, ok := Parent(x, nLeaves)
	if !ok {
		return 0, false
	}
	l, _ := Left(p)
	if x < p {
		return RightIn(p, nLeaves)
	}
	return l, true
}

// DirectPath returns the parents of x from x's parent up to and including
// the root (§4.1.2). It is empty for the root and for nodes outside the tree.
func DirectPath(x NodeIndex, nLeaves uint32) []NodeIndex {
	var d []NodeIndex
	for {
		p, ok := Parent(x, nLeaves)
		if !ok {
			return d
		}
		d = append(d, p)
		x = p
	}
}

// Copath returns the siblings of x and of each node of its direct path
// except the root, in the same order as DirectPath (§4.1.2).
func Copath(x NodeIndex, nLeaves uint32) []NodeIndex {
	if !InTree(x, nLeaves) {
		return nil
	}
	path := append([]NodeIndex{x}, DirectPath(x, nLeaves)...)
	path = path[:len(path)-1] // drop the root
	c := make([]NodeIndex, 0, len(path))
	for _, y := range path {
		s, ok := Sibling(y, nLeaves)
		if ok {
			c = append(c, s)
		}
	}
	return c
}

// CommonAncestor returns the lowest common ancestor of x and y (for
// leaves, the lowest node whose subtree holds both).
func CommonAncestor(x, y NodeIndex) NodeIndex {
	lx, ly := Level(x)+1, Level(y)+1
	if lx <= ly && uint32(x)>>ly == uint32(y)>>ly {
		return y
	}
	if ly <= lx && uint32(x)>>lx == uint32(y)>>lx {
		return x
	}
	xn, yn := uint32(x), uint32(y)
	k := 0
	for xn != yn {
		xn >>= 1
		yn >>= 1
		k++
	}
	return NodeIndex(xn<<k + (1<<(k-1) - 1))
}

// IsAncestor reports whether a is an ancestor of x (or x itself): whether x
// lies in the subtree rooted at a.
func IsAncestor(a, x NodeIndex) bool {
	k := Level(a)
	lo := uint32(a) - (uint32(1)<<k - 1)
	hi := uint32(a) + (uint32(1)<<k - 1)
	return uint32(x) >= lo && uint32(x) <= hi
}

// SubtreeLeaves returns the range [first, end) of leaves under node x in a
// tree of n leaves.
func SubtreeLeaves(x NodeIndex, nLeaves uint32) (first, end LeafIndex) {
	k := Level(x)
	lo := (uint64(x) - (uint64(1)<<k - 1)) / 2
	hi := (uint64(x)+(uint64(1)<<k-1))/2 + 1
	if hi > uint64(nLeaves) {
		hi = uint64(nLeaves)
	}
	return LeafIndex(lo), LeafIndex(hi)
}
