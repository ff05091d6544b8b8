package tree

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// reencodeHash checks that t's cached tree hash equals the hash of a tree
// decoded from t's encoding (no stale cache entry).
func reencodeHash(t *testing.T, tr *Tree) {
	t.Helper()
	enc, err := tr.Encode()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Decode(tr.Suite(), enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh.TreeHash(), tr.TreeHash()) {
		t.Fatal("cached tree hash differs from a fresh computation")
	}
	for x := range tr.Width() {
		if !slices.Equal(fresh.Resolution(NodeIndex(x)), tr.Resolution(NodeIndex(x))) {
			t.Fatalf("cached resolution of %d differs", x)
		}
	}
}

func TestAddRemoveTruncate(t *testing.T) {
	s := mustSuite(t, 1)
	tr := New(s, newMember(t, s, "a").leaf)
	tr.TreeHash()
	for i := 1; i <= 4; i++ {
		l, err := tr.AddLeaf(newMember(t, s, "m").leaf)
		if err != nil || l != LeafIndex(i) {
			t.Fatalf("AddLeaf = %d, %v; want %d", l, err, i)
		}
		reencodeHash(t, tr)
	}
	if tr.NumLeaves() != 8 || tr.NumMembers() != 5 {
		t.Fatalf("leaves %d members %d", tr.NumLeaves(), tr.NumMembers())
	}
	// Removing leaf 4 leaves the right half blank: the tree shrinks to 4.
	if err := tr.RemoveLeaf(4); err != nil {
		t.Fatal(err)
	}
	if tr.NumLeaves() != 4 {
		t.Fatalf("after removing leaf 4: %d leaves, want 4", tr.NumLeaves())
	}
	reencodeHash(t, tr)
	// The leftmost blank leaf is reused.
	if err := tr.RemoveLeaf(1); err != nil {
		t.Fatal(err)
	}
	if l, _ := tr.AddLeaf(newMember(t, s, "n").leaf); l != 1 {
		t.Fatalf("AddLeaf reused %d, want 1", l)
	}
	if err := tr.RemoveLeaf(1); !errors.Is(err, nil) {
		t.Fatal(err)
	}
	if err := tr.RemoveLeaf(1); !errors.Is(err, ErrBlankLeaf) {
		t.Fatalf("removing a blank leaf: %v", err)
	}
	if err := tr.RemoveLeaf(9); !errors.Is(err, ErrLeafOutOfRange) {
		t.Fatalf("removing beyond the tree: %v", err)
	}
	for _, l := range []LeafIndex{3, 2} {
		if err := tr.RemoveLeaf(l); err != nil {
			t.Fatal(err)
		}
	}
	if tr.NumLeaves() != 1 || tr.Width() != 1 {
		t.Fatalf("single member tree has %d leaves", tr.NumLeaves())
	}
	reencodeHash(t, tr)
	// A leaf that cannot be encoded is refused.
	bad := *newMember(t, s, "bad").leaf
	bad.Lifetime = nil
	if _, err := tr.AddLeaf(&bad); !errors.Is(err, ErrMalformedTree) {
		t.Fatalf("AddLeaf without lifetime: %v", err)
	}
}

func TestInsertSorted(t *testing.T) {
	for _, c := range []struct {
		in   []uint32
		v    uint32
		want []uint32
	}{
		{nil, 3, []uint32{3}},
		{[]uint32{1, 5}, 3, []uint32{1, 3, 5}},
		{[]uint32{1, 5}, 0, []uint32{0, 1, 5}},
		{[]uint32{1, 5}, 7, []uint32{1, 5, 7}},
		{[]uint32{1, 5}, 5, []uint32{1, 5}},
	} {
		in := slices.Clone(c.in)
		if got := insertSorted(c.in, c.v); !slices.Equal(got, c.want) || !slices.Equal(in, c.in) {
			t.Errorf("insertSorted(%v, %d) = %v", c.in, c.v, got)
		}
	}
}

