package wire

import (
	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// CredentialType (§5.3).
type CredentialType uint16

// Credential types (§5.3).
const (
	CredentialTypeBasic CredentialType = 1
	CredentialTypeX509  CredentialType = 2
)

// Credential (§5.3). Identity is set for basic credentials, Certificates
// (DER, leaf first) for x509.
type Credential struct {
	Type         CredentialType
	Identity     []byte
	Certificates [][]byte
}

func (c *Credential) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(c.Type))
	switch c.Type {
	case CredentialTypeBasic:
		w.Opaque(c.Identity)
	case CredentialTypeX509:
		marshalOpaques(w, c.Certificates)
	default:
		w.Fail(errUnknown("credential type", uint64(c.Type)))
	}
}

func (c *Credential) UnmarshalTLS(r *codec.Reader) {
	c.Type = CredentialType(r.Uint16())
	switch c.Type {
	case CredentialTypeBasic:
		c.Identity = r.Opaque()
	case CredentialTypeX509:
		c.Certificates = unmarshalOpaques(r)
	default:
		if r.Err() == nil {
			r.Fail(errUnknown("credential type", uint64(c.Type)))
		}
	}
}

// ProposalType (§12.1).
type ProposalType uint16

// Proposal types (§12.1).
const (
	ProposalTypeAdd                    ProposalType = 1
	ProposalTypeUpdate                 ProposalType = 2
	ProposalTypeRemove                 ProposalType = 3
	ProposalTypePreSharedKey           ProposalType = 4
	ProposalTypeReInit                 ProposalType = 5
	ProposalTypeExternalInit           ProposalType = 6
	ProposalTypeGroupContextExtensions ProposalType = 7
)

// Capabilities (§7.2).
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

func (c *Capabilities) MarshalTLS(w *codec.Writer) {
	marshalUint16s(w, c.Versions)
	marshalUint16s(w, c.CipherSuites)
	marshalUint16s(w, c.Extensions)
	marshalUint16s(w, c.Proposals)
	marshalUint16s(w, c.Credentials)
}

func (c *Capabilities) UnmarshalTLS(r *codec.Reader) {
	c.Versions = unmarshalUint16s[ProtocolVersion](r)
	c.CipherSuites = unmarshalUint16s[CipherSuite](r)
	c.Extensions = unmarshalUint16s[ExtensionType](r)
	c.Proposals = unmarshalUint16s[ProposalType](r)
	c.Credentials = unmarshalUint16s[CredentialType](r)
}

// Lifetime (§7.2), seconds since the Unix epoch.
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

func (l *Lifetime) MarshalTLS(w *codec.Writer) {
	w.Uint64(l.NotBefore)
	w.Uint64(l.NotAfter)
}

func (l *Lifetime) UnmarshalTLS(r *codec.Reader) {
	l.NotBefore = r.Uint64()
	l.NotAfter = r.Uint64()
}

// LeafNodeSource (§7.2).
type LeafNodeSource uint8

// Leaf node sources (§7.2).
const (
	LeafNodeSourceKeyPackage LeafNodeSource = 1
	LeafNodeSourceUpdate     LeafNodeSource = 2
	LeafNodeSourceCommit     LeafNodeSource = 3
)

// LeafNode (§7.2). Lifetime is set when Source is key_package, ParentHash
// when it is commit.
type LeafNode struct {
	EncryptionKey []byte
	SignatureKey  []byte
	Credential    Credential
	Capabilities  Capabilities
	Source        LeafNodeSource
	Lifetime      *Lifetime
	ParentHash    []byte
	Extensions    Extensions
	Signature     []byte
}

// marshalContent writes the fields common to LeafNode and LeafNodeTBS.
func (n *LeafNode) marshalContent(w *codec.Writer) {
	w.Opaque(n.EncryptionKey)
	w.Opaque(n.SignatureKey)
	n.Credential.MarshalTLS(w)
	n.Capabilities.MarshalTLS(w)
	w.Uint8(uint8(n.Source))
	switch n.Source {
	case LeafNodeSourceKeyPackage:
		if n.Lifetime == nil {
			w.Fail(errMissing("leaf node lifetime"))
			return
		}
		n.Lifetime.MarshalTLS(w)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		w.Opaque(n.ParentHash)
	default:
		w.Fail(errUnknown("leaf node source", uint64(n.Source)))
	}
	n.Extensions.MarshalTLS(w)
}

func (n *LeafNode) MarshalTLS(w *codec.Writer) {
	n.marshalContent(w)
	w.Opaque(n.Signature)
}

func (n *LeafNode) UnmarshalTLS(r *codec.Reader) {
	n.EncryptionKey = r.Opaque()
	n.SignatureKey = r.Opaque()
	n.Credential.UnmarshalTLS(r)
	n.Capabilities.UnmarshalTLS(r)
	n.Source = LeafNodeSource(r.Uint8())
	if r.Err() != nil {
		return
	}
	switch n.Source {
	case LeafNodeSourceKeyPackage:
		n.Lifetime = new(Lifetime)
		n.Lifetime.UnmarshalTLS(r)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		n.ParentHash = r.Opaque()
	default:
		r.Fail(errUnknown("leaf node source", uint64(n.Source)))
		return
	}
	n.Extensions.UnmarshalTLS(r)
	n.Signature = r.Opaque()
}

