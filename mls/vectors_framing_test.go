package mls

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/framing"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// message-protection.json: PublicMessage and PrivateMessage framing (§6).
func runMessageProtection(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite             uint16   `json:"cipher_suite"`
		GroupID                 hexBytes `json:"group_id"`
		Epoch                   uint64   `json:"epoch"`
		TreeHash                hexBytes `json:"tree_hash"`
		ConfirmedTranscriptHash hexBytes `json:"confirmed_transcript_hash"`
		SignaturePriv           hexBytes `json:"signature_priv"`
		SignaturePub            hexBytes `json:"signature_pub"`
		EncryptionSecret        hexBytes `json:"encryption_secret"`
		SenderDataSecret        hexBytes `json:"sender_data_secret"`
		MembershipKey           hexBytes `json:"membership_key"`
		Proposal                hexBytes `json:"proposal"`
		ProposalPriv            hexBytes `json:"proposal_priv"`
		ProposalPub             hexBytes `json:"proposal_pub"`
		Commit                  hexBytes `json:"commit"`
		CommitPriv              hexBytes `json:"commit_priv"`
		CommitPub               hexBytes `json:"commit_pub"`
		Application             hexBytes `json:"application"`
		ApplicationPriv         hexBytes `json:"application_priv"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		ctx := &wire.GroupContext{
			Version: wire.MLS10, CipherSuite: wire.CipherSuite(c.CipherSuite), GroupID: c.GroupID, Epoch: c.Epoch,
			TreeHash: c.TreeHash, ConfirmedTranscriptHash: c.ConfirmedTranscriptHash, Extensions: wire.Extensions{},
		}
		sk, err := s.NewSigningKey(c.SignaturePriv)
		if err != nil {
			return err
		}
		sigKey := func(sender wire.Sender, _ *wire.FramedContent) ([]byte, error) {
			if sender.Type != wire.SenderTypeMember || sender.Index != 1 {
				return nil, fmt.Errorf("unknown sender %+v", sender)
			}
			return c.SignaturePub, nil
		}
		newTree := func() (*secrettree.Tree, error) { return secrettree.New(s, c.EncryptionSecret, 2) }

		var proposal wire.Proposal
		if err := wire.Unmarshal(c.Proposal, &proposal); err != nil {
			return err
		}
		var commit wire.Commit
		if err := wire.Unmarshal(c.Commit, &commit); err != nil {
			return err
		}
		// checkContent compares decrypted/verified content with the expected body.
		checkContent := func(what string, ac *wire.AuthenticatedContent) error {
			fc := &ac.Content
			switch fc.ContentType {
			case wire.ContentTypeProposal:
				if !reflect.DeepEqual(fc.Proposal, &proposal) {
					return fmt.Errorf("%s: proposal differs", what)
				}
			case wire.ContentTypeCommit:
				if !reflect.DeepEqual(fc.Commit, &commit) {
					return fmt.Errorf("%s: commit differs", what)
				}
			case wire.ContentTypeApplication:
				return eq(what+": application data", fc.ApplicationData, c.Application)
			}
			return nil
		}
		var errs []error

		// PublicMessage: verify the vector's, then re-protect and verify.
		for _, pm := range []struct {
			name string
			msg  []byte
		}{{"proposal_pub", c.ProposalPub}, {"commit_pub", c.CommitPub}} {
			var m wire.MLSMessage
			if err := wire.Unmarshal(pm.msg, &m); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", pm.name, err))
				continue
			}
			if m.PublicMessage == nil {
				errs = append(errs, fmt.Errorf("%s: not a PublicMessage", pm.name))
				continue
			}
			ac, err := framing.UnprotectPublic(s, ctx, m.PublicMessage, c.MembershipKey, sigKey)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", pm.name, err))
				continue
			}
			errs = append(errs, checkContent(pm.name, ac))
			if _, err := framing.UnprotectPublic(s, ctx, m.PublicMessage, append([]byte{1}, c.MembershipKey[1:]...), sigKey); !errors.Is(err, framing.ErrInvalidMembershipTag) {
				errs = append(errs, fmt.Errorf("%s with a wrong membership key: got %v", pm.name, err))
			}
			ac2, err := framing.Sign(s, sk, wire.WireFormatPublicMessage, &ac.Content, ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: re-sign: %w", pm.name, err))
				continue
			}
			ac2.Auth.ConfirmationTag = ac.Auth.ConfirmationTag
			pub, err := framing.ProtectPublic(s, ac2, ctx, c.MembershipKey)
			if err == nil {
				var back *wire.AuthenticatedContent
				back, err = framing.UnprotectPublic(s, ctx, pub, c.MembershipKey, sigKey)
				if err == nil {
					err = checkContent(pm.name+" re-protected", back)
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: re-protect round trip: %w", pm.name, err))
			}
		}
		// Application content must not be protected as a PublicMessage.
		app := &wire.FramedContent{GroupID: c.GroupID, Epoch: c.Epoch, Sender: wire.Sender{Type: wire.SenderTypeMember, Index: 1},
			ContentType: wire.ContentTypeApplication, ApplicationData: c.Application}
		if _, err := framing.Sign(s, sk, wire.WireFormatPublicMessage, app, ctx); !errors.Is(err, framing.ErrApplicationInPublic) {
			errs = append(errs, fmt.Errorf("application as PublicMessage: got %v, want ErrApplicationInPublic", err))
		}
		if ac, err := framing.Sign(s, sk, wire.WireFormatPrivateMessage, app, ctx); err == nil {
			ac.WireFormat = wire.WireFormatPublicMessage
			if _, err := framing.ProtectPublic(s, ac, ctx, c.MembershipKey); !errors.Is(err, framing.ErrApplicationInPublic) {
				errs = append(errs, fmt.Errorf("application as PublicMessage: got %v, want ErrApplicationInPublic", err))
			}
		}

		// PrivateMessage: decrypt the vector's, then re-protect and decrypt.
		// The three vector messages are independent (each may use generation
		// 0 of its ratchet), so each gets a fresh receiving tree.
		for _, pm := range []struct {
			name string
			msg  []byte
		}{{"proposal_priv", c.ProposalPriv}, {"commit_priv", c.CommitPriv}, {"application_priv", c.ApplicationPriv}} {
			var m wire.MLSMessage
			if err := wire.Unmarshal(pm.msg, &m); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", pm.name, err))
				continue
			}
			if m.PrivateMessage == nil {
				errs = append(errs, fmt.Errorf("%s: not a PrivateMessage", pm.name))
				continue
			}
			recv, err := newTree()
			if err != nil {
				return err
			}
			ac, err := framing.UnprotectPrivate(s, ctx, m.PrivateMessage, recv, c.SenderDataSecret, sigKey)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", pm.name, err))
				continue
			}
			errs = append(errs, checkContent(pm.name, ac))
			if _, err := framing.UnprotectPrivate(s, ctx, m.PrivateMessage, recv, c.SenderDataSecret, sigKey); !errors.Is(err, secrettree.ErrGenerationUsed) {
				errs = append(errs, fmt.Errorf("%s replayed: got %v, want ErrGenerationUsed", pm.name, err))
			}

			sendTree, err := newTree()
			if err != nil {
				return err
			}
			recvTree, err := newTree()
			if err != nil {
				return err
			}
			ac2, err := framing.Sign(s, sk, wire.WireFormatPrivateMessage, &ac.Content, ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: re-sign: %w", pm.name, err))
				continue
			}
			ac2.Auth.ConfirmationTag = ac.Auth.ConfirmationTag
			priv, err := framing.ProtectPrivate(s, ac2, sendTree, c.SenderDataSecret, 7)
			if err == nil {
				var back *wire.AuthenticatedContent
				back, err = framing.UnprotectPrivate(s, ctx, priv, recvTree, c.SenderDataSecret, sigKey)
				if err == nil {
					err = checkContent(pm.name+" re-protected", back)
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: re-protect round trip: %w", pm.name, err))
			}
		}
		return errors.Join(errs...)
	})
}