func TestFromRatchetTreeShape(t *testing.T) {
	s := mustSuite(t, 1)
	leaf := &wire.Node{Type: wire.NodeTypeLeaf, Leaf: newMember(t, s, "a").leaf}
	parent := &wire.Node{Type: wire.NodeTypeParent, Parent: &wire.ParentNode{EncryptionKey: []byte{1}}}
	for name, rt := range map[string]wire.RatchetTree{
		"empty":            {},
		"last blank":       {leaf, nil, nil},
		"parent at leaf":   {parent},
		"leaf at parent":   {leaf, leaf, leaf},
		"leaf type parent": {leaf, {Type: wire.NodeTypeLeaf, Leaf: leaf.Leaf}, leaf},
	} {
		if _, err := FromRatchetTree(s, rt); !errors.Is(err, ErrMalformedTree) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Five nodes extend to seven (four leaves).
	tr, err := FromRatchetTree(s, wire.RatchetTree{leaf, nil, nil, nil, leaf})
	if err != nil || tr.NumLeaves() != 4 {
		t.Fatalf("FromRatchetTree: %v, %d leaves", err, tr.NumLeaves())
	}
	if got := tr.RatchetTree(); len(got) != 5 {
		t.Fatalf("RatchetTree has %d nodes, want 5 (trailing blanks dropped)", len(got))
	}
}

// TestPathAllMembers runs commits with paths through a group with blank
// nodes, unmerged leaves and a new member, and checks that every member
// (including the unmerged ones) derives the committer's secret, that the new
// member joins with the path secret from the Welcome, and that the result
// is a valid tree.
func TestPathAllMembers(t *testing.T) {
	for _, id := range []uint16{1, 2, 3} {
		s := mustSuite(t, id)
		g := newGroup(t, s, 11, false)
		// Three members added without a path: unmerged leaves.
		for i := range 3 {
			m := newMember(t, s, "late")
			l, err := g.t.AddLeaf(m.leaf)
			if err != nil {
				t.Fatal(err)
			}
			g.members = append(g.members, m)
			p, err := NewPrivateState(g.t, l, m.encPriv)
			if err != nil {
				t.Fatal(err)
			}
			g.privs = append(g.privs, p)
			if l != LeafIndex(11+i) {
				t.Fatalf("added at %d", l)
			}
		}
		if len(g.t.UnmergedLeaves(g.t.Root())) != 3 {
			t.Fatalf("root unmerged leaves %v", g.t.UnmergedLeaves(g.t.Root()))
		}
		if err := g.t.Validate(&TreeValidation{GroupID: testGroupID}); err != nil {
			t.Fatal(err)
		}
		// Member 5 commits with one more Add.
		newcomer := newMember(t, s, "new")
		pre := g.t.Clone()
		added, err := pre.AddLeaf(newcomer.leaf)
		if err != nil {
			t.Fatal(err)
		}
		params := &PathParams{Context: testContext(s, 7), Exclude: []LeafIndex{added}}
		committed := pre.Clone()
		gen, err := committed.GeneratePath(5, pre.Leaf(5), g.members[5].sk, params)
		if err != nil {
			t.Fatal(err)
		}
		if err := committed.Validate(&TreeValidation{GroupID: testGroupID}); err != nil {
			t.Fatalf("tree after commit: %v", err)
		}
		if err := pre.ValidateLeafNode(&gen.Path.LeafNode, &LeafValidation{GroupID: testGroupID, Source: wire.LeafNodeSourceCommit, Index: 5, Replacing: true}); err != nil {
			t.Fatal(err)
		}
		for i, p := range g.privs {
			if i == 5 {
				continue
			}
			tr := pre.Clone()
			a, err := tr.ApplyPath(5, gen.Path, p, params)
			if err != nil {
				t.Fatalf("suite %d member %d: %v", id, i, err)
			}
			if !bytes.Equal(a.CommitSecret, gen.CommitSecret) || !bytes.Equal(tr.TreeHash(), committed.TreeHash()) || !bytes.Equal(a.Context, gen.Context) {
				t.Fatalf("member %d: different commit secret, tree or context", i)
			}
			if err := a.Private.Check(tr); err != nil {
				t.Fatal(err)
			}
			// The member holds the keys of its part of the committer's path.
			lca := CommonAncestorOf(LeafIndex(i), 5)
			if !a.Private.HasKey(tr, lca) || !a.Private.HasKey(tr, tr.Root()) {
				t.Fatalf("member %d lacks keys of %d or the root", i, lca)
			}
		}
		// The new member learns its path secret from the Welcome.
		joiner, err := NewPrivateState(committed, added, newcomer.encPriv)
		if err != nil {
			t.Fatal(err)
		}
		ps, ok := gen.PathSecretFor(added)
		if !ok {
			t.Fatal("no path secret for the new member")
		}
		if err := joiner.ImportPathSecret(committed, 5, ps); err != nil {
			t.Fatal(err)
		}
		if !joiner.HasKey(committed, committed.Root()) {
			t.Fatal("joiner lacks the root key")
		}
		// A wrong path secret is rejected.
		if err := joiner.ImportPathSecret(committed, 5, make([]byte, s.Nh())); !errors.Is(err, ErrPathKeyMismatch) {
			t.Fatalf("wrong path secret: %v", err)
		}
	}
}

// CommonAncestorOf is a test shorthand.
func CommonAncestorOf(a, b LeafIndex) NodeIndex {
	for x := a.Node(); ; {
		first, end := subtree(x)
		if b >= first && b < end {
			return x
		}
		x = parentUnbounded(x)
	}
}

func subtree(x NodeIndex) (LeafIndex, LeafIndex) {
	lvl := 0
	for v := uint32(x); v&1 == 1; v >>= 1 {
		lvl++
	}
	first := (uint32(x) >> (lvl + 1)) << lvl
	return LeafIndex(first), LeafIndex(first + 1<<lvl)
}

func parentUnbounded(x NodeIndex) NodeIndex {
	lvl := 0
	for v := uint32(x); v&1 == 1; v >>= 1 {
		lvl++
	}
	b := (uint32(x) >> (lvl + 1)) & 1
	if b == 0 {
		return NodeIndex(uint32(x) + 1<<lvl)
	}
	return NodeIndex(uint32(x) - 1<<lvl)
}

func TestApplyPathRejects(t *testing.T) {
	s := mustSuite(t, 1)
	g := newGroup(t, s, 6, true)
	params := &PathParams{Context: testContext(s, 9)}
	gen, err := g.t.Clone().GeneratePath(0, g.t.Leaf(0), g.members[0].sk, params)
	if err != nil {
		t.Fatal(err)
	}
	recv := g.privs[4]
	apply := func(mut func(p *wire.UpdatePath)) error {
		enc, _ := wire.Marshal(gen.Path)
		var p wire.UpdatePath
		if err := wire.Unmarshal(enc, &p); err != nil {
			t.Fatal(err)
		}
		mut(&p)
		_, err := g.t.Clone().ApplyPath(0, &p, recv, params)
		return err
	}
	if err := apply(func(*wire.UpdatePath) {}); err != nil {
		t.Fatalf("untouched path: %v", err)
	}
	cases := map[string]struct {
		mut  func(p *wire.UpdatePath)
		want error
	}{
		"missing node": {func(p *wire.UpdatePath) { p.Nodes = p.Nodes[1:] }, ErrInvalidPath},
		"extra ciphertext": {func(p *wire.UpdatePath) {
			p.Nodes[0].EncryptedPathSecret = append(p.Nodes[0].EncryptedPathSecret, p.Nodes[0].EncryptedPathSecret[0])
		}, ErrInvalidPath},
		"leaf parent hash": {func(p *wire.UpdatePath) { p.LeafNode.ParentHash[0] ^= 1 }, ErrParentHash},
		"swapped root key": {func(p *wire.UpdatePath) { _, p.Nodes[len(p.Nodes)-1].EncryptionKey, _ = s.GenerateKeyPair() }, ErrParentHash},
		"leaf source":      {func(p *wire.UpdatePath) { p.LeafNode.Source = wire.LeafNodeSourceUpdate }, ErrInvalidPath},
		"bad node key":     {func(p *wire.UpdatePath) { p.Nodes[0].EncryptionKey = []byte{1, 2} }, ErrInvalidPath},
	}
	for name, c := range cases {
		if err := apply(c.mut); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	// A tampered ciphertext for the receiver fails to decrypt.
	steps := g.t.FilteredDirectPath(0)
	for i, st := range steps {
		if !IsAncestorOf(st.Copath, recv.Leaf().Node()) {
			continue
		}
		err := apply(func(p *wire.UpdatePath) {
			for j := range p.Nodes[i].EncryptedPathSecret {
				p.Nodes[i].EncryptedPathSecret[j].Ciphertext[0] ^= 1
			}
		})
		if err == nil {
			t.Error("tampered ciphertext accepted")
		}
	}
	// A different group context (epoch) fails to decrypt.
	other := &PathParams{Context: testContext(s, 10)}
	if _, err := g.t.Clone().ApplyPath(0, gen.Path, recv, other); err == nil {
		t.Error("path accepted under another group context")
	}
	// A path under a receiver without the right keys.
	stranger := &PrivateState{leaf: 4, keys: map[NodeIndex]keyPair{}}
	if _, err := g.t.Clone().ApplyPath(0, gen.Path, stranger, params); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("receiver without keys: %v", err)
	}
}

func IsAncestorOf(a, x NodeIndex) bool {
	first, end := subtree(a)
	l := LeafIndex(uint32(x) / 2)
	return x.IsLeaf() && l >= first && l < end
}

// TestParentHashBitFlips flips every byte of every parent hash in a
// populated tree and expects the verification to fail.
func TestParentHashBitFlips(t *testing.T) {
	s := mustSuite(t, 1)
	g := newGroup(t, s, 8, true, 0)
	if err := g.t.VerifyParentHashes(); err != nil {
		t.Fatal(err)
	}
	for x := NodeIndex(1); uint32(x) < g.t.Width(); x += 2 {
		pn := g.t.ParentNode(x)
		if pn == nil || len(pn.ParentHash) == 0 {
			continue
		}
		for i := range pn.ParentHash {
			tr := g.t.Clone()
			c := *pn
			c.ParentHash = bytes.Clone(pn.ParentHash)
			c.ParentHash[i] ^= 0x80
			if err := tr.SetNode(x, &wire.Node{Type: wire.NodeTypeParent, Parent: &c}); err != nil {
				t.Fatal(err)
			}
			if err := tr.VerifyParentHashes(); !errors.Is(err, ErrParentHash) {
				t.Fatalf("flipped byte %d of node %d: %v", i, x, err)
			}
		}
	}
	// An encryption key change breaks the chain too.
	tr := g.t.Clone()
	c := *tr.ParentNode(tr.Root())
	_, c.EncryptionKey, _ = s.GenerateKeyPair()
	tr.SetNode(tr.Root(), &wire.Node{Type: wire.NodeTypeParent, Parent: &c})
	if err := tr.VerifyParentHashes(); !errors.Is(err, ErrParentHash) {
		t.Fatalf("replaced root key: %v", err)
	}
}

func TestValidateRejects(t *testing.T) {
	s := mustSuite(t, 1)
	g := newGroup(t, s, 5, true, 0)
	v := &TreeValidation{GroupID: testGroupID, TreeHash: g.t.TreeHash()}
	if err := g.t.Validate(v); err != nil {
		t.Fatal(err)
	}
	if err := g.t.Validate(&TreeValidation{GroupID: []byte("other group")}); !errors.Is(err, ErrInvalidLeafNode) {
		t.Errorf("other group ID: %v", err)
	}
	reject := errors.New("not accredited")
	if err := g.t.Validate(&TreeValidation{GroupID: testGroupID, Credential: func(c *wire.Credential, _ []byte) error {
		if string(c.Identity) == "m3" {
			return reject
		}
		return nil
	}}); !errors.Is(err, ErrInvalidCredential) || !errors.Is(err, reject) {
		t.Errorf("credential callback: %v", err)
	}
	rc := &wire.RequiredCapabilities{ExtensionTypes: []wire.ExtensionType{0xff00}}
	if err := g.t.Validate(&TreeValidation{GroupID: testGroupID, RequiredCapabilities: rc}); !errors.Is(err, ErrInvalidLeafNode) {
		t.Errorf("required capabilities: %v", err)
	}

	// A key_package leaf outside its lifetime.
	m := newMember(t, s, "late")
	m.leaf.Lifetime = &wire.Lifetime{NotBefore: 100, NotAfter: 200}
	m.leaf.Sign(m.sk, nil, 0)
	lv := &LeafValidation{GroupID: testGroupID, Source: wire.LeafNodeSourceKeyPackage, Now: time.Unix(300, 0)}
	if err := g.t.ValidateLeafNode(m.leaf, lv); !errors.Is(err, ErrInvalidLeafNode) {
		t.Errorf("expired leaf: %v", err)
	}
	lv.Now = time.Unix(150, 0)
	if err := g.t.ValidateLeafNode(m.leaf, lv); err != nil {
		t.Errorf("leaf within lifetime: %v", err)
	}
	lv.Source = wire.LeafNodeSourceUpdate
	if err := g.t.ValidateLeafNode(m.leaf, lv); !errors.Is(err, ErrInvalidLeafNode) {
		t.Errorf("wrong source: %v", err)
	}
	lv.Source = wire.LeafNodeSourceKeyPackage

	// Duplicate keys.
	dup := *m.leaf
	dup.EncryptionKey = g.t.EncryptionKey(g.t.Root())
	dup.Sign(m.sk, nil, 0)
	if err := g.t.ValidateLeafNode(&dup, lv); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("encryption key of a parent: %v", err)
	}
	dup = *m.leaf
	dup.SignatureKey = g.t.Leaf(2).SignatureKey
	if err := g.t.ValidateLeafNode(&dup, lv); !errors.Is(err, ErrInvalidLeafNode) {
		t.Errorf("foreign signature key with a bad signature: %v", err)
	}
	dup = *m.leaf
	dup.SignatureKey = g.members[2].sk.Public()
	dup.Sign(g.members[2].sk, nil, 0)
	if err := g.t.ValidateLeafNode(&dup, lv); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("signature key of another member: %v", err)
	}
	// An Update keeping the signature key but not the encryption key.
	upd := *g.t.Leaf(2)
	upd.Source = wire.LeafNodeSourceUpdate
	upd.Lifetime = nil
	upd.Sign(g.members[2].sk, testGroupID, 2)
	if err := g.t.ValidateLeafNode(&upd, &LeafValidation{GroupID: testGroupID, Source: wire.LeafNodeSourceUpdate, Index: 2, Replacing: true}); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("update with the old encryption key: %v", err)
	}
	_, upd.EncryptionKey, _ = s.GenerateKeyPair()
	upd.Sign(g.members[2].sk, testGroupID, 2)
	if err := g.t.ValidateLeafNode(&upd, &LeafValidation{GroupID: testGroupID, Source: wire.LeafNodeSourceUpdate, Index: 2, Replacing: true}); err != nil {
		t.Errorf("valid update: %v", err)
	}
	if err := g.t.ValidateLeafNode(&upd, &LeafValidation{GroupID: testGroupID, Source: wire.LeafNodeSourceUpdate, Index: 3, Replacing: true}); err == nil {
		t.Error("update signed for another leaf index accepted")
	}

	// Unmerged leaves: unsorted, blank, or outside the subtree.
	root := g.t.Root()
	for name, um := range map[string][]uint32{
		"unsorted":   {4, 3},
		"duplicate":  {3, 3},
		"blank leaf": {7},
		"beyond":     {100},
	} {
		tr := g.t.Clone()
		c := *tr.ParentNode(root)
		c.UnmergedLeaves = um
		tr.SetNode(root, &wire.Node{Type: wire.NodeTypeParent, Parent: &c})
		if err := tr.checkUnmerged(); !errors.Is(err, ErrUnmergedLeaves) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPrivateStateEncoding(t *testing.T) {
	s := mustSuite(t, 1)
	g := newGroup(t, s, 6, true, 0, 3)
	p := g.privs[3]
	enc, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := UnmarshalPrivateState(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Check(g.t); err != nil {
		t.Fatal(err)
	}
	enc2, _ := q.MarshalBinary()
	if !bytes.Equal(enc, enc2) {
		t.Fatal("re-encoding differs")
	}
	if _, err := UnmarshalPrivateState(append(enc, 0)); !errors.Is(err, ErrPrivateStateFormat) {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := UnmarshalPrivateState(enc[:len(enc)-1]); !errors.Is(err, ErrPrivateStateFormat) {
		t.Errorf("truncated: %v", err)
	}
	// A state for another leaf does not fit.
	q.leaf = 2
	if err := q.Check(g.t); err == nil {
		t.Error("state of leaf 3 accepted as leaf 2")
	}
	// After the member is removed and the tree changes, its keys are stale.
	tr := g.t.Clone()
	if err := tr.RemoveLeaf(3); err != nil {
		t.Fatal(err)
	}
	r := p.Clone()
	r.Prune(tr)
	if len(r.keys) != 0 {
		t.Fatalf("%d keys survive removal", len(r.keys))
	}
}

// TestManyRecipients exercises the parallel encryption of a path to many
// recipients (a commit right after a bulk add), with and without excluded
// new members.
func TestManyRecipients(t *testing.T) {
	s := mustSuite(t, 1)
	g := newGroup(t, s, 70, false, 0, 1, 40, 69)
	pre := g.t.Clone()
	m := newMember(t, s, "new")
	added, err := pre.AddLeaf(m.leaf)
	if err != nil {
		t.Fatal(err)
	}
	params := &PathParams{Context: testContext(s, 2), Exclude: []LeafIndex{added}}
	post := pre.Clone()
	gen, err := post.GeneratePath(40, pre.Leaf(40), g.members[40].sk, params)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, pn := range gen.Path.Nodes {
		n += len(pn.EncryptedPathSecret)
	}
	if n < parallelThreshold {
		t.Fatalf("only %d ciphertexts, the test needs at least %d", n, parallelThreshold)
	}
	for _, l := range []LeafIndex{0, 1, 69} {
		a, err := pre.Clone().ApplyPath(40, gen.Path, g.privs[l], params)
		if err != nil {
			t.Fatalf("member %d: %v", l, err)
		}
		if !bytes.Equal(a.CommitSecret, gen.CommitSecret) {
			t.Fatalf("member %d: different commit secret", l)
		}
	}
}

// TestLeafIndexBeyondNodeRange: a leaf index whose node index does not fit
// 32 bits (2^31 and above) names no leaf, never one inside the tree.
func TestLeafIndexBeyondNodeRange(t *testing.T) {
	s, err := suite.Lookup(1)
	if err != nil {
		t.Fatal(err)
	}
	tr := newGroup(t, s, 3, false).t
	for _, l := range []LeafIndex{1 << 31, 1<<31 + 1, 1<<32 - 1} {
		if tr.Leaf(l) != nil {
			t.Fatalf("Leaf(%d) aliases a leaf in the tree", l)
		}
		if err := tr.RemoveLeaf(l); err == nil {
			t.Fatalf("RemoveLeaf(%d) succeeded", l)
		}
		if tr.Leaf(0) == nil {
			t.Fatalf("RemoveLeaf(%d) removed leaf 0", l)
		}
	}
}
