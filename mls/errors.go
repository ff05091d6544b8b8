package mls

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/framing"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/welcome"
)

// Errors a caller can test with errors.Is. Errors returned by this package
// wrap one of them whenever the failure falls into one of these classes;
// verification failures carry no secret-dependent detail.
var (
	// ErrWrongGroup: the message belongs to another group.
	ErrWrongGroup = errors.New("mls: message is for another group")
	// ErrWrongEpoch: the message belongs to another epoch than the group's
	// current one (§6).
	ErrWrongEpoch = errors.New("mls: message is for another epoch")
	// ErrUnknownSender: the sender is not a member (blank or absent leaf), not
	// a configured external sender, or not allowed to send this content.
	ErrUnknownSender = errors.New("mls: unknown sender")
	// ErrBadSignature: a signature did not verify (§5.1.2).
	ErrBadSignature = errors.New("mls: invalid signature")
	// ErrBadMembershipTag: a PublicMessage membership tag did not verify (§6.2).
	ErrBadMembershipTag = errors.New("mls: invalid membership tag")
	// ErrDecrypt: a ciphertext did not authenticate.
	ErrDecrypt = errors.New("mls: failed to decrypt")
	// ErrGenerationReused: the key of this message's generation was already
	// used and deleted (a replay, §9.2).
	ErrGenerationReused = errors.New("mls: generation already used")
	// ErrBadConfirmationTag: a commit's or GroupInfo's confirmation tag did
	// not match (§8.2).
	ErrBadConfirmationTag = errors.New("mls: invalid confirmation tag")
	// ErrInvalidProposal: a proposal, or the list a commit covers, breaks a
	// rule of RFC 9420 §12.1-§12.2.
	ErrInvalidProposal = errors.New("mls: invalid proposal")
	// ErrInvalidCommit: a commit breaks a rule of RFC 9420 §12.4.
	ErrInvalidCommit = errors.New("mls: invalid commit")
	// ErrInvalidTree: a ratchet tree, leaf node or UpdatePath is invalid
	// (§7.3, §7.9, §12.4.2).
	ErrInvalidTree = errors.New("mls: invalid ratchet tree")
	// ErrInvalidKeyPackage: a key package is malformed, badly signed,
	// expired or of another suite (§10.1).
	ErrInvalidKeyPackage = errors.New("mls: invalid key package")
	// ErrCredentialRejected: the application's credential validator
	// rejected a credential (§5.3.1).
	ErrCredentialRejected = errors.New("mls: credential rejected")
	// ErrUnknownProposal: a commit references a proposal this member has not
	// received in the current epoch.
	ErrUnknownProposal = errors.New("mls: commit references an unknown proposal")
	// ErrUnknownPSK: a PSK the commit or Welcome needs is not known.
	ErrUnknownPSK = errors.New("mls: unknown pre-shared key")
	// ErrNotMember: this client is no longer a member of the group (it was
	// removed), or never was.
	ErrNotMember = errors.New("mls: not a member of the group")
	// ErrNotForUs: a Welcome holds no secrets for this key package.
	ErrNotForUs = errors.New("mls: welcome is not addressed to this key package")
	// ErrPendingCommit: the group has a pending commit of its own; merge or
	// discard it first.
	ErrPendingCommit = errors.New("mls: a commit of this member is pending")
	// ErrUnsupportedSuite: the cipher suite is not implemented.
	ErrUnsupportedSuite = errors.New("mls: unsupported cipher suite")
	// ErrMalformed: bytes do not decode as the expected MLS structure.
	ErrMalformed = errors.New("mls: malformed message")
	// ErrOwnMessage: the message was sent by this client (a delivery
	// service echo of its own application message or proposal); there is
	// nothing to do. Its own pending commit is merged instead.
	ErrOwnMessage = errors.New("mls: message sent by this client")
	// ErrReInit: the group was closed by a ReInit commit; it accepts no more
	// messages.
	ErrReInit = errors.New("mls: group was reinitialised")
	// ErrResumption: a successor or branch does not match the group it
	// resumes (RFC 9420 §11.2, §11.3, §12.4.3.1).
	ErrResumption = errors.New("mls: invalid group resumption")
)

// classify maps the internal packages' sentinel errors to the public ones,
// keeping the original in the chain.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pub error
	switch {
	case errors.Is(err, framing.ErrWrongEpoch):
		pub = ErrWrongEpoch
	case errors.Is(err, framing.ErrWrongGroup):
		pub = ErrWrongGroup
	case errors.Is(err, framing.ErrInvalidSignature), errors.Is(err, suite.ErrInvalidSignature):
		pub = ErrBadSignature
	case errors.Is(err, framing.ErrInvalidMembershipTag):
		pub = ErrBadMembershipTag
	case errors.Is(err, secrettree.ErrGenerationUsed):
		pub = ErrGenerationReused
	case errors.Is(err, framing.ErrDecrypt), errors.Is(err, suite.ErrDecrypt), errors.Is(err, welcome.ErrDecrypt):
		pub = ErrDecrypt
	case errors.Is(err, welcome.ErrNotForUs):
		pub = ErrNotForUs
	case errors.Is(err, welcome.ErrInvalidConfirmationTag):
		pub = ErrBadConfirmationTag
	case errors.Is(err, suite.ErrUnsupported):
		pub = ErrUnsupportedSuite
	}
	if pub == nil || errors.Is(err, pub) {
		return err
	}
	return fmt.Errorf("%w: %w", pub, err)
}
