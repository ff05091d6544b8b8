package mls

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Config is the application's policy for one group: each Group holds its
// own (given to Create, Join, JoinExternal and UnmarshalGroup), so groups of one client may differ, for example in
// whether they accept external joins. It is not part of the serialized
// state: pass it again to UnmarshalGroup.
type Config struct {
	// ValidateCredential checks every credential the group accepts. When nil,
	// basic credentials are accepted and all others rejected.
	ValidateCredential CredentialValidator
	// ValidateCredentialChange decides whether a member may replace its
	// credential old with new (in an Update, a commit, or an external
	// rejoin). When nil, the credential must stay the same. It also
	// decides which members of a group and of its successor or branch are
	// the same client (Group.CreateSuccessor, Group.Branch, and Join with
	// JoinOptions.ResumedGroup; RFC 9420 §11.2, §11.3).
	ValidateCredentialChange func(old, new Credential) error
	// AllowExternalJoin decides whether a client may join from outside
	// the group with the given credential: by external commit
	// (§12.4.3.2) or by proposing its own Add (new_member_proposal,
	// §12.1.8). ValidateCredential is applied as well. When nil, both are
	// rejected: anyone who holds a GroupInfo could otherwise join, or have
	// its Add swept into the next member's commit, without a member
	// deciding to add it. Every member of a group must use the same
	// policy, or they disagree on which commits are valid: a client that
	// follows a group whose members accept external joins (a passive
	// client replaying its history, for instance) sets it as they do.
	AllowExternalJoin func(c Credential, signatureKey []byte) error
	// ExternalPSKs returns the external PSK with the given ID, or false when
	// it is unknown (§8.4). May be nil.
	ExternalPSKs func(id []byte) ([]byte, bool)
	// PaddingBlock pads the plaintext of every PrivateMessage to a multiple
	// of this many bytes (§6.3.1); 0 means DefaultPaddingBlock, 1 no padding.
	// It is ignored when PaddingBuckets is set.
	PaddingBlock int
	// PaddingBuckets, when not empty, pads every PrivateMessage so that
	// its whole MLSMessage encoding (RFC 9420 §6: header, authenticated
	// data, encrypted sender data and ciphertext) is exactly one of these
	// sizes in bytes: the smallest that fits, or beyond the largest, the
	// smallest multiple of the largest that fits. A one-word message and a
	// paragraph then look alike to anyone who sees only the bytes (the
	// delivery service). The sizes must be positive and strictly
	// increasing; StandardPaddingBuckets is a good choice. Padding is zero
	// bytes in the padding field of PrivateMessageContent (§6.3.1), so
	// receivers need no configuration to read it.
	PaddingBuckets []int
	// PublicHandshake sends proposals and commits as PublicMessage instead
	// of PrivateMessage. External commits are always PublicMessage.
	PublicHandshake bool
	// PastEpochs is how many earlier epochs' application messages can still
	// be read after a commit (0: none). A delivery service that orders a
	// commit before messages sent concurrently in the old epoch makes those
	// messages late; keeping an epoch's keys for a while reads them, at the
	// cost of forward secrecy for that while (RFC 9420 §15.3).
	// Handshake messages of past epochs are always rejected.
	PastEpochs int
	// Now returns the current time, for key package lifetimes; nil means
	// time.Now.
	Now func() time.Time
}

// DefaultPaddingBlock is the padding granularity of PrivateMessage
// plaintexts when Config.PaddingBlock is 0.
const DefaultPaddingBlock = 32

// StandardPaddingBuckets returns the sizes 256, 512, 1K, 2K, … 64K bytes
// for Config.PaddingBuckets: beyond 64K, messages are padded to multiples
// of 64K. A fresh slice each call.
func StandardPaddingBuckets() []int {
	var b []int
	for n := 256; n <= 64<<10; n *= 2 {
		b = append(b, n)
	}
	return b
}

