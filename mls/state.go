package mls

import (
	"bytes"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/secrettree"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// stateVersion is the version of the serialized group state.
const stateVersion = 1

// The serialized state is TLS-encoded (not an RFC 9420 structure):
//
//	struct {
//	    uint8 version;
//	    opaque identity<V>;            // Identity.MarshalBinary
//	    GroupContext context;
//	    opaque ratchet_tree<V>;
//	    uint32 own_leaf;
//	    opaque tree_private<V>;
//	    opaque init_secret<V>; ... (the epoch secrets, see marshalState)
//	    opaque secret_tree<V>;
//	    CachedProposal proposals<V>;
//	    PastEpoch past_epochs<V>;      // Config.PastEpochs
//	    opaque sent_digests<V><V>;
//	    struct { uint64 epoch; opaque psk<V>; } resumption_psks<V>;
//	    uint8 removed;
//	    optional<ReInit> reinit;
//	    optional<struct { opaque message<V>; opaque next_state<V>; }> pending;
//	} GroupState;

// MarshalBinary serializes the group's whole state, private keys and
// secrets included: the caller must encrypt it before storing it. The
// Config is not included; pass it again to UnmarshalGroup.
func (g *Group) MarshalBinary() ([]byte, error) {
	var w codec.Writer
	if err := g.marshalState(&w, true); err != nil {
		return nil, err
	}
	return w.Bytes()
}

func (g *Group) marshalState(w *codec.Writer, withPending bool) error {
	idb, err := g.id.MarshalBinary()
	if err != nil {
		return err
	}
	rt, err := g.tree.Encode()
	if err != nil {
		return err
	}
	priv, err := g.priv.MarshalBinary()
	if err != nil {
		return err
	}
	st, err := g.secrets.MarshalBinary()
	if err != nil {
		return err
	}
	w.Uint8(stateVersion)
	w.Opaque(idb)
	g.ctx.MarshalTLS(w)
	w.Opaque(rt)
	w.Uint32(g.own)
	w.Opaque(priv)
	for _, s := range g.secretFields() {
		w.Opaque(*s)
	}
	w.Opaque(st)
	w.Vector(func(w *codec.Writer) {
		for _, cp := range g.proposals {
			w.Opaque(cp.ref)
			cp.p.MarshalTLS(w)
			cp.sender.MarshalTLS(w)
			w.Optional(cp.updatePriv != nil, func(w *codec.Writer) { w.Opaque(cp.updatePriv) })
		}
	})
	var pastErr error
	w.Vector(func(w *codec.Writer) {
		for _, pe := range g.past {
			rt, err := pe.tree.Encode()
			if err != nil {
				pastErr = err
				return
			}
			st, err := pe.secrets.MarshalBinary()
			if err != nil {
				pastErr = err
				return
			}
			pe.ctx.MarshalTLS(w)
			w.Opaque(rt)
			w.Uint32(pe.own)
			w.Opaque(st)
			w.Opaque(pe.senderDataSecret)
		}
	})
	if pastErr != nil {
		return pastErr
	}
	w.Vector(func(w *codec.Writer) {
		for _, d := range g.sent.order {
			w.Opaque(d)
		}
	})
	w.Vector(func(w *codec.Writer) {
		for _, r := range g.pastPSKs {
			w.Uint64(r.epoch)
			w.Opaque(r.psk)
		}
	})
	if g.removed {
		w.Uint8(1)
	} else {
		w.Uint8(0)
	}
	w.Optional(g.reinit != nil, func(w *codec.Writer) { g.reinit.MarshalTLS(w) })
	pending := withPending && g.pending != nil
	var next []byte
	if pending {
		var nw codec.Writer
		if err := g.pending.next.marshalState(&nw, false); err != nil {
			return err
		}
		if next, err = nw.Bytes(); err != nil {
			return err
		}
	}
	w.Optional(pending, func(w *codec.Writer) {
		w.Opaque(g.pending.message)
		w.Opaque(next)
		marshalCommitInfo(w, g.pending.info)
	})
	return w.Err()
}

// secretFields lists the epoch secrets in their serialization order.
func (g *Group) secretFields() []*[]byte {
	return []*[]byte{
		&g.initSecret, &g.senderDataSecret, &g.exporterSecret, &g.externalSecret,
		&g.confirmationKey, &g.membershipKey, &g.resumption, &g.epochAuthenticator,
		&g.interim, &g.confirmationTag,
	}
}

// UnmarshalGroup restores a group serialized by Group.MarshalBinary. The
// state is decoded strictly and checked for consistency (tree hash, private
// keys against the tree, secret sizes); a corrupted state is rejected.
func UnmarshalGroup(data []byte, cfg *Config) (group *Group, err error) {
	defer guard(&err)
	if cfg == nil {
		cfg = &Config{}
	}
	r := codec.NewReader(data)
	g, err := unmarshalState(r, cfg, true)
	if err != nil {
		return nil, err
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: group state: %w", ErrMalformed, err)
	}
	return g, nil
}

func unmarshalState(r *codec.Reader, cfg *Config, withPending bool) (*Group, error) {
	bad := func(what string, err error) error {
		if err == nil {
			err = fmt.Errorf("inconsistent")
		}
		return fmt.Errorf("%w: group state: %s: %w", ErrMalformed, what, err)
	}
	if v := r.Uint8(); r.Err() == nil && v != stateVersion {
		return nil, bad("version", fmt.Errorf("unknown version %d", v))
	}
	idb := r.Opaque()
	g := &Group{cfg: *cfg}
	g.ctx.UnmarshalTLS(r)
	rt := r.Opaque()
	g.own = r.Uint32()
	priv := r.Opaque()
	for _, s := range g.secretFields() {
		*s = r.Opaque()
	}
	st := r.Opaque()
	r.Vector(func(r *codec.Reader) {
		var cp cachedProposal
		cp.ref = r.Opaque()
		cp.p = new(wire.Proposal)
		cp.p.UnmarshalTLS(r)
		cp.sender.UnmarshalTLS(r)
		if r.Optional() {
			cp.updatePriv = r.Opaque()
		}
		g.proposals = append(g.proposals, cp)
	})
	type rawPast struct {
		ctx          wire.GroupContext
		rt, st, sdsk []byte
		own          uint32
	}
	var raws []rawPast
	r.Vector(func(r *codec.Reader) {
		var p rawPast
		p.ctx.UnmarshalTLS(r)
		p.rt = r.Opaque()
		p.own = r.Uint32()
		p.st = r.Opaque()
		p.sdsk = r.Opaque()
		if len(raws) >= maxPastEpochs {
			r.Fail(fmt.Errorf("too many past epochs"))
		}
		raws = append(raws, p)
	})
	r.Vector(func(r *codec.Reader) {
		d := r.Opaque()
		if len(g.sent.order) >= maxSent {
			r.Fail(fmt.Errorf("too many sent digests"))
		}
		g.sent.add(d)
	})
	r.Vector(func(r *codec.Reader) {
		g.pastPSKs = append(g.pastPSKs, resumptionPSK{epoch: r.Uint64(), psk: r.Opaque()})
	})
	switch r.Uint8() {
	case 0:
	case 1:
		g.removed = true
	default:
		r.Fail(fmt.Errorf("bad removed flag"))
	}
	if r.Optional() {
		g.reinit = new(wire.ReInit)
		g.reinit.UnmarshalTLS(r)
	}
	var pendingMsg []byte
	var next *Group
	var pendingInfo *CommitInfo
	if r.Optional() {
		if !withPending {
			r.Fail(fmt.Errorf("nested pending commit"))
		}
		pendingMsg = r.Opaque()
		nr := codec.NewReader(r.Opaque())
		if r.Err() == nil {
			var err error
			if next, err = unmarshalState(nr, cfg, false); err != nil {
				return nil, err
			}
			if err := nr.Finish(); err != nil {
				return nil, bad("pending commit", err)
			}
		}
		pendingInfo = unmarshalCommitInfo(r)
	}
	if err := r.Err(); err != nil {
		return nil, bad("encoding", err)
	}
	id, err := UnmarshalIdentity(idb)
	if err != nil {
		return nil, err
	}
	g.id, g.s = id, id.s
	if CipherSuite(g.ctx.CipherSuite) != id.cs {
		return nil, bad("cipher suite", nil)
	}
	if g.tree, err = tree.Decode(g.s, rt); err != nil {
		return nil, bad("ratchet tree", err)
	}
	if !bytes.Equal(g.tree.TreeHash(), g.ctx.TreeHash) {
		return nil, bad("tree hash", nil)
	}
	if g.priv, err = tree.UnmarshalPrivateState(priv); err != nil {
		return nil, bad("private keys", err)
	}
	if !g.removed {
		if uint32(g.priv.Leaf()) != g.own {
			return nil, bad("own leaf", nil)
		}
		if err := g.priv.Check(g.tree); err != nil {
			return nil, bad("private keys", err)
		}
		if own := leafAt(g.tree, g.own); own == nil || !bytes.Equal(own.SignatureKey, id.key.Public()) {
			return nil, bad("own leaf", nil)
		}
	}
	for i, s := range g.secretFields() {
		if len(*s) != g.s.Nh() && i < 9 {
			return nil, bad("epoch secrets", nil)
		}
	}
	if g.secrets, err = secrettree.Unmarshal(st); err != nil {
		return nil, bad("secret tree", err)
	}
	if g.secrets.NumLeaves() != g.tree.NumLeaves() {
		return nil, bad("secret tree", nil)
	}
	for _, p := range raws {
		pt, err := tree.Decode(g.s, p.rt)
		if err != nil {
			return nil, bad("past epoch tree", err)
		}
		if !bytes.Equal(pt.TreeHash(), p.ctx.TreeHash) || p.ctx.Epoch >= g.ctx.Epoch || len(p.sdsk) != g.s.Nh() {
			return nil, bad("past epoch", nil)
		}
		st, err := secrettree.Unmarshal(p.st)
		if err != nil || st.NumLeaves() != pt.NumLeaves() {
			return nil, bad("past epoch secret tree", err)
		}
		g.past = append(g.past, pastEpoch{ctx: p.ctx, tree: pt, own: p.own, secrets: st, senderDataSecret: p.sdsk})
	}
	if next != nil {
		for i := range pendingInfo.Proposals {
			pendingInfo.Proposals[i] = proposalFromWire(g, pendingInfo.Proposals[i].w)
		}
		g.pending = &pendingCommit{message: pendingMsg, next: next, info: pendingInfo}
	}
	return g, nil
}

func marshalMembers(w *codec.Writer, ms []Member) {
	w.Vector(func(w *codec.Writer) {
		for _, m := range ms {
			w.Uint32(m.Index)
			c := m.Credential.toWire()
			c.MarshalTLS(w)
			w.Opaque(m.SignatureKey)
		}
	})
}

func unmarshalMembers(r *codec.Reader) []Member {
	var ms []Member
	r.Vector(func(r *codec.Reader) {
		var m Member
		m.Index = r.Uint32()
		var c wire.Credential
		c.UnmarshalTLS(r)
		m.Credential = credentialFromWire(&c)
		m.SignatureKey = r.Opaque()
		ms = append(ms, m)
	})
	return ms
}

// marshalCommitInfo stores the description of a pending commit.
func marshalCommitInfo(w *codec.Writer, info *CommitInfo) {
	w.Uint64(info.NewEpoch)
	w.Vector(func(w *codec.Writer) {
		for _, p := range info.Proposals {
			p.w.MarshalTLS(w)
		}
	})
	marshalMembers(w, info.Added)
	marshalMembers(w, info.Updated)
	marshalMembers(w, info.Removed)
	var flags uint8
	if info.External {
		flags |= 1
	}
	if info.ReInit {
		flags |= 2
	}
	w.Uint8(flags)
}

func unmarshalCommitInfo(r *codec.Reader) *CommitInfo {
	info := &CommitInfo{NewEpoch: r.Uint64()}
	r.Vector(func(r *codec.Reader) {
		p := new(wire.Proposal)
		p.UnmarshalTLS(r)
		info.Proposals = append(info.Proposals, Proposal{w: p})
	})
	info.Added = unmarshalMembers(r)
	info.Updated = unmarshalMembers(r)
	info.Removed = unmarshalMembers(r)
	flags := r.Uint8()
	if flags > 3 {
		r.Fail(fmt.Errorf("bad commit flags"))
	}
	info.External, info.ReInit = flags&1 != 0, flags&2 != 0
	return info
}
