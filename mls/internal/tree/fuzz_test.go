package tree

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// vectorFile reads a file of the MLS interop vectors (mls/testdata/vectors).
func vectorFile(tb testing.TB, name string) []map[string]any {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", name))
	if err != nil {
		tb.Fatal(err)
	}
	var cases []map[string]any
	if err := json.Unmarshal(data, &cases); err != nil {
		tb.Fatal(err)
	}
	return cases
}

func hexField(tb testing.TB, c map[string]any, key string) []byte {
	tb.Helper()
	s, _ := c[key].(string)
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzDecodeValidate decodes a ratchet tree and runs every read-only
// operation and the full validation on it: nothing may panic, and a tree
// that decodes re-encodes to the same bytes.
func FuzzDecodeValidate(f *testing.F) {
	for _, c := range vectorFile(f, "tree-validation.json") {
		if c["cipher_suite"].(float64) == 1 {
			f.Add(hexField(f, c, "tree"), hexField(f, c, "group_id"))
		}
	}
	for _, c := range vectorFile(f, "tree-operations.json") {
		f.Add(hexField(f, c, "tree_before"), []byte{})
	}
	s, err := suite.Lookup(1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data, groupID []byte) {
		tr, err := Decode(s, data)
		if err != nil {
			return
		}
		enc, err := tr.Encode()
		if err != nil {
			t.Fatalf("decoded tree does not encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs")
		}
		tr.TreeHash()
		for x := range tr.Width() {
			tr.Resolution(NodeIndex(x))
		}
		for l := range tr.NumLeaves() {
			tr.FilteredDirectPath(LeafIndex(l))
		}
		_ = tr.VerifyParentHashes()
		_ = tr.Validate(&TreeValidation{GroupID: groupID})
		// Mutations keep the caches consistent.
		c := tr.Clone()
		for l := range c.NumLeaves() {
			if c.Leaf(LeafIndex(l)) != nil {
				if err := c.RemoveLeaf(LeafIndex(l)); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		if c.Width() > 0 {
			enc, err := c.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) > 1 {
				fresh, err := Decode(s, enc)
				if err == nil && !bytes.Equal(fresh.TreeHash(), c.TreeHash()) {
					t.Fatal("cached hash differs after removal")
				}
			}
		}
	})
}

// FuzzApplyPath merges an arbitrary UpdatePath from an arbitrary sender into
// a vector tree, as an observer and as a member with keys: nothing may
// panic.
func FuzzApplyPath(f *testing.F) {
	type seedCase struct {
		tree    []byte
		priv    []byte
		leaf    uint32
		groupID []byte
	}
	var cases []seedCase
	for _, c := range vectorFile(f, "treekem.json") {
		if c["cipher_suite"].(float64) != 1 {
			continue
		}
		lp := c["leaves_private"].([]any)[0].(map[string]any)
		cases = append(cases, seedCase{tree: hexField(f, c, "ratchet_tree"), priv: hexField(f, lp, "encryption_priv"), leaf: uint32(lp["index"].(float64)), groupID: hexField(f, c, "group_id")})
		for _, up := range c["update_paths"].([]any) {
			u := up.(map[string]any)
			f.Add(uint8(len(cases)-1), uint32(u["sender"].(float64)), hexField(f, u, "update_path"))
		}
		if len(cases) == 4 {
			break
		}
	}
	s, err := suite.Lookup(1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, sender uint32, data []byte) {
		sc := cases[int(which)%len(cases)]
		base, err := Decode(s, sc.tree)
		if err != nil {
			t.Fatal(err)
		}
		var path wire.UpdatePath
		if err := wire.Unmarshal(data, &path); err != nil {
			return
		}
		params := &PathParams{Context: &wire.GroupContext{Version: wire.MLS10, CipherSuite: 1, GroupID: sc.groupID}}
		_, _ = base.Clone().ApplyPath(LeafIndex(sender), &path, nil, params)
		priv, err := NewPrivateState(base, LeafIndex(sc.leaf), sc.priv)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = base.Clone().ApplyPath(LeafIndex(sender), &path, priv, params)
		_ = base.ValidateLeafNode(&path.LeafNode, &LeafValidation{GroupID: sc.groupID, Source: wire.LeafNodeSourceCommit, Index: LeafIndex(sender), Replacing: true})
	})
}

// FuzzUnmarshalPrivateState decodes private states: no panic, and what
// decodes re-encodes identically.
func FuzzUnmarshalPrivateState(f *testing.F) {
	s := mustSuite(f, 1)
	g := newGroup(f, s, 4, true, 0)
	enc, err := g.privs[0].MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := UnmarshalPrivateState(data)
		if err != nil {
			return
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		_ = p.Check(g.t)
	})
}