// maxResumptionPSKs bounds how many past epochs' resumption PSKs a group
// keeps.
const maxResumptionPSKs = 64

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) validateCredential(cred *wire.Credential, sigKey []byte) error {
	if c.ValidateCredential == nil {
		if cred.Type != wire.CredentialTypeBasic {
			return fmt.Errorf("%w: credential type %d and no validator configured", ErrCredentialRejected, cred.Type)
		}
		return nil
	}
	if err := c.ValidateCredential(credentialFromWire(cred), clone(sigKey)); err != nil {
		return fmt.Errorf("%w: %w", ErrCredentialRejected, err)
	}
	return nil
}

// Member is a member of a group: its leaf index and credential.
type Member struct {
	Index        uint32
	Credential   Credential
	SignatureKey []byte
}

// pastEpoch is what reading application messages of an earlier epoch
// needs.
type pastEpoch struct {
	ctx              wire.GroupContext
	tree             *tree.Tree
	own              uint32
	secrets          *secrettree.Tree
	senderDataSecret []byte
}

// maxPastEpochs bounds Config.PastEpochs.
const maxPastEpochs = 16

// cachedProposal is a proposal received (or sent) in the current epoch, to
// be committed by reference.
type cachedProposal struct {
	ref    []byte
	p      *wire.Proposal
	sender wire.Sender
	// own proposals keep the private key of an Update's new leaf.
	updatePriv []byte
}

// resumptionPSK is the resumption_psk of one past epoch (§8.6).
type resumptionPSK struct {
	epoch uint64
	psk   []byte
}

// pendingCommit is a commit this member created and has not yet merged.
type pendingCommit struct {
	message []byte // the MLSMessage sent
	next    *Group
	info    *CommitInfo
}

// Group is one client's state of an MLS group (§8, §12). It is not safe
// for concurrent use. Every method that changes the state either succeeds
// or leaves the group as it was.
type Group struct {
	cfg Config
	s   *suite.Suite
	id  *Identity

	ctx  wire.GroupContext
	tree *tree.Tree
	own  uint32 // our leaf index
	priv *tree.PrivateState

	// Epoch secrets (§8 Table 4) that outlive the key schedule.
	initSecret, senderDataSecret, exporterSecret, externalSecret   []byte
	confirmationKey, membershipKey, resumption, epochAuthenticator []byte
	interim                                                        []byte
	secrets                                                        *secrettree.Tree

	proposals       []cachedProposal
	sent            digestSet // digests of this member's recent messages
	past            []pastEpoch
	pastPSKs        []resumptionPSK
	pending         *pendingCommit
	removed         bool
	reinit          *wire.ReInit
	resumed         *resumedPSK // only on a successor's or branch's epoch 0
	resumedFrom     *Group      // only while Join resolves a Welcome's PSKs
	confirmationTag []byte      // of the commit that started the epoch

	// Set only on the state a commit creates, for its Welcome.
	joinerSecret, welcomeSecret []byte
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("failed to read randomness: %w", err)
	}
	return b, nil
}

// Create creates a new group with id as its only member (§11). A nil
// groupID gives a random 16-byte ID. extensions become the group context
// extensions (for example required_capabilities or external_senders); the
// creator's leaf lists their types in its capabilities, and every member
// added later must support them.
func Create(id *Identity, groupID []byte, cfg *Config, extensions ...Extension) (*Group, error) {
	return create(id, groupID, cfg, createCapabilities(id.cs, extensions), extensions)
}

