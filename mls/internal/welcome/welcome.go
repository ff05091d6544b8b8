// Package welcome implements the cryptographic steps of joining a group
// from a Welcome message (RFC 9420 §12.4.3.1) and of building one
// (§12.4.3):
//
//  1. find the EncryptedGroupSecrets whose new_member is the joiner's
//     KeyPackageRef (RefHash("MLS 1.0 KeyPackage Reference", KeyPackage));
//  2. decrypt GroupSecrets with DecryptWithLabel(init_priv, "Welcome",
//     encrypted_group_info, kem_output, ciphertext);
//  3. derive welcome_secret from joiner_secret and psk_secret, and
//     welcome_key/welcome_nonce from it, and decrypt the GroupInfo with the
//     AEAD and empty AAD;
//  4. verify the GroupInfo signature with the signer's key;
//  5. run the key schedule from joiner_secret with the GroupInfo's
//     GroupContext and check the confirmation tag against the confirmed
//     transcript hash.
//
// Ratchet-tree validation and PSK lookup belong to the caller: [Join] takes
// the PSK secret (computed from GroupSecrets.PSKs with
// keyschedule.PSKSecret) through a callback and the signer's key through
// another, since the signer is a leaf of the tree.
package welcome

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Errors of Welcome processing. Verification failures carry no detail.
var (
	ErrNotForUs               = errors.New("welcome: no group secrets for this key package")
	ErrDecrypt                = errors.New("welcome: failed to decrypt")
	ErrInvalidConfirmationTag = errors.New("welcome: invalid confirmation tag")
	ErrSuiteMismatch          = errors.New("welcome: cipher suite differs from the key package's")
)

// HPKE label of GroupSecrets encryption (§12.4.3.1).
const labelWelcome = "Welcome"

// FindSecrets returns the entry of w addressed to the key package with
// reference kpRef.
func FindSecrets(w *wire.Welcome, kpRef []byte) (*wire.EncryptedGroupSecrets, error) {
	for i := range w.Secrets {
		if string(w.Secrets[i].NewMember) == string(kpRef) {
			return &w.Secrets[i], nil
		}
	}
	return nil, ErrNotForUs
}

// DecryptGroupSecrets decrypts an EncryptedGroupSecrets with the key
// package's init private key; encryptedGroupInfo is the HPKE context.
func DecryptGroupSecrets(s *suite.Suite, egs *wire.EncryptedGroupSecrets, initPriv, encryptedGroupInfo []byte) (*wire.GroupSecrets, error) {
	ct := &egs.EncryptedGroupSecrets
	pt, err := s.DecryptWithLabel(initPriv, labelWelcome, encryptedGroupInfo, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	var gs wire.GroupSecrets
	if err := wire.Unmarshal(pt, &gs); err != nil {
		return nil, err
	}
	return &gs, nil
}

// EncryptGroupSecrets encrypts gs to a new member's init key (§12.4.3).
func EncryptGroupSecrets(s *suite.Suite, kpRef, initPub, encryptedGroupInfo []byte, gs *wire.GroupSecrets) (*wire.EncryptedGroupSecrets, error) {
	pt, err := wire.Marshal(gs)
	if err != nil {
		return nil, err
	}
	kem, ct, err := s.EncryptWithLabel(initPub, labelWelcome, encryptedGroupInfo, pt)
	if err != nil {
		return nil, fmt.Errorf("failed to encrypt group secrets: %w", err)
	}
	return &wire.EncryptedGroupSecrets{NewMember: append([]byte{}, kpRef...), EncryptedGroupSecrets: wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}}, nil
}

// DecryptGroupInfo decrypts encrypted_group_info with the key and nonce
// derived from welcome_secret.
func DecryptGroupInfo(s *suite.Suite, welcomeSecret, encryptedGroupInfo []byte) (*wire.GroupInfo, error) {
	key, nonce, err := keyschedule.WelcomeKeyNonce(s, welcomeSecret)
	if err != nil {
		return nil, err
	}
	pt, err := s.Open(key, nonce, nil, encryptedGroupInfo)
	if err != nil {
		return nil, ErrDecrypt
	}
	var gi wire.GroupInfo
	if err := wire.Unmarshal(pt, &gi); err != nil {
		return nil, err
	}
	return &gi, nil
}

