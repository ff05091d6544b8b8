// Package keyschedule implements the MLS key schedule (RFC 9420 §8): the
// derivation of each epoch's secrets from the previous init_secret, the
// commit_secret and the PSK secret; PSK chaining (§8.4); the exporter
// (§8.5); the external key pair (§8.3); and the transcript hashes and
// confirmation tag (§8.2).
//
// KDF.Extract takes its salt from the top of the §8 diagram and its IKM from
// the left:
//
//	joiner_secret = ExpandWithLabel(Extract(init_secret_[n-1], commit_secret), "joiner", GroupContext_[n], Nh)
//	member_secret = Extract(joiner_secret, psk_secret)
//	welcome_secret = DeriveSecret(member_secret, "welcome")
//	epoch_secret   = ExpandWithLabel(member_secret, "epoch", GroupContext_[n], Nh)
//
// and every epoch secret of Table 4 is DeriveSecret(epoch_secret, label).
// A nil commit_secret or psk_secret stands for the all-zero vector of
// length Nh, as §8 prescribes when there is no UpdatePath or no PSK.
//
// The functions are pure. Secrets are returned as fresh slices; callers own
// their erasure.
package keyschedule

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Labels of the epoch secrets (RFC 9420 §8, Table 4).
const (
	LabelSenderData     = "sender data"
	LabelEncryption     = "encryption"
	LabelExporter       = "exporter"
	LabelExternal       = "external"
	LabelConfirm        = "confirm"
	LabelMembership     = "membership"
	LabelResumption     = "resumption"
	LabelAuthentication = "authentication"
	LabelInit           = "init"
)

// ExternalInitExportLabel is the HPKE exporter context of an external
// commit's init_secret (§8.3).
const ExternalInitExportLabel = "MLS 1.0 external init secret"

// Epoch holds the secrets of one epoch (§8, Table 4) and the intermediate
// joiner and welcome secrets.
type Epoch struct {
	JoinerSecret       []byte
	WelcomeSecret      []byte
	EpochSecret        []byte
	SenderDataSecret   []byte
	EncryptionSecret   []byte
	ExporterSecret     []byte
	ExternalSecret     []byte
	ConfirmationKey    []byte
	MembershipKey      []byte
	ResumptionPSK      []byte
	EpochAuthenticator []byte
	InitSecret         []byte // init_secret_[n], for the next epoch
}

func zeroIfNil(s *suite.Suite, b []byte) []byte {
	if b == nil {
		return make([]byte, s.Nh())
	}
	return b
}

// JoinerSecret computes joiner_secret from the previous epoch's init_secret,
// the commit_secret (nil: zero) and the new epoch's serialized GroupContext.
func JoinerSecret(s *suite.Suite, initSecret, commitSecret, groupContext []byte) ([]byte, error) {
	prk, err := s.Extract(initSecret, zeroIfNil(s, commitSecret))
	if err != nil {
		return nil, err
	}
	j, err := s.ExpandWithLabel(prk, "joiner", groupContext, s.Nh())
	if err != nil {
		return nil, fmt.Errorf("failed to derive joiner_secret: %w", err)
	}
	return j, nil
}

// FromJoiner derives the epoch's secrets from joiner_secret, psk_secret
// (nil: zero) and the serialized GroupContext of the epoch. A new member
// joining from a Welcome starts here (§12.4.3.1).
func FromJoiner(s *suite.Suite, joinerSecret, pskSecret, groupContext []byte) (*Epoch, error) {
	member, err := s.Extract(joinerSecret, zeroIfNil(s, pskSecret))
	if err != nil {
		return nil, err
	}
	e := &Epoch{JoinerSecret: append([]byte{}, joinerSecret...)}
	if e.WelcomeSecret, err = s.DeriveSecret(member, "welcome"); err != nil {
		return nil, fmt.Errorf("failed to derive welcome_secret: %w", err)
	}
	if e.EpochSecret, err = s.ExpandWithLabel(member, "epoch", groupContext, s.Nh()); err != nil {
		return nil, fmt.Errorf("failed to derive epoch_secret: %w", err)
	}
	for _, d := range []struct {
		label string
		dst   *[]byte
	}{
		{LabelSenderData, &e.SenderDataSecret},
		{LabelEncryption, &e.EncryptionSecret},
		{LabelExporter, &e.ExporterSecret},
		{LabelExternal, &e.ExternalSecret},
		{LabelConfirm, &e.ConfirmationKey},
		{LabelMembership, &e.MembershipKey},
		{LabelResumption, &e.ResumptionPSK},
		{LabelAuthentication, &e.EpochAuthenticator},
		{LabelInit, &e.InitSecret},
	} {
		if *d.dst, err = s.DeriveSecret(e.EpochSecret, d.label); err != nil {
			return nil, fmt.Errorf("failed to derive %q secret: %w", d.label, err)
		}
	}
	return e, nil
}

// Derive runs the whole schedule for an epoch: JoinerSecret, then
// FromJoiner.
func Derive(s *suite.Suite, initSecret, commitSecret, pskSecret, groupContext []byte) (*Epoch, error) {
	j, err := JoinerSecret(s, initSecret, commitSecret, groupContext)
	if err != nil {
		return nil, err
	}
	return FromJoiner(s, j, pskSecret, groupContext)
}

