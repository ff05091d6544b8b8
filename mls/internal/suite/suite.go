// Package suite implements the MLS cipher suites (RFC 9420 §5.1) and the
// labelled cryptographic operations built on them (RFC 9420 §5.1.2-§5.2,
// §8 "DeriveSecret").
//
// # Supported suites
//
//	0x0001 MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
//	0x0002 MLS_128_DHKEMP256_AES128GCM_SHA256_P256
//	0x0003 MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
//	0x0005 MLS_256_DHKEMP521_AES256GCM_SHA512_P521
//	0x0007 MLS_256_DHKEMP384_AES256GCM_SHA384_P384
//
// Post-quantum hybrid suites (confidentiality against a quantum adversary;
// signatures stay Ed25519). Their KEM is ML-KEM-768 + X25519, "X-Wing",
// HPKE KEM 0x647a, from crypto/hpke (hpke.MLKEM768X25519):
//
//	0x0053 MLS_256_XWING_AES256GCM_SHA512_Ed25519            (ts-mls)
//	0x0054 MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519     (ts-mls)
//	0xF001 MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519   (draft TBD1)
//	0xF002 MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519   (draft TBD2)
//
// draft-ietf-mls-pq-ciphersuites (revision -06) defines the last two with
// code points still "TBD"; this package puts them in the private-use range of
// RFC 9420 §17.1 (0xF000-0xFFFF), on the placeholders Wire's core-crypto (on
// OpenMLS) uses. The first two are the code points ts-mls (1.6.4) uses; they are not registered
// with IANA. The two families differ in one more point than the numbers:
// how an HPKE key pair is derived from a secret (DeriveKeyPair, used for
// every node key of an UpdatePath and for the external init key). The draft
// suites use draft-ietf-hpke-pq, as crypto/hpke implements it:
//
//	seed = SHAKE256(ikm || "HPKE-v1" || "KEM" || 0x647a || 0x000d || "DeriveKeyPair" || 0x0020, 32)
//
// The ts-mls suites use X-Wing's own HPKE integration
// (draft-connolly-cfrg-xwing-kem, as @hpke/hybridkem-x-wing 0.7.0 does):
//
//	seed = SHAKE256(ikm, 32)
//
// In both, the seed is the X-Wing private key (32 bytes), expanded by
// hpke.MLKEM768X25519().NewPrivateKey; public keys are 1216 bytes and KEM
// outputs 1120 bytes.
//
// Suites 0x0004 and 0x0006 need X448 and Ed448, which the Go standard library
// does not provide; [Lookup] returns [ErrUnsupported] for them and for every
// other value.
//
// Every primitive comes from the Go standard library: crypto/hpke (RFC 9180,
// Base mode) for the KEM and HPKE, crypto/hkdf and crypto/hmac for the KDF and
// MAC, crypto/aes with crypto/cipher GCM and golang.org/x/crypto's
// chacha20poly1305 for the AEAD, crypto/ed25519 and crypto/ecdsa (ASN.1 DER
// signatures, RFC 9420 §5.1.1) for signatures.
//
// The KEM is held as an hpke.KEM, so another post-quantum suite (for example
// one on hpke.MLKEM1024P384) is one more entry in the suite table.
//
// # Key formats
//
// Keys cross this package's API as bytes, in the encodings MLS puts on the
// wire (RFC 9420 §5.1.1): HPKE public keys as SerializePublicKey, HPKE private
// keys as SerializePrivateKey (RFC 9180 §7.1), Ed25519 public keys as 32
// bytes and private keys as the 32-byte seed, ECDSA public keys as
// uncompressed points and private keys as fixed-length big-endian scalars.
//
// # Labels
//
// ExpandWithLabel, SignWithLabel/VerifyWithLabel and EncryptWithLabel/
// DecryptWithLabel prepend "MLS 1.0 " to the label they are given (§5.1.2,
// §5.1.3, §5.2). RefHash uses its label verbatim (§5.2); callers pass for
// example "MLS 1.0 KeyPackage Reference".
package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// ID is a cipher suite code point (RFC 9420 §17.1).
type ID uint16

// Cipher suite code points registered by RFC 9420 §17.1.
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        ID = 0x0001
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             ID = 0x0002
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 ID = 0x0003
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            ID = 0x0004
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             ID = 0x0005
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     ID = 0x0006
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             ID = 0x0007
)

