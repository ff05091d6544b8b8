// Package secrettree implements the MLS secret tree (RFC 9420 §9) and the
// sender-data keys of PrivateMessage (§6.3.2).
//
// # Derivation
//
// The tree has the shape of the ratchet tree. Its root secret is the epoch's
// encryption_secret, and each parent's children are
//
//	left  = ExpandWithLabel(secret, "tree", "left", Nh)
//	right = ExpandWithLabel(secret, "tree", "right", Nh)
//
// Each leaf's secret seeds two ratchets (§9.1):
//
//	handshake_secret[0]   = ExpandWithLabel(leaf_secret, "handshake", "", Nh)
//	application_secret[0] = ExpandWithLabel(leaf_secret, "application", "", Nh)
//
// and generation j of a ratchet gives
//
//	key[j]      = DeriveTreeSecret(secret[j], "key", j, Nk)
//	nonce[j]    = DeriveTreeSecret(secret[j], "nonce", j, Nn)
//	secret[j+1] = DeriveTreeSecret(secret[j], "secret", j, Nh)
//
// # Deletion (§9.2)
//
// Secrets are derived lazily and erased as soon as they are consumed: a
// parent's secret once both children exist, a leaf's secret once its
// ratchets exist, secret[j] once key[j], nonce[j] and secret[j+1] exist, and
// key[j]/nonce[j] once returned by [Tree.Get] or [Tree.Next]. Asking for a
// generation a second time therefore fails with [ErrGenerationUsed]. Keys of
// generations skipped over by an out-of-order message are kept, up to
// [Tree.MaxSkipped] per ratchet, and erased when used; a message may jump
// at most [Tree.MaxForward] generations ahead.
//
// Tree is not safe for concurrent use.
package secrettree

import (
	"errors"
	"fmt"
	"sort"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
)

// RatchetType selects a leaf's handshake or application ratchet.
type RatchetType uint8

// The two ratchets of each leaf (§9.1).
const (
	Handshake   RatchetType = 1
	Application RatchetType = 2
)

func (r RatchetType) String() string {
	switch r {
	case Handshake:
		return "handshake"
	case Application:
		return "application"
	}
	return fmt.Sprintf("ratchet type %d", uint8(r))
}

// ErrGenerationUsed is returned for a generation whose key was already
// consumed and deleted (a replayed or duplicated message).
var ErrGenerationUsed = errors.New("secrettree: generation already used or deleted")

// ErrTooFarAhead is returned for a generation more than MaxForward past the
// next expected one.
var ErrTooFarAhead = errors.New("secrettree: generation too far ahead")

// Defaults for Tree.MaxForward and Tree.MaxSkipped.
const (
	DefaultMaxForward = 1024
	DefaultMaxSkipped = 256
)

// KeyNonce is the AEAD key and nonce of one generation.
type KeyNonce struct {
	Generation uint32
	Key        []byte
	Nonce      []byte
}

type ratchetID struct {
	leaf treemath.LeafIndex
	typ  RatchetType
}

type ratchet struct {
	next    uint32 // generation whose secret is held
	secret  []byte
	skipped map[uint32]KeyNonce
}

// Tree is the secret tree of one epoch.
type Tree struct {
	// MaxForward bounds how far past the next expected generation a
	// requested generation may be.
	MaxForward uint32
	// MaxSkipped bounds the keys kept per ratchet for skipped generations;
	// the oldest are erased first.
	MaxSkipped int

	s        *suite.Suite
	nLeaves  uint32
	nodes    map[treemath.NodeIndex][]byte
	ratchets map[ratchetID]*ratchet
}

