package mls

import (
	"errors"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// withoutSuite removes the suite cs from capabilities, as the leaves of the
// working group's suite 0x0007 vectors do.
func withoutSuite(cs CipherSuite) func(*wire.Capabilities) {
	return func(c *wire.Capabilities) {
		c.CipherSuites = []wire.CipherSuite{wire.CipherSuite(X25519_AES128GCM_SHA256_Ed25519), wire.CipherSuite(P256_AES128GCM_SHA256_P256)}
		if cs == X25519_AES128GCM_SHA256_Ed25519 || cs == P256_AES128GCM_SHA256_P256 {
			c.CipherSuites = []wire.CipherSuite{wire.CipherSuite(X25519_CHACHA20POLY1305_SHA256_Ed25519)}
		}
	}
}

// TestJoinTreeWithoutSuiteInCapabilities: RFC 9420 §12.4.3.1 validates each
// leaf of the tree as §7.3 says, and §7.3 does not require a leaf's
// capabilities to list the group's cipher suite: a joiner accepts such a
// tree (the working group's suite 0x0007 vectors have one), and members
// accept such a leaf in a received Add. This member does not itself add a
// client whose capabilities omit the group's suite (§11.1), and a key package
// of another suite or version is refused on both sides (§10.1).
func TestJoinTreeWithoutSuiteInCapabilities(t *testing.T) {
	for _, cs := range []CipherSuite{P384_AES256GCM_SHA384_P384, DefaultCipherSuite} {
		t.Run(cs.String(), func(t *testing.T) {
			aliceID, err := NewIdentity(cs, BasicCredential([]byte("alice")))
			if err != nil {
				t.Fatal(err)
			}
			caps := createCapabilities(cs, nil)
			withoutSuite(cs)(&caps)
			alice, err := create(aliceID, []byte("group"), nil, caps, nil)
			if err != nil {
				t.Fatal(err)
			}
			bobID, err := NewIdentity(cs, BasicCredential([]byte("bob")))
			if err != nil {
				t.Fatal(err)
			}
			bobKP, bobPriv, err := NewKeyPackage(bobID, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := alice.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(bobKP)}})
			if err != nil {
				t.Fatal(err)
			}
			if err := alice.MergeCommit(); err != nil {
				t.Fatal(err)
			}
			bob, err := Join(bobID, bobPriv, b.Welcome, nil, nil)
			if err != nil {
				t.Fatalf("join of a tree whose leaf 0 omits the suite from its capabilities: %v", err)
			}
			if string(bob.EpochAuthenticator()) != string(alice.EpochAuthenticator()) {
				t.Fatal("epoch authenticators differ")
			}

			// Still refused: alice adding a key package whose capabilities
			// omit the group's suite (§11.1) ...
			carolID, err := NewIdentity(cs, BasicCredential([]byte("carol")))
			if err != nil {
				t.Fatal(err)
			}
			carolKP, _, err := newKeyPackage(carolID, nil, withoutSuite(cs))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(carolKP)}}); !errors.Is(err, ErrInvalidKeyPackage) {
				t.Fatalf("adding a key package without the group's suite in its capabilities: got %v, want ErrInvalidKeyPackage", err)
			}
			if _, err := alice.Propose(AddProposal(carolKP), nil); !errors.Is(err, ErrInvalidKeyPackage) {
				t.Fatalf("proposing to add a key package without the group's suite in its capabilities: got %v, want ErrInvalidKeyPackage", err)
			}
			// ... but the same Add received from another member is valid (§12.1.1, §10.1).
			add := &wire.Proposal{Type: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: carolKP.kp}}
			if err := bob.validateSingleProposal(add, wire.Sender{Type: wire.SenderTypeMember, Index: alice.OwnIndex()}, bob.tree, false, false); err != nil {
				t.Fatalf("received Add of a key package without the group's suite in its capabilities: %v", err)
			}
			// A key package of another version is refused on receipt (§10.1).
			other := carolKP.kp
			other.Version = 2
			bad := &wire.Proposal{Type: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: other}}
			if err := bob.validateSingleProposal(bad, wire.Sender{Type: wire.SenderTypeMember, Index: alice.OwnIndex()}, bob.tree, false, false); !errors.Is(err, ErrInvalidKeyPackage) {
				t.Fatalf("received Add of a key package of version 2: got %v, want ErrInvalidKeyPackage", err)
			}
			// A key package of another suite is refused (§10.1).
			otherSuite := DefaultCipherSuite
			if cs == DefaultCipherSuite {
				otherSuite = X25519_CHACHA20POLY1305_SHA256_Ed25519
			}
			daveID, err := NewIdentity(otherSuite, BasicCredential([]byte("dave")))
			if err != nil {
				t.Fatal(err)
			}
			daveKP, _, err := NewKeyPackage(daveID, nil)
			if err != nil {
				t.Fatal(err)
			}
			bad = &wire.Proposal{Type: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: daveKP.kp}}
			if err := bob.validateSingleProposal(bad, wire.Sender{Type: wire.SenderTypeMember, Index: alice.OwnIndex()}, bob.tree, false, false); !errors.Is(err, ErrInvalidKeyPackage) {
				t.Fatalf("received Add of a key package of suite %v: got %v, want ErrInvalidKeyPackage", otherSuite, err)
			}

			// A joiner still refuses a tree whose leaves miss the group's
			// required_capabilities (§7.3) or a non-default group context
			// extension (§12.1.7).
			gi, err := alice.groupInfo(true)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := wire.Marshal(&wire.RequiredCapabilities{ExtensionTypes: []wire.ExtensionType{0xff00}, ProposalTypes: []wire.ProposalType{}, CredentialTypes: []wire.CredentialType{}})
			if err != nil {
				t.Fatal(err)
			}
			for name, ext := range map[string]wire.Extension{
				"required_capabilities": {Type: wire.ExtensionRequiredCapabilities, Data: rc},
				"unsupported extension": {Type: 0xff01, Data: []byte{}},
			} {
				g := *gi
				g.GroupContext.Extensions = wire.Extensions{ext}
				if _, err := loadTree(alice.s, &Config{}, &g, &JoinOptions{}); !errors.Is(err, ErrInvalidTree) {
					t.Errorf("%s: tree accepted (%v), want ErrInvalidTree", name, err)
				}
			}
			if _, err := loadTree(alice.s, &Config{}, gi, &JoinOptions{}); err != nil {
				t.Fatalf("the unmodified tree: %v", err)
			}
		})
	}
}
