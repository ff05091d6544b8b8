package framing

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

type fixture struct {
	s      *suite.Suite
	sk     *suite.SigningKey
	ctx    *wire.GroupContext
	secret []byte
	sdSec  []byte
	mkey   []byte
	sigKey SignatureKeyFunc
}

func newFixture(t testing.TB) *fixture {
	s, _ := suite.Lookup(1)
	sk, _, err := s.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		s: s, sk: sk,
		ctx:    &wire.GroupContext{Version: 1, CipherSuite: 1, GroupID: []byte("g"), Epoch: 5, TreeHash: []byte{1}, ConfirmedTranscriptHash: []byte{2}, Extensions: wire.Extensions{}},
		secret: bytes.Repeat([]byte{3}, 32), sdSec: bytes.Repeat([]byte{4}, 32), mkey: bytes.Repeat([]byte{5}, 32),
	}
	f.sigKey = func(sender wire.Sender, _ *wire.FramedContent) ([]byte, error) {
		if sender.Type != wire.SenderTypeMember || sender.Index != 1 {
			return nil, errors.New("unknown sender")
		}
		return sk.Public(), nil
	}
	return f
}

func (f *fixture) tree(t testing.TB) *secrettree.Tree {
	tr, err := secrettree.New(f.s, f.secret, 4)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (f *fixture) app() *wire.FramedContent {
	return &wire.FramedContent{GroupID: []byte("g"), Epoch: 5, Sender: wire.Sender{Type: wire.SenderTypeMember, Index: 1},
		AuthenticatedData: []byte("ad"), ContentType: wire.ContentTypeApplication, ApplicationData: []byte("hello")}
}

func TestPrivateTamperAndReplay(t *testing.T) {
	f := newFixture(t)
	ac, err := Sign(f.s, f.sk, wire.WireFormatPrivateMessage, f.app(), f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ProtectPrivate(f.s, ac, f.tree(t), f.sdSec, 16)
	if err != nil {
		t.Fatal(err)
	}
	// Every single-bit flip of the ciphertext, sender data or AAD fails.
	for _, field := range []*[]byte{&m.Ciphertext, &m.EncryptedSenderData, &m.AuthenticatedData} {
		for i := 0; i < len(*field)*8; i += 7 {
			(*field)[i/8] ^= 1 << (i % 8)
			if _, err := UnprotectPrivate(f.s, f.ctx, m, f.tree(t), f.sdSec, f.sigKey); err == nil {
				t.Fatalf("bit %d flipped: accepted", i)
			}
			(*field)[i/8] ^= 1 << (i % 8)
		}
	}
	recv := f.tree(t)
	// A forged ciphertext for the same generation does not burn the key.
	// (The last byte lies outside the sender-data sample, so the sender data
	// still decrypts and the content key is fetched.)
	last := len(m.Ciphertext) - 1
	m.Ciphertext[last] ^= 1
	if _, err := UnprotectPrivate(f.s, f.ctx, m, recv, f.sdSec, f.sigKey); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("forged ciphertext: got %v, want ErrDecrypt", err)
	}
	m.Ciphertext[last] ^= 1
	got, err := UnprotectPrivate(f.s, f.ctx, m, recv, f.sdSec, f.sigKey)
	if err != nil || string(got.Content.ApplicationData) != "hello" {
		t.Fatalf("unprotect: %v", err)
	}
	if _, err := UnprotectPrivate(f.s, f.ctx, m, recv, f.sdSec, f.sigKey); !errors.Is(err, secrettree.ErrGenerationUsed) {
		t.Fatalf("replay: %v", err)
	}
	ctx2 := *f.ctx
	ctx2.Epoch = 6
	if _, err := UnprotectPrivate(f.s, &ctx2, m, f.tree(t), f.sdSec, f.sigKey); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("wrong epoch: %v", err)
	}
}

func TestPublicMembershipTagFlip(t *testing.T) {
	f := newFixture(t)
	c := f.app()
	c.ContentType = wire.ContentTypeProposal
	c.ApplicationData = nil
	c.Proposal = &wire.Proposal{Type: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 2}}
	ac, err := Sign(f.s, f.sk, wire.WireFormatPublicMessage, c, f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ProtectPublic(f.s, ac, f.ctx, f.mkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnprotectPublic(f.s, f.ctx, m, f.mkey, f.sigKey); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(m.MembershipTag)*8; i++ {
		m.MembershipTag[i/8] ^= 1 << (i % 8)
		if _, err := UnprotectPublic(f.s, f.ctx, m, f.mkey, f.sigKey); !errors.Is(err, ErrInvalidMembershipTag) {
			t.Fatalf("membership tag bit %d flipped: %v", i, err)
		}
		m.MembershipTag[i/8] ^= 1 << (i % 8)
	}
	m.Auth.Signature[0] ^= 1
	if _, err := UnprotectPublic(f.s, f.ctx, m, f.mkey, f.sigKey); err == nil {
		t.Fatal("bad signature accepted")
	}
}

// RFC 9420 §6.3.1: a PrivateMessage whose padding is not all zero bytes is
// rejected as malformed, even when it authenticates (a sender that set the
// bit); a bit flipped in the padding on the way fails to decrypt.
func TestPrivatePaddingNotZero(t *testing.T) {
	f := newFixture(t)
	ac, err := Sign(f.s, f.sk, wire.WireFormatPrivateMessage, f.app(), f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	const pad = 8
	m, err := ProtectPrivate(f.s, ac, f.tree(t), f.sdSec, pad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnprotectPrivate(f.s, f.ctx, m, f.tree(t), f.sdSec, f.sigKey); err != nil {
		t.Fatalf("zero padding: %v", err)
	}
	// The padding is the last pad bytes of the plaintext, just before the
	// AEAD tag in the ciphertext.
	tag := f.s.Nt()
	for i := range pad * 8 {
		c := bytes.Clone(m.Ciphertext)
		c[len(c)-tag-pad+i/8] ^= 1 << (i % 8)
		flipped := *m
		flipped.Ciphertext = c
		if _, err := UnprotectPrivate(f.s, f.ctx, &flipped, f.tree(t), f.sdSec, f.sigKey); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("padding bit %d flipped in the ciphertext: got %v, want ErrDecrypt", i, err)
		}
	}
	t.Cleanup(func() { tamperPlaintext = nil })
	for i := range pad * 8 {
		tamperPlaintext = func(p []byte) { p[len(p)-pad+i/8] ^= 1 << (i % 8) }
		bad, err := ProtectPrivate(f.s, ac, f.tree(t), f.sdSec, pad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = UnprotectPrivate(f.s, f.ctx, bad, f.tree(t), f.sdSec, f.sigKey)
		if err == nil || errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "padding") {
			t.Fatalf("padding bit %d set by the sender: got %v, want a padding error", i, err)
		}
	}
}