// create is Create with the creator's leaf capabilities given.
func create(id *Identity, groupID []byte, cfg *Config, caps wire.Capabilities, extensions []Extension) (*Group, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	var err error
	if groupID == nil {
		if groupID, err = randomBytes(16); err != nil {
			return nil, err
		}
	}
	s := id.s
	encPriv, encPub, err := s.GenerateKeyPair()
	if err != nil {
		return nil, fmt.Errorf("failed to generate encryption key: %w", err)
	}
	leaf := &wire.LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  id.key.Public(),
		Credential:    id.credential.toWire(),
		Capabilities:  caps,
		Source:        wire.LeafNodeSourceKeyPackage,
		Lifetime:      &wire.Lifetime{NotBefore: 0, NotAfter: ^uint64(0)},
		Extensions:    wire.Extensions{},
	}
	if err := leaf.Sign(id.key, nil, 0); err != nil {
		return nil, err
	}
	if err := cfg.validateCredential(&leaf.Credential, leaf.SignatureKey); err != nil {
		return nil, err
	}
	t := tree.New(s, leaf)
	th := t.TreeHash()
	g := &Group{
		cfg: *cfg, s: s, id: id, tree: t, own: 0,
		ctx: wire.GroupContext{
			Version: wire.MLS10, CipherSuite: wire.CipherSuite(id.cs), GroupID: clone(groupID), Epoch: 0,
			TreeHash: th, ConfirmedTranscriptHash: []byte{}, Extensions: extensionsToWire(extensions),
		},
	}
	if err := g.checkGroupContextExtensions(g.ctx.Extensions, t); err != nil {
		return nil, err
	}
	if g.priv, err = tree.NewPrivateState(t, 0, encPriv); err != nil {
		return nil, err
	}
	// §11: epoch 0 starts from a random init_secret, zero commit and PSK
	// secrets, and an empty interim transcript hash.
	initSecret, err := randomBytes(s.Nh())
	if err != nil {
		return nil, err
	}
	gc, err := wire.Marshal(&g.ctx)
	if err != nil {
		return nil, err
	}
	ep, err := keyschedule.Derive(s, initSecret, nil, nil, gc)
	if err != nil {
		return nil, err
	}
	if err := g.enterEpoch(ep); err != nil {
		return nil, err
	}
	tag := keyschedule.ConfirmationTag(s, ep.ConfirmationKey, g.ctx.ConfirmedTranscriptHash)
	g.confirmationTag = tag
	if g.interim, err = keyschedule.InterimTranscriptHash(s, g.ctx.ConfirmedTranscriptHash, tag); err != nil {
		return nil, err
	}
	return g, nil
}

// createCapabilities are the creator's capabilities: the defaults plus the
// non-default extension types of the group context it creates.
func createCapabilities(cs CipherSuite, exts []Extension) wire.Capabilities {
	c := defaultCapabilities(cs, false)
	for _, e := range exts {
		t := wire.ExtensionType(e.Type)
		if !isDefaultExtension(t) && !containsT(c.Extensions, t) {
			c.Extensions = append(c.Extensions, t)
		}
	}
	return c
}

// enterEpoch installs an epoch's secrets and a fresh secret tree.
func (g *Group) enterEpoch(ep *keyschedule.Epoch) error {
	st, err := secrettree.New(g.s, ep.EncryptionSecret, g.tree.NumLeaves())
	if err != nil {
		return fmt.Errorf("failed to build the secret tree: %w", err)
	}
	g.secrets = st
	g.initSecret = ep.InitSecret
	g.senderDataSecret = ep.SenderDataSecret
	g.exporterSecret = ep.ExporterSecret
	g.externalSecret = ep.ExternalSecret
	g.confirmationKey = ep.ConfirmationKey
	g.membershipKey = ep.MembershipKey
	g.resumption = ep.ResumptionPSK
	g.epochAuthenticator = ep.EpochAuthenticator
	g.proposals = nil
	g.pending = nil
	g.pastPSKs = append(g.pastPSKs, resumptionPSK{epoch: g.ctx.Epoch, psk: ep.ResumptionPSK})
	if len(g.pastPSKs) > maxResumptionPSKs {
		g.pastPSKs = append([]resumptionPSK{}, g.pastPSKs[len(g.pastPSKs)-maxResumptionPSKs:]...)
	}
	return nil
}

// GroupID returns the group's ID.
func (g *Group) GroupID() []byte { return clone(g.ctx.GroupID) }

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 { return g.ctx.Epoch }

