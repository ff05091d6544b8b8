package desk

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/good-offices/goodoffices/mls"
)

type ed25519PublicKey = ed25519.PublicKey

func ed25519GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

func mlsNewIdentity(cert, seed []byte) (*mls.Identity, error) {
	return mls.NewIdentityFromKey(DefaultSuite, mls.BasicCredential(cert), seed)
}

func mlsNewKeyPackage(id *mls.Identity) (*mls.KeyPackage, []byte, error) {
	return mls.NewKeyPackage(id, nil)
}

// rogueAdd builds, from d's group state, a commit adding kp with a
// validator that accepts anything: what a compromised member could send.
func rogueAdd(t *testing.T, d *Desk, ch string, kp *mls.KeyPackage) ([]byte, uint64) {
	t.Helper()
	b, err := d.store.Get(t.Context(), prefGroup+ch)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.UnmarshalGroup(b, &mls.Config{PublicHandshake: true, ValidateCredential: func(mls.Credential, []byte) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := g.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(kp)}})
	if err != nil {
		t.Fatal(err)
	}
	return bundle.Commit, g.Epoch()
}

func mlsParseKeyPackage(b []byte) (*mls.KeyPackage, error) { return mls.ParseKeyPackage(b) }

// rogueWelcome builds from d's group a commit adding kp, without checking
// the credential, and returns its Welcome.
func rogueWelcome(t *testing.T, d *Desk, ch string, kp *mls.KeyPackage) []byte {
	t.Helper()
	b, err := d.store.Get(t.Context(), prefGroup+ch)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.UnmarshalGroup(b, &mls.Config{PublicHandshake: true, ValidateCredential: func(mls.Credential, []byte) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := g.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(kp)}})
	if err != nil {
		t.Fatal(err)
	}
	return bundle.Welcome
}
