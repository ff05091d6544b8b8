package mls

import (
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// key-schedule.json: epoch key schedule (RFC 9420 §8).
func runKeySchedule(t *testing.T, data []byte) vectorCounts {
	type epoch struct {
		TreeHash                hexBytes `json:"tree_hash"`
		CommitSecret            hexBytes `json:"commit_secret"`
		PSKSecret               hexBytes `json:"psk_secret"`
		ConfirmedTranscriptHash hexBytes `json:"confirmed_transcript_hash"`
		GroupContext            hexBytes `json:"group_context"`
		JoinerSecret            hexBytes `json:"joiner_secret"`
		WelcomeSecret           hexBytes `json:"welcome_secret"`
		InitSecret              hexBytes `json:"init_secret"`
		SenderDataSecret        hexBytes `json:"sender_data_secret"`
		EncryptionSecret        hexBytes `json:"encryption_secret"`
		ExporterSecret          hexBytes `json:"exporter_secret"`
		EpochAuthenticator      hexBytes `json:"epoch_authenticator"`
		ExternalSecret          hexBytes `json:"external_secret"`
		ConfirmationKey         hexBytes `json:"confirmation_key"`
		MembershipKey           hexBytes `json:"membership_key"`
		ResumptionPSK           hexBytes `json:"resumption_psk"`
		ExternalPub             hexBytes `json:"external_pub"`
		Exporter                struct {
			Label   string   `json:"label"` // used verbatim as ASCII (README gotcha 2)
			Context hexBytes `json:"context"`
			Length  int      `json:"length"`
			Secret  hexBytes `json:"secret"`
		} `json:"exporter"`
	}
	type tc struct {
		CipherSuite       uint16   `json:"cipher_suite"`
		GroupID           hexBytes `json:"group_id"`
		InitialInitSecret hexBytes `json:"initial_init_secret"`
		Epochs            []epoch  `json:"epochs"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		initSecret := c.InitialInitSecret
		var errs []error
		for i, ep := range c.Epochs {
			gc := wire.GroupContext{
				Version: wire.MLS10, CipherSuite: wire.CipherSuite(c.CipherSuite), GroupID: c.GroupID,
				Epoch: uint64(i), TreeHash: ep.TreeHash, ConfirmedTranscriptHash: ep.ConfirmedTranscriptHash,
				Extensions: wire.Extensions{},
			}
			gcBytes, err := wire.Marshal(&gc)
			if err != nil {
				return err
			}
			if err := eq("group_context", gcBytes, ep.GroupContext); err != nil {
				errs = append(errs, fmt.Errorf("epoch %d: %w", i, err))
			}
			e, err := keyschedule.Derive(s, initSecret, ep.CommitSecret, ep.PSKSecret, ep.GroupContext)
			if err != nil {
				return fmt.Errorf("epoch %d: %w", i, err)
			}
			for _, cmp := range []struct {
				name      string
				got, want []byte
			}{
				{"joiner_secret", e.JoinerSecret, ep.JoinerSecret},
				{"welcome_secret", e.WelcomeSecret, ep.WelcomeSecret},
				{"init_secret", e.InitSecret, ep.InitSecret},
				{"sender_data_secret", e.SenderDataSecret, ep.SenderDataSecret},
				{"encryption_secret", e.EncryptionSecret, ep.EncryptionSecret},
				{"exporter_secret", e.ExporterSecret, ep.ExporterSecret},
				{"epoch_authenticator", e.EpochAuthenticator, ep.EpochAuthenticator},
				{"external_secret", e.ExternalSecret, ep.ExternalSecret},
				{"confirmation_key", e.ConfirmationKey, ep.ConfirmationKey},
				{"membership_key", e.MembershipKey, ep.MembershipKey},
				{"resumption_psk", e.ResumptionPSK, ep.ResumptionPSK},
			} {
				if err := eq(cmp.name, cmp.got, cmp.want); err != nil {
					errs = append(errs, fmt.Errorf("epoch %d: %w", i, err))
				}
			}
			_, pub, err := keyschedule.ExternalKeyPair(s, e.ExternalSecret)
			if err == nil {
				err = eq("external_pub", pub, ep.ExternalPub)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("epoch %d: %w", i, err))
			}
			x := ep.Exporter
			out, err := keyschedule.Export(s, e.ExporterSecret, x.Label, x.Context, x.Length)
			if err == nil {
				err = eq("exporter", out, x.Secret)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("epoch %d: %w", i, err))
			}
			initSecret = e.InitSecret
		}
		return errors.Join(errs...)
	})
}

// psk_secret.json: PSK chaining (§8.4).
func runPSKSecret(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite uint16 `json:"cipher_suite"`
		PSKs        []struct {
			PSKID    hexBytes `json:"psk_id"`
			PSK      hexBytes `json:"psk"`
			PSKNonce hexBytes `json:"psk_nonce"`
		} `json:"psks"`
		PSKSecret hexBytes `json:"psk_secret"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		var psks []keyschedule.PSK
		for _, p := range c.PSKs {
			psks = append(psks, keyschedule.PSK{
				ID:  &wire.PreSharedKeyID{Type: wire.PSKTypeExternal, PSKID: p.PSKID, PSKNonce: p.PSKNonce},
				PSK: p.PSK,
			})
		}
		got, err := keyschedule.PSKSecret(s, psks)
		if err != nil {
			return err
		}
		return eq("psk_secret", got, c.PSKSecret)
	})
}

// transcript-hashes.json: transcript hashes and confirmation tag (§8.2).
func runTranscriptHashes(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite                  uint16   `json:"cipher_suite"`
		ConfirmationKey              hexBytes `json:"confirmation_key"`
		AuthenticatedContent         hexBytes `json:"authenticated_content"`
		InterimTranscriptHashBefore  hexBytes `json:"interim_transcript_hash_before"`
		ConfirmedTranscriptHashAfter hexBytes `json:"confirmed_transcript_hash_after"`
		InterimTranscriptHashAfter   hexBytes `json:"interim_transcript_hash_after"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		var ac wire.AuthenticatedContent
		if err := wire.Unmarshal(c.AuthenticatedContent, &ac); err != nil {
			return err
		}
		return checkCommitTranscript(s, c.InterimTranscriptHashBefore, &ac, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, c.InterimTranscriptHashAfter)
	})
}

// checkCommitTranscript checks the transcript hashes of a commit (§8.2):
// the confirmed hash after it, its confirmation tag and the interim hash.
func checkCommitTranscript(s *suite.Suite, interimBefore []byte, ac *wire.AuthenticatedContent, confirmationKey, wantConfirmed, wantInterim []byte) error {
	confirmed, err := keyschedule.ConfirmedTranscriptHash(s, interimBefore, ac.WireFormat, &ac.Content, ac.Auth.Signature)
	if err != nil {
		return err
	}
	if err := eq("confirmed_transcript_hash_after", confirmed, wantConfirmed); err != nil {
		return err
	}
	if !keyschedule.VerifyConfirmationTag(s, confirmationKey, confirmed, ac.Auth.ConfirmationTag) {
		return errors.New("confirmation_tag does not verify")
	}
	interim, err := keyschedule.InterimTranscriptHash(s, confirmed, ac.Auth.ConfirmationTag)
	if err != nil {
		return err
	}
	return eq("interim_transcript_hash_after", interim, wantInterim)
}