// CipherSuite returns the group's suite.
func (g *Group) CipherSuite() CipherSuite { return CipherSuite(g.ctx.CipherSuite) }

// OwnIndex returns this client's leaf index.
func (g *Group) OwnIndex() uint32 { return g.own }

// Active reports whether this client is still a member: false after a
// commit removed it or a ReInit closed the group.
func (g *Group) Active() bool { return !g.removed && g.reinit == nil }

// Extensions returns the group context extensions.
func (g *Group) Extensions() []Extension { return extensionsFromWire(g.ctx.Extensions) }

// EpochAuthenticator returns the epoch authenticator (§8.7): members who
// compare it out of band detect a split view of the group.
func (g *Group) EpochAuthenticator() []byte { return clone(g.epochAuthenticator) }

// Export returns MLS-Exporter(label, context, length) (§8.5), a secret
// shared by the members of the current epoch.
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*g.s.Nh() {
		return nil, fmt.Errorf("mls: exporter length %d out of range", length)
	}
	return keyschedule.Export(g.s, g.exporterSecret, label, context, length)
}

// Members returns the current members in leaf order.
func (g *Group) Members() []Member {
	var out []Member
	g.tree.Members(func(i tree.LeafIndex, l *wire.LeafNode) bool {
		out = append(out, Member{Index: uint32(i), Credential: credentialFromWire(&l.Credential), SignatureKey: clone(l.SignatureKey)})
		return true
	})
	return out
}

// Member returns the member at leaf index i.
func (g *Group) Member(i uint32) (Member, bool) {
	l := leafAt(g.tree, i)
	if l == nil {
		return Member{}, false
	}
	return Member{Index: i, Credential: credentialFromWire(&l.Credential), SignatureKey: clone(l.SignatureKey)}, true
}

// ReInitInfo returns the parameters of the ReInit that closed the group,
// or false when the group was not reinitialised.
func (g *Group) ReInitInfo() (groupID []byte, cs CipherSuite, extensions []Extension, ok bool) {
	if g.reinit == nil {
		return nil, 0, nil, false
	}
	return clone(g.reinit.GroupID), CipherSuite(g.reinit.CipherSuite), extensionsFromWire(g.reinit.Extensions), true
}

// maxSent bounds the digests of own messages remembered per epoch.
const maxSent = 4096

// digestSet is a bounded set of message digests, oldest dropped first.
type digestSet struct {
	order [][]byte
	set   map[string]struct{}
}

func (d *digestSet) add(h []byte) {
	if d.set == nil {
		d.set = make(map[string]struct{})
	}
	if _, ok := d.set[string(h)]; ok {
		return
	}
	d.order = append(d.order, h)
	d.set[string(h)] = struct{}{}
	if len(d.order) > maxSent {
		delete(d.set, string(d.order[0]))
		d.order = d.order[1:]
	}
}

func (d *digestSet) has(h []byte) bool {
	_, ok := d.set[string(h)]
	return ok
}

func (d *digestSet) clone() digestSet {
	c := digestSet{order: append([][]byte{}, d.order...), set: make(map[string]struct{}, len(d.order))}
	for _, h := range d.order {
		c.set[string(h)] = struct{}{}
	}
	return c
}

// rememberSent records the digest of a message this member sends, so that
// its echo is recognised.
func (g *Group) rememberSent(msg []byte) { g.sent.add(g.s.Hash(msg)) }

func (g *Group) isSent(msg []byte) bool {
	return len(g.sent.order) > 0 && g.sent.has(g.s.Hash(msg))
}

// usable reports whether the group may send or receive.
func (g *Group) usable() error {
	if g.removed {
		return ErrNotMember
	}
	if g.reinit != nil {
		return ErrReInit
	}
	return nil
}

var errInternal = errors.New("mls: internal error")

// guard turns a panic of a broken internal invariant into an error wrapping
// errInternal, so that no input can crash the caller. Use as
// `defer guard(&err)` in functions that take untrusted bytes.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", errInternal, r)
	}
}