// New returns the secret tree of a group with nLeaves leaves whose epoch
// has the given encryption_secret. The secret is copied.
func New(s *suite.Suite, encryptionSecret []byte, nLeaves uint32) (*Tree, error) {
	if nLeaves == 0 || nLeaves > treemath.MaxLeaves {
		return nil, fmt.Errorf("secrettree: invalid leaf count %d", nLeaves)
	}
	if len(encryptionSecret) != s.Nh() {
		return nil, fmt.Errorf("secrettree: encryption secret is %d bytes, want %d", len(encryptionSecret), s.Nh())
	}
	return &Tree{
		MaxForward: DefaultMaxForward,
		MaxSkipped: DefaultMaxSkipped,
		s:          s,
		nLeaves:    nLeaves,
		nodes:      map[treemath.NodeIndex][]byte{treemath.Root(nLeaves): append([]byte{}, encryptionSecret...)},
		ratchets:   map[ratchetID]*ratchet{},
	}, nil
}

// NumLeaves returns the leaf count the tree was built for.
func (t *Tree) NumLeaves() uint32 { return t.nLeaves }

func erase(b []byte) { clear(b) }

// leafSecret derives the secret of leaf l, erasing the secrets on the way.
// It fails if the leaf's secret was already consumed.
func (t *Tree) leafSecret(l treemath.LeafIndex) ([]byte, error) {
	x := l.Node()
	// Find the lowest ancestor (or x itself) whose secret is held.
	top := x
	for {
		if _, ok := t.nodes[top]; ok {
			break
		}
		p, ok := treemath.Parent(top, t.nLeaves)
		if !ok {
			return nil, fmt.Errorf("secrettree: internal error: no secret on the path of leaf %d", l)
		}
		top = p
	}
	for top != x {
		secret := t.nodes[top]
		left, _ := treemath.Left(top)
		right, ok := treemath.RightIn(top, t.nLeaves)
		if !ok {
			return nil, fmt.Errorf("secrettree: internal error: node %d has no right child", top)
		}
		ls, err := t.s.ExpandWithLabel(secret, "tree", []byte("left"), t.s.Nh())
		if err != nil {
			return nil, err
		}
		rs, err := t.s.ExpandWithLabel(secret, "tree", []byte("right"), t.s.Nh())
		if err != nil {
			return nil, err
		}
		t.nodes[left], t.nodes[right] = ls, rs
		erase(secret)
		delete(t.nodes, top)
		if x < top {
			top = left
		} else {
			top = right
		}
	}
	s := t.nodes[x]
	delete(t.nodes, x)
	return s, nil
}

func (t *Tree) ratchet(l treemath.LeafIndex, typ RatchetType) (*ratchet, error) {
	if typ != Handshake && typ != Application {
		return nil, fmt.Errorf("secrettree: invalid ratchet type %d", uint8(typ))
	}
	if uint32(l) >= t.nLeaves {
		return nil, fmt.Errorf("secrettree: leaf %d outside a tree of %d leaves", l, t.nLeaves)
	}
	id := ratchetID{l, typ}
	if r, ok := t.ratchets[id]; ok {
		return r, nil
	}
	leaf, err := t.leafSecret(l)
	if err != nil {
		return nil, err
	}
	defer erase(leaf)
	hs, err := t.s.ExpandWithLabel(leaf, "handshake", nil, t.s.Nh())
	if err != nil {
		return nil, err
	}
	as, err := t.s.ExpandWithLabel(leaf, "application", nil, t.s.Nh())
	if err != nil {
		return nil, err
	}
	t.ratchets[ratchetID{l, Handshake}] = &ratchet{secret: hs, skipped: map[uint32]KeyNonce{}}
	t.ratchets[ratchetID{l, Application}] = &ratchet{secret: as, skipped: map[uint32]KeyNonce{}}
	return t.ratchets[id], nil
}

// step derives the key and nonce of r.next and advances r.
func (t *Tree) step(r *ratchet) (KeyNonce, error) {
	if r.secret == nil {
		return KeyNonce{}, errors.New("secrettree: ratchet exhausted")
	}
	g := r.next
	key, err := t.s.DeriveTreeSecret(r.secret, "key", g, t.s.Nk())
	if err != nil {
		return KeyNonce{}, err
	}
	nonce, err := t.s.DeriveTreeSecret(r.secret, "nonce", g, t.s.Nn())
	if err != nil {
		return KeyNonce{}, err
	}
	next, err := t.s.DeriveTreeSecret(r.secret, "secret", g, t.s.Nh())
	if err != nil {
		return KeyNonce{}, err
	}
	erase(r.secret)
	if g == ^uint32(0) {
		erase(next)
		r.secret = nil
	} else {
		r.secret = next
		r.next = g + 1
	}
	return KeyNonce{Generation: g, Key: key, Nonce: nonce}, nil
}

