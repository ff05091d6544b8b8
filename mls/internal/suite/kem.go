package suite

import (
	"crypto/hpke"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// KEM returns the suite's HPKE KEM.
func (s *Suite) KEM() hpke.KEM { return s.kem }

// DeriveKeyPair is KEM.DeriveKeyPair(ikm) (RFC 9180 §7.1.3; for the X-Wing
// suites, see the package documentation). It returns the serialized private
// and public keys.
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	var k hpke.PrivateKey
	if s.deriveKeyPair != nil {
		k, err = s.deriveKeyPair(s.kem, ikm)
	} else {
		k, err = s.kem.DeriveKeyPair(ikm)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("failed to derive HPKE key pair: %w", err)
	}
	return serializeKeyPair(k)
}

// GenerateKeyPair generates a fresh HPKE key pair and returns the serialized
// private and public keys.
func (s *Suite) GenerateKeyPair() (priv, pub []byte, err error) {
	k, err := s.kem.GenerateKey()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate HPKE key pair: %w", err)
	}
	return serializeKeyPair(k)
}

func serializeKeyPair(k hpke.PrivateKey) (priv, pub []byte, err error) {
	priv, err = k.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to serialize HPKE private key: %w", err)
	}
	return priv, k.PublicKey().Bytes(), nil
}

// HPKEPublicKey returns the serialized public key of the serialized private
// key priv. Use it to check that a private key matches a published one.
func (s *Suite) HPKEPublicKey(priv []byte) ([]byte, error) {
	k, err := s.kem.NewPrivateKey(padScalar(priv, s.hpkeScalarLen))
	if err != nil {
		return nil, fmt.Errorf("failed to parse HPKE private key: %w", err)
	}
	return k.PublicKey().Bytes(), nil
}

// ValidateHPKEPublicKey checks that pub deserializes as a public key of the
// suite's KEM.
func (s *Suite) ValidateHPKEPublicKey(pub []byte) error {
	if _, err := s.kem.NewPublicKey(pub); err != nil {
		return fmt.Errorf("failed to parse HPKE public key: %w", err)
	}
	return nil
}

func encryptContext(label string, context []byte) ([]byte, error) {
	var w codec.Writer
	w.Opaque([]byte(labelPrefix + label))
	w.Opaque(context)
	info, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("failed to encode EncryptContext: %w", err)
	}
	return info, nil
}

// EncryptWithLabel is RFC 9420 §5.1.3: HPKE Base-mode SealBase(pub,
// EncryptContext{"MLS 1.0 " + label, context}, "", plaintext). It returns the
// KEM output and the ciphertext separately, as HPKECiphertext carries them.
func (s *Suite) EncryptWithLabel(pub []byte, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, nil, err
	}
	pk, err := s.kem.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse HPKE public key: %w", err)
	}
	enc, sender, err := hpke.NewSender(pk, s.kdf, s.hpkeAEAD, info)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to set up HPKE sender: %w", err)
	}
	ct, err := sender.Seal(nil, plaintext)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to HPKE-encrypt: %w", err)
	}
	return enc, ct, nil
}

// DecryptWithLabel is RFC 9420 §5.1.3: HPKE Base-mode OpenBase(kemOutput,
// priv, EncryptContext{"MLS 1.0 " + label, context}, "", ciphertext). A
// ciphertext that does not decrypt gives [ErrDecrypt].
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, err
	}
	k, err := s.kem.NewPrivateKey(padScalar(priv, s.hpkeScalarLen))
	if err != nil {
		return nil, fmt.Errorf("failed to parse HPKE private key: %w", err)
	}
	r, err := hpke.NewRecipient(kemOutput, k, s.kdf, s.hpkeAEAD, info)
	if err != nil {
		return nil, ErrDecrypt
	}
	pt, err := r.Open(nil, ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// ExportSender sets up an HPKE Base-mode sender to pub with the given info
// and returns the KEM output and context.export(exporterContext, length).
// External commits use it with info "" and exporter context
// "MLS 1.0 external init secret" (RFC 9420 §8.3).
func (s *Suite) ExportSender(pub, info []byte, exporterContext string, length int) (kemOutput, secret []byte, err error) {
	pk, err := s.kem.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse HPKE public key: %w", err)
	}
	enc, sender, err := hpke.NewSender(pk, s.kdf, s.hpkeAEAD, info)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to set up HPKE sender: %w", err)
	}
	secret, err = sender.Export(exporterContext, length)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to export HPKE secret: %w", err)
	}
	return enc, secret, nil
}

// ExportRecipient is the receiving side of [Suite.ExportSender].
func (s *Suite) ExportRecipient(priv, kemOutput, info []byte, exporterContext string, length int) ([]byte, error) {
	k, err := s.kem.NewPrivateKey(padScalar(priv, s.hpkeScalarLen))
	if err != nil {
		return nil, fmt.Errorf("failed to parse HPKE private key: %w", err)
	}
	r, err := hpke.NewRecipient(kemOutput, k, s.kdf, s.hpkeAEAD, info)
	if err != nil {
		return nil, ErrDecrypt
	}
	secret, err := r.Export(exporterContext, length)
	if err != nil {
		return nil, fmt.Errorf("failed to export HPKE secret: %w", err)
	}
	return secret, nil
}
