// Package framing protects and unprotects MLS messages (RFC 9420 §6):
// signing FramedContent, PublicMessage with its membership tag (§6.2), and
// PrivateMessage with sender-data encryption, reuse guard, padding and the
// content AAD (§6.3).
//
// # Sending
//
// [Sign] turns a FramedContent into an AuthenticatedContent by signing
// FramedContentTBS (§6.1). For a commit the caller then sets
// Auth.ConfirmationTag (which depends on the signature through the
// transcript hash, §8.2) before calling [ProtectPublic] or
// [ProtectPrivate].
//
// # Receiving
//
// [UnprotectPublic] and [UnprotectPrivate] check the group ID and epoch
// against the receiver's GroupContext, verify the membership tag (member
// senders of a PublicMessage) or decrypt (PrivateMessage), and verify the
// signature with the key that a [SignatureKeyFunc] supplied by the caller
// returns for the sender. Verification failures are reported with opaque
// sentinel errors.
//
// Application data is never accepted as a PublicMessage (§6.2), in either
// direction.
package framing

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Errors of message protection. Verification errors carry no detail.
var (
	ErrWrongGroup             = errors.New("framing: message is for another group")
	ErrWrongEpoch             = errors.New("framing: message is for another epoch")
	ErrApplicationInPublic    = errors.New("framing: application data must not be sent as PublicMessage")
	ErrInvalidMembershipTag   = errors.New("framing: invalid membership tag")
	ErrInvalidSignature       = errors.New("framing: invalid signature")
	ErrDecrypt                = errors.New("framing: failed to decrypt message")
	ErrMissingConfirmationTag = errors.New("framing: commit without confirmation tag")
	ErrUnexpectedConfirmation = errors.New("framing: confirmation tag on non-commit content")
	ErrSenderNotMember        = errors.New("framing: PrivateMessage sender must be a member")
)

// SignatureKeyFunc returns the signature public key of a sender (a member's
// leaf, an external sender, or the key carried by a new member's content).
// It returns an error for an unknown sender.
type SignatureKeyFunc func(sender wire.Sender, content *wire.FramedContent) ([]byte, error)

func checkGroup(ctx *wire.GroupContext, groupID []byte, epoch uint64) error {
	if string(groupID) != string(ctx.GroupID) {
		return ErrWrongGroup
	}
	if epoch != ctx.Epoch {
		return fmt.Errorf("%w: got %d, current %d", ErrWrongEpoch, epoch, ctx.Epoch)
	}
	return nil
}

// Sign signs content for wire format wf (§6.1) and returns the
// AuthenticatedContent with Auth.Signature set. ctx is the sender's current
// GroupContext; it is part of the signed data for member and
// new_member_commit senders.
func Sign(s *suite.Suite, sk *suite.SigningKey, wf wire.WireFormat, content *wire.FramedContent, ctx *wire.GroupContext) (*wire.AuthenticatedContent, error) {
	if wf != wire.WireFormatPublicMessage && wf != wire.WireFormatPrivateMessage {
		return nil, fmt.Errorf("framing: cannot sign content for wire format %d", wf)
	}
	if wf == wire.WireFormatPublicMessage && content.ContentType == wire.ContentTypeApplication {
		return nil, ErrApplicationInPublic
	}
	tbs, err := wire.FramedContentTBS(wf, content, ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to encode FramedContentTBS: %w", err)
	}
	sig, err := sk.SignWithLabel(wire.LabelFramedContentTBS, tbs)
	if err != nil {
		return nil, fmt.Errorf("failed to sign content: %w", err)
	}
	return &wire.AuthenticatedContent{WireFormat: wf, Content: *content, Auth: wire.FramedContentAuthData{Signature: sig}}, nil
}

// VerifySignature checks ac's signature with pub (§6.1).
func VerifySignature(s *suite.Suite, ac *wire.AuthenticatedContent, ctx *wire.GroupContext, pub []byte) error {
	tbs, err := wire.FramedContentTBS(ac.WireFormat, &ac.Content, ctx)
	if err != nil {
		return fmt.Errorf("failed to encode FramedContentTBS: %w", err)
	}
	if s.VerifyWithLabel(pub, wire.LabelFramedContentTBS, tbs, ac.Auth.Signature) != nil {
		return ErrInvalidSignature
	}
	return nil
}

func checkConfirmationTag(ac *wire.AuthenticatedContent) error {
	if ac.Content.ContentType == wire.ContentTypeCommit {
		if len(ac.Auth.ConfirmationTag) == 0 {
			return ErrMissingConfirmationTag
		}
	} else if ac.Auth.ConfirmationTag != nil {
		return ErrUnexpectedConfirmation
	}
	return nil
}

