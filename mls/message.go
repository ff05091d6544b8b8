package mls

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/framing"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// SenderType says who sent a message (§6).
type SenderType uint8

// Sender types of RFC 9420 §6.
const (
	SenderMember            SenderType = 1
	SenderExternal          SenderType = 2
	SenderNewMemberProposal SenderType = 3
	SenderNewMemberCommit   SenderType = 4
)

// Sender identifies a message's sender: a member by leaf index, an
// external sender by its index in the external_senders extension, or a
// new member.
type Sender struct {
	Type  SenderType
	Index uint32
	// Credential and SignatureKey of the sender (for a member: as it was
	// when the message was sent).
	Credential   Credential
	SignatureKey []byte
}

// MessageKind is the content type of a received message.
type MessageKind uint8

// Kinds of received messages.
const (
	KindApplication MessageKind = 1
	KindProposal    MessageKind = 2
	KindCommit      MessageKind = 3
)

// Received is the result of Group.Process.
type Received struct {
	Kind              MessageKind
	Sender            Sender
	Epoch             uint64 // the epoch the message was sent in
	AuthenticatedData []byte
	// Data is the plaintext of an application message.
	Data []byte
	// Proposal is the received proposal; it is cached until the next commit.
	Proposal *Proposal
	// Commit describes the commit that moved the group to a new epoch.
	Commit *CommitInfo
}

// CommitInfo describes a processed commit.
type CommitInfo struct {
	// NewEpoch is the epoch the commit started.
	NewEpoch uint64
	// Proposals the commit applied, in commit order.
	Proposals []Proposal
	// Added, Updated and Removed list the members concerned, as they are in
	// the new epoch (Removed: as they were).
	Added, Updated, Removed []Member
	// External is set for an external commit (a new member joined).
	External bool
	// SelfRemoved is set when the commit removed this client: the group no
	// longer accepts messages.
	SelfRemoved bool
	// ReInit is set when the commit carried a ReInit: the group is closed.
	ReInit bool
}