// WelcomeSecret derives welcome_secret = DeriveSecret(Extract(joiner_secret,
// psk_secret), "welcome") (§8): a new member needs it, before it knows the
// GroupContext, to decrypt the GroupInfo of a Welcome.
func WelcomeSecret(s *suite.Suite, joinerSecret, pskSecret []byte) ([]byte, error) {
	member, err := s.Extract(joinerSecret, zeroIfNil(s, pskSecret))
	if err != nil {
		return nil, err
	}
	w, err := s.DeriveSecret(member, "welcome")
	if err != nil {
		return nil, fmt.Errorf("failed to derive welcome_secret: %w", err)
	}
	return w, nil
}

// WelcomeKeyNonce derives the AEAD key and nonce that protect the GroupInfo
// in a Welcome (§12.4.3.1).
func WelcomeKeyNonce(s *suite.Suite, welcomeSecret []byte) (key, nonce []byte, err error) {
	if key, err = s.ExpandWithLabel(welcomeSecret, "key", nil, s.Nk()); err != nil {
		return nil, nil, fmt.Errorf("failed to derive welcome_key: %w", err)
	}
	if nonce, err = s.ExpandWithLabel(welcomeSecret, "nonce", nil, s.Nn()); err != nil {
		return nil, nil, fmt.Errorf("failed to derive welcome_nonce: %w", err)
	}
	return key, nonce, nil
}

// Export is MLS-Exporter(label, context, length) (§8.5):
//
//	ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported", Hash(context), length)
//
// The label is used as given (a string, not decoded).
func Export(s *suite.Suite, exporterSecret []byte, label string, context []byte, length int) ([]byte, error) {
	d, err := s.DeriveSecret(exporterSecret, label)
	if err != nil {
		return nil, fmt.Errorf("failed to derive exporter secret: %w", err)
	}
	out, err := s.ExpandWithLabel(d, "exported", s.Hash(context), length)
	if err != nil {
		return nil, fmt.Errorf("failed to export: %w", err)
	}
	return out, nil
}

// ExternalKeyPair derives the group's external HPKE key pair from
// external_secret (§8.3); the public key is the external_pub extension.
func ExternalKeyPair(s *suite.Suite, externalSecret []byte) (priv, pub []byte, err error) {
	return s.DeriveKeyPair(externalSecret)
}

// PSK is one pre-shared key with its identifier, in the order the PSKs are
// listed in the commit or GroupSecrets.
type PSK struct {
	ID  *wire.PreSharedKeyID
	PSK []byte
}

// PSKSecret chains the PSKs into psk_secret (§8.4). With no PSKs the result
// is the all-zero vector of length Nh.
func PSKSecret(s *suite.Suite, psks []PSK) ([]byte, error) {
	if len(psks) > 0xffff {
		return nil, fmt.Errorf("keyschedule: %d PSKs exceed the uint16 count", len(psks))
	}
	secret := make([]byte, s.Nh())
	zero := make([]byte, s.Nh())
	for i, p := range psks {
		if p.ID == nil {
			return nil, fmt.Errorf("keyschedule: PSK %d has no identifier", i)
		}
		extracted, err := s.Extract(zero, p.PSK)
		if err != nil {
			return nil, err
		}
		label, err := wire.PSKLabel(p.ID, uint16(i), uint16(len(psks)))
		if err != nil {
			return nil, fmt.Errorf("failed to encode PSKLabel %d: %w", i, err)
		}
		input, err := s.ExpandWithLabel(extracted, "derived psk", label, s.Nh())
		if err != nil {
			return nil, fmt.Errorf("failed to derive psk_input %d: %w", i, err)
		}
		if secret, err = s.Extract(input, secret); err != nil {
			return nil, err
		}
	}
	return secret, nil
}

// ConfirmedTranscriptHash computes confirmed_transcript_hash_[n] =
// Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput) (§8.2)
// for a commit with the given wire format, content and signature.
func ConfirmedTranscriptHash(s *suite.Suite, interimPrev []byte, wf wire.WireFormat, content *wire.FramedContent, signature []byte) ([]byte, error) {
	if content.ContentType != wire.ContentTypeCommit {
		return nil, errors.New("keyschedule: transcript hash input is not a commit")
	}
	in, err := wire.ConfirmedTranscriptHashInput(wf, content, signature)
	if err != nil {
		return nil, fmt.Errorf("failed to encode ConfirmedTranscriptHashInput: %w", err)
	}
	return s.Hash(append(append([]byte{}, interimPrev...), in...)), nil
}

// InterimTranscriptHash computes interim_transcript_hash_[n] =
// Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput) (§8.2).
func InterimTranscriptHash(s *suite.Suite, confirmed, confirmationTag []byte) ([]byte, error) {
	in, err := wire.InterimTranscriptHashInput(confirmationTag)
	if err != nil {
		return nil, fmt.Errorf("failed to encode InterimTranscriptHashInput: %w", err)
	}
	return s.Hash(append(append([]byte{}, confirmed...), in...)), nil
}

// ConfirmationTag is MAC(confirmation_key, confirmed_transcript_hash) (§8.2).
func ConfirmationTag(s *suite.Suite, confirmationKey, confirmedTranscriptHash []byte) []byte {
	return s.MAC(confirmationKey, confirmedTranscriptHash)
}

// VerifyConfirmationTag reports, in constant time, whether tag is the
// confirmation tag for the confirmed transcript hash.
func VerifyConfirmationTag(s *suite.Suite, confirmationKey, confirmedTranscriptHash, tag []byte) bool {
	return subtle.ConstantTimeCompare(ConfirmationTag(s, confirmationKey, confirmedTranscriptHash), tag) == 1
}