// membershipTagInput encodes AuthenticatedContentTBM (§6.2).
func membershipTagInput(ac *wire.AuthenticatedContent, ctx *wire.GroupContext) ([]byte, error) {
	tbs, err := wire.FramedContentTBS(ac.WireFormat, &ac.Content, ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to encode FramedContentTBS: %w", err)
	}
	var w codec.Writer
	w.Raw(tbs)
	ac.Auth.MarshalFor(&w, ac.Content.ContentType)
	return w.Bytes()
}

// ProtectPublic wraps a signed AuthenticatedContent into a PublicMessage,
// adding the membership tag MAC(membership_key, AuthenticatedContentTBM)
// for member senders (§6.2).
func ProtectPublic(s *suite.Suite, ac *wire.AuthenticatedContent, ctx *wire.GroupContext, membershipKey []byte) (*wire.PublicMessage, error) {
	if ac.WireFormat != wire.WireFormatPublicMessage {
		return nil, fmt.Errorf("framing: content was signed for wire format %d, not PublicMessage", ac.WireFormat)
	}
	if ac.Content.ContentType == wire.ContentTypeApplication {
		return nil, ErrApplicationInPublic
	}
	if err := checkConfirmationTag(ac); err != nil {
		return nil, err
	}
	m := &wire.PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.Type == wire.SenderTypeMember {
		in, err := membershipTagInput(ac, ctx)
		if err != nil {
			return nil, err
		}
		m.MembershipTag = s.MAC(membershipKey, in)
	}
	return m, nil
}

// UnprotectPublic verifies a received PublicMessage against the receiver's
// GroupContext and returns its AuthenticatedContent. membershipKey is the
// current epoch's membership_key (used for member senders only).
func UnprotectPublic(s *suite.Suite, ctx *wire.GroupContext, m *wire.PublicMessage, membershipKey []byte, sigKey SignatureKeyFunc) (*wire.AuthenticatedContent, error) {
	if err := checkGroup(ctx, m.Content.GroupID, m.Content.Epoch); err != nil {
		return nil, err
	}
	if m.Content.ContentType == wire.ContentTypeApplication {
		return nil, ErrApplicationInPublic
	}
	ac := &wire.AuthenticatedContent{WireFormat: wire.WireFormatPublicMessage, Content: m.Content, Auth: m.Auth}
	if err := checkConfirmationTag(ac); err != nil {
		return nil, err
	}
	if m.Content.Sender.Type == wire.SenderTypeMember {
		in, err := membershipTagInput(ac, ctx)
		if err != nil {
			return nil, err
		}
		if !s.VerifyMAC(membershipKey, in, m.MembershipTag) {
			return nil, ErrInvalidMembershipTag
		}
	}
	pub, err := sigKey(m.Content.Sender, &m.Content)
	if err != nil {
		return nil, fmt.Errorf("failed to find the sender's signature key: %w", err)
	}
	if err := VerifySignature(s, ac, ctx, pub); err != nil {
		return nil, err
	}
	return ac, nil
}

func ratchetFor(ct wire.ContentType) secrettree.RatchetType {
	if ct == wire.ContentTypeApplication {
		return secrettree.Application
	}
	return secrettree.Handshake
}

func applyReuseGuard(nonce []byte, guard [4]byte) []byte {
	n := append([]byte{}, nonce...)
	for i := range guard {
		n[i] ^= guard[i]
	}
	return n
}

// tamperPlaintext, set by tests only, changes the plaintext of a
// PrivateMessage before ProtectPrivate encrypts it: a message that
// authenticates but breaks a rule of its plaintext (non-zero padding).
var tamperPlaintext func(plaintext []byte)

// ProtectPrivate encrypts a signed AuthenticatedContent into a
// PrivateMessage (§6.3): the content with paddingLen zero bytes under the
// sender's next key of the secret tree and a fresh reuse guard, and the
// sender data under the key derived from senderDataSecret and the
// ciphertext.
func ProtectPrivate(s *suite.Suite, ac *wire.AuthenticatedContent, tree *secrettree.Tree, senderDataSecret []byte, paddingLen int) (*wire.PrivateMessage, error) {
	c := &ac.Content
	if ac.WireFormat != wire.WireFormatPrivateMessage {
		return nil, fmt.Errorf("framing: content was signed for wire format %d, not PrivateMessage", ac.WireFormat)
	}
	if c.Sender.Type != wire.SenderTypeMember {
		return nil, ErrSenderNotMember
	}
	if err := checkConfirmationTag(ac); err != nil {
		return nil, err
	}
	m := &wire.PrivateMessage{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData}
	plaintext, err := wire.MarshalPrivateMessageContent(&wire.PrivateMessageContent{
		ApplicationData: c.ApplicationData, Proposal: c.Proposal, Commit: c.Commit, Auth: ac.Auth, PaddingLen: paddingLen,
	}, c.ContentType)
	if err != nil {
		return nil, fmt.Errorf("failed to encode PrivateMessageContent: %w", err)
	}
	if tamperPlaintext != nil {
		tamperPlaintext(plaintext)
	}
	aad, err := m.PrivateContentAAD()
	if err != nil {
		return nil, fmt.Errorf("failed to encode PrivateContentAAD: %w", err)
	}
	kn, err := tree.Next(treemath.LeafIndex(c.Sender.Index), ratchetFor(c.ContentType))
	if err != nil {
		return nil, fmt.Errorf("failed to get the sender's key: %w", err)
	}
	sd := wire.SenderData{LeafIndex: c.Sender.Index, Generation: kn.Generation}
	if _, err := rand.Read(sd.ReuseGuard[:]); err != nil {
		return nil, fmt.Errorf("failed to draw reuse guard: %w", err)
	}
	if m.Ciphertext, err = s.Seal(kn.Key, applyReuseGuard(kn.Nonce, sd.ReuseGuard), aad, plaintext); err != nil {
		return nil, fmt.Errorf("failed to encrypt content: %w", err)
	}
	sdKey, sdNonce, err := secrettree.SenderDataKeyNonce(s, senderDataSecret, m.Ciphertext)
	if err != nil {
		return nil, err
	}
	sdBytes, err := wire.Marshal(&sd)
	if err != nil {
		return nil, err
	}
	sdAAD, err := m.SenderDataAAD()
	if err != nil {
		return nil, fmt.Errorf("failed to encode SenderDataAAD: %w", err)
	}
	if m.EncryptedSenderData, err = s.Seal(sdKey, sdNonce, sdAAD, sdBytes); err != nil {
		return nil, fmt.Errorf("failed to encrypt sender data: %w", err)
	}
	return m, nil
}