// Post-quantum hybrid suites (X-Wing, ML-KEM-768 + X25519, with Ed25519
// signatures). See the package documentation for where each code point
// comes from.
const (
	// MLS_256_XWING_AES256GCM_SHA512_Ed25519 is ts-mls's code point.
	MLS_256_XWING_AES256GCM_SHA512_Ed25519 ID = 0x0053
	// MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519 is ts-mls's code point.
	MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519 ID = 0x0054
	// MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 is
	// draft-ietf-mls-pq-ciphersuites' TBD1, on a private-use code point.
	MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 ID = 0xF001
	// MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 is
	// draft-ietf-mls-pq-ciphersuites' TBD2, on a private-use code point.
	MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 ID = 0xF002
)

// ErrUnsupported is returned by [Lookup] for a cipher suite this package does
// not implement.
var ErrUnsupported = errors.New("suite: unsupported cipher suite")

// ErrInvalidSignature is returned by VerifyWithLabel. It deliberately carries
// no detail.
var ErrInvalidSignature = errors.New("suite: invalid signature")

// ErrDecrypt is returned when an AEAD or HPKE ciphertext does not
// authenticate. It deliberately carries no detail.
var ErrDecrypt = errors.New("suite: decryption failed")

const labelPrefix = "MLS 1.0 "

type sigScheme int

const (
	sigEd25519 sigScheme = iota + 1
	sigECDSA
)

// Suite is one MLS cipher suite. Suites are immutable and safe for
// concurrent use; obtain one with [Lookup].
type Suite struct {
	id       ID
	name     string
	newHash  func() hash.Hash
	kem      hpke.KEM
	kdf      hpke.KDF
	hpkeAEAD hpke.AEAD
	newAEAD  func(key []byte) (cipher.AEAD, error)
	nk, nn   int
	sig      sigScheme
	curve    elliptic.Curve // for sigECDSA
	// hpkeScalarLen is the private key size of a NIST-curve DHKEM (0 for
	// X25519), used to restore leading zero bytes some encoders strip.
	hpkeScalarLen int
	nh            int
	// deriveKeyPair overrides kem.DeriveKeyPair (nil: use the KEM's).
	deriveKeyPair func(kem hpke.KEM, ikm []byte) (hpke.PrivateKey, error)
	// pq reports a KEM that resists a quantum adversary.
	pq bool
}

// xwingDeriveKeyPair is DeriveKeyPair of X-Wing's own HPKE integration
// (draft-connolly-cfrg-xwing-kem, "Use in HPKE"), which ts-mls uses: the
// private key is SHAKE256(ikm, 32), expanded by the KEM as any X-Wing
// private key. crypto/hpke's DeriveKeyPair instead follows
// draft-ietf-hpke-pq, which labels the derivation.
func xwingDeriveKeyPair(kem hpke.KEM, ikm []byte) (hpke.PrivateKey, error) {
	seed := sha3.SumSHAKE256(ikm, 32)
	return kem.NewPrivateKey(seed)
}

