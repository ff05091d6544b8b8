package mls

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/framing"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// # Disclosure of single application messages
//
// A member may show one application message of a group to a third party,
// offline, and nothing else. A PrivateMessage (RFC 9420 §6.3) is opened by
// two AEAD keys that serve that message alone:
//
//   - the sender-data key and nonce, derived from the epoch's
//     sender_data_secret and the first bytes of this ciphertext
//     (§6.3.2): they open the sender data of this ciphertext only;
//   - the content key and nonce of the sender's application ratchet at the
//     message's generation (§9.1): used once, for this message (§9.2, the
//     reuse guard only masks the nonce), and derived one-way from the
//     ratchet secret, so they yield no other generation's key.
//
// A Disclosure holds those two pairs, the epoch's GroupContext (part of the
// signed FramedContentTBS, §6.1, so the sender's signature can be checked)
// and the sender's signature public key. It never holds the
// sender_data_secret, a ratchet or tree secret, or anything of the key
// schedule. The GroupContext is public to members and reveals no secret;
// its tree hash and transcript hash commit to the group's state.
//
// Keys must be captured before they are erased: a sender with
// [Group.EncryptDisclosed], a receiver with [Group.Disclose] before
// [Group.Process]. [OpenDisclosed] checks a disclosure offline.

// A Disclosure opens one PrivateMessage application message.
type Disclosure struct {
	CipherSuite     CipherSuite
	GroupContext    []byte // TLS-encoded GroupContext of the message's epoch (§8.1)
	SenderDataKey   []byte
	SenderDataNonce []byte
	Key             []byte // content key of the message's generation
	Nonce           []byte // content nonce of that generation, before the reuse guard
	SignatureKey    []byte // the sender leaf's signature public key
}

// MaxDisclosureSize bounds an encoded Disclosure.
const MaxDisclosureSize = 8 << 10

// MarshalBinary encodes d (TLS presentation language, RFC 8446 §3, with
// MLS variable-length vectors, RFC 9420 §2.1.2).
func (d *Disclosure) MarshalBinary() ([]byte, error) {
	w := codec.NewWriter(nil)
	w.Uint16(uint16(d.CipherSuite))
	for _, b := range [][]byte{d.GroupContext, d.SenderDataKey, d.SenderDataNonce, d.Key, d.Nonce, d.SignatureKey} {
		w.Opaque(b)
	}
	return w.Bytes()
}

// ParseDisclosure decodes a Disclosure strictly.
func ParseDisclosure(data []byte) (*Disclosure, error) {
	if len(data) > MaxDisclosureSize {
		return nil, fmt.Errorf("%w: disclosure too long", ErrMalformed)
	}
	r := codec.NewReader(data)
	d := &Disclosure{CipherSuite: CipherSuite(r.Uint16())}
	for _, p := range []*[]byte{&d.GroupContext, &d.SenderDataKey, &d.SenderDataNonce, &d.Key, &d.Nonce, &d.SignatureKey} {
		*p = r.Opaque()
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: disclosure: %w", ErrMalformed, err)
	}
	return d, nil
}

// EncryptDisclosed is Encrypt that also returns the disclosure of the
// message it makes.
func (g *Group) EncryptDisclosed(plaintext, aad []byte) (msg []byte, d *Disclosure, err error) {
	defer guard(&err)
	if err := g.usable(); err != nil {
		return nil, nil, err
	}
	if g.pending != nil {
		return nil, nil, ErrPendingCommit
	}
	// The key Encrypt will use: the next generation of our application
	// ratchet, taken from a copy of the secret tree.
	st, err := g.secretsCopy()
	if err != nil {
		return nil, nil, err
	}
	kn, err := st.Next(treemath.LeafIndex(g.own), secrettree.Application)
	if err != nil {
		return nil, nil, err
	}
	msg, err = g.Encrypt(plaintext, aad)
	if err != nil {
		return nil, nil, err
	}
	d, err = g.disclosure(msg, kn)
	if err != nil {
		return nil, nil, err
	}
	if _, err := OpenDisclosed(msg, d); err != nil {
		return nil, nil, fmt.Errorf("%w: disclosure of an own message does not open it: %w", errInternal, err)
	}
	return msg, d, nil
}

