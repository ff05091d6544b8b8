package mls

import (
	"fmt"
	"time"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// ExtensionLastResort is the last_resort key package extension
// (draft-ietf-mls-extensions, IANA 0x000A): the key package may be used more
// than once, when the client has no other left.
const ExtensionLastResort uint16 = 0x000a

// DefaultKeyPackageLifetime is the lifetime of a key package when
// KeyPackageOptions.Lifetime is zero.
const DefaultKeyPackageLifetime = 28 * 24 * time.Hour

// KeyPackageOptions tune NewKeyPackage.
type KeyPackageOptions struct {
	// Lifetime is how long the key package is valid from now
	// (DefaultKeyPackageLifetime when zero). The validity starts one hour
	// before now to tolerate clock skew.
	Lifetime time.Duration
	// LastResort marks the key package with the last_resort extension.
	LastResort bool
	// SupportedExtensions lists non-default extension types the client
	// supports (its leaf's capabilities, §7.2), so that it can join groups
	// that use them.
	SupportedExtensions []uint16
}

// KeyPackage is a client's signed offer to be added to a group (§10): its
// credential, signature key, HPKE init key and leaf node.
type KeyPackage struct {
	s   *suite.Suite
	kp  wire.KeyPackage
	raw []byte // MLSMessage encoding
}

// NewKeyPackage creates a key package for id. It returns the key package
// and its private part (the HPKE init and leaf encryption private keys with
// the key package itself), which the caller keeps, encrypted at rest, until
// the Welcome arrives and passes it to Join. Delete the private part once
// it has been used, unless the key package is a last-resort one
// (KeyPackageOptions.LastResort), which may be used for several groups.
func NewKeyPackage(id *Identity, opts *KeyPackageOptions) (*KeyPackage, []byte, error) {
	return newKeyPackage(id, opts, nil)
}

// newKeyPackage is NewKeyPackage; adjust, when not nil, changes the leaf's
// capabilities before it is signed.
func newKeyPackage(id *Identity, opts *KeyPackageOptions, adjust func(*wire.Capabilities)) (*KeyPackage, []byte, error) {
	if opts == nil {
		opts = &KeyPackageOptions{}
	}
	s := id.s
	initPriv, initPub, err := s.GenerateKeyPair()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate init key: %w", err)
	}
	encPriv, encPub, err := s.GenerateKeyPair()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate encryption key: %w", err)
	}
	life := opts.Lifetime
	if life <= 0 {
		life = DefaultKeyPackageLifetime
	}
	now := time.Now()
	leaf := wire.LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  id.key.Public(),
		Credential:    id.credential.toWire(),
		Capabilities:  defaultCapabilities(id.cs, opts.LastResort),
		Extensions:    wire.Extensions{},
		Source:        wire.LeafNodeSourceKeyPackage,
		Lifetime:      &wire.Lifetime{NotBefore: uint64(now.Add(-time.Hour).Unix()), NotAfter: uint64(now.Add(life).Unix())},
	}
	for _, t := range opts.SupportedExtensions {
		et := wire.ExtensionType(t)
		if !isDefaultExtension(et) && !containsT(leaf.Capabilities.Extensions, et) {
			leaf.Capabilities.Extensions = append(leaf.Capabilities.Extensions, et)
		}
	}
	if adjust != nil {
		adjust(&leaf.Capabilities)
	}
	if err := leaf.Sign(id.key, nil, 0); err != nil {
		return nil, nil, err
	}
	kp := wire.KeyPackage{
		Version:     wire.MLS10,
		CipherSuite: wire.CipherSuite(id.cs),
		InitKey:     initPub,
		LeafNode:    leaf,
		Extensions:  wire.Extensions{},
	}
	if opts.LastResort {
		kp.Extensions = append(kp.Extensions, wire.Extension{Type: wire.ExtensionType(ExtensionLastResort), Data: []byte{}})
	}
	if err := kp.Sign(id.key); err != nil {
		return nil, nil, err
	}
	raw, err := wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatKeyPackage, KeyPackage: &kp})
	if err != nil {
		return nil, nil, err
	}
	var w codec.Writer
	w.Opaque(raw)
	w.Opaque(initPriv)
	w.Opaque(encPriv)
	priv, err := w.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return &KeyPackage{s: s, kp: kp, raw: raw}, priv, nil
}

// defaultCapabilities are the capabilities of this implementation's leaves
// (§7.2). Default extension and proposal types are not listed (§7.2).
func defaultCapabilities(cs CipherSuite, lastResort bool) wire.Capabilities {
	c := wire.Capabilities{
		Versions:     []wire.ProtocolVersion{wire.MLS10},
		CipherSuites: []wire.CipherSuite{wire.CipherSuite(cs)},
		Extensions:   []wire.ExtensionType{},
		Proposals:    []wire.ProposalType{},
		Credentials:  []wire.CredentialType{wire.CredentialTypeBasic, wire.CredentialTypeX509},
	}
	if lastResort {
		c.Extensions = append(c.Extensions, wire.ExtensionType(ExtensionLastResort))
	}
	return c
}

