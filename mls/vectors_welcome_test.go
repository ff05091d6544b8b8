package mls

import (
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/welcome"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// welcome.json: Welcome processing (§12.4.3.1).
func runWelcome(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite uint16   `json:"cipher_suite"`
		InitPriv    hexBytes `json:"init_priv"`
		KeyPackage  hexBytes `json:"key_package"`
		SignerPub   hexBytes `json:"signer_pub"`
		Welcome     hexBytes `json:"welcome"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		var kpMsg, wMsg wire.MLSMessage
		if err := wire.Unmarshal(c.KeyPackage, &kpMsg); err != nil {
			return err
		}
		if err := wire.Unmarshal(c.Welcome, &wMsg); err != nil {
			return err
		}
		if kpMsg.KeyPackage == nil || wMsg.Welcome == nil {
			return errors.New("vector messages are not a KeyPackage and a Welcome")
		}
		if err := kpMsg.KeyPackage.VerifySignature(s); err != nil {
			return err
		}
		signer := func(*wire.GroupInfo) ([]byte, error) { return c.SignerPub, nil }
		j, err := welcome.Join(s, wMsg.Welcome, kpMsg.KeyPackage, c.InitPriv, nil, signer)
		if err != nil {
			return err
		}
		if len(j.GroupSecrets.PSKs) != 0 {
			return fmt.Errorf("vector unexpectedly uses %d PSKs", len(j.GroupSecrets.PSKs))
		}
		// A wrong signer key must be rejected.
		other, _, _ := s.GenerateSigningKey()
		if _, err := welcome.Join(s, wMsg.Welcome, kpMsg.KeyPackage, c.InitPriv, nil,
			func(*wire.GroupInfo) ([]byte, error) { return other.Public(), nil }); !errors.Is(err, suite.ErrInvalidSignature) {
			return fmt.Errorf("GroupInfo with a wrong signer key: got %v", err)
		}
		return nil
	})
}