// EncryptGroupInfo encrypts a signed GroupInfo with the key and nonce
// derived from welcome_secret.
func EncryptGroupInfo(s *suite.Suite, welcomeSecret []byte, gi *wire.GroupInfo) ([]byte, error) {
	key, nonce, err := keyschedule.WelcomeKeyNonce(s, welcomeSecret)
	if err != nil {
		return nil, err
	}
	pt, err := wire.Marshal(gi)
	if err != nil {
		return nil, err
	}
	return s.Seal(key, nonce, nil, pt)
}

// Joined is the result of [Join].
type Joined struct {
	GroupSecrets *wire.GroupSecrets
	GroupInfo    *wire.GroupInfo
	Epoch        *keyschedule.Epoch
	PSKSecret    []byte
}

// Join performs the steps in the package documentation for the joiner's
// key package kp (whose init private key is initPriv). pskSecret computes
// psk_secret from GroupSecrets.PSKs (return nil for none). signerKey
// returns the signature key of GroupInfo.signer, typically after the
// caller has loaded and validated the ratchet tree.
func Join(s *suite.Suite, w *wire.Welcome, kp *wire.KeyPackage, initPriv []byte,
	pskSecret func(psks []wire.PreSharedKeyID) ([]byte, error),
	signerKey func(gi *wire.GroupInfo) ([]byte, error)) (*Joined, error) {
	if uint16(w.CipherSuite) != uint16(s.ID()) || kp.CipherSuite != w.CipherSuite {
		return nil, ErrSuiteMismatch
	}
	ref, err := kp.Ref(s)
	if err != nil {
		return nil, fmt.Errorf("failed to compute KeyPackageRef: %w", err)
	}
	egs, err := FindSecrets(w, ref)
	if err != nil {
		return nil, err
	}
	gs, err := DecryptGroupSecrets(s, egs, initPriv, w.EncryptedGroupInfo)
	if err != nil {
		return nil, err
	}
	if len(gs.JoinerSecret) != s.Nh() {
		return nil, fmt.Errorf("welcome: joiner secret is %d bytes, want %d", len(gs.JoinerSecret), s.Nh())
	}
	var psk []byte
	if len(gs.PSKs) > 0 {
		if pskSecret == nil {
			return nil, errors.New("welcome: the Welcome requires PSKs but no PSK resolver was given")
		}
		if psk, err = pskSecret(gs.PSKs); err != nil {
			return nil, fmt.Errorf("failed to compute psk_secret: %w", err)
		}
	}
	ws, err := keyschedule.WelcomeSecret(s, gs.JoinerSecret, psk)
	if err != nil {
		return nil, err
	}
	gi, err := DecryptGroupInfo(s, ws, w.EncryptedGroupInfo)
	if err != nil {
		return nil, err
	}
	if gi.GroupContext.CipherSuite != w.CipherSuite {
		return nil, ErrSuiteMismatch
	}
	pub, err := signerKey(gi)
	if err != nil {
		return nil, fmt.Errorf("failed to find the GroupInfo signer's key: %w", err)
	}
	if err := gi.VerifySignature(s, pub); err != nil {
		return nil, err
	}
	gc, err := wire.Marshal(&gi.GroupContext)
	if err != nil {
		return nil, err
	}
	ep, err := keyschedule.FromJoiner(s, gs.JoinerSecret, psk, gc)
	if err != nil {
		return nil, err
	}
	if !keyschedule.VerifyConfirmationTag(s, ep.ConfirmationKey, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag) {
		return nil, ErrInvalidConfirmationTag
	}
	return &Joined{GroupSecrets: gs, GroupInfo: gi, Epoch: ep, PSKSecret: psk}, nil
}