// Encrypt protects application data as a PrivateMessage (§6.3) with the
// given additional authenticated data (sent in the clear, authenticated).
func (g *Group) Encrypt(plaintext, aad []byte) ([]byte, error) {
	if err := g.usable(); err != nil {
		return nil, err
	}
	if g.pending != nil {
		return nil, ErrPendingCommit
	}
	content := &wire.FramedContent{
		GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch,
		Sender:            wire.Sender{Type: wire.SenderTypeMember, Index: g.own},
		AuthenticatedData: nonNil(aad), ContentType: wire.ContentTypeApplication, ApplicationData: nonNil(plaintext),
	}
	msg, err := g.protect(content, wire.WireFormatPrivateMessage, nil)
	if err != nil {
		return nil, err
	}
	g.rememberSent(msg)
	return msg, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// handshakeFormat is the wire format of this member's proposals and commits.
func (g *Group) handshakeFormat() wire.WireFormat {
	if g.cfg.PublicHandshake {
		return wire.WireFormatPublicMessage
	}
	return wire.WireFormatPrivateMessage
}

// sign signs content as this member.
func (g *Group) sign(content *wire.FramedContent, wf wire.WireFormat) (*wire.AuthenticatedContent, error) {
	return framing.Sign(g.s, g.id.key, wf, content, &g.ctx)
}

// protect signs (unless ac is given) and frames content into MLSMessage
// bytes.
func (g *Group) protect(content *wire.FramedContent, wf wire.WireFormat, ac *wire.AuthenticatedContent) ([]byte, error) {
	var err error
	if ac == nil {
		if ac, err = g.sign(content, wf); err != nil {
			return nil, err
		}
	}
	m := wire.MLSMessage{Version: wire.MLS10, WireFormat: wf}
	switch wf {
	case wire.WireFormatPublicMessage:
		if m.PublicMessage, err = framing.ProtectPublic(g.s, ac, &g.ctx, g.membershipKey); err != nil {
			return nil, err
		}
	case wire.WireFormatPrivateMessage:
		pad, err := g.paddingFor(ac)
		if err != nil {
			return nil, err
		}
		if m.PrivateMessage, err = framing.ProtectPrivate(g.s, ac, g.secrets, g.senderDataSecret, pad); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: cannot protect wire format %d", errInternal, wf)
	}
	return wire.Marshal(&m)
}

// paddingFor returns the padding for the PrivateMessageContent of ac: to a
// bucket size of the whole message when Config.PaddingBuckets is set,
// otherwise to a multiple of the padding block (§6.3.1).
func (g *Group) paddingFor(ac *wire.AuthenticatedContent) (int, error) {
	block := g.cfg.PaddingBlock
	if block == 0 {
		block = DefaultPaddingBlock
	}
	if block <= 1 && len(g.cfg.PaddingBuckets) == 0 {
		return 0, nil
	}
	var n int
	if ac.Content.ContentType == wire.ContentTypeApplication {
		// opaque application_data<V> followed by opaque signature<V>.
		a, sig := len(ac.Content.ApplicationData), len(ac.Auth.Signature)
		n = codec.VarintLen(a) + a + codec.VarintLen(sig) + sig
	} else {
		pc := wire.PrivateMessageContent{Proposal: ac.Content.Proposal, Commit: ac.Content.Commit, Auth: ac.Auth}
		b, err := wire.MarshalPrivateMessageContent(&pc, ac.Content.ContentType)
		if err != nil {
			return 0, err
		}
		n = len(b)
	}
	if len(g.cfg.PaddingBuckets) > 0 {
		return g.bucketPadding(ac, n)
	}
	return (block - n%block) % block, nil
}

// bucketPadding returns the padding that makes the MLSMessage of ac, whose
// PrivateMessageContent is n bytes before padding, exactly a size of
// Config.PaddingBuckets.
func (g *Group) bucketPadding(ac *wire.AuthenticatedContent, n int) (int, error) {
	c := &ac.Content
	sd, err := wire.Marshal(&wire.SenderData{})
	if err != nil {
		return 0, err
	}
	tag := g.s.Nt()
	// The message with an empty ciphertext is everything but the
	// ciphertext and its length prefix (one byte for zero).
	m := wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: &wire.PrivateMessage{
		GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData,
		EncryptedSenderData: make([]byte, len(sd)+tag), Ciphertext: []byte{},
	}}
	b, err := wire.Marshal(&m)
	if err != nil {
		return 0, err
	}
	return bucketPad(g.cfg.PaddingBuckets, len(b)-1, n+tag)
}

// maxPaddedMessage bounds the size a message is padded to.
const maxPaddedMessage = codec.MaxVectorLength

// bucketPad returns the least pad >= 0 for which a message of base bytes
// plus a vector of l+pad bytes (its length prefix and its contents) is a
// size of buckets as Config.PaddingBuckets describes.
func bucketPad(buckets []int, base, l int) (int, error) {
	for i, b := range buckets {
		if b <= 0 || (i > 0 && b <= buckets[i-1]) {
			return 0, fmt.Errorf("mls: Config.PaddingBuckets must be positive and strictly increasing, not %v", buckets)
		}
	}
	// fits returns the pad that makes the message size bytes, if any: the
	// length prefix of the vector grows from 1 to 2 to 4 bytes with it.
	fits := func(size int) (int, bool) {
		for _, v := range []int{1, 2, 4} {
			if vl := size - base - v; vl >= l && codec.VarintLen(vl) == v {
				return vl - l, true
			}
		}
		return 0, false
	}
	least := base + codec.VarintLen(l) + l
	for _, b := range buckets {
		if b >= least {
			if pad, ok := fits(b); ok {
				return pad, nil
			}
		}
	}
	last := buckets[len(buckets)-1]
	for k := max(least/last, 1); k*last <= maxPaddedMessage; k++ {
		if pad, ok := fits(k * last); ok {
			return pad, nil
		}
	}
	return 0, fmt.Errorf("mls: a message of %d bytes cannot be padded to a size of Config.PaddingBuckets", least)
}

