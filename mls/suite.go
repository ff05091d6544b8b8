package mls

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/suite"
)

// CipherSuite is an MLS cipher suite code point (RFC 9420 §5.1, §17.1).
type CipherSuite uint16

// The cipher suites of RFC 9420 that this package implements.
const (
	X25519_AES128GCM_SHA256_Ed25519        CipherSuite = 0x0001
	P256_AES128GCM_SHA256_P256             CipherSuite = 0x0002
	X25519_CHACHA20POLY1305_SHA256_Ed25519 CipherSuite = 0x0003
	P521_AES256GCM_SHA512_P521             CipherSuite = 0x0005
	P384_AES256GCM_SHA384_P384             CipherSuite = 0x0007
)

// The post-quantum hybrid cipher suites this package implements: the KEM is
// X-Wing (ML-KEM-768 + X25519, HPKE KEM 0x647a), the signatures Ed25519.
// None of their code points is registered with IANA yet (see the package
// documentation, "Cipher suites"):
//
//   - XWING_AES256GCM_SHA512_Ed25519 (0x0053) and
//     XWING_CHACHA20POLY1305_SHA512_Ed25519 (0x0054) are the code points
//     ts-mls uses, with X-Wing's own DeriveKeyPair;
//   - MLKEM768X25519_AES128GCM_SHA256_Ed25519 (0xF001) and
//     MLKEM768X25519_AES256GCM_SHA384_Ed25519 (0xF002) are the suites of
//     draft-ietf-mls-pq-ciphersuites (TBD1, TBD2) on private-use code
//     points, with draft-ietf-hpke-pq's DeriveKeyPair.
const (
	XWING_AES256GCM_SHA512_Ed25519          CipherSuite = 0x0053
	XWING_CHACHA20POLY1305_SHA512_Ed25519   CipherSuite = 0x0054
	MLKEM768X25519_AES128GCM_SHA256_Ed25519 CipherSuite = 0xF001
	MLKEM768X25519_AES256GCM_SHA384_Ed25519 CipherSuite = 0xF002
)

// DefaultCipherSuite is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, the
// suite every MLS implementation must support (§17.1).
const DefaultCipherSuite = X25519_AES128GCM_SHA256_Ed25519

// DefaultPostQuantumCipherSuite is the post-quantum suite recommended for
// new groups: X-Wing with AES-256-GCM and SHA-512 (0x0053), the one proven
// against an independent implementation (ts-mls).
const DefaultPostQuantumCipherSuite = XWING_AES256GCM_SHA512_Ed25519

// CipherSuites lists the suites this package implements, in code point
// order.
func CipherSuites() []CipherSuite {
	return []CipherSuite{
		X25519_AES128GCM_SHA256_Ed25519, P256_AES128GCM_SHA256_P256, X25519_CHACHA20POLY1305_SHA256_Ed25519,
		P521_AES256GCM_SHA512_P521, P384_AES256GCM_SHA384_P384,
		XWING_AES256GCM_SHA512_Ed25519, XWING_CHACHA20POLY1305_SHA512_Ed25519,
		MLKEM768X25519_AES128GCM_SHA256_Ed25519, MLKEM768X25519_AES256GCM_SHA384_Ed25519,
	}
}

// Supported reports whether this package implements the suite.
func (cs CipherSuite) Supported() bool { return suite.Supported(uint16(cs)) }

// PostQuantum reports whether the suite's key exchange resists an adversary
// with a quantum computer, so that messages recorded today stay
// confidential if one is built later. Signatures are not post-quantum in any
// suite here.
func (cs CipherSuite) PostQuantum() bool {
	s, err := suite.Lookup(uint16(cs))
	return err == nil && s.PostQuantum()
}

// String returns the suite's name.
func (cs CipherSuite) String() string {
	s, err := suite.Lookup(uint16(cs))
	if err != nil {
		return fmt.Sprintf("CipherSuite(0x%04x)", uint16(cs))
	}
	return s.String()
}

func lookupSuite(cs CipherSuite) (*suite.Suite, error) {
	s, err := suite.Lookup(uint16(cs))
	if err != nil {
		return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupportedSuite, uint16(cs))
	}
	return s, nil
}
