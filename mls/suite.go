package mls

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/suite"
)

// CipherSuite is an MLS cipher suite code point (RFC 9420 §5.1, §17.1).
type CipherSuite uint16

// The cipher suites this package implements.
const (
	X25519_AES128GCM_SHA256_Ed25519        CipherSuite = 0x0001
	P256_AES128GCM_SHA256_P256             CipherSuite = 0x0002
	X25519_CHACHA20POLY1305_SHA256_Ed25519 CipherSuite = 0x0003
	P521_AES256GCM_SHA512_P521             CipherSuite = 0x0005
	P384_AES256GCM_SHA384_P384             CipherSuite = 0x0007
)

// DefaultCipherSuite is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, the
// suite every MLS implementation must support (§17.1).
const DefaultCipherSuite = X25519_AES128GCM_SHA256_Ed25519

// Supported reports whether this package implements the suite.
func (cs CipherSuite) Supported() bool { return suite.Supported(uint16(cs)) }

// String returns the suite's registered name.
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