// Next returns the key and nonce of the next unused generation of a
// ratchet and advances it: the sender's operation.
func (t *Tree) Next(l treemath.LeafIndex, typ RatchetType) (KeyNonce, error) {
	r, err := t.ratchet(l, typ)
	if err != nil {
		return KeyNonce{}, err
	}
	return t.step(r)
}

// Get returns the key and nonce of one generation of a ratchet, for a
// received message, and deletes them from the tree: a second Get of the
// same generation fails with [ErrGenerationUsed]. Keys of generations
// skipped on the way are kept for out-of-order messages.
func (t *Tree) Get(l treemath.LeafIndex, typ RatchetType, generation uint32) (KeyNonce, error) {
	r, err := t.ratchet(l, typ)
	if err != nil {
		return KeyNonce{}, err
	}
	if kn, ok := r.skipped[generation]; ok {
		delete(r.skipped, generation)
		return kn, nil
	}
	if generation < r.next || r.secret == nil {
		return KeyNonce{}, fmt.Errorf("%w: leaf %d %s generation %d", ErrGenerationUsed, l, typ, generation)
	}
	if generation-r.next > t.MaxForward {
		return KeyNonce{}, fmt.Errorf("%w: leaf %d %s generation %d, next expected %d", ErrTooFarAhead, l, typ, generation, r.next)
	}
	for r.next < generation {
		kn, err := t.step(r)
		if err != nil {
			return KeyNonce{}, err
		}
		r.skipped[kn.Generation] = kn
	}
	t.trimSkipped(r)
	return t.step(r)
}

// Restore puts back a key that [Tree.Get] returned but that failed to
// decrypt the message it was fetched for, so that a forged message cannot
// burn the generation of a genuine one. Only a generation already passed by
// the ratchet and not currently held can be restored.
func (t *Tree) Restore(l treemath.LeafIndex, typ RatchetType, kn KeyNonce) {
	r, ok := t.ratchets[ratchetID{l, typ}]
	if !ok || kn.Generation >= r.next {
		return
	}
	if _, held := r.skipped[kn.Generation]; held {
		return
	}
	r.skipped[kn.Generation] = kn
	t.trimSkipped(r)
}

func (t *Tree) trimSkipped(r *ratchet) {
	if len(r.skipped) <= t.MaxSkipped {
		return
	}
	gens := make([]uint32, 0, len(r.skipped))
	for g := range r.skipped {
		gens = append(gens, g)
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
	for _, g := range gens[:len(gens)-t.MaxSkipped] {
		kn := r.skipped[g]
		erase(kn.Key)
		erase(kn.Nonce)
		delete(r.skipped, g)
	}
}

// SenderDataKeyNonce derives the key and nonce that protect a
// PrivateMessage's sender data (§6.3.2) from sender_data_secret and the
// message's ciphertext: the sample is the first Nh bytes of the ciphertext,
// or all of it when shorter.
func SenderDataKeyNonce(s *suite.Suite, senderDataSecret, ciphertext []byte) (key, nonce []byte, err error) {
	sample := ciphertext
	if len(sample) > s.Nh() {
		sample = sample[:s.Nh()]
	}
	if key, err = s.ExpandWithLabel(senderDataSecret, "key", sample, s.Nk()); err != nil {
		return nil, nil, fmt.Errorf("failed to derive sender data key: %w", err)
	}
	if nonce, err = s.ExpandWithLabel(senderDataSecret, "nonce", sample, s.Nn()); err != nil {
		return nil, nil, fmt.Errorf("failed to derive sender data nonce: %w", err)
	}
	return key, nonce, nil
}
