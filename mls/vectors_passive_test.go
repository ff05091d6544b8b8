package mls

import (
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// passiveClientCase is one case of the passive-client-*.json files: a
// client joins from a Welcome and follows the group's commits.
type passiveClientCase struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID hexBytes `json:"psk_id"`
		PSK   hexBytes `json:"psk"`
	} `json:"external_psks"`
	KeyPackage                hexBytes `json:"key_package"`
	SignaturePriv             hexBytes `json:"signature_priv"`
	EncryptionPriv            hexBytes `json:"encryption_priv"`
	InitPriv                  hexBytes `json:"init_priv"`
	Welcome                   hexBytes `json:"welcome"`
	RatchetTree               hexBytes `json:"ratchet_tree"`
	InitialEpochAuthenticator hexBytes `json:"initial_epoch_authenticator"`
	Epochs                    []struct {
		Proposals          []hexBytes `json:"proposals"`
		Commit             hexBytes   `json:"commit"`
		EpochAuthenticator hexBytes   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

// passiveJoin joins the group of a passive-client case.
func passiveJoin(c *passiveClientCase) (*Group, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(c.KeyPackage, &m); err != nil || m.KeyPackage == nil {
		return nil, fmt.Errorf("key package: %v", err)
	}
	id, err := NewIdentityFromKey(CipherSuite(c.CipherSuite), credentialFromWire(&m.KeyPackage.LeafNode.Credential), c.SignaturePriv)
	if err != nil {
		return nil, err
	}
	if string(id.SignaturePublicKey()) != string(m.KeyPackage.LeafNode.SignatureKey) {
		return nil, fmt.Errorf("signature_priv does not match the key package")
	}
	var w codec.Writer
	w.Opaque(c.KeyPackage)
	w.Opaque(c.InitPriv)
	w.Opaque(c.EncryptionPriv)
	priv, err := w.Bytes()
	if err != nil {
		return nil, err
	}
	psks := make(map[string][]byte)
	for _, p := range c.ExternalPSKs {
		psks[string(p.PSKID)] = p.PSK
	}
	// The runner follows the group as the vector's members configured it:
	// they accept any credential and external commits (the product's
	// default refuses external joins; Config.AllowExternalJoin).
	cfg := &Config{
		ValidateCredential: func(Credential, []byte) error { return nil },
		AllowExternalJoin:  func(Credential, []byte) error { return nil },
		ExternalPSKs:       func(id []byte) ([]byte, bool) { p, ok := psks[string(id)]; return p, ok },
	}
	return Join(id, priv, c.Welcome, cfg, &JoinOptions{RatchetTree: c.RatchetTree})
}

// passive-client-welcome.json, passive-client-handling-commit.json and
// passive-client-random.json: join, then apply every epoch's proposals and
// commit, checking the epoch authenticator after each step.
func runPassiveClient(t *testing.T, data []byte) vectorCounts {
	return runCases(t, data, func(c *passiveClientCase) uint16 { return c.CipherSuite }, func(t *testing.T, c *passiveClientCase) error {
		g, err := passiveJoin(c)
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
		if err := eq("initial epoch_authenticator", g.EpochAuthenticator(), c.InitialEpochAuthenticator); err != nil {
			return err
		}
		for i, ep := range c.Epochs {
			for j, p := range ep.Proposals {
				if _, err := g.Process(p); err != nil {
					return fmt.Errorf("epoch %d: proposal %d: %w", i, j, err)
				}
			}
			r, err := g.Process(ep.Commit)
			if err != nil {
				return fmt.Errorf("epoch %d: commit: %w", i, err)
			}
			if r.Kind != KindCommit {
				return fmt.Errorf("epoch %d: commit processed as kind %d", i, r.Kind)
			}
			if err := eq(fmt.Sprintf("epoch %d: epoch_authenticator", i), g.EpochAuthenticator(), ep.EpochAuthenticator); err != nil {
				return err
			}
			// The state survives serialization at every step.
			if i%16 == 0 {
				b, err := g.MarshalBinary()
				if err != nil {
					return fmt.Errorf("epoch %d: marshal: %w", i, err)
				}
				if g, err = UnmarshalGroup(b, &g.cfg); err != nil {
					return fmt.Errorf("epoch %d: unmarshal: %w", i, err)
				}
			}
		}
		return nil
	})
}
