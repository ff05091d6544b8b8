package tree

import (
	"fmt"
	"slices"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

var testGroupID = []byte("tree test group")

// member is a test member: its signing key and leaf encryption private key.
type member struct {
	sk      *suite.SigningKey
	encPriv []byte
	leaf    *wire.LeafNode
}

func mustSuite(tb testing.TB, id uint16) *suite.Suite {
	tb.Helper()
	s, err := suite.Lookup(id)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newMember returns a member with a key_package-source leaf node.
func newMember(tb testing.TB, s *suite.Suite, name string) *member {
	tb.Helper()
	sk, _, err := s.GenerateSigningKey()
	if err != nil {
		tb.Fatal(err)
	}
	priv, pub, err := s.GenerateKeyPair()
	if err != nil {
		tb.Fatal(err)
	}
	leaf := &wire.LeafNode{
		EncryptionKey: pub,
		SignatureKey:  sk.Public(),
		Credential:    wire.Credential{Type: wire.CredentialTypeBasic, Identity: []byte(name)},
		Capabilities: wire.Capabilities{
			Versions:     []wire.ProtocolVersion{wire.MLS10},
			CipherSuites: []wire.CipherSuite{wire.CipherSuite(s.ID())},
			Credentials:  []wire.CredentialType{wire.CredentialTypeBasic},
		},
		Source:   wire.LeafNodeSourceKeyPackage,
		Lifetime: &wire.Lifetime{NotBefore: 0, NotAfter: 1 << 62},
	}
	if err := leaf.Sign(sk, nil, 0); err != nil {
		tb.Fatal(err)
	}
	return &member{sk: sk, encPriv: priv, leaf: leaf}
}

func testContext(s *suite.Suite, epoch uint64) *wire.GroupContext {
	return &wire.GroupContext{
		Version: wire.MLS10, CipherSuite: wire.CipherSuite(s.ID()), GroupID: testGroupID,
		Epoch: epoch, ConfirmedTranscriptHash: make([]byte, s.Nh()),
	}
}

// group is a test group: one tree and every member's private state.
type group struct {
	s       *suite.Suite
	t       *Tree
	members []*member
	privs   []*PrivateState // nil for members not tracked
	epoch   uint64
}

// newGroup creates a group of n members added in bulk by leaf 0 in one
// commit with a path (as a creator does); populate then lets every other
// leaf commit once, so that all parent nodes are filled. The private states
// of the members in track (all when empty) are kept up to date.
func newGroup(tb testing.TB, s *suite.Suite, n int, populate bool, track ...LeafIndex) *group {
	tb.Helper()
	g := &group{s: s}
	creator := newMember(tb, s, "m0")
	g.t = New(s, creator.leaf)
	g.members = append(g.members, creator)
	p0, err := NewPrivateState(g.t, 0, creator.encPriv)
	if err != nil {
		tb.Fatal(err)
	}
	g.privs = append(g.privs, p0)
	var added []LeafIndex
	for i := 1; i < n; i++ {
		m := newMember(tb, s, fmt.Sprintf("m%d", i))
		l, err := g.t.AddLeaf(m.leaf)
		if err != nil {
			tb.Fatal(err)
		}
		added = append(added, l)
		g.members = append(g.members, m)
		if len(track) > 0 && !slices.Contains(track, l) {
			g.privs = append(g.privs, nil)
			continue
		}
		p, err := NewPrivateState(g.t, l, m.encPriv)
		if err != nil {
			tb.Fatal(err)
		}
		g.privs = append(g.privs, p)
	}
	g.commit(tb, 0, added)
	if populate {
		// Commit from the leaves in an order that fills the high nodes first
		// (1/2, then 1/4 and 3/4 of the way, ...), so each commit encrypts to
		// few blank subtrees; the last round is every odd leaf, which fills
		// every parent.
		top := 1
		for top*2 < n {
			top *= 2
		}
		for step := top; step >= 1; step /= 2 {
			for i := step; i < n; i += 2 * step {
				g.commit(tb, LeafIndex(i), nil)
			}
		}
	}
	return g
}

// commit lets leaf from commit with a path; every other member learns its
// path secret the way a Welcome delivers it (cheaper than ApplyPath for
// all of them, and equivalent for the keys they end up with).
func (g *group) commit(tb testing.TB, from LeafIndex, exclude []LeafIndex) *Generated {
	tb.Helper()
	g.epoch++
	gen, err := g.t.GeneratePath(from, g.t.Leaf(from), g.members[from].sk, &PathParams{Context: testContext(g.s, g.epoch), Exclude: exclude})
	if err != nil {
		tb.Fatal(err)
	}
	if g.privs[from] != nil {
		g.privs[from] = gen.Private
	}
	for i, p := range g.privs {
		if LeafIndex(i) == from || p == nil {
			continue
		}
		p.Prune(g.t)
		ps, ok := gen.PathSecretFor(LeafIndex(i))
		if !ok {
			tb.Fatalf("no path secret for %d", i)
		}
		if err := p.ImportPathSecret(g.t, from, ps); err != nil {
			tb.Fatal(err)
		}
	}
	return gen
}