// Propose sends a proposal (§12.1) as this member; the returned message goes
// to the group, and the proposal is cached so that the next commit (by any
// member) can include it by reference.
func (g *Group) Propose(p Proposal, aad []byte) ([]byte, error) {
	if err := g.usable(); err != nil {
		return nil, err
	}
	if g.pending != nil {
		return nil, ErrPendingCommit
	}
	wp, updatePriv, err := g.proposalToWire(p, true)
	if err != nil {
		return nil, err
	}
	sender := wire.Sender{Type: wire.SenderTypeMember, Index: g.own}
	if err := g.validateSingleProposal(wp, sender, g.tree, false, true); err != nil {
		return nil, err
	}
	content := &wire.FramedContent{
		GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch, Sender: sender,
		AuthenticatedData: nonNil(aad), ContentType: wire.ContentTypeProposal, Proposal: wp,
	}
	wf := g.handshakeFormat()
	ac, err := g.sign(content, wf)
	if err != nil {
		return nil, err
	}
	ref, err := wire.ProposalRef(g.s, ac)
	if err != nil {
		return nil, err
	}
	msg, err := g.protect(content, wf, ac)
	if err != nil {
		return nil, err
	}
	g.proposals = append(g.proposals, cachedProposal{ref: ref, p: wp, sender: sender, updatePriv: updatePriv})
	g.rememberSent(msg)
	return msg, nil
}

