package wire

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// Sender (§6). Index is the leaf_index for a member sender and the
// sender_index (into external_senders) for an external sender; it is unused
// for new-member senders.
type Sender struct {
	Type  SenderType
	Index uint32
}

func (s *Sender) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(s.Type))
	switch s.Type {
	case SenderTypeMember, SenderTypeExternal:
		w.Uint32(s.Index)
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		w.Fail(errUnknown("sender type", uint64(s.Type)))
	}
}

func (s *Sender) UnmarshalTLS(r *codec.Reader) {
	s.Type = SenderType(r.Uint8())
	if r.Err() != nil {
		return
	}
	switch s.Type {
	case SenderTypeMember, SenderTypeExternal:
		s.Index = r.Uint32()
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		r.Fail(errUnknown("sender type", uint64(s.Type)))
	}
}

// FramedContent (§6). The field named by ContentType is set.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte
	Proposal          *Proposal
	Commit            *Commit
}

// marshalBody writes the content-type-dependent body.
func marshalContentBody(w *codec.Writer, ct ContentType, app []byte, p *Proposal, c *Commit) {
	switch {
	case ct == ContentTypeApplication:
		w.Opaque(app)
	case ct == ContentTypeProposal && p != nil:
		p.MarshalTLS(w)
	case ct == ContentTypeCommit && c != nil:
		c.MarshalTLS(w)
	default:
		w.Fail(errUnknown("content type (or missing content)", uint64(ct)))
	}
}

func (f *FramedContent) unmarshalBody(r *codec.Reader) {
	switch f.ContentType {
	case ContentTypeApplication:
		f.ApplicationData = r.Opaque()
	case ContentTypeProposal:
		f.Proposal = new(Proposal)
		f.Proposal.UnmarshalTLS(r)
	case ContentTypeCommit:
		f.Commit = new(Commit)
		f.Commit.UnmarshalTLS(r)
	default:
		if r.Err() == nil {
			r.Fail(errUnknown("content type", uint64(f.ContentType)))
		}
	}
}

func (f *FramedContent) MarshalTLS(w *codec.Writer) {
	w.Opaque(f.GroupID)
	w.Uint64(f.Epoch)
	f.Sender.MarshalTLS(w)
	w.Opaque(f.AuthenticatedData)
	w.Uint8(uint8(f.ContentType))
	marshalContentBody(w, f.ContentType, f.ApplicationData, f.Proposal, f.Commit)
}

func (f *FramedContent) UnmarshalTLS(r *codec.Reader) {
	f.GroupID = r.Opaque()
	f.Epoch = r.Uint64()
	f.Sender.UnmarshalTLS(r)
	f.AuthenticatedData = r.Opaque()
	f.ContentType = ContentType(r.Uint8())
	f.unmarshalBody(r)
}

// FramedContentAuthData (§6.1). ConfirmationTag is present only for
// commits, so its encoding depends on the content type.
type FramedContentAuthData struct {
	Signature       []byte
	ConfirmationTag []byte
}

// MarshalFor writes the auth data of content of type ct.
func (a *FramedContentAuthData) MarshalFor(w *codec.Writer, ct ContentType) {
	w.Opaque(a.Signature)
	if ct == ContentTypeCommit {
		w.Opaque(a.ConfirmationTag)
	}
}

// UnmarshalFor reads the auth data of content of type ct.
func (a *FramedContentAuthData) UnmarshalFor(r *codec.Reader, ct ContentType) {
	a.Signature = r.Opaque()
	if ct == ContentTypeCommit {
		a.ConfirmationTag = r.Opaque()
	}
}

// FramedContentTBS returns the encoding of FramedContentTBS (§6.1), the
// content of the message signature (label "FramedContentTBS"). ctx is
// required for member and new_member_commit senders and ignored otherwise.
func FramedContentTBS(wf WireFormat, content *FramedContent, ctx *GroupContext) ([]byte, error) {
	return encode(func(w *codec.Writer) {
		w.Uint16(uint16(MLS10))
		w.Uint16(uint16(wf))
		content.MarshalTLS(w)
		switch content.Sender.Type {
		case SenderTypeMember, SenderTypeNewMemberCommit:
			if ctx == nil {
				w.Fail(errMissing("group context for FramedContentTBS"))
				return
			}
			ctx.MarshalTLS(w)
		}
	})
}

