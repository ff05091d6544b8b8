package secrettree

import (
	"fmt"
	"sort"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
)

// The serialized state (not an RFC 9420 structure; for storing group state
// at rest, which the caller must encrypt) is TLS-encoded:
//
//	struct {
//	    uint16 cipher_suite; uint32 n_leaves; uint32 max_forward; uint32 max_skipped;
//	    struct { uint32 node; opaque secret<V>; } nodes<V>;
//	    struct {
//	        uint32 leaf; uint8 type; uint32 next; optional<opaque secret<V>>;
//	        struct { uint32 generation; opaque key<V>; opaque nonce<V>; } skipped<V>;
//	    } ratchets<V>;
//	} SecretTreeState;
//
// Entries are sorted (and decoding requires strictly increasing order), so
// equal trees serialize to equal bytes and the encoding is canonical.

// MarshalBinary serializes the tree's remaining secrets. The output holds
// secrets: encrypt it before storing it.
func (t *Tree) MarshalBinary() ([]byte, error) {
	var w codec.Writer
	w.Uint16(uint16(t.s.ID()))
	w.Uint32(t.nLeaves)
	w.Uint32(t.MaxForward)
	w.Uint32(uint32(t.MaxSkipped))
	nodes := make([]treemath.NodeIndex, 0, len(t.nodes))
	for n := range t.nodes {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	w.Vector(func(w *codec.Writer) {
		for _, n := range nodes {
			w.Uint32(uint32(n))
			w.Opaque(t.nodes[n])
		}
	})
	ids := make([]ratchetID, 0, len(t.ratchets))
	for id := range t.ratchets {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].leaf != ids[j].leaf {
			return ids[i].leaf < ids[j].leaf
		}
		return ids[i].typ < ids[j].typ
	})
	w.Vector(func(w *codec.Writer) {
		for _, id := range ids {
			r := t.ratchets[id]
			w.Uint32(uint32(id.leaf))
			w.Uint8(uint8(id.typ))
			w.Uint32(r.next)
			w.Optional(r.secret != nil, func(w *codec.Writer) { w.Opaque(r.secret) })
			gens := make([]uint32, 0, len(r.skipped))
			for g := range r.skipped {
				gens = append(gens, g)
			}
			sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
			w.Vector(func(w *codec.Writer) {
				for _, g := range gens {
					kn := r.skipped[g]
					w.Uint32(g)
					w.Opaque(kn.Key)
					w.Opaque(kn.Nonce)
				}
			})
		}
	})
	return w.Bytes()
}

// Unmarshal restores a tree serialized by [Tree.MarshalBinary]. It checks
// every index and length, so a corrupted state is rejected rather than
// producing wrong keys.
func Unmarshal(data []byte) (*Tree, error) {
	r := codec.NewReader(data)
	id := r.Uint16()
	if r.Err() != nil {
		return nil, fmt.Errorf("failed to decode secret tree state: %w", r.Err())
	}
	s, err := suite.Lookup(id)
	if err != nil {
		return nil, fmt.Errorf("failed to decode secret tree state: %w", err)
	}
	t := &Tree{s: s, nodes: map[treemath.NodeIndex][]byte{}, ratchets: map[ratchetID]*ratchet{}}
	t.nLeaves = r.Uint32()
	t.MaxForward = r.Uint32()
	t.MaxSkipped = int(r.Uint32())
	if r.Err() == nil && (t.nLeaves == 0 || t.nLeaves > treemath.MaxLeaves || t.MaxSkipped < 0) {
		r.Failf("secrettree: invalid state header")
	}
	prevNode := int64(-1)
	r.Vector(func(r *codec.Reader) {
		n := treemath.NodeIndex(r.Uint32())
		sec := r.Opaque()
		if r.Err() != nil {
			return
		}
		ordered := int64(n) > prevNode
		prevNode = int64(n)
		if !ordered || !treemath.InTree(n, t.nLeaves) || len(sec) != s.Nh() {
			r.Failf("secrettree: invalid node secret entry for node %d", n)
			return
		}
		t.nodes[n] = sec
	})
	prevRatchet := int64(-1)
	r.Vector(func(r *codec.Reader) {
		leaf := treemath.LeafIndex(r.Uint32())
		typ := RatchetType(r.Uint8())
		rt := &ratchet{next: r.Uint32(), skipped: map[uint32]KeyNonce{}}
		if r.Optional() {
			rt.secret = r.Opaque()
			if r.Err() == nil && len(rt.secret) != s.Nh() {
				r.Failf("secrettree: invalid ratchet secret length")
			}
		}
		prevGen := int64(-1)
		r.Vector(func(r *codec.Reader) {
			g := r.Uint32()
			kn := KeyNonce{Generation: g, Key: r.Opaque(), Nonce: r.Opaque()}
			if r.Err() != nil {
				return
			}
			ordered := int64(g) > prevGen
			prevGen = int64(g)
			if !ordered || len(kn.Key) != s.Nk() || len(kn.Nonce) != s.Nn() || g >= rt.next {
				r.Failf("secrettree: invalid skipped key entry for generation %d", g)
				return
			}
			rt.skipped[g] = kn
		})
		if r.Err() != nil {
			return
		}
		rid := ratchetID{leaf, typ}
		key := int64(leaf)<<8 | int64(typ)
		ordered := key > prevRatchet
		prevRatchet = key
		if !ordered || uint32(leaf) >= t.nLeaves || (typ != Handshake && typ != Application) {
			r.Failf("secrettree: invalid ratchet entry for leaf %d", leaf)
			return
		}
		t.ratchets[rid] = rt
	})
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("failed to decode secret tree state: %w", err)
	}
	return t, nil
}
