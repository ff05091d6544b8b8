package wire

import (
	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// GroupContext (§8.1).
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              Extensions
}

func (g *GroupContext) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(g.Version))
	w.Uint16(uint16(g.CipherSuite))
	w.Opaque(g.GroupID)
	w.Uint64(g.Epoch)
	w.Opaque(g.TreeHash)
	w.Opaque(g.ConfirmedTranscriptHash)
	g.Extensions.MarshalTLS(w)
}

func (g *GroupContext) UnmarshalTLS(r *codec.Reader) {
	g.Version = ProtocolVersion(r.Uint16())
	g.CipherSuite = CipherSuite(r.Uint16())
	g.GroupID = r.Opaque()
	g.Epoch = r.Uint64()
	g.TreeHash = r.Opaque()
	g.ConfirmedTranscriptHash = r.Opaque()
	g.Extensions.UnmarshalTLS(r)
}

// GroupInfo (§12.4.3).
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      Extensions
	ConfirmationTag []byte
	Signer          uint32
	Signature       []byte
}

func (g *GroupInfo) marshalTBS(w *codec.Writer) {
	g.GroupContext.MarshalTLS(w)
	g.Extensions.MarshalTLS(w)
	w.Opaque(g.ConfirmationTag)
	w.Uint32(g.Signer)
}

func (g *GroupInfo) MarshalTLS(w *codec.Writer) {
	g.marshalTBS(w)
	w.Opaque(g.Signature)
}

func (g *GroupInfo) UnmarshalTLS(r *codec.Reader) {
	g.GroupContext.UnmarshalTLS(r)
	g.Extensions.UnmarshalTLS(r)
	g.ConfirmationTag = r.Opaque()
	g.Signer = r.Uint32()
	g.Signature = r.Opaque()
}

// GroupInfoTBS returns the encoding of GroupInfoTBS (§12.4.3), the content of
// the GroupInfo signature (label "GroupInfoTBS").
func (g *GroupInfo) GroupInfoTBS() ([]byte, error) { return encode(g.marshalTBS) }

// GroupSecrets (§12.4.3). PathSecret is nil when absent.
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   []byte
	PSKs         []PreSharedKeyID
}

func (g *GroupSecrets) MarshalTLS(w *codec.Writer) {
	w.Opaque(g.JoinerSecret)
	w.Optional(g.PathSecret != nil, func(w *codec.Writer) { w.Opaque(g.PathSecret) })
	marshalAll(w, g.PSKs)
}

func (g *GroupSecrets) UnmarshalTLS(r *codec.Reader) {
	g.JoinerSecret = r.Opaque()
	if r.Optional() {
		g.PathSecret = r.Opaque()
	}
	g.PSKs = unmarshalAll[PreSharedKeyID](r)
}

// EncryptedGroupSecrets (§12.4.3).
type EncryptedGroupSecrets struct {
	NewMember             []byte // KeyPackageRef
	EncryptedGroupSecrets HPKECiphertext
}

func (e *EncryptedGroupSecrets) MarshalTLS(w *codec.Writer) {
	w.Opaque(e.NewMember)
	e.EncryptedGroupSecrets.MarshalTLS(w)
}

func (e *EncryptedGroupSecrets) UnmarshalTLS(r *codec.Reader) {
	e.NewMember = r.Opaque()
	e.EncryptedGroupSecrets.UnmarshalTLS(r)
}

// Welcome (§12.4.3).
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

func (m *Welcome) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(m.CipherSuite))
	marshalAll(w, m.Secrets)
	w.Opaque(m.EncryptedGroupInfo)
}

func (m *Welcome) UnmarshalTLS(r *codec.Reader) {
	m.CipherSuite = CipherSuite(r.Uint16())
	m.Secrets = unmarshalAll[EncryptedGroupSecrets](r)
	m.EncryptedGroupInfo = r.Opaque()
}

// ExternalPub is the external_pub extension's content (§12.4.3.2).
type ExternalPub struct{ ExternalPub []byte }

func (e *ExternalPub) MarshalTLS(w *codec.Writer)   { w.Opaque(e.ExternalPub) }
func (e *ExternalPub) UnmarshalTLS(r *codec.Reader) { e.ExternalPub = r.Opaque() }

// RequiredCapabilities is the required_capabilities extension's content
// (§11.1).
type RequiredCapabilities struct {
	ExtensionTypes  []ExtensionType
	ProposalTypes   []ProposalType
	CredentialTypes []CredentialType
}

func (c *RequiredCapabilities) MarshalTLS(w *codec.Writer) {
	marshalUint16s(w, c.ExtensionTypes)
	marshalUint16s(w, c.ProposalTypes)
	marshalUint16s(w, c.CredentialTypes)
}

func (c *RequiredCapabilities) UnmarshalTLS(r *codec.Reader) {
	c.ExtensionTypes = unmarshalUint16s[ExtensionType](r)
	c.ProposalTypes = unmarshalUint16s[ProposalType](r)
	c.CredentialTypes = unmarshalUint16s[CredentialType](r)
}

// ExternalSender is one entry of the external_senders extension (§12.1.8.1).
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

func (e *ExternalSender) MarshalTLS(w *codec.Writer) {
	w.Opaque(e.SignatureKey)
	e.Credential.MarshalTLS(w)
}

func (e *ExternalSender) UnmarshalTLS(r *codec.Reader) {
	e.SignatureKey = r.Opaque()
	e.Credential.UnmarshalTLS(r)
}

// ExternalSenders is the external_senders extension's content (§12.1.8.1).
type ExternalSenders []ExternalSender

func (e *ExternalSenders) MarshalTLS(w *codec.Writer)   { marshalAll(w, *e) }
func (e *ExternalSenders) UnmarshalTLS(r *codec.Reader) { *e = unmarshalAll[ExternalSender](r) }