// padScalar left-pads a big-endian scalar that lost leading zero bytes to n
// bytes. Longer or already full-size inputs are returned unchanged (and
// rejected later by the parser if wrong).
func padScalar(b []byte, n int) []byte {
	if n == 0 || len(b) >= n || len(b) == 0 {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

var suites = map[ID]*Suite{
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: {
		id: 0x0001, name: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		newHash: sha256.New, kem: hpke.DHKEM(ecdh.X25519()), kdf: hpke.HKDFSHA256(),
		hpkeAEAD: hpke.AES128GCM(), newAEAD: newGCM, nk: 16, nn: 12, sig: sigEd25519,
	},
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256: {
		id: 0x0002, name: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		newHash: sha256.New, kem: hpke.DHKEM(ecdh.P256()), kdf: hpke.HKDFSHA256(),
		hpkeAEAD: hpke.AES128GCM(), newAEAD: newGCM, nk: 16, nn: 12, sig: sigECDSA, curve: elliptic.P256(), hpkeScalarLen: 32,
	},
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519: {
		id: 0x0003, name: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		newHash: sha256.New, kem: hpke.DHKEM(ecdh.X25519()), kdf: hpke.HKDFSHA256(),
		hpkeAEAD: hpke.ChaCha20Poly1305(), newAEAD: chacha20poly1305.New, nk: 32, nn: 12, sig: sigEd25519,
	},
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521: {
		id: 0x0005, name: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		newHash: sha512.New, kem: hpke.DHKEM(ecdh.P521()), kdf: hpke.HKDFSHA512(),
		hpkeAEAD: hpke.AES256GCM(), newAEAD: newGCM, nk: 32, nn: 12, sig: sigECDSA, curve: elliptic.P521(), hpkeScalarLen: 66,
	},
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384: {
		id: 0x0007, name: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
		newHash: sha512.New384, kem: hpke.DHKEM(ecdh.P384()), kdf: hpke.HKDFSHA384(),
		hpkeAEAD: hpke.AES256GCM(), newAEAD: newGCM, nk: 32, nn: 12, sig: sigECDSA, curve: elliptic.P384(), hpkeScalarLen: 48,
	},
	MLS_256_XWING_AES256GCM_SHA512_Ed25519: {
		id: 0x0053, name: "MLS_256_XWING_AES256GCM_SHA512_Ed25519",
		newHash: sha512.New, kem: hpke.MLKEM768X25519(), kdf: hpke.HKDFSHA512(),
		hpkeAEAD: hpke.AES256GCM(), newAEAD: newGCM, nk: 32, nn: 12, sig: sigEd25519,
		deriveKeyPair: xwingDeriveKeyPair, pq: true,
	},
	MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519: {
		id: 0x0054, name: "MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519",
		newHash: sha512.New, kem: hpke.MLKEM768X25519(), kdf: hpke.HKDFSHA512(),
		hpkeAEAD: hpke.ChaCha20Poly1305(), newAEAD: chacha20poly1305.New, nk: 32, nn: 12, sig: sigEd25519,
		deriveKeyPair: xwingDeriveKeyPair, pq: true,
	},
	MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519: {
		id: 0xF001, name: "MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519",
		newHash: sha256.New, kem: hpke.MLKEM768X25519(), kdf: hpke.HKDFSHA256(),
		hpkeAEAD: hpke.AES128GCM(), newAEAD: newGCM, nk: 16, nn: 12, sig: sigEd25519, pq: true,
	},
	MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519: {
		id: 0xF002, name: "MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519",
		newHash: sha512.New384, kem: hpke.MLKEM768X25519(), kdf: hpke.HKDFSHA384(),
		hpkeAEAD: hpke.AES256GCM(), newAEAD: newGCM, nk: 32, nn: 12, sig: sigEd25519, pq: true,
	},
}

func init() {
	for _, s := range suites {
		s.nh = s.newHash().Size()
	}
}

// Lookup returns the suite with code point id, or an error wrapping
// [ErrUnsupported].
func Lookup(id uint16) (*Suite, error) {
	s, ok := suites[ID(id)]
	if !ok {
		return nil, fmt.Errorf("%w 0x%04x", ErrUnsupported, id)
	}
	return s, nil
}

// Supported reports whether Lookup(id) succeeds.
func Supported(id uint16) bool { _, ok := suites[ID(id)]; return ok }

// PostQuantum reports whether the suite's KEM resists an adversary with a
// quantum computer (a hybrid of ML-KEM and X25519). Its signatures do not:
// every suite here signs with Ed25519 or ECDSA.
func (s *Suite) PostQuantum() bool { return s.pq }

// ID returns the suite's code point.
func (s *Suite) ID() ID { return s.id }

// String returns the suite's registered name.
func (s *Suite) String() string { return s.name }

// Nh is the output size of the suite's hash (and KDF.Nh).
func (s *Suite) Nh() int { return s.nh }

// Nk is the AEAD key size.
func (s *Suite) Nk() int { return s.nk }

// Nn is the AEAD nonce size.
func (s *Suite) Nn() int { return s.nn }

// Nt is the AEAD tag size: how much longer a ciphertext is than its
// plaintext.
func (s *Suite) Nt() int {
	a, err := s.newAEAD(make([]byte, s.nk))
	if err != nil {
		panic("mls: internal error: AEAD of the suite's key size: " + err.Error())
	}
	return a.Overhead()
}

// Hash returns Hash(data).
func (s *Suite) Hash(data []byte) []byte {
	h := s.newHash()
	h.Write(data)
	return h.Sum(nil)
}

// MAC returns HMAC(key, data) with the suite's hash (RFC 9420 §5.1).
func (s *Suite) MAC(key, data []byte) []byte {
	m := hmac.New(s.newHash, key)
	m.Write(data)
	return m.Sum(nil)
}

// VerifyMAC reports, in constant time, whether tag equals MAC(key, data).
func (s *Suite) VerifyMAC(key, data, tag []byte) bool {
	return hmac.Equal(s.MAC(key, data), tag)
}

// Extract is KDF.Extract(salt, ikm) (HKDF-Extract, RFC 5869).
func (s *Suite) Extract(salt, ikm []byte) ([]byte, error) {
	prk, err := hkdf.Extract(s.newHash, ikm, salt)
	if err != nil {
		return nil, fmt.Errorf("failed to extract: %w", err)
	}
	return prk, nil
}

// Expand is KDF.Expand(prk, info, length) (HKDF-Expand, RFC 5869).
func (s *Suite) Expand(prk, info []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*s.Nh() {
		return nil, fmt.Errorf("suite: expand length %d out of range", length)
	}
	out, err := hkdf.Expand(s.newHash, prk, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("failed to expand: %w", err)
	}
	return out, nil
}

// ExpandWithLabel is RFC 9420 §5.1.2:
//
//	KDF.Expand(secret, KDFLabel{length, "MLS 1.0 " + label, context}, length)
func (s *Suite) ExpandWithLabel(secret []byte, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 0xffff {
		return nil, fmt.Errorf("suite: ExpandWithLabel length %d out of range", length)
	}
	var w codec.Writer
	w.Uint16(uint16(length))
	w.Opaque([]byte(labelPrefix + label))
	w.Opaque(context)
	info, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("failed to encode KDFLabel: %w", err)
	}
	return s.Expand(secret, info, length)
}

// DeriveSecret is ExpandWithLabel(secret, label, "", Nh) (RFC 9420 §5.1.2).
func (s *Suite) DeriveSecret(secret []byte, label string) ([]byte, error) {
	return s.ExpandWithLabel(secret, label, nil, s.Nh())
}

// DeriveTreeSecret is ExpandWithLabel(secret, label, uint32 generation,
// length) (RFC 9420 §9).
func (s *Suite) DeriveTreeSecret(secret []byte, label string, generation uint32, length int) ([]byte, error) {
	return s.ExpandWithLabel(secret, label, binary.BigEndian.AppendUint32(nil, generation), length)
}

// RefHash is Hash(RefHashInput{label, value}) (RFC 9420 §5.2). The label is
// used verbatim.
func (s *Suite) RefHash(label string, value []byte) ([]byte, error) {
	var w codec.Writer
	w.Opaque([]byte(label))
	w.Opaque(value)
	in, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("failed to encode RefHashInput: %w", err)
	}
	return s.Hash(in), nil
}

// AEAD returns a cipher.AEAD for key, which must be Nk bytes.
func (s *Suite) AEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != s.nk {
		return nil, fmt.Errorf("suite: AEAD key is %d bytes, want %d", len(key), s.nk)
	}
	a, err := s.newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("failed to create AEAD: %w", err)
	}
	return a, nil
}

// Seal is AEAD.Seal(key, nonce, aad, plaintext).
func (s *Suite) Seal(key, nonce, aad, plaintext []byte) ([]byte, error) {
	a, err := s.AEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, fmt.Errorf("suite: AEAD nonce is %d bytes, want %d", len(nonce), a.NonceSize())
	}
	return a.Seal(nil, nonce, plaintext, aad), nil
}

// Open is AEAD.Open(key, nonce, aad, ciphertext). A ciphertext that does not
// authenticate gives [ErrDecrypt].
func (s *Suite) Open(key, nonce, aad, ciphertext []byte) ([]byte, error) {
	a, err := s.AEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, fmt.Errorf("suite: AEAD nonce is %d bytes, want %d", len(nonce), a.NonceSize())
	}
	pt, err := a.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
