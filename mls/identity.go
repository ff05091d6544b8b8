package mls

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// CredentialType is the type of a Credential (§5.3).
type CredentialType uint16

// Credential types defined by RFC 9420 §5.3.
const (
	CredentialBasic CredentialType = 1
	CredentialX509  CredentialType = 2
)

// Credential binds a member's identity to its signature key (§5.3). A basic
// credential carries an opaque Identity, which the application must check
// by other means (a certificate carried alongside, or an out-of-band
// fingerprint); an X.509 credential carries a DER certificate chain, leaf
// first.
type Credential struct {
	Type         CredentialType
	Identity     []byte
	Certificates [][]byte
}

// BasicCredential returns a basic credential for identity.
func BasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialBasic, Identity: clone(identity)}
}

func (c Credential) toWire() wire.Credential {
	w := wire.Credential{Type: wire.CredentialType(c.Type), Identity: clone(c.Identity)}
	for _, cert := range c.Certificates {
		w.Certificates = append(w.Certificates, clone(cert))
	}
	return w
}

func credentialFromWire(w *wire.Credential) Credential {
	c := Credential{Type: CredentialType(w.Type), Identity: clone(w.Identity)}
	for _, cert := range w.Certificates {
		c.Certificates = append(c.Certificates, clone(cert))
	}
	return c
}

// CredentialValidator decides whether a credential, presented with the
// signature public key it is bound to, is acceptable to the application
// (§5.3.1). The group calls it for every leaf it accepts: the whole tree when
// joining, and every Add, Update, commit path and external join afterwards.
// It returns a non-nil error to reject; the error is wrapped in
// ErrCredentialRejected.
type CredentialValidator func(c Credential, signatureKey []byte) error

// Identity is a client's signing identity: a cipher suite, a credential and
// the signature private key bound to it. It is used to create key packages,
// create and join groups, and sign every message.
type Identity struct {
	cs         CipherSuite
	s          *suite.Suite
	credential Credential
	key        *suite.SigningKey
	priv       []byte
}

// NewIdentity returns an identity for the suite with a fresh signature key.
func NewIdentity(cs CipherSuite, c Credential) (*Identity, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	k, priv, err := s.GenerateSigningKey()
	if err != nil {
		return nil, fmt.Errorf("failed to generate signature key: %w", err)
	}
	return &Identity{cs: cs, s: s, credential: c, key: k, priv: priv}, nil
}

// NewIdentityFromKey returns an identity whose signature private key is
// signaturePrivateKey: a 32-byte Ed25519 seed for the Ed25519 suites, a
// big-endian scalar for the ECDSA suites.
func NewIdentityFromKey(cs CipherSuite, c Credential, signaturePrivateKey []byte) (*Identity, error) {
	s, err := lookupSuite(cs)
	if err != nil {
		return nil, err
	}
	k, err := s.NewSigningKey(signaturePrivateKey)
	if err != nil {
		return nil, fmt.Errorf("failed to parse signature key: %w", err)
	}
	return &Identity{cs: cs, s: s, credential: c, key: k, priv: clone(signaturePrivateKey)}, nil
}

// CipherSuite returns the identity's suite.
func (id *Identity) CipherSuite() CipherSuite { return id.cs }

// Credential returns the identity's credential.
func (id *Identity) Credential() Credential { return credentialFromWire(ptr(id.credential.toWire())) }

// SignaturePublicKey returns the serialized signature public key.
func (id *Identity) SignaturePublicKey() []byte { return id.key.Public() }

// MarshalBinary encodes the identity, private key included: encrypt it
// before storing it.
func (id *Identity) MarshalBinary() ([]byte, error) {
	cred := id.credential.toWire()
	var w codec.Writer
	w.Uint16(uint16(id.cs))
	cred.MarshalTLS(&w)
	w.Opaque(id.priv)
	return w.Bytes()
}

// UnmarshalIdentity decodes an identity encoded by Identity.MarshalBinary.
func UnmarshalIdentity(data []byte) (*Identity, error) {
	r := codec.NewReader(data)
	cs := CipherSuite(r.Uint16())
	var cred wire.Credential
	cred.UnmarshalTLS(r)
	priv := r.Opaque()
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: identity: %w", ErrMalformed, err)
	}
	return NewIdentityFromKey(cs, credentialFromWire(&cred), priv)
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func ptr[T any](v T) *T { return &v }