// AuthenticatedContent (§6): the input of ProposalRef (§5.2) and of the
// membership tag (AuthenticatedContentTBM, §6.2, after FramedContentTBS).
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
}

func (a *AuthenticatedContent) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(a.WireFormat))
	a.Content.MarshalTLS(w)
	a.Auth.MarshalFor(w, a.Content.ContentType)
}

func (a *AuthenticatedContent) UnmarshalTLS(r *codec.Reader) {
	a.WireFormat = WireFormat(r.Uint16())
	a.Content.UnmarshalTLS(r)
	a.Auth.UnmarshalFor(r, a.Content.ContentType)
}

// ConfirmedTranscriptHashInput returns the encoding of
// ConfirmedTranscriptHashInput{wire_format, content, signature} (§8.2).
func ConfirmedTranscriptHashInput(wf WireFormat, content *FramedContent, signature []byte) ([]byte, error) {
	return encode(func(w *codec.Writer) {
		w.Uint16(uint16(wf))
		content.MarshalTLS(w)
		w.Opaque(signature)
	})
}

// InterimTranscriptHashInput returns the encoding of
// InterimTranscriptHashInput{confirmation_tag} (§8.2).
func InterimTranscriptHashInput(confirmationTag []byte) ([]byte, error) {
	return encode(func(w *codec.Writer) { w.Opaque(confirmationTag) })
}

// PublicMessage (§6.2). MembershipTag is present only for member senders.
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte
}

func (m *PublicMessage) MarshalTLS(w *codec.Writer) {
	m.Content.MarshalTLS(w)
	m.Auth.MarshalFor(w, m.Content.ContentType)
	if m.Content.Sender.Type == SenderTypeMember {
		w.Opaque(m.MembershipTag)
	}
}

func (m *PublicMessage) UnmarshalTLS(r *codec.Reader) {
	m.Content.UnmarshalTLS(r)
	m.Auth.UnmarshalFor(r, m.Content.ContentType)
	if m.Content.Sender.Type == SenderTypeMember {
		m.MembershipTag = r.Opaque()
	}
}

// PrivateMessage (§6.3).
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

func (m *PrivateMessage) MarshalTLS(w *codec.Writer) {
	w.Opaque(m.GroupID)
	w.Uint64(m.Epoch)
	w.Uint8(uint8(m.ContentType))
	w.Opaque(m.AuthenticatedData)
	w.Opaque(m.EncryptedSenderData)
	w.Opaque(m.Ciphertext)
}

func (m *PrivateMessage) UnmarshalTLS(r *codec.Reader) {
	m.GroupID = r.Opaque()
	m.Epoch = r.Uint64()
	m.ContentType = ContentType(r.Uint8())
	if r.Err() == nil && !m.ContentType.valid() {
		r.Fail(errUnknown("content type", uint64(m.ContentType)))
		return
	}
	m.AuthenticatedData = r.Opaque()
	m.EncryptedSenderData = r.Opaque()
	m.Ciphertext = r.Opaque()
}

// SenderDataAAD returns the encoding of SenderDataAAD (§6.3.2).
func (m *PrivateMessage) SenderDataAAD() ([]byte, error) {
	return encode(func(w *codec.Writer) {
		w.Opaque(m.GroupID)
		w.Uint64(m.Epoch)
		w.Uint8(uint8(m.ContentType))
	})
}

// PrivateContentAAD returns the encoding of PrivateContentAAD (§6.3.1).
func (m *PrivateMessage) PrivateContentAAD() ([]byte, error) {
	return encode(func(w *codec.Writer) {
		w.Opaque(m.GroupID)
		w.Uint64(m.Epoch)
		w.Uint8(uint8(m.ContentType))
		w.Opaque(m.AuthenticatedData)
	})
}

// SenderData (§6.3.2).
type SenderData struct {
	LeafIndex  uint32
	Generation uint32
	ReuseGuard [4]byte
}

