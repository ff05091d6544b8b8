package framing

import (
	"bytes"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// FuzzUnprotectPrivate feeds arbitrary PrivateMessage bytes to a receiver
// that shares the sender's secrets: it must never panic, and whatever it
// accepts must carry a valid signature of the known sender.
func FuzzUnprotectPrivate(f *testing.F) {
	fx := newFixture(f)
	for _, pad := range []int{0, 5} {
		ac, err := Sign(fx.s, fx.sk, wire.WireFormatPrivateMessage, fx.app(), fx.ctx)
		if err != nil {
			f.Fatal(err)
		}
		m, err := ProtectPrivate(fx.s, ac, fx.tree(f), fx.sdSec, pad)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := wire.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m wire.PrivateMessage
		if wire.Unmarshal(data, &m) != nil {
			return
		}
		ac, err := UnprotectPrivate(fx.s, fx.ctx, &m, fx.tree(t), fx.sdSec, fx.sigKey)
		if err != nil {
			return
		}
		if VerifySignature(fx.s, ac, fx.ctx, fx.sk.Public()) != nil {
			t.Fatal("accepted content without a valid signature")
		}
	})
}

// FuzzUnprotectPublic does the same for PublicMessage.
func FuzzUnprotectPublic(f *testing.F) {
	fx := newFixture(f)
	c := fx.app()
	c.ContentType = wire.ContentTypeProposal
	c.ApplicationData = nil
	c.Proposal = &wire.Proposal{Type: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 2}}
	ac, err := Sign(fx.s, fx.sk, wire.WireFormatPublicMessage, c, fx.ctx)
	if err != nil {
		f.Fatal(err)
	}
	m, err := ProtectPublic(fx.s, ac, fx.ctx, fx.mkey)
	if err != nil {
		f.Fatal(err)
	}
	b, _ := wire.Marshal(m)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m wire.PublicMessage
		if wire.Unmarshal(data, &m) != nil {
			return
		}
		ac, err := UnprotectPublic(fx.s, fx.ctx, &m, fx.mkey, fx.sigKey)
		if err != nil {
			return
		}
		if !bytes.Equal(ac.Content.GroupID, fx.ctx.GroupID) || VerifySignature(fx.s, ac, fx.ctx, fx.sk.Public()) != nil {
			t.Fatal("accepted an unauthenticated message")
		}
	})
}
