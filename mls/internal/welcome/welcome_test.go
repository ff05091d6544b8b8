package welcome

import (
	"bytes"
	"errors"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// build makes a Welcome for a fresh key package, with the given tag
// corruption applied to the GroupInfo before signing.
func build(t *testing.T, corruptTag bool) (*suite.Suite, *wire.Welcome, *wire.KeyPackage, []byte, *suite.SigningKey) {
	s, _ := suite.Lookup(1)
	signer, _, _ := s.GenerateSigningKey()
	memberSK, _, _ := s.GenerateSigningKey()
	initPriv, initPub, _ := s.GenerateKeyPair()
	_, encPub, _ := s.GenerateKeyPair()
	kp := &wire.KeyPackage{Version: 1, CipherSuite: 1, InitKey: initPub, Extensions: wire.Extensions{},
		LeafNode: wire.LeafNode{EncryptionKey: encPub, SignatureKey: memberSK.Public(),
			Credential:   wire.Credential{Type: wire.CredentialTypeBasic, Identity: []byte("bob")},
			Capabilities: wire.Capabilities{Versions: []wire.ProtocolVersion{1}, CipherSuites: []wire.CipherSuite{1}},
			Source:       wire.LeafNodeSourceKeyPackage, Lifetime: &wire.Lifetime{NotAfter: 1 << 40}, Extensions: wire.Extensions{}}}
	if err := kp.LeafNode.Sign(memberSK, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := kp.Sign(memberSK); err != nil {
		t.Fatal(err)
	}
	joiner := bytes.Repeat([]byte{9}, 32)
	gi := &wire.GroupInfo{GroupContext: wire.GroupContext{Version: 1, CipherSuite: 1, GroupID: []byte("g"), Epoch: 1,
		TreeHash: []byte{1}, ConfirmedTranscriptHash: []byte{2}, Extensions: wire.Extensions{}}, Extensions: wire.Extensions{}}
	gc, _ := wire.Marshal(&gi.GroupContext)
	ep, err := keyschedule.FromJoiner(s, joiner, nil, gc)
	if err != nil {
		t.Fatal(err)
	}
	gi.ConfirmationTag = keyschedule.ConfirmationTag(s, ep.ConfirmationKey, gi.GroupContext.ConfirmedTranscriptHash)
	if corruptTag {
		gi.ConfirmationTag[0] ^= 1
	}
	if err := gi.Sign(signer); err != nil {
		t.Fatal(err)
	}
	egi, err := EncryptGroupInfo(s, ep.WelcomeSecret, gi)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := kp.Ref(s)
	egs, err := EncryptGroupSecrets(s, ref, initPub, egi, &wire.GroupSecrets{JoinerSecret: joiner, PSKs: []wire.PreSharedKeyID{}})
	if err != nil {
		t.Fatal(err)
	}
	return s, &wire.Welcome{CipherSuite: 1, Secrets: []wire.EncryptedGroupSecrets{*egs}, EncryptedGroupInfo: egi}, kp, initPriv, signer
}

func TestJoinRoundTrip(t *testing.T) {
	s, w, kp, initPriv, signer := build(t, false)
	signerKey := func(*wire.GroupInfo) ([]byte, error) { return signer.Public(), nil }
	j, err := Join(s, w, kp, initPriv, nil, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	if j.GroupInfo.GroupContext.Epoch != 1 {
		t.Errorf("epoch %d", j.GroupInfo.GroupContext.Epoch)
	}
	w.Secrets[0].NewMember[0] ^= 1
	if _, err := Join(s, w, kp, initPriv, nil, signerKey); !errors.Is(err, ErrNotForUs) {
		t.Errorf("foreign welcome: %v", err)
	}
	w.Secrets[0].NewMember[0] ^= 1
	w.EncryptedGroupInfo[3] ^= 1
	if _, err := Join(s, w, kp, initPriv, nil, signerKey); !errors.Is(err, ErrDecrypt) {
		t.Errorf("tampered group info: %v", err)
	}
}

func TestJoinRejectsBadConfirmationTag(t *testing.T) {
	s, w, kp, initPriv, signer := build(t, true)
	_, err := Join(s, w, kp, initPriv, nil, func(*wire.GroupInfo) ([]byte, error) { return signer.Public(), nil })
	if !errors.Is(err, ErrInvalidConfirmationTag) {
		t.Fatalf("got %v, want ErrInvalidConfirmationTag", err)
	}
}