// ParseKeyPackage decodes a key package (an MLSMessage of wire format
// mls_key_package) and verifies its signature and encodings (§10.1). It
// does not check the lifetime; groups do that when adding it.
func ParseKeyPackage(data []byte) (kp *KeyPackage, err error) {
	defer guard(&err)
	var m wire.MLSMessage
	if err := wire.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if m.KeyPackage == nil {
		return nil, fmt.Errorf("%w: not a key package (wire format %d)", ErrMalformed, m.WireFormat)
	}
	s, err := lookupSuite(CipherSuite(m.KeyPackage.CipherSuite))
	if err != nil {
		return nil, err
	}
	kp = &KeyPackage{s: s, kp: *m.KeyPackage, raw: clone(data)}
	if err := kp.verify(); err != nil {
		return nil, err
	}
	return kp, nil
}

// verify checks what §10.1 requires of a key package independent of any
// group: version, suite, signatures, leaf source and key distinctness.
func (k *KeyPackage) verify() error {
	kp := &k.kp
	if kp.Version != wire.MLS10 {
		return fmt.Errorf("%w: protocol version %d", ErrInvalidKeyPackage, kp.Version)
	}
	if kp.LeafNode.Source != wire.LeafNodeSourceKeyPackage {
		return fmt.Errorf("%w: leaf node source is %d, not key_package", ErrInvalidKeyPackage, kp.LeafNode.Source)
	}
	if err := k.s.ValidateHPKEPublicKey(kp.InitKey); err != nil {
		return fmt.Errorf("%w: init key: %w", ErrInvalidKeyPackage, err)
	}
	if string(kp.InitKey) == string(kp.LeafNode.EncryptionKey) {
		return fmt.Errorf("%w: init key equals the leaf encryption key", ErrInvalidKeyPackage)
	}
	if err := kp.VerifySignature(k.s); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrInvalidKeyPackage, ErrBadSignature, err)
	}
	if err := kp.LeafNode.VerifySignature(k.s, nil, 0); err != nil {
		return fmt.Errorf("%w: leaf node: %w: %w", ErrInvalidKeyPackage, ErrBadSignature, err)
	}
	return nil
}

// Bytes returns the key package's encoding (an MLSMessage).
func (k *KeyPackage) Bytes() []byte { return clone(k.raw) }

// CipherSuite returns the key package's suite.
func (k *KeyPackage) CipherSuite() CipherSuite { return CipherSuite(k.kp.CipherSuite) }

// Credential returns the credential of the key package's leaf.
func (k *KeyPackage) Credential() Credential { return credentialFromWire(&k.kp.LeafNode.Credential) }

// SignatureKey returns the signature public key of the key package's leaf.
func (k *KeyPackage) SignatureKey() []byte { return clone(k.kp.LeafNode.SignatureKey) }

// Ref returns the KeyPackageRef (§5.2), by which a Welcome addresses it.
func (k *KeyPackage) Ref() ([]byte, error) { return k.kp.Ref(k.s) }

// LastResort reports whether the key package carries the last_resort
// extension.
func (k *KeyPackage) LastResort() bool {
	_, ok := k.kp.Extensions.Find(wire.ExtensionType(ExtensionLastResort))
	return ok
}

// Lifetime returns the validity period of the key package's leaf.
func (k *KeyPackage) Lifetime() (notBefore, notAfter time.Time) {
	l := k.kp.LeafNode.Lifetime
	if l == nil {
		return time.Time{}, time.Time{}
	}
	return unixTime(l.NotBefore), unixTime(l.NotAfter)
}

func unixTime(s uint64) time.Time {
	if s > 1<<62 {
		s = 1 << 62
	}
	return time.Unix(int64(s), 0)
}

// keyPackagePrivate is the decoded private part of a key package.
type keyPackagePrivate struct {
	kp       *KeyPackage
	initPriv []byte
	encPriv  []byte
}

func parseKeyPackagePrivate(data []byte) (*keyPackagePrivate, error) {
	r := codec.NewReader(data)
	raw := r.Opaque()
	initPriv := r.Opaque()
	encPriv := r.Opaque()
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: key package private part: %w", ErrMalformed, err)
	}
	kp, err := ParseKeyPackage(raw)
	if err != nil {
		return nil, err
	}
	if pub, err := kp.s.HPKEPublicKey(initPriv); err != nil || string(pub) != string(kp.kp.InitKey) {
		return nil, fmt.Errorf("%w: init private key does not match the key package", ErrInvalidKeyPackage)
	}
	if pub, err := kp.s.HPKEPublicKey(encPriv); err != nil || string(pub) != string(kp.kp.LeafNode.EncryptionKey) {
		return nil, fmt.Errorf("%w: encryption private key does not match the key package", ErrInvalidKeyPackage)
	}
	return &keyPackagePrivate{kp: kp, initPriv: initPriv, encPriv: encPriv}, nil
}