// Process handles one incoming MLSMessage (PublicMessage or PrivateMessage)
// strictly by RFC 9420 §6 and §12.4.2: application data is decrypted,
// proposals are validated and cached, and commits are validated and
// applied, moving the group to the next epoch. A message that fails any
// check leaves the group unchanged and returns an error saying what failed.
//
// When the message is this member's own pending commit, as echoed by the
// delivery service, it is merged. Once a ReInit commit closed the group,
// Process reads only late application messages of the earlier epochs that
// Config.PastEpochs keeps, and returns ErrReInit for anything else.
func (g *Group) Process(msg []byte) (rcv *Received, err error) {
	defer guard(&err)
	if g.removed {
		return nil, ErrNotMember
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if g.reinit != nil {
		// A group closed by a ReInit takes nothing new (RFC 9420 §12.4.2:
		// its members stop sending); application messages that were sent
		// in earlier epochs and arrive late are still read when
		// Config.PastEpochs kept those epochs' keys, so that no message
		// of the old group is lost in the move to its successor.
		if pm := m.PrivateMessage; pm != nil && pm.Epoch < g.ctx.Epoch && g.findPast(pm.Epoch) != nil {
			return g.processPast(pm)
		}
		return nil, ErrReInit
	}
	if g.pending != nil && bytes.Equal(msg, g.pending.message) {
		info := g.pending.info
		*g = *g.pending.next
		return &Received{Kind: KindCommit, Sender: g.senderInfo(wire.Sender{Type: wire.SenderTypeMember, Index: g.own}), Epoch: g.ctx.Epoch - 1, Commit: info}, nil
	}
	if g.isSent(msg) {
		return nil, ErrOwnMessage
	}
	var ac *wire.AuthenticatedContent
	secrets := g.secrets // replaced by the updated copy only on success
	switch {
	case m.PublicMessage != nil:
		ac, err = framing.UnprotectPublic(g.s, &g.ctx, m.PublicMessage, g.membershipKey, g.signatureKeyOf)
	case m.PrivateMessage != nil && m.PrivateMessage.Epoch < g.ctx.Epoch && g.findPast(m.PrivateMessage.Epoch) != nil:
		return g.processPast(m.PrivateMessage)
	case m.PrivateMessage != nil:
		ac, secrets, err = g.unprotectPrivate(m.PrivateMessage)
	default:
		return nil, fmt.Errorf("%w: wire format %d is not a group message", ErrMalformed, m.WireFormat)
	}
	if err != nil {
		return nil, classify(err)
	}
	sender := g.senderInfo(ac.Content.Sender)
	if ac.Content.Sender.Type == wire.SenderTypeNewMemberCommit && ac.Content.Commit != nil && ac.Content.Commit.Path != nil {
		l := &ac.Content.Commit.Path.LeafNode
		sender.Credential, sender.SignatureKey = credentialFromWire(&l.Credential), clone(l.SignatureKey)
	}
	rcv = &Received{Sender: sender, Epoch: ac.Content.Epoch, AuthenticatedData: clone(ac.Content.AuthenticatedData)}
	switch ac.Content.ContentType {
	case wire.ContentTypeApplication:
		rcv.Kind, rcv.Data = KindApplication, ac.Content.ApplicationData
		g.secrets = secrets
	case wire.ContentTypeProposal:
		p, err := g.receiveProposal(ac)
		if err != nil {
			return nil, err
		}
		rcv.Kind, rcv.Proposal = KindProposal, &p
		g.secrets = secrets
	case wire.ContentTypeCommit:
		if ac.Content.Sender.Type == wire.SenderTypeMember && ac.Content.Sender.Index == g.own {
			return nil, fmt.Errorf("%w: a commit from this member's own leaf that is not its pending commit", ErrInvalidCommit)
		}
		next, info, err := g.processCommit(ac)
		if err != nil {
			return nil, err
		}
		*g = *next
		rcv.Kind, rcv.Commit = KindCommit, info
	default:
		return nil, fmt.Errorf("%w: content type %d", ErrMalformed, ac.Content.ContentType)
	}
	return rcv, nil
}

// unprotectPrivate decrypts a PrivateMessage. The secret tree is changed
// (the generation's key is deleted) only when the whole message verifies.
func (g *Group) unprotectPrivate(pm *wire.PrivateMessage) (*wire.AuthenticatedContent, *secrettree.Tree, error) {
	if string(pm.GroupID) != string(g.ctx.GroupID) {
		return nil, nil, ErrWrongGroup
	}
	if pm.Epoch != g.ctx.Epoch {
		return nil, nil, fmt.Errorf("%w: got %d, current %d", ErrWrongEpoch, pm.Epoch, g.ctx.Epoch)
	}
	st, err := g.secretsCopy()
	if err != nil {
		return nil, nil, err
	}
	ac, err := framing.UnprotectPrivate(g.s, &g.ctx, pm, st, g.senderDataSecret, g.signatureKeyOf)
	if err != nil {
		return nil, nil, err
	}
	if ac.Content.Sender.Index == g.own {
		return nil, nil, fmt.Errorf("%w: a PrivateMessage from this member's own leaf", ErrUnknownSender)
	}
	return ac, st, nil
}

// signatureKeyOf returns the signature key of a sender (§6.1).
func (g *Group) signatureKeyOf(sender wire.Sender, content *wire.FramedContent) ([]byte, error) {
	switch sender.Type {
	case wire.SenderTypeMember:
		l := leafAt(g.tree, sender.Index)
		if l == nil {
			return nil, fmt.Errorf("%w: leaf %d is blank or outside the tree", ErrUnknownSender, sender.Index)
		}
		return l.SignatureKey, nil
	case wire.SenderTypeExternal:
		es, err := g.externalSenders()
		if err != nil {
			return nil, err
		}
		if int64(sender.Index) >= int64(len(es)) {
			return nil, fmt.Errorf("%w: external sender %d not configured", ErrUnknownSender, sender.Index)
		}
		return es[sender.Index].SignatureKey, nil
	case wire.SenderTypeNewMemberProposal:
		if content.ContentType != wire.ContentTypeProposal || content.Proposal == nil || content.Proposal.Type != wire.ProposalTypeAdd {
			return nil, fmt.Errorf("%w: a new_member_proposal sender may only send an Add proposal", ErrUnknownSender)
		}
		return content.Proposal.Add.KeyPackage.LeafNode.SignatureKey, nil
	case wire.SenderTypeNewMemberCommit:
		if content.ContentType != wire.ContentTypeCommit || content.Commit == nil || content.Commit.Path == nil {
			return nil, fmt.Errorf("%w: a new_member_commit sender must send a commit with a path", ErrInvalidCommit)
		}
		return content.Commit.Path.LeafNode.SignatureKey, nil
	}
	return nil, fmt.Errorf("%w: sender type %d", ErrUnknownSender, sender.Type)
}

func (g *Group) externalSenders() (wire.ExternalSenders, error) {
	data, ok := g.ctx.Extensions.Find(wire.ExtensionExternalSenders)
	if !ok {
		return nil, nil
	}
	var es wire.ExternalSenders
	if err := wire.Unmarshal(data, &es); err != nil {
		return nil, fmt.Errorf("%w: external_senders extension: %w", ErrMalformed, err)
	}
	return es, nil
}

func (g *Group) senderInfo(s wire.Sender) Sender {
	out := Sender{Type: SenderType(s.Type), Index: s.Index}
	switch s.Type {
	case wire.SenderTypeMember:
		if l := leafAt(g.tree, s.Index); l != nil {
			out.Credential, out.SignatureKey = credentialFromWire(&l.Credential), clone(l.SignatureKey)
		}
	case wire.SenderTypeExternal:
		if es, err := g.externalSenders(); err == nil && int64(s.Index) < int64(len(es)) {
			out.Credential, out.SignatureKey = credentialFromWire(&es[s.Index].Credential), clone(es[s.Index].SignatureKey)
		}
	}
	return out
}

// receiveProposal validates and caches a received proposal (§12.1, §12.4.2).
func (g *Group) receiveProposal(ac *wire.AuthenticatedContent) (Proposal, error) {
	p := ac.Content.Proposal
	if err := g.validateSingleProposal(p, ac.Content.Sender, g.tree, false, false); err != nil {
		return Proposal{}, err
	}
	ref, err := wire.ProposalRef(g.s, ac)
	if err != nil {
		return Proposal{}, err
	}
	for _, c := range g.proposals {
		if bytes.Equal(c.ref, ref) {
			return Proposal{}, fmt.Errorf("%w: proposal received twice", ErrInvalidProposal)
		}
	}
	g.proposals = append(g.proposals, cachedProposal{ref: ref, p: p, sender: ac.Content.Sender})
	return proposalFromWire(g, p), nil
}

var errNoTree = errors.New("mls: ratchet tree not available")

// framingPublic wraps ac as a PublicMessage (no membership tag for
// non-member senders).
func framingPublic(g *Group, ac *wire.AuthenticatedContent) (*wire.PublicMessage, error) {
	return framing.ProtectPublic(g.s, ac, &g.ctx, g.membershipKey)
}

func (g *Group) findPast(epoch uint64) *pastEpoch {
	for i := range g.past {
		if g.past[i].ctx.Epoch == epoch {
			return &g.past[i]
		}
	}
	return nil
}

// processPast reads an application message of a kept earlier epoch
// (Config.PastEpochs).
func (g *Group) processPast(pm *wire.PrivateMessage) (*Received, error) {
	pe := g.findPast(pm.Epoch)
	if string(pm.GroupID) != string(pe.ctx.GroupID) {
		return nil, ErrWrongGroup
	}
	if pm.ContentType != wire.ContentTypeApplication {
		return nil, fmt.Errorf("%w: a handshake message of epoch %d, current %d", ErrWrongEpoch, pm.Epoch, g.ctx.Epoch)
	}
	b, err := pe.secrets.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st, err := secrettree.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	sigKey := func(sender wire.Sender, _ *wire.FramedContent) ([]byte, error) {
		if sender.Type != wire.SenderTypeMember {
			return nil, fmt.Errorf("%w: sender type %d", ErrUnknownSender, sender.Type)
		}
		l := leafAt(pe.tree, sender.Index)
		if l == nil {
			return nil, fmt.Errorf("%w: leaf %d was blank in epoch %d", ErrUnknownSender, sender.Index, pe.ctx.Epoch)
		}
		return l.SignatureKey, nil
	}
	ac, err := framing.UnprotectPrivate(g.s, &pe.ctx, pm, st, pe.senderDataSecret, sigKey)
	if err != nil {
		return nil, classify(err)
	}
	if ac.Content.Sender.Index == pe.own {
		return nil, fmt.Errorf("%w: a PrivateMessage from this member's own leaf", ErrUnknownSender)
	}
	pe.secrets = st
	r := &Received{Kind: KindApplication, Epoch: pm.Epoch, AuthenticatedData: clone(ac.Content.AuthenticatedData), Data: ac.Content.ApplicationData}
	r.Sender = Sender{Type: SenderMember, Index: ac.Content.Sender.Index}
	if l := leafAt(pe.tree, ac.Content.Sender.Index); l != nil {
		r.Sender.Credential, r.Sender.SignatureKey = credentialFromWire(&l.Credential), clone(l.SignatureKey)
	}
	return r, nil
}
