package suite

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

func signContent(label string, content []byte) ([]byte, error) {
	var w codec.Writer
	w.Opaque([]byte(labelPrefix + label))
	w.Opaque(content)
	b, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("failed to encode SignContent: %w", err)
	}
	return b, nil
}

// SigningKey is a parsed signature private key of one suite. Parse it once
// with [Suite.NewSigningKey] when signing many messages.
type SigningKey struct {
	s   *Suite
	ed  ed25519.PrivateKey
	ec  *ecdsa.PrivateKey
	pub []byte
}

// NewSigningKey parses a signature private key: an Ed25519 32-byte seed or
// an ECDSA big-endian scalar, depending on the suite. A scalar shorter than
// the curve's size (leading zero bytes stripped) is left-padded.
func (s *Suite) NewSigningKey(priv []byte) (*SigningKey, error) {
	switch s.sig {
	case sigEd25519:
		if len(priv) != ed25519.SeedSize {
			return nil, fmt.Errorf("suite: Ed25519 private key is %d bytes, want %d", len(priv), ed25519.SeedSize)
		}
		k := ed25519.NewKeyFromSeed(priv)
		return &SigningKey{s: s, ed: k, pub: append([]byte{}, k.Public().(ed25519.PublicKey)...)}, nil
	case sigECDSA:
		k, err := ecdsa.ParseRawPrivateKey(s.curve, padScalar(priv, (s.curve.Params().BitSize+7)/8))
		if err != nil {
			return nil, fmt.Errorf("failed to parse ECDSA private key: %w", err)
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, fmt.Errorf("failed to encode ECDSA public key: %w", err)
		}
		return &SigningKey{s: s, ec: k, pub: pub}, nil
	}
	return nil, fmt.Errorf("suite: internal error: no signature scheme for %s", s.name)
}

// GenerateSigningKey generates a signature key pair. It returns the key and
// its private key bytes (for storage).
func (s *Suite) GenerateSigningKey() (*SigningKey, []byte, error) {
	switch s.sig {
	case sigEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to generate Ed25519 key: %w", err)
		}
		seed := append([]byte{}, k.Seed()...)
		sk, err := s.NewSigningKey(seed)
		return sk, seed, err
	case sigECDSA:
		k, err := ecdsa.GenerateKey(s.curve, rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to generate ECDSA key: %w", err)
		}
		priv, err := k.Bytes()
		if err != nil {
			return nil, nil, fmt.Errorf("failed to encode ECDSA key: %w", err)
		}
		sk, err := s.NewSigningKey(priv)
		return sk, priv, err
	}
	return nil, nil, fmt.Errorf("suite: internal error: no signature scheme for %s", s.name)
}

// Public returns the serialized public key (SignaturePublicKey).
func (k *SigningKey) Public() []byte { return append([]byte{}, k.pub...) }

// SignWithLabel is RFC 9420 §5.1.2: Signature.Sign(priv,
// SignContent{"MLS 1.0 " + label, content}). ECDSA signatures are ASN.1 DER
// over the suite's hash of SignContent.
func (k *SigningKey) SignWithLabel(label string, content []byte) ([]byte, error) {
	msg, err := signContent(label, content)
	if err != nil {
		return nil, err
	}
	if k.ed != nil {
		return ed25519.Sign(k.ed, msg), nil
	}
	sig, err := ecdsa.SignASN1(rand.Reader, k.ec, k.s.Hash(msg))
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", err)
	}
	return sig, nil
}

// SignWithLabel parses priv and signs; see [SigningKey.SignWithLabel].
func (s *Suite) SignWithLabel(priv []byte, label string, content []byte) ([]byte, error) {
	k, err := s.NewSigningKey(priv)
	if err != nil {
		return nil, err
	}
	return k.SignWithLabel(label, content)
}

// VerifyWithLabel is RFC 9420 §5.1.2. It returns nil or
// [ErrInvalidSignature] (also for a malformed public key).
func (s *Suite) VerifyWithLabel(pub []byte, label string, content, signature []byte) error {
	msg, err := signContent(label, content)
	if err != nil {
		return ErrInvalidSignature
	}
	switch s.sig {
	case sigEd25519:
		if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(ed25519.PublicKey(pub), msg, signature) {
			return ErrInvalidSignature
		}
		return nil
	case sigECDSA:
		pk, err := ecdsa.ParseUncompressedPublicKey(s.curve, pub)
		if err != nil || !ecdsa.VerifyASN1(pk, s.Hash(msg), signature) {
			return ErrInvalidSignature
		}
		return nil
	}
	return ErrInvalidSignature
}

// ValidateSignaturePublicKey checks that pub is a well-formed signature
// public key of the suite.
func (s *Suite) ValidateSignaturePublicKey(pub []byte) error {
	switch s.sig {
	case sigEd25519:
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("suite: Ed25519 public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
		}
		return nil
	case sigECDSA:
		if _, err := ecdsa.ParseUncompressedPublicKey(s.curve, pub); err != nil {
			return fmt.Errorf("failed to parse ECDSA public key: %w", err)
		}
		return nil
	}
	return fmt.Errorf("suite: internal error: no signature scheme for %s", s.name)
}