// UnprotectPrivate decrypts and verifies a received PrivateMessage (§6.3)
// and returns its AuthenticatedContent. The key of the message's generation
// is deleted from the tree once it has decrypted the content (§9.2); a
// replay fails with an error wrapping secrettree.ErrGenerationUsed. A
// ciphertext that does not decrypt leaves the key in place.
func UnprotectPrivate(s *suite.Suite, ctx *wire.GroupContext, m *wire.PrivateMessage, tree *secrettree.Tree, senderDataSecret []byte, sigKey SignatureKeyFunc) (*wire.AuthenticatedContent, error) {
	if err := checkGroup(ctx, m.GroupID, m.Epoch); err != nil {
		return nil, err
	}
	sdKey, sdNonce, err := secrettree.SenderDataKeyNonce(s, senderDataSecret, m.Ciphertext)
	if err != nil {
		return nil, err
	}
	sdAAD, err := m.SenderDataAAD()
	if err != nil {
		return nil, fmt.Errorf("failed to encode SenderDataAAD: %w", err)
	}
	sdBytes, err := s.Open(sdKey, sdNonce, sdAAD, m.EncryptedSenderData)
	if err != nil {
		return nil, ErrDecrypt
	}
	var sd wire.SenderData
	if err := wire.Unmarshal(sdBytes, &sd); err != nil {
		return nil, err
	}
	if sd.LeafIndex >= tree.NumLeaves() {
		return nil, fmt.Errorf("framing: sender leaf %d outside a tree of %d leaves", sd.LeafIndex, tree.NumLeaves())
	}
	aad, err := m.PrivateContentAAD()
	if err != nil {
		return nil, fmt.Errorf("failed to encode PrivateContentAAD: %w", err)
	}
	leaf, typ := treemath.LeafIndex(sd.LeafIndex), ratchetFor(m.ContentType)
	kn, err := tree.Get(leaf, typ, sd.Generation)
	if err != nil {
		return nil, fmt.Errorf("failed to get the sender's key: %w", err)
	}
	plaintext, err := s.Open(kn.Key, applyReuseGuard(kn.Nonce, sd.ReuseGuard), aad, m.Ciphertext)
	if err != nil {
		// The key did not decrypt anything: keep it for the genuine message.
		tree.Restore(leaf, typ, kn)
		return nil, ErrDecrypt
	}
	pc, err := wire.UnmarshalPrivateMessageContent(plaintext, m.ContentType)
	if err != nil {
		return nil, err
	}
	ac := &wire.AuthenticatedContent{
		WireFormat: wire.WireFormatPrivateMessage,
		Content: wire.FramedContent{
			GroupID: m.GroupID, Epoch: m.Epoch,
			Sender:            wire.Sender{Type: wire.SenderTypeMember, Index: sd.LeafIndex},
			AuthenticatedData: m.AuthenticatedData, ContentType: m.ContentType,
			ApplicationData: pc.ApplicationData, Proposal: pc.Proposal, Commit: pc.Commit,
		},
		Auth: pc.Auth,
	}
	if err := checkConfirmationTag(ac); err != nil {
		return nil, err
	}
	pub, err := sigKey(ac.Content.Sender, &ac.Content)
	if err != nil {
		return nil, fmt.Errorf("failed to find the sender's signature key: %w", err)
	}
	if err := VerifySignature(s, ac, ctx, pub); err != nil {
		return nil, err
	}
	return ac, nil
}
