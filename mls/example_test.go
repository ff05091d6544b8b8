package mls_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/good-offices/goodoffices/mls"
)

// Two clients that share nothing but bytes: Alice creates a group, adds
// Bob from his key package, and they exchange a message.
func Example() {
	// Each client has a signing identity; the credential names it.
	alice, err := mls.NewIdentity(mls.DefaultCipherSuite, mls.BasicCredential([]byte("alice@delegation-a")))
	if err != nil {
		log.Fatal(err)
	}
	bob, err := mls.NewIdentity(mls.DefaultCipherSuite, mls.BasicCredential([]byte("bob@delegation-b")))
	if err != nil {
		log.Fatal(err)
	}

	// The application decides who may be a member.
	cfg := &mls.Config{ValidateCredential: func(c mls.Credential, signatureKey []byte) error {
		if c.Type != mls.CredentialBasic {
			return errors.New("basic credentials only")
		}
		return nil // the desk checks a delegation certificate here
	}}

	// Bob publishes a key package and keeps its private part.
	kp, kpPrivate, err := mls.NewKeyPackage(bob, nil)
	if err != nil {
		log.Fatal(err)
	}
	published := kp.Bytes()

	// Alice creates the group and commits an Add of Bob.
	group, err := mls.Create(alice, []byte("plenary"), cfg)
	if err != nil {
		log.Fatal(err)
	}
	bobsKP, err := mls.ParseKeyPackage(published)
	if err != nil {
		log.Fatal(err)
	}
	bundle, err := group.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(bobsKP)}})
	if err != nil {
		log.Fatal(err)
	}
	// The delivery service orders the commit and echoes it back.
	if _, err := group.Process(bundle.Commit); err != nil {
		log.Fatal(err)
	}

	// Bob joins from the Welcome.
	bobsGroup, err := mls.Join(bob, kpPrivate, bundle.Welcome, cfg, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Alice sends; Bob reads.
	msg, err := group.Encrypt([]byte("The delegation accepts paragraph 3."), nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := bobsGroup.Process(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s wrote in epoch %d: %s\n", r.Sender.Credential.Identity, r.Epoch, r.Data)

	// Both hold the same epoch authenticator.
	fmt.Println(string(group.EpochAuthenticator()) == string(bobsGroup.EpochAuthenticator()))

	// Bob stores his state (encrypt it at rest) and restores it.
	state, err := bobsGroup.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := mls.UnmarshalGroup(state, cfg); err != nil {
		log.Fatal(err)
	}
	// A replayed message is refused.
	if _, err := bobsGroup.Process(msg); errors.Is(err, mls.ErrGenerationReused) {
		fmt.Println("replay refused")
	}
	// Output:
	// alice@delegation-a wrote in epoch 1: The delegation accepts paragraph 3.
	// true
	// replay refused
}

// A two-member group of suite 0x0001 moves to suite 0x0003: Alice commits a
// ReInit, Bob creates the successor group and Alice joins it with her state
// of the old group, which proves the link (RFC 9420 §11.2).
func ExampleGroup_CreateSuccessor() {
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	const oldSuite, newSuite = mls.X25519_AES128GCM_SHA256_Ed25519, mls.X25519_CHACHA20POLY1305_SHA256_Ed25519
	alice, err := mls.NewIdentity(oldSuite, mls.BasicCredential([]byte("alice")))
	must(err)
	bob, err := mls.NewIdentity(oldSuite, mls.BasicCredential([]byte("bob")))
	must(err)
	aliceOld, err := mls.Create(alice, nil, nil)
	must(err)
	kp, kpPriv, err := mls.NewKeyPackage(bob, nil)
	must(err)
	b, err := aliceOld.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(kp)}})
	must(err)
	must(aliceOld.MergeCommit())
	bobOld, err := mls.Join(bob, kpPriv, b.Welcome, nil, nil)
	must(err)

	// The ReInit closes the old group.
	b, err = aliceOld.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.ReInitProposal(nil, newSuite, nil)}})
	must(err)
	for _, g := range []*mls.Group{aliceOld, bobOld} {
		_, err := g.Process(b.Commit)
		must(err)
	}
	fmt.Println("old group active:", bobOld.Active())

	// Bob creates the successor from Alice's key package of the new suite.
	aliceNew, err := mls.NewIdentity(newSuite, mls.BasicCredential([]byte("alice")))
	must(err)
	bobNew, err := mls.NewIdentity(newSuite, mls.BasicCredential([]byte("bob")))
	must(err)
	kp, kpPriv, err = mls.NewKeyPackage(aliceNew, nil)
	must(err)
	bobNext, welcome, err := bobOld.CreateSuccessor(bobNew, []*mls.KeyPackage{kp}, nil, nil)
	must(err)
	aliceNext, err := mls.Join(aliceNew, kpPriv, welcome, nil, &mls.JoinOptions{ResumedGroup: aliceOld})
	must(err)
	fmt.Println("suite:", aliceNext.CipherSuite() == newSuite, "epoch:", aliceNext.Epoch(),
		"same epoch authenticator:", string(aliceNext.EpochAuthenticator()) == string(bobNext.EpochAuthenticator()))
	// Output:
	// old group active: false
	// suite: true epoch: 1 same epoch authenticator: true
}
