package tree_test

import (
	"bytes"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// newLeaf returns a signed key_package leaf node and its private keys.
func newLeaf(s *suite.Suite, name string) (*wire.LeafNode, *suite.SigningKey, []byte) {
	sk, _, _ := s.GenerateSigningKey()
	priv, pub, _ := s.GenerateKeyPair()
	leaf := &wire.LeafNode{
		EncryptionKey: pub,
		SignatureKey:  sk.Public(),
		Credential:    wire.Credential{Type: wire.CredentialTypeBasic, Identity: []byte(name)},
		Capabilities:  wire.Capabilities{Credentials: []wire.CredentialType{wire.CredentialTypeBasic}},
		Source:        wire.LeafNodeSourceKeyPackage,
		Lifetime:      &wire.Lifetime{NotAfter: 1 << 62},
	}
	leaf.Sign(sk, nil, 0)
	return leaf, sk, priv
}

// A creator adds a member with a commit that carries an UpdatePath; the
// member joins with the path secret from the Welcome, then commits in turn,
// and the creator processes that commit.
func Example() {
	s, _ := suite.Lookup(1)
	ctx := &wire.GroupContext{Version: wire.MLS10, CipherSuite: 1, GroupID: []byte("group"), Epoch: 1}

	// Alice creates the group.
	aliceLeaf, aliceKey, alicePriv := newLeaf(s, "alice")
	alice := tree.New(s, aliceLeaf)
	aliceState, _ := tree.NewPrivateState(alice, 0, alicePriv)

	// Alice commits an Add of Bob with a path; Bob is excluded from the
	// path encryption and gets his path secret in the Welcome.
	bobLeaf, bobKey, bobPriv := newLeaf(s, "bob")
	bobIndex, _ := alice.AddLeaf(bobLeaf)
	gen, err := alice.GeneratePath(0, alice.Leaf(0), aliceKey, &tree.PathParams{Context: ctx, Exclude: []tree.LeafIndex{bobIndex}})
	if err != nil {
		panic(err)
	}
	aliceState = gen.Private
	welcomePathSecret, _ := gen.PathSecretFor(bobIndex)

	// Bob receives the tree (ratchet_tree extension), validates it and
	// derives the keys of the path above him.
	enc, _ := alice.Encode()
	bob, _ := tree.Decode(s, enc)
	if err := bob.Validate(&tree.TreeValidation{GroupID: ctx.GroupID, TreeHash: alice.TreeHash()}); err != nil {
		panic(err)
	}
	bobState, _ := tree.NewPrivateState(bob, bobIndex, bobPriv)
	if err := bobState.ImportPathSecret(bob, 0, welcomePathSecret); err != nil {
		panic(err)
	}

	// Bob commits with a path; Alice validates the new leaf and processes it.
	ctx2 := *ctx
	ctx2.Epoch = 2
	gen2, err := bob.GeneratePath(bobIndex, bob.Leaf(bobIndex), bobKey, &tree.PathParams{Context: &ctx2})
	if err != nil {
		panic(err)
	}
	if err := alice.ValidateLeafNode(&gen2.Path.LeafNode, &tree.LeafValidation{
		GroupID: ctx.GroupID, Source: wire.LeafNodeSourceCommit, Index: bobIndex, Replacing: true,
	}); err != nil {
		panic(err)
	}
	applied, err := alice.ApplyPath(bobIndex, gen2.Path, aliceState, &tree.PathParams{Context: &ctx2})
	if err != nil {
		panic(err)
	}
	fmt.Println("same commit secret:", bytes.Equal(applied.CommitSecret, gen2.CommitSecret))
	fmt.Println("same tree:", bytes.Equal(alice.TreeHash(), bob.TreeHash()))
	// Output:
	// same commit secret: true
	// same tree: true
}
