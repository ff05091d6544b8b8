package tree

import (
	"bytes"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// parentHash is Hash(ParentHashInput{encryption_key, parent_hash,
// original_sibling_tree_hash}) (§7.9).
func (t *Tree) parentHash(encryptionKey, parentHash, originalSiblingTreeHash []byte) []byte {
	w := codec.NewWriter(make([]byte, 0, 3+len(encryptionKey)+len(parentHash)+len(originalSiblingTreeHash)+6))
	w.Opaque(encryptionKey)
	w.Opaque(parentHash)
	w.Opaque(originalSiblingTreeHash)
	b, err := w.Bytes()
	if err != nil {
		panic("mls: internal error: ParentHashInput does not encode: " + err.Error())
	}
	return t.s.Hash(b)
}

// OriginalTreeHash returns the tree hash of the subtree at x in the tree
// modified by blanking the leaves in removed and dropping them from every
// unmerged_leaves list (§7.9, "original_sibling_tree_hash"). Subtrees that
// hold none of the removed leaves use the cached hashes.
func (t *Tree) OriginalTreeHash(x NodeIndex, removed []uint32) []byte {
	first, end := treemath.SubtreeLeaves(x, t.NumLeaves())
	var rel []uint32
	for _, u := range removed {
		if u >= uint32(first) && u < uint32(end) {
			rel = append(rel, u)
		}
	}
	return t.originalTreeHash(x, rel)
}

func (t *Tree) originalTreeHash(x NodeIndex, removed []uint32) []byte {
	if len(removed) == 0 {
		return t.NodeHash(x)
	}
	if x.IsLeaf() {
		// The only leaf under x is x, and it is removed.
		return t.hashNode(x, nil, nil, nil)
	}
	node := t.nodes[x]
	if node != nil {
		pn := *node.Parent
		pn.UnmergedLeaves = nil
		for _, u := range node.Parent.UnmergedLeaves {
			if !containsU32(removed, u) {
				pn.UnmergedLeaves = append(pn.UnmergedLeaves, u)
			}
		}
		node = &wire.Node{Type: wire.NodeTypeParent, Parent: &pn}
	}
	l, _ := treemath.Left(x)
	r, _ := treemath.Right(x)
	mid := uint32(x) + 1 // leaves of the left subtree have node indices < x
	var rl, rr []uint32
	for _, u := range removed {
		if 2*u < mid {
			rl = append(rl, u)
		} else {
			rr = append(rr, u)
		}
	}
	return t.hashNode(x, node, t.originalTreeHash(l, rl), t.originalTreeHash(r, rr))
}

func containsU32(list []uint32, v uint32) bool {
	for _, u := range list {
		if u == v {
			return true
		}
	}
	return false
}

// ParentHash returns the parent hash of the non-blank parent node p with
// copath child s (§7.9): the hash of p's encryption key, p's parent_hash
// field and the original tree hash of s.
func (t *Tree) ParentHash(p, s NodeIndex) ([]byte, error) {
	pn := t.ParentNode(p)
	if pn == nil {
		return nil, fmt.Errorf("%w: node %d is not a non-blank parent", ErrMalformedTree, p)
	}
	return t.parentHash(pn.EncryptionKey, pn.ParentHash, t.OriginalTreeHash(s, pn.UnmergedLeaves)), nil
}

// nodeParentHash returns the parent_hash field of node d: a parent's field,
// or a leaf's when its source is commit; nil otherwise.
func (t *Tree) nodeParentHash(d NodeIndex) []byte {
	n := t.nodes[d]
	switch {
	case n == nil:
		return nil
	case n.Parent != nil:
		return n.Parent.ParentHash
	case n.Leaf != nil && n.Leaf.Source == wire.LeafNodeSourceCommit:
		return n.Leaf.ParentHash
	}
	return nil
}

// validWithRespectTo reports whether some node D under child c of p has a
// parent hash valid with respect to p (§7.9.2): D is in the resolution of c,
// the unmerged leaves of p under c are exactly the rest of that resolution,
// and D's parent_hash equals the parent hash of p with copath child s.
func (t *Tree) validWithRespectTo(p, c, s NodeIndex) bool {
	pn := t.nodes[p].Parent
	first, end := treemath.SubtreeLeaves(c, t.NumLeaves())
	var unmerged []NodeIndex
	for _, u := range pn.UnmergedLeaves {
		if u >= uint32(first) && u < uint32(end) {
			unmerged = append(unmerged, LeafIndex(u).Node())
		}
	}
	res := t.Resolution(c)
	if len(res) != len(unmerged)+1 {
		return false
	}
	d, candidates, matched := NodeIndex(0), 0, 0
	for _, r := range res {
		in := false
		for _, u := range unmerged {
			if u == r {
				in = true
				break
			}
		}
		if in {
			matched++
		} else {
			d = r
			candidates++
		}
	}
	if candidates != 1 || matched != len(unmerged) {
		return false
	}
	got := t.nodeParentHash(d)
	if got == nil {
		return false
	}
	want := t.parentHash(pn.EncryptionKey, pn.ParentHash, t.OriginalTreeHash(s, pn.UnmergedLeaves))
	return bytes.Equal(got, want)
}

// ParentHashValid reports whether the non-blank parent node p has exactly one
// descendant whose parent hash is valid with respect to it (the "top down"
// check of §7.9.2).
func (t *Tree) ParentHashValid(p NodeIndex) bool {
	if p.IsLeaf() || t.Node(p) == nil {
		return false
	}
	l, _ := treemath.Left(p)
	r, _ := treemath.Right(p)
	n := 0
	if t.validWithRespectTo(p, l, r) {
		n++
	}
	if t.validWithRespectTo(p, r, l) {
		n++
	}
	return n == 1
}

// VerifyParentHashes checks that every non-blank parent node is parent-hash
// valid (§7.9.2). Together, these checks chain every non-blank parent back to
// a leaf that signed it.
func (t *Tree) VerifyParentHashes() error {
	for x := 1; x < len(t.nodes); x += 2 {
		if t.nodes[x] != nil && !t.ParentHashValid(NodeIndex(x)) {
			return ErrParentHash
		}
	}
	return nil
}

// chainParentHashes sets the parent_hash fields of the nodes of a filtered
// direct path whose keys were just replaced (so their unmerged_leaves are
// empty and the original sibling tree hash is the copath child's tree hash),
// from the root down (§7.5, §7.9), and returns the parent hash the leaf must
// carry: that of the lowest node, or an empty string when the path is empty.
func (t *Tree) chainParentHashes(steps []PathStep) []byte {
	ph := []byte{}
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		old := t.nodes[st.Node].Parent
		pn := &wire.ParentNode{EncryptionKey: old.EncryptionKey, ParentHash: ph, UnmergedLeaves: old.UnmergedLeaves}
		t.set(st.Node, &wire.Node{Type: wire.NodeTypeParent, Parent: pn})
		ph = t.parentHash(pn.EncryptionKey, pn.ParentHash, t.OriginalTreeHash(st.Copath, pn.UnmergedLeaves))
	}
	return ph
}