// LeafNodeTBS returns the encoding of LeafNodeTBS (§7.2), the content of
// the leaf's signature (label "LeafNodeTBS"). groupID and leafIndex are
// included only for the update and commit sources.
func (n *LeafNode) LeafNodeTBS(groupID []byte, leafIndex uint32) ([]byte, error) {
	return encode(func(w *codec.Writer) {
		n.marshalContent(w)
		switch n.Source {
		case LeafNodeSourceUpdate, LeafNodeSourceCommit:
			w.Opaque(groupID)
			w.Uint32(leafIndex)
		}
	})
}

// ParentNode (§7.1).
type ParentNode struct {
	EncryptionKey  []byte
	ParentHash     []byte
	UnmergedLeaves []uint32
}

func (p *ParentNode) MarshalTLS(w *codec.Writer) {
	w.Opaque(p.EncryptionKey)
	w.Opaque(p.ParentHash)
	w.Vector(func(w *codec.Writer) {
		for _, l := range p.UnmergedLeaves {
			w.Uint32(l)
		}
	})
}

func (p *ParentNode) UnmarshalTLS(r *codec.Reader) {
	p.EncryptionKey = r.Opaque()
	p.ParentHash = r.Opaque()
	p.UnmergedLeaves = []uint32{}
	r.Vector(func(r *codec.Reader) { p.UnmergedLeaves = append(p.UnmergedLeaves, r.Uint32()) })
}

// NodeType (§7.8).
type NodeType uint8

// Node types (§7.8).
const (
	NodeTypeLeaf   NodeType = 1
	NodeTypeParent NodeType = 2
)

// Node (§7.8): a leaf or a parent.
type Node struct {
	Type   NodeType
	Leaf   *LeafNode
	Parent *ParentNode
}

func (n *Node) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(n.Type))
	switch {
	case n.Type == NodeTypeLeaf && n.Leaf != nil:
		n.Leaf.MarshalTLS(w)
	case n.Type == NodeTypeParent && n.Parent != nil:
		n.Parent.MarshalTLS(w)
	default:
		w.Fail(errUnknown("node type (or missing node body)", uint64(n.Type)))
	}
}

func (n *Node) UnmarshalTLS(r *codec.Reader) {
	n.Type = NodeType(r.Uint8())
	if r.Err() != nil {
		return
	}
	switch n.Type {
	case NodeTypeLeaf:
		n.Leaf = new(LeafNode)
		n.Leaf.UnmarshalTLS(r)
	case NodeTypeParent:
		n.Parent = new(ParentNode)
		n.Parent.UnmarshalTLS(r)
	default:
		r.Fail(errUnknown("node type", uint64(n.Type)))
	}
}

// RatchetTree is the ratchet_tree extension's content, `optional<Node>
// ratchet_tree<V>` (§12.4.3.3): nodes in array order, nil for a blank node.
// Decoding checks only the encoding; tree-level rules (leaf at even index,
// last node non-blank) are the tree package's job.
type RatchetTree []*Node

func (t *RatchetTree) MarshalTLS(w *codec.Writer) {
	w.Vector(func(w *codec.Writer) {
		for _, n := range *t {
			w.Optional(n != nil, func(w *codec.Writer) { n.MarshalTLS(w) })
		}
	})
}

func (t *RatchetTree) UnmarshalTLS(r *codec.Reader) {
	nodes := RatchetTree{}
	r.Vector(func(r *codec.Reader) {
		if !r.Optional() {
			nodes = append(nodes, nil)
			return
		}
		n := new(Node)
		n.UnmarshalTLS(r)
		nodes = append(nodes, n)
	})
	*t = nodes
}

// UpdatePathNode (§7.6).
type UpdatePathNode struct {
	EncryptionKey       []byte
	EncryptedPathSecret []HPKECiphertext
}

func (n *UpdatePathNode) MarshalTLS(w *codec.Writer) {
	w.Opaque(n.EncryptionKey)
	marshalAll(w, n.EncryptedPathSecret)
}

func (n *UpdatePathNode) UnmarshalTLS(r *codec.Reader) {
	n.EncryptionKey = r.Opaque()
	n.EncryptedPathSecret = unmarshalAll[HPKECiphertext](r)
}

// UpdatePath (§7.6).
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

func (p *UpdatePath) MarshalTLS(w *codec.Writer) {
	p.LeafNode.MarshalTLS(w)
	marshalAll(w, p.Nodes)
}

func (p *UpdatePath) UnmarshalTLS(r *codec.Reader) {
	p.LeafNode.UnmarshalTLS(r)
	p.Nodes = unmarshalAll[UpdatePathNode](r)
}

// KeyPackage (§10).
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     []byte
	LeafNode    LeafNode
	Extensions  Extensions
	Signature   []byte
}

func (k *KeyPackage) marshalTBS(w *codec.Writer) {
	w.Uint16(uint16(k.Version))
	w.Uint16(uint16(k.CipherSuite))
	w.Opaque(k.InitKey)
	k.LeafNode.MarshalTLS(w)
	k.Extensions.MarshalTLS(w)
}

func (k *KeyPackage) MarshalTLS(w *codec.Writer) {
	k.marshalTBS(w)
	w.Opaque(k.Signature)
}

func (k *KeyPackage) UnmarshalTLS(r *codec.Reader) {
	k.Version = ProtocolVersion(r.Uint16())
	k.CipherSuite = CipherSuite(r.Uint16())
	k.InitKey = r.Opaque()
	k.LeafNode.UnmarshalTLS(r)
	k.Extensions.UnmarshalTLS(r)
	k.Signature = r.Opaque()
}

// KeyPackageTBS returns the encoding of KeyPackageTBS (§10), the content of
// the key package's signature (label "KeyPackageTBS").
func (k *KeyPackage) KeyPackageTBS() ([]byte, error) { return encode(k.marshalTBS) }
