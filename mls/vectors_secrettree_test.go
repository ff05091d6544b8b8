package mls

import (
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
)

// secret-tree.json: sender-data keys and secret-tree ratchets (§6.3.2, §9).
func runSecretTree(t *testing.T, data []byte) vectorCounts {
	type gen struct {
		Generation       uint32   `json:"generation"`
		HandshakeKey     hexBytes `json:"handshake_key"`
		HandshakeNonce   hexBytes `json:"handshake_nonce"`
		ApplicationKey   hexBytes `json:"application_key"`
		ApplicationNonce hexBytes `json:"application_nonce"`
	}
	type tc struct {
		CipherSuite uint16 `json:"cipher_suite"`
		SenderData  struct {
			SenderDataSecret hexBytes `json:"sender_data_secret"`
			Ciphertext       hexBytes `json:"ciphertext"`
			Key              hexBytes `json:"key"`
			Nonce            hexBytes `json:"nonce"`
		} `json:"sender_data"`
		EncryptionSecret hexBytes `json:"encryption_secret"`
		Leaves           [][]gen  `json:"leaves"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		var errs []error
		sd := c.SenderData
		key, nonce, err := secrettree.SenderDataKeyNonce(s, sd.SenderDataSecret, sd.Ciphertext)
		if err != nil {
			return err
		}
		errs = append(errs, eq("sender_data.key", key, sd.Key), eq("sender_data.nonce", nonce, sd.Nonce))

		tree, err := secrettree.New(s, c.EncryptionSecret, uint32(len(c.Leaves)))
		if err != nil {
			return err
		}
		for i, gens := range c.Leaves {
			l := treemath.LeafIndex(i)
			for _, g := range gens {
				for _, r := range []struct {
					typ        secrettree.RatchetType
					key, nonce []byte
				}{
					{secrettree.Handshake, g.HandshakeKey, g.HandshakeNonce},
					{secrettree.Application, g.ApplicationKey, g.ApplicationNonce},
				} {
					kn, err := tree.Get(l, r.typ, g.Generation)
					if err != nil {
						errs = append(errs, fmt.Errorf("leaf %d %s generation %d: %w", i, r.typ, g.Generation, err))
						continue
					}
					errs = append(errs,
						eq(fmt.Sprintf("leaf %d %s key %d", i, r.typ, g.Generation), kn.Key, r.key),
						eq(fmt.Sprintf("leaf %d %s nonce %d", i, r.typ, g.Generation), kn.Nonce, r.nonce))
					// The key is deleted once used.
					if _, err := tree.Get(l, r.typ, g.Generation); !errors.Is(err, secrettree.ErrGenerationUsed) {
						errs = append(errs, fmt.Errorf("leaf %d %s generation %d reused: got %v", i, r.typ, g.Generation, err))
					}
				}
			}
		}
		return errors.Join(errs...)
	})
}
