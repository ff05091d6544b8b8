package mls

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// WireFormat is the kind of an MLSMessage (§6).
type WireFormat uint16

// Wire formats of RFC 9420 §6.
const (
	WireFormatPublicMessage  WireFormat = 1
	WireFormatPrivateMessage WireFormat = 2
	WireFormatWelcome        WireFormat = 3
	WireFormatGroupInfo      WireFormat = 4
	WireFormatKeyPackage     WireFormat = 5
)

// Header is what anyone can read of an MLSMessage without keys: what a
// delivery service needs to route and order it (§6).
type Header struct {
	WireFormat WireFormat
	// GroupID and Epoch of a PublicMessage, PrivateMessage or GroupInfo.
	GroupID []byte
	Epoch   uint64
	// Kind of a PublicMessage or PrivateMessage (application, proposal or
	// commit; the content type is in the clear in both).
	Kind MessageKind
	// Sender of a PublicMessage (a PrivateMessage hides it).
	Sender *Sender
	// CipherSuite of a Welcome, GroupInfo or KeyPackage.
	CipherSuite CipherSuite
}

// ParseHeader decodes an MLSMessage strictly and returns its public
// header. It verifies nothing: it is for routing, not for trust.
func ParseHeader(msg []byte) (*Header, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	h := &Header{WireFormat: WireFormat(m.WireFormat)}
	switch {
	case m.PublicMessage != nil:
		c := &m.PublicMessage.Content
		h.GroupID, h.Epoch, h.Kind = clone(c.GroupID), c.Epoch, MessageKind(c.ContentType)
		h.Sender = &Sender{Type: SenderType(c.Sender.Type), Index: c.Sender.Index}
	case m.PrivateMessage != nil:
		p := m.PrivateMessage
		h.GroupID, h.Epoch, h.Kind = clone(p.GroupID), p.Epoch, MessageKind(p.ContentType)
	case m.GroupInfo != nil:
		gc := &m.GroupInfo.GroupContext
		h.GroupID, h.Epoch, h.CipherSuite = clone(gc.GroupID), gc.Epoch, CipherSuite(gc.CipherSuite)
	case m.Welcome != nil:
		h.CipherSuite = CipherSuite(m.Welcome.CipherSuite)
	case m.KeyPackage != nil:
		h.CipherSuite = CipherSuite(m.KeyPackage.CipherSuite)
	}
	return h, nil
}

// WelcomeRecipients returns the KeyPackageRefs (KeyPackage.Ref) a Welcome
// is addressed to, so that a client can find which of its key packages'
// private parts to pass to Join.
func WelcomeRecipients(welcome []byte) ([][]byte, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(welcome, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if m.Welcome == nil {
		return nil, fmt.Errorf("%w: not a Welcome (wire format %d)", ErrMalformed, m.WireFormat)
	}
	refs := make([][]byte, len(m.Welcome.Secrets))
	for i, s := range m.Welcome.Secrets {
		refs[i] = clone(s.NewMember)
	}
	return refs, nil
}