// Disclose returns the disclosure of a received PrivateMessage application
// message of the current epoch, without changing the group. Call it before
// Process, which erases the key, and keep the disclosure only if Process
// accepts the message: Disclose itself does not decrypt the content or
// verify the signature (that would double the cost of receiving), so the
// disclosure of a forged message is worthless, and OpenDisclosed says so.
func (g *Group) Disclose(msg []byte) (d *Disclosure, err error) {
	defer guard(&err)
	if err := g.usable(); err != nil {
		return nil, err
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pm := m.PrivateMessage
	if pm == nil || pm.ContentType != wire.ContentTypeApplication {
		return nil, errors.New("mls: only PrivateMessage application messages can be disclosed")
	}
	if !bytes.Equal(pm.GroupID, g.ctx.GroupID) {
		return nil, ErrWrongGroup
	}
	if pm.Epoch != g.ctx.Epoch {
		return nil, fmt.Errorf("%w: got %d, current %d", ErrWrongEpoch, pm.Epoch, g.ctx.Epoch)
	}
	sd, err := g.senderData(pm)
	if err != nil {
		return nil, err
	}
	if sd.LeafIndex >= g.secrets.NumLeaves() {
		return nil, fmt.Errorf("%w: sender leaf outside the tree", ErrUnknownSender)
	}
	st, err := g.secretsCopy()
	if err != nil {
		return nil, err
	}
	kn, err := st.Get(treemath.LeafIndex(sd.LeafIndex), secrettree.Application, sd.Generation)
	if err != nil {
		return nil, classify(err)
	}
	d, err = g.disclosure(msg, kn)
	if err != nil {
		return nil, err
	}
	pub, err := g.signatureKeyOf(wire.Sender{Type: wire.SenderTypeMember, Index: sd.LeafIndex}, nil)
	if err != nil {
		return nil, err
	}
	d.SignatureKey = clone(pub)
	return d, nil
}

// senderData decrypts the sender data of pm (§6.3.2).
func (g *Group) senderData(pm *wire.PrivateMessage) (*wire.SenderData, error) {
	key, nonce, err := secrettree.SenderDataKeyNonce(g.s, g.senderDataSecret, pm.Ciphertext)
	if err != nil {
		return nil, err
	}
	aad, err := pm.SenderDataAAD()
	if err != nil {
		return nil, err
	}
	b, err := g.s.Open(key, nonce, aad, pm.EncryptedSenderData)
	if err != nil {
		return nil, ErrDecrypt
	}
	var sd wire.SenderData
	if err := wire.Unmarshal(b, &sd); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &sd, nil
}

// disclosure assembles the disclosure of msg, whose content key is kn.
func (g *Group) disclosure(msg []byte, kn secrettree.KeyNonce) (*Disclosure, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(msg, &m); err != nil || m.PrivateMessage == nil {
		return nil, fmt.Errorf("%w: not a PrivateMessage", ErrMalformed)
	}
	sdKey, sdNonce, err := secrettree.SenderDataKeyNonce(g.s, g.senderDataSecret, m.PrivateMessage.Ciphertext)
	if err != nil {
		return nil, err
	}
	gc, err := wire.Marshal(&g.ctx)
	if err != nil {
		return nil, err
	}
	pub, err := g.signatureKeyOf(wire.Sender{Type: wire.SenderTypeMember, Index: g.own}, nil)
	if err != nil {
		return nil, err
	}
	return &Disclosure{CipherSuite: CipherSuite(g.ctx.CipherSuite), GroupContext: gc, SenderDataKey: sdKey, SenderDataNonce: sdNonce,
		Key: clone(kn.Key), Nonce: clone(kn.Nonce), SignatureKey: clone(pub)}, nil
}

// A DisclosedMessage is an application message opened with a Disclosure.
type DisclosedMessage struct {
	GroupID           []byte
	Epoch             uint64
	Sender            uint32 // the sender's leaf index
	Generation        uint32
	SignatureKey      []byte // the key the signature verified under
	AuthenticatedData []byte
	Data              []byte // the application data
}

// OpenDisclosed opens msg, an MLSMessage carrying a PrivateMessage
// application message, with d, offline: it decrypts the sender data and
// the content, checks that the epoch and group are those of d's
// GroupContext, and verifies the sender's signature over FramedContentTBS
// (§6.1) with d.SignatureKey. It fails with an opaque error otherwise.
func OpenDisclosed(msg []byte, d *Disclosure) (dm *DisclosedMessage, err error) {
	defer guard(&err)
	s, err := lookupSuite(d.CipherSuite)
	if err != nil {
		return nil, err
	}
	var gc wire.GroupContext
	if err := wire.Unmarshal(d.GroupContext, &gc); err != nil {
		return nil, fmt.Errorf("%w: group context: %w", ErrMalformed, err)
	}
	if CipherSuite(gc.CipherSuite) != d.CipherSuite {
		return nil, ErrDecrypt
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pm := m.PrivateMessage
	if pm == nil || pm.ContentType != wire.ContentTypeApplication {
		return nil, fmt.Errorf("%w: not a PrivateMessage application message", ErrMalformed)
	}
	if !bytes.Equal(pm.GroupID, gc.GroupID) || pm.Epoch != gc.Epoch {
		return nil, ErrDecrypt
	}
	sdAAD, err := pm.SenderDataAAD()
	if err != nil {
		return nil, ErrDecrypt
	}
	sdBytes, err := s.Open(d.SenderDataKey, d.SenderDataNonce, sdAAD, pm.EncryptedSenderData)
	if err != nil {
		return nil, ErrDecrypt
	}
	var sd wire.SenderData
	if err := wire.Unmarshal(sdBytes, &sd); err != nil {
		return nil, ErrDecrypt
	}
	if len(d.Nonce) < len(sd.ReuseGuard) {
		return nil, ErrDecrypt
	}
	nonce := clone(d.Nonce)
	for i := range sd.ReuseGuard {
		nonce[i] ^= sd.ReuseGuard[i]
	}
	aad, err := pm.PrivateContentAAD()
	if err != nil {
		return nil, ErrDecrypt
	}
	plaintext, err := s.Open(d.Key, nonce, aad, pm.Ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	pc, err := wire.UnmarshalPrivateMessageContent(plaintext, pm.ContentType)
	if err != nil {
		return nil, ErrDecrypt
	}
	ac := &wire.AuthenticatedContent{
		WireFormat: wire.WireFormatPrivateMessage,
		Content: wire.FramedContent{
			GroupID: pm.GroupID, Epoch: pm.Epoch,
			Sender:            wire.Sender{Type: wire.SenderTypeMember, Index: sd.LeafIndex},
			AuthenticatedData: pm.AuthenticatedData, ContentType: pm.ContentType,
			ApplicationData: pc.ApplicationData,
		},
		Auth: pc.Auth,
	}
	if err := framing.VerifySignature(s, ac, &gc, d.SignatureKey); err != nil {
		return nil, ErrBadSignature
	}
	return &DisclosedMessage{GroupID: clone(pm.GroupID), Epoch: pm.Epoch, Sender: sd.LeafIndex, Generation: sd.Generation,
		SignatureKey: clone(d.SignatureKey), AuthenticatedData: clone(pm.AuthenticatedData), Data: clone(pc.ApplicationData)}, nil
}
