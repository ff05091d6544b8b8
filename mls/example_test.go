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
