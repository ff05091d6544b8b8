package wire

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
)

// Signature labels and reference labels (RFC 9420 §5.2, §6.1, §7.2, §10,
// §12.4.3). The "MLS 1.0 " prefix is added by package suite for signature
// labels; reference labels are used verbatim.
const (
	LabelLeafNodeTBS      = "LeafNodeTBS"
	LabelKeyPackageTBS    = "KeyPackageTBS"
	LabelGroupInfoTBS     = "GroupInfoTBS"
	LabelFramedContentTBS = "FramedContentTBS"
	LabelKeyPackageRef    = "MLS 1.0 KeyPackage Reference"
	LabelProposalRef      = "MLS 1.0 Proposal Reference"
)

// Unmarshal decodes exactly one value of type T from data, naming the type
// in any error.
func Unmarshal(data []byte, v codec.Unmarshaler) error {
	if err := codec.Unmarshal(data, v); err != nil {
		return fmt.Errorf("failed to decode %T: %w", v, err)
	}
	return nil
}

// Marshal encodes v, naming the type in any error.
func Marshal(v codec.Marshaler) ([]byte, error) {
	b, err := codec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %T: %w", v, err)
	}
	return b, nil
}

// Sign sets n.Signature to SignWithLabel(sk, "LeafNodeTBS", LeafNodeTBS).
func (n *LeafNode) Sign(sk *suite.SigningKey, groupID []byte, leafIndex uint32) error {
	tbs, err := n.LeafNodeTBS(groupID, leafIndex)
	if err != nil {
		return fmt.Errorf("failed to encode LeafNodeTBS: %w", err)
	}
	sig, err := sk.SignWithLabel(LabelLeafNodeTBS, tbs)
	if err != nil {
		return fmt.Errorf("failed to sign leaf node: %w", err)
	}
	n.Signature = sig
	return nil
}

// VerifySignature checks the leaf node's signature with its own
// signature_key (§7.2). groupID and leafIndex matter only for the update
// and commit sources.
func (n *LeafNode) VerifySignature(s *suite.Suite, groupID []byte, leafIndex uint32) error {
	tbs, err := n.LeafNodeTBS(groupID, leafIndex)
	if err != nil {
		return fmt.Errorf("failed to encode LeafNodeTBS: %w", err)
	}
	if err := s.VerifyWithLabel(n.SignatureKey, LabelLeafNodeTBS, tbs, n.Signature); err != nil {
		return fmt.Errorf("failed to verify leaf node signature: %w", err)
	}
	return nil
}

// Sign sets k.Signature (§10).
func (k *KeyPackage) Sign(sk *suite.SigningKey) error {
	tbs, err := k.KeyPackageTBS()
	if err != nil {
		return fmt.Errorf("failed to encode KeyPackageTBS: %w", err)
	}
	sig, err := sk.SignWithLabel(LabelKeyPackageTBS, tbs)
	if err != nil {
		return fmt.Errorf("failed to sign key package: %w", err)
	}
	k.Signature = sig
	return nil
}

// VerifySignature checks the key package's signature with its leaf node's
// signature_key (§10.1).
func (k *KeyPackage) VerifySignature(s *suite.Suite) error {
	tbs, err := k.KeyPackageTBS()
	if err != nil {
		return fmt.Errorf("failed to encode KeyPackageTBS: %w", err)
	}
	if err := s.VerifyWithLabel(k.LeafNode.SignatureKey, LabelKeyPackageTBS, tbs, k.Signature); err != nil {
		return fmt.Errorf("failed to verify key package signature: %w", err)
	}
	return nil
}

// Ref returns the KeyPackageRef, RefHash("MLS 1.0 KeyPackage Reference",
// KeyPackage) (§5.2).
func (k *KeyPackage) Ref(s *suite.Suite) ([]byte, error) {
	b, err := Marshal(k)
	if err != nil {
		return nil, err
	}
	return s.RefHash(LabelKeyPackageRef, b)
}

// Sign sets g.Signature (§12.4.3).
func (g *GroupInfo) Sign(sk *suite.SigningKey) error {
	tbs, err := g.GroupInfoTBS()
	if err != nil {
		return fmt.Errorf("failed to encode GroupInfoTBS: %w", err)
	}
	sig, err := sk.SignWithLabel(LabelGroupInfoTBS, tbs)
	if err != nil {
		return fmt.Errorf("failed to sign group info: %w", err)
	}
	g.Signature = sig
	return nil
}

// VerifySignature checks the GroupInfo signature with the signer's
// signature public key (§12.4.3.1).
func (g *GroupInfo) VerifySignature(s *suite.Suite, signerPub []byte) error {
	tbs, err := g.GroupInfoTBS()
	if err != nil {
		return fmt.Errorf("failed to encode GroupInfoTBS: %w", err)
	}
	if err := s.VerifyWithLabel(signerPub, LabelGroupInfoTBS, tbs, g.Signature); err != nil {
		return fmt.Errorf("failed to verify group info signature: %w", err)
	}
	return nil
}

// ProposalRef returns RefHash("MLS 1.0 Proposal Reference",
// AuthenticatedContent) (§5.2).
func ProposalRef(s *suite.Suite, ac *AuthenticatedContent) ([]byte, error) {
	b, err := Marshal(ac)
	if err != nil {
		return nil, err
	}
	return s.RefHash(LabelProposalRef, b)
}