func (s *SenderData) MarshalTLS(w *codec.Writer) {
	w.Uint32(s.LeafIndex)
	w.Uint32(s.Generation)
	w.Raw(s.ReuseGuard[:])
}

func (s *SenderData) UnmarshalTLS(r *codec.Reader) {
	s.LeafIndex = r.Uint32()
	s.Generation = r.Uint32()
	copy(s.ReuseGuard[:], r.Raw(4))
}

// PrivateMessageContent (§6.3.1): the plaintext of a PrivateMessage. The
// content type comes from the enclosing PrivateMessage.
type PrivateMessageContent struct {
	ApplicationData []byte
	Proposal        *Proposal
	Commit          *Commit
	Auth            FramedContentAuthData
	PaddingLen      int
}

// MarshalPrivateMessageContent encodes c as content of type ct followed by
// c.PaddingLen zero bytes.
func MarshalPrivateMessageContent(c *PrivateMessageContent, ct ContentType) ([]byte, error) {
	if c.PaddingLen < 0 {
		return nil, fmt.Errorf("wire: negative padding length %d", c.PaddingLen)
	}
	return encode(func(w *codec.Writer) {
		marshalContentBody(w, ct, c.ApplicationData, c.Proposal, c.Commit)
		c.Auth.MarshalFor(w, ct)
		w.Raw(make([]byte, c.PaddingLen))
	})
}

// UnmarshalPrivateMessageContent decodes the plaintext of a PrivateMessage
// of content type ct. The padding must be all zero bytes (§6.3.1).
func UnmarshalPrivateMessageContent(data []byte, ct ContentType) (*PrivateMessageContent, error) {
	r := codec.NewReader(data)
	var f FramedContent
	f.ContentType = ct
	f.unmarshalBody(r)
	c := &PrivateMessageContent{ApplicationData: f.ApplicationData, Proposal: f.Proposal, Commit: f.Commit}
	c.Auth.UnmarshalFor(r, ct)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("failed to decode PrivateMessageContent: %w", err)
	}
	rest := data[len(data)-r.Len():]
	var nz byte
	for _, b := range rest {
		nz |= b
	}
	if nz != 0 {
		return nil, fmt.Errorf("wire: PrivateMessageContent padding is not all zero")
	}
	c.PaddingLen = len(rest)
	return c, nil
}

// MLSMessage (§6): the top-level message. The field named by WireFormat is
// set. Decoding rejects any version other than mls10 and unknown wire
// formats.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

func (m *MLSMessage) body() codec.Marshaler {
	switch m.WireFormat {
	case WireFormatPublicMessage:
		if m.PublicMessage != nil {
			return m.PublicMessage
		}
	case WireFormatPrivateMessage:
		if m.PrivateMessage != nil {
			return m.PrivateMessage
		}
	case WireFormatWelcome:
		if m.Welcome != nil {
			return m.Welcome
		}
	case WireFormatGroupInfo:
		if m.GroupInfo != nil {
			return m.GroupInfo
		}
	case WireFormatKeyPackage:
		if m.KeyPackage != nil {
			return m.KeyPackage
		}
	}
	return nil
}

func (m *MLSMessage) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(m.Version))
	w.Uint16(uint16(m.WireFormat))
	b := m.body()
	if b == nil {
		w.Fail(errUnknown("wire format (or missing message body)", uint64(m.WireFormat)))
		return
	}
	b.MarshalTLS(w)
}

func (m *MLSMessage) UnmarshalTLS(r *codec.Reader) {
	m.Version = ProtocolVersion(r.Uint16())
	m.WireFormat = WireFormat(r.Uint16())
	if r.Err() != nil {
		return
	}
	if m.Version != MLS10 {
		r.Fail(errUnknown("protocol version", uint64(m.Version)))
		return
	}
	var u codec.Unmarshaler
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		u = m.PublicMessage
	case WireFormatPrivateMessage:
		m.PrivateMessage = new(PrivateMessage)
		u = m.PrivateMessage
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		u = m.Welcome
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		u = m.GroupInfo
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		u = m.KeyPackage
	default:
		r.Fail(errUnknown("wire format", uint64(m.WireFormat)))
		return
	}
	u.UnmarshalTLS(r)
}
