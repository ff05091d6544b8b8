package outcome

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/negotiation"
)

// Files for signing an outcome on an air-gapped machine: a desk exports a
// SigningRequest, the head of delegation carries it to the machine that
// holds the delegation's root key, 'goodoffices delegation sign-outcome'
// shows what is signed and writes a SignatureFile, which the desk imports
// and posts into the channel as the party's signature event.
const (
	SigningRequestFormat = "goodoffices-outcome-signing-request-v1"
	SignatureFileFormat  = "goodoffices-outcome-signature-v1"
)

// A SigningRequest is what a root key is asked to sign: the digest of an
// adopted text, with the unsigned bundle it is the digest of, so that the
// head reads, on the signing machine, the text in every language that the
// signature commits to. ParseSigningRequest recomputes the digest from the
// text.
type SigningRequest struct {
	Format  string  `json:"format"`
	Channel string  `json:"channel"`
	Bundle  *Bundle `json:"bundle"` // without signatures or evidence
}

// A SignatureFile is a party's root-key signature of a digest.
type SignatureFile struct {
	Format    string `json:"format"`
	Channel   string `json:"channel"`
	Text      string `json:"text"`
	Party     string `json:"party"`
	Digest    string `json:"digest"`    // hex
	Signature []byte `json:"signature"` // Ed25519 over negotiation.OutcomeSigningMessage(digest)
}

// NewSigningRequest returns the signing request for b, adopted in channel.
func NewSigningRequest(b *Bundle, channel string) (*SigningRequest, error) {
	if _, err := b.DigestBytes(); err != nil {
		return nil, fmt.Errorf("failed to make signing request: %w", err)
	}
	u := *b
	u.Signatures, u.Evidence = []Signature{}, nil
	if u.Package == "" {
		u.Format = BundleFormat
	}
	return &SigningRequest{Format: SigningRequestFormat, Channel: channel, Bundle: &u}, nil
}

// DigestBytes returns the digest to sign.
func (r *SigningRequest) DigestBytes() ([]byte, error) { return r.Bundle.DigestBytes() }

// Marshal returns the canonical encoding of r.
func (r *SigningRequest) Marshal() []byte { return canonical(r) }

// ParseSigningRequest reads a signing request in canonical form and checks
// that its digest is that of its text.
func ParseSigningRequest(data []byte) (*SigningRequest, error) {
	var r SigningRequest
	if err := strictDecode(data, &r); err != nil {
		return nil, fmt.Errorf("failed to parse signing request: %w", err)
	}
	if r.Format != SigningRequestFormat || r.Bundle == nil || (r.Bundle.Format != BundleFormat && r.Bundle.Format != PackageFormat) || !r.Bundle.knownFormat() || r.Bundle.Evidence != nil {
		return nil, errors.New("failed to parse signing request: unknown format")
	}
	if err := checkText("channel", r.Channel, 64); err != nil {
		return nil, fmt.Errorf("failed to parse signing request: %w", err)
	}
	if err := r.Bundle.checkShape(); err != nil {
		return nil, fmt.Errorf("failed to parse signing request: %w", err)
	}
	d, _, err := r.Bundle.tree()
	if err != nil || r.Bundle.Digest != hex.EncodeToString(d[:]) {
		return nil, errors.New("failed to parse signing request: the text differs from the one the digest commits to")
	}
	return &r, nil
}

// SignRequest signs r for party with a root key's signing function (a
// note.Signer's Sign, which is plain Ed25519 over the message, or
// ed25519.Sign).
func SignRequest(r *SigningRequest, party string, sign func([]byte) ([]byte, error)) (*SignatureFile, error) {
	d, err := r.DigestBytes()
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", err)
	}
	sig, err := sign(negotiation.OutcomeSigningMessage(d))
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", err)
	}
	return &SignatureFile{Format: SignatureFileFormat, Channel: r.Channel, Text: r.Bundle.SignText(), Party: party, Digest: r.Bundle.Digest, Signature: sig}, nil
}

// Check checks that s is a valid signature of digest by root.
func (s *SignatureFile) Check(root ed25519.PublicKey, digest []byte) error {
	if s.Digest != hex.EncodeToString(digest) {
		return errors.New("the signature is for another digest")
	}
	if len(root) != ed25519.PublicKeySize || len(s.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(root, negotiation.OutcomeSigningMessage(digest), s.Signature) {
		return fmt.Errorf("not a valid signature by the root key of %s", s.Party)
	}
	return nil
}

// Marshal returns the canonical encoding of s.
func (s *SignatureFile) Marshal() []byte { return canonical(s) }

// ParseSignatureFile reads a signature file in canonical form; it does not
// check the signature (Check does).
func ParseSignatureFile(data []byte) (*SignatureFile, error) {
	var s SignatureFile
	if err := strictDecode(data, &s); err != nil {
		return nil, fmt.Errorf("failed to parse signature file: %w", err)
	}
	if s.Format != SignatureFileFormat || len(s.Signature) != ed25519.SignatureSize || len(s.Digest) != 64 {
		return nil, errors.New("failed to parse signature file: unknown format or malformed signature")
	}
	return &s, nil
}
