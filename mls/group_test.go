package mls

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/framing"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// threeMembers returns alice, bob and carol in one group.
func threeMembers(t *testing.T) (alice, bob, carol *client) {
	t.Helper()
	alice, bob, carol = newClient(t, "alice", nil), newClient(t, "bob", nil), newClient(t, "carol", nil)
	alice.create()
	var adds []Proposal
	for _, c := range []*client{bob, carol} {
		kp, err := ParseKeyPackage(c.keyPackage())
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, AddProposal(kp))
	}
	b := alice.commit(&CommitOptions{Proposals: adds})
	alice.mustProcess(b.Commit)
	bob.join(b.Welcome)
	carol.join(b.Welcome)
	return alice, bob, carol
}

func TestConflictingProposals(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	var carolIdx uint32
	carol.get(func(g *Group) { carolIdx = g.OwnIndex() })
	p1 := alice.propose(RemoveProposal(carolIdx))
	p2 := bob.propose(RemoveProposal(carolIdx))
	p3 := carol.propose(UpdateProposal())
	for _, c := range []*client{alice, bob, carol} {
		for _, p := range [][]byte{p1, p2, p3} {
			if _, err := c.process(p); err != nil && !errors.Is(err, ErrOwnMessage) {
				// Own proposals come back as echoes; others must pass.
				t.Fatalf("%s: %v", c.name, err)
			}
		}
	}
	b := bob.commit(nil)
	r := alice.mustProcess(b.Commit)
	if len(r.Commit.Proposals) != 1 || r.Commit.Proposals[0].Type != ProposalRemove || len(r.Commit.Removed) != 1 {
		t.Fatalf("commit covered %+v, want a single Remove", r.Commit.Proposals)
	}
	bob.mustProcess(b.Commit)
	if r := carol.mustProcess(b.Commit); !r.Commit.SelfRemoved {
		t.Fatal("carol was not told she was removed")
	}
	agree(t, alice, bob)
	exchange(t, alice, bob)
}

func TestUnknownProposalReference(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	p := alice.propose(UpdateProposal())
	bob.mustProcess(p)
	b := bob.commit(nil)
	if _, err := carol.process(b.Commit); !errors.Is(err, ErrUnknownProposal) {
		t.Fatalf("got %v, want ErrUnknownProposal", err)
	}
	// Once carol has the proposal, the same commit applies.
	carol.mustProcess(p)
	carol.mustProcess(b.Commit)
	alice.mustProcess(b.Commit)
	bob.mustProcess(b.Commit)
	agree(t, alice, bob, carol)
}

func TestReInit(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	p := alice.propose(ReInitProposal([]byte("talks/plenary-2"), DefaultCipherSuite, nil))
	bob.mustProcess(p)
	carol.mustProcess(p)
	b := bob.commit(nil)
	for _, c := range []*client{alice, bob, carol} {
		r := c.mustProcess(b.Commit)
		if !r.Commit.ReInit {
			t.Fatalf("%s: ReInit not reported", c.name)
		}
		c.get(func(g *Group) {
			id, cs, _, ok := g.ReInitInfo()
			if !ok || string(id) != "talks/plenary-2" || cs != DefaultCipherSuite || g.Active() {
				t.Fatalf("%s: group after ReInit: %q %v %v", c.name, id, cs, g.Active())
			}
			if _, err := g.Encrypt([]byte("x"), nil); !errors.Is(err, ErrReInit) {
				t.Fatalf("%s: encrypt after ReInit: %v", c.name, err)
			}
		})
	}
}

func TestRejects(t *testing.T) {
	alice, bob, _ := threeMembers(t)
	other := newClient(t, "other", nil)
	g, err := Create(other.identity(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other.state, _ = g.MarshalBinary()
	// A message of another group.
	m := other.encrypt("elsewhere")
	if _, err := bob.process(m); !errors.Is(err, ErrWrongGroup) {
		t.Fatalf("message of another group: got %v", err)
	}
	// Garbage and truncations never panic and say what failed.
	m = alice.encrypt("hello")
	for i := 0; i < len(m); i += 5 {
		if _, err := bob.process(m[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated at %d: got %v", i, err)
		}
	}
	// A key package is not a group message.
	kp := newClient(t, "x", nil).keyPackage()
	if _, err := bob.process(kp); !errors.Is(err, ErrMalformed) {
		t.Fatalf("key package as message: got %v", err)
	}
	bob.mustProcess(m)
	// A commit that removes its own committer cannot be made.
	alice.get(func(g *Group) {
		if _, err := g.Commit(&CommitOptions{Proposals: []Proposal{RemoveProposal(g.OwnIndex())}}); !errors.Is(err, ErrInvalidCommit) {
			t.Fatalf("self-removal: got %v", err)
		}
		if _, err := g.Commit(&CommitOptions{Proposals: []Proposal{RemoveProposal(77)}}); !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("removal of a blank leaf: got %v", err)
		}
	})
	// Credentials the application rejects keep a member out.
	c := newClient(t, "mallory", nil)
	var kp2 *KeyPackage
	kp2, err = ParseKeyPackage(c.keyPackage())
	if err != nil {
		t.Fatal(err)
	}
	alice.cfg = &Config{ValidateCredential: func(cr Credential, _ []byte) error {
		if string(cr.Identity) == "mallory" {
			return errors.New("not accredited")
		}
		return nil
	}}
	alice.get(func(g *Group) {
		if _, err := g.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp2)}}); !errors.Is(err, ErrCredentialRejected) {
			t.Fatalf("rejected credential: got %v", err)
		}
	})
}

// A member cannot take another identity by committing a new leaf.
func TestIdentityChangeRejected(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	var commit []byte
	bob.get(func(g *Group) {
		forged, err := NewIdentityFromKey(DefaultCipherSuite, BasicCredential([]byte("alice")), g.id.priv)
		if err != nil {
			t.Fatal(err)
		}
		g.id = forged
		b, err := g.Commit(&CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		commit = b.Commit
	})
	for _, c := range []*client{alice, carol} {
		if _, err := c.process(commit); !errors.Is(err, ErrCredentialRejected) {
			t.Fatalf("%s: identity change: got %v, want ErrCredentialRejected", c.name, err)
		}
	}
}

func TestHeaderAndRecipients(t *testing.T) {
	alice, bob := newClient(t, "alice", nil), newClient(t, "bob", nil)
	alice.create()
	kpBytes := bob.keyPackage()
	kp, err := ParseKeyPackage(kpBytes)
	if err != nil {
		t.Fatal(err)
	}
	b := alice.commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp)}})
	h, err := ParseHeader(b.Commit)
	if err != nil || h.WireFormat != WireFormatPrivateMessage || h.Kind != KindCommit || h.Epoch != 0 || string(h.GroupID) != "talks/plenary" {
		t.Fatalf("commit header %+v, %v", h, err)
	}
	refs, err := WelcomeRecipients(b.Welcome)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := kp.Ref()
	if len(refs) != 1 || string(refs[0]) != string(ref) {
		t.Fatal("Welcome recipients do not name the key package")
	}
	if h, err := ParseHeader(kpBytes); err != nil || h.WireFormat != WireFormatKeyPackage || h.CipherSuite != DefaultCipherSuite {
		t.Fatalf("key package header %+v, %v", h, err)
	}
}

// Two members commit in the same epoch; the delivery service orders bob's
// first. Alice's pending commit is dropped when she processes bob's.
func TestConcurrentCommits(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	ca := alice.commit(&CommitOptions{ForcePath: true})
	cb := bob.commit(&CommitOptions{ForcePath: true})
	for _, c := range []*client{alice, bob, carol} {
		c.mustProcess(cb.Commit)
	}
	alice.get(func(g *Group) {
		if g.HasPendingCommit() {
			t.Fatal("alice's losing commit is still pending")
		}
	})
	for _, c := range []*client{bob, carol} {
		if _, err := c.process(ca.Commit); !errors.Is(err, ErrWrongEpoch) {
			t.Fatalf("%s: losing commit: got %v, want ErrWrongEpoch", c.name, err)
		}
	}
	agree(t, alice, bob, carol)
	exchange(t, alice, bob, carol)
}

// A commit whose UpdatePath reuses a public key of the tree is rejected
// (§12.4.2), even when correctly signed and tagged by a member.
func TestPathKeyReuseRejected(t *testing.T) {
	alice, bob, carol := newClient(t, "alice", &Config{PublicHandshake: true}), newClient(t, "bob", &Config{PublicHandshake: true}), newClient(t, "carol", &Config{PublicHandshake: true})
	alice.create()
	var adds []Proposal
	for _, c := range []*client{bob, carol} {
		kp, _ := ParseKeyPackage(c.keyPackage())
		adds = append(adds, AddProposal(kp))
	}
	b := alice.commit(&CommitOptions{Proposals: adds, ForcePath: true})
	alice.mustProcess(b.Commit)
	bob.join(b.Welcome)
	carol.join(b.Welcome)

	var forged []byte
	bob.get(func(g *Group) {
		cb, err := g.Commit(&CommitOptions{ForcePath: true})
		if err != nil {
			t.Fatal(err)
		}
		var m wire.MLSMessage
		if err := wire.Unmarshal(cb.Commit, &m); err != nil {
			t.Fatal(err)
		}
		pm := m.PublicMessage
		// Reuse the tree's root key in the path.
		pm.Content.Commit.Path.Nodes[0].EncryptionKey = g.tree.EncryptionKey(g.tree.Root())
		ac, err := framing.Sign(g.s, g.id.key, wire.WireFormatPublicMessage, &pm.Content, &g.ctx)
		if err != nil {
			t.Fatal(err)
		}
		ac.Auth.ConfirmationTag = pm.Auth.ConfirmationTag
		if m.PublicMessage, err = framing.ProtectPublic(g.s, ac, &g.ctx, g.membershipKey); err != nil {
			t.Fatal(err)
		}
		if forged, err = wire.Marshal(&m); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := carol.process(forged); !errors.Is(err, ErrInvalidCommit) || !strings.Contains(err.Error(), "reuses the public key") {
		t.Fatalf("path reusing a tree key: got %v, want ErrInvalidCommit", err)
	}
}

// A group with a non-default group context extension admits only members
// whose key packages support it.
func TestCustomExtension(t *testing.T) {
	alice, bob, carol := newClient(t, "alice", nil), newClient(t, "bob", nil), newClient(t, "carol", nil)
	g, err := Create(alice.identity(), nil, nil, Extension{Type: 0xff01, Data: []byte("channel kind: plenary")})
	if err != nil {
		t.Fatal(err)
	}
	kpBob, _, err := NewKeyPackage(bob.identity(), &KeyPackageOptions{SupportedExtensions: []uint16{0xff01}})
	if err != nil {
		t.Fatal(err)
	}
	kpCarol, _, err := NewKeyPackage(carol.identity(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kpCarol)}}); !errors.Is(err, ErrInvalidTree) {
		t.Fatalf("adding a member without support for the extension: got %v", err)
	}
	if _, err := g.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kpBob)}}); err != nil {
		t.Fatalf("adding a member with support for the extension: %v", err)
	}
}

// With Config.PastEpochs, an application message that the delivery service
// ordered after a commit can still be read; handshakes of past epochs and
// messages older than the kept epochs cannot.
func TestPastEpochs(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	alice.cfg = &Config{PastEpochs: 1}
	late := bob.encrypt("sent before the commit")
	lateProposal := bob.propose(UpdateProposal())
	b := carol.commit(nil)
	for _, c := range []*client{alice, bob, carol} {
		c.mustProcess(b.Commit)
	}
	r, err := alice.process(late)
	if err != nil {
		t.Fatalf("late message with PastEpochs=1: %v", err)
	}
	var epoch uint64
	alice.get(func(g *Group) { epoch = g.Epoch() })
	if string(r.Data) != "sent before the commit" || r.Epoch != epoch-1 || string(r.Sender.Credential.Identity) != "bob" {
		t.Fatalf("late message read as %+v", r)
	}
	if _, err := alice.process(late); !errors.Is(err, ErrGenerationReused) {
		t.Fatalf("late message replayed: got %v", err)
	}
	if _, err := alice.process(lateProposal); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("late proposal: got %v, want ErrWrongEpoch", err)
	}
	if _, err := carol.process(late); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("late message without PastEpochs: got %v, want ErrWrongEpoch", err)
	}
	// Two commits later the epoch is gone.
	late2 := bob.encrypt("much later")
	for range 2 {
		b := carol.commit(&CommitOptions{ForcePath: true})
		for _, c := range []*client{alice, bob, carol} {
			c.mustProcess(b.Commit)
		}
	}
	if _, err := alice.process(late2); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("message two epochs old with PastEpochs=1: got %v", err)
	}
}

// PrivateMessage plaintexts are padded to a multiple of the padding block.
func TestPadding(t *testing.T) {
	id, _ := NewIdentity(DefaultCipherSuite, BasicCredential([]byte("a")))
	for _, block := range []int{0, 1, 64} {
		g, err := Create(id, nil, &Config{PaddingBlock: block})
		if err != nil {
			t.Fatal(err)
		}
		want := block
		if block == 0 {
			want = DefaultPaddingBlock
		}
		for n := 0; n < 100; n++ {
			msg, err := g.Encrypt(make([]byte, n), nil)
			if err != nil {
				t.Fatal(err)
			}
			var m wire.MLSMessage
			if err := wire.Unmarshal(msg, &m); err != nil {
				t.Fatal(err)
			}
			if pt := len(m.PrivateMessage.Ciphertext) - 16; pt%want != 0 {
				t.Fatalf("block %d, %d bytes of data: plaintext of %d bytes", block, n, pt)
			}
		}
	}
}

// A member that lost its state rejoins by external commit, removing its old
// leaf (§12.4.3.2); another client cannot remove someone else that way.
func TestExternalResync(t *testing.T) {
	alice, bob, carol := threeMembers(t)
	for _, c := range []*client{alice, bob, carol} {
		c.cfg = &Config{AllowExternalJoin: allowAll}
	}
	var gi []byte
	var carolIdx uint32
	alice.get(func(g *Group) { gi, _ = g.GroupInfo(true) })
	carol.get(func(g *Group) { carolIdx = g.OwnIndex() })

	// Mallory tries to take carol's seat.
	mallory := newClient(t, "mallory", nil)
	_, forged, err := JoinExternal(mallory.identity(), gi, nil, &JoinOptions{Resync: &carolIdx})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.process(forged); !errors.Is(err, ErrCredentialRejected) {
		t.Fatalf("external commit removing another client: got %v", err)
	}

	// Carol rejoins with her identity.
	g, commit, err := JoinExternal(carol.identity(), gi, nil, &JoinOptions{Resync: &carolIdx})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{alice, bob} {
		r := c.mustProcess(commit)
		if len(r.Commit.Removed) != 1 || len(r.Commit.Added) != 1 || string(r.Commit.Added[0].Credential.Identity) != "carol" {
			t.Fatalf("%s: resync read as %+v", c.name, r.Commit)
		}
	}
	carol.state, _ = g.MarshalBinary()
	agree(t, alice, bob, carol)
	exchange(t, alice, bob, carol)
}

// Proposals of every kind sent by one member and committed by reference by
// another, with the Welcome for an Add by reference.
func TestProposalsByReference(t *testing.T) {
	psk := func(id []byte) ([]byte, bool) { return []byte("shared"), string(id) == "psk-1" }
	alice, bob, carol := threeMembers(t)
	for _, c := range []*client{alice, bob, carol} {
		c.cfg = &Config{ExternalPSKs: psk}
	}
	dave := newClient(t, "dave", &Config{ExternalPSKs: psk})
	kp, err := ParseKeyPackage(dave.keyPackage())
	if err != nil {
		t.Fatal(err)
	}
	var props [][]byte
	props = append(props, alice.propose(AddProposal(kp)))
	props = append(props, alice.propose(ExternalPSKProposal([]byte("psk-1"))))
	props = append(props, carol.propose(GroupContextExtensionsProposal([]Extension{{Type: 3, Data: []byte{0, 0, 0}}})))
	for _, p := range props {
		for _, c := range []*client{alice, bob, carol} {
			if _, err := c.process(p); err != nil && !errors.Is(err, ErrOwnMessage) {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
	}
	b := bob.commit(nil)
	if b.Welcome == nil {
		t.Fatal("no Welcome for an Add by reference")
	}
	for _, c := range []*client{alice, bob, carol} {
		if r := c.mustProcess(b.Commit); len(r.Commit.Proposals) != 3 || len(r.Commit.Added) != 1 {
			t.Fatalf("%s: commit read as %+v", c.name, r.Commit)
		}
	}
	dave.join(b.Welcome)
	agree(t, alice, bob, carol, dave)
	exchange(t, alice, bob, carol, dave)
}

// Leaf indices at or beyond 2^31 must not alias small ones (2*i overflowing
// a 32-bit node index): they are outside the tree.
func TestHugeLeafIndex(t *testing.T) {
	alice, bob, _ := threeMembers(t)
	alice.get(func(g *Group) {
		if _, err := g.Commit(&CommitOptions{Proposals: []Proposal{RemoveProposal(1 << 31)}}); !errors.Is(err, ErrInvalidProposal) {
			t.Fatalf("Remove(2^31): got %v, want ErrInvalidProposal", err)
		}
		if _, ok := g.Member(1 << 31); ok {
			t.Fatal("Member(2^31) exists")
		}
	})
	// A signed, tagged commit removing leaf 2^31 (which would alias leaf 0).
	var forged []byte
	alice.get(func(g *Group) {
		content := &wire.FramedContent{
			GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch, Sender: wire.Sender{Type: wire.SenderTypeMember, Index: g.own},
			AuthenticatedData: []byte{}, ContentType: wire.ContentTypeProposal,
			Proposal: &wire.Proposal{Type: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 1 << 31}},
		}
		ac, err := g.sign(content, wire.WireFormatPublicMessage)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := framingPublic(g, ac)
		if err != nil {
			t.Fatal(err)
		}
		forged, _ = wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
	})
	if _, err := bob.process(forged); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("proposal to remove leaf 2^31: got %v", err)
	}
}

// twoMembers returns alice and bob in one group, both with cfg, and the
// commit that added bob.
func twoMembers(t *testing.T, cfg *Config) (alice, bob *client, added *CommitBundle) {
	t.Helper()
	alice, bob = newClient(t, "alice", cfg), newClient(t, "bob", cfg)
	alice.create()
	kp, err := ParseKeyPackage(bob.keyPackage())
	if err != nil {
		t.Fatal(err)
	}
	b := alice.commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp)}})
	alice.mustProcess(b.Commit)
	bob.join(b.Welcome)
	return alice, bob, b
}

// bucketOf is the size Config.PaddingBuckets pads a message of n bytes to
// (none of the test's sizes fall where the ciphertext's length prefix
// grows, see bucketPad).
func bucketOf(buckets []int, n int) int {
	for _, b := range buckets {
		if b >= n {
			return b
		}
	}
	last := buckets[len(buckets)-1]
	return (n + last - 1) / last * last
}

// With Config.PaddingBuckets every PrivateMessage (application data and,
// without PublicHandshake, proposals and commits) is exactly the smallest
// bucket its unpadded encoding fits in, and reads back unchanged: a
// one-word "agree" and a paragraph are the same size.
func TestPaddingBuckets(t *testing.T) {
	buckets := StandardPaddingBuckets()
	alice, bob, _ := twoMembers(t, &Config{PaddingBuckets: buckets})
	// twin sends the same messages unpadded, in a group of the same ID,
	// giving each message's unpadded size.
	twin := newClient(t, "twin", &Config{PaddingBlock: 1})
	twin.create()

	encrypt := func(c *client, data, aad []byte) []byte {
		var m []byte
		if err := c.with(func(g *Group) (err error) { m, err = g.Encrypt(data, aad); return err }); err != nil {
			t.Fatalf("%s: encrypt %d bytes: %v", c.name, len(data), err)
		}
		return m
	}
	sizes := []int{0, 1, 5, 60, 100, 120, 130, 200, 255, 256, 300, 1000, 2000, 4000, 16200, 16400, 40000, 65536, 70000, 200000}
	for _, aad := range [][]byte{nil, bytes.Repeat([]byte("a"), 100)} {
		for _, n := range sizes {
			data := bytes.Repeat([]byte{'x'}, n)
			m := encrypt(alice, data, aad)
			want := bucketOf(buckets, len(encrypt(twin, data, aad)))
			if len(m) != want {
				t.Fatalf("%d bytes of data, %d of aad: message of %d bytes, want %d", n, len(aad), len(m), want)
			}
			r := bob.mustProcess(m)
			if !bytes.Equal(r.Data, data) {
				t.Fatalf("%d bytes of data: read back %d bytes", n, len(r.Data))
			}
		}
	}
	agreeMsg := encrypt(alice, []byte("agree"), nil)
	para := encrypt(alice, []byte("Both parties shall, within seven days of signature, withdraw their forces behind the line of contact."), nil)
	if len(agreeMsg) != 256 || len(para) != 256 {
		t.Fatalf("agree: %d bytes, a paragraph: %d bytes; want 256 both", len(agreeMsg), len(para))
	}
	// Handshake messages sent as PrivateMessage are padded too.
	upd := bob.propose(UpdateProposal())
	if !slices.Contains(buckets, len(upd)) {
		t.Fatalf("proposal of %d bytes: not a bucket", len(upd))
	}
	alice.mustProcess(upd)
	c := alice.commit(nil)
	if !slices.Contains(buckets, len(c.Commit)) {
		t.Fatalf("commit of %d bytes: not a bucket", len(c.Commit))
	}
	bob.mustProcess(c.Commit)
	alice.mustProcess(c.Commit)
	agree(t, alice, bob)
}

// Every bit flipped in a bucket-padded message's padding (the ciphertext
// before the AEAD tag) is refused, and the group reads the genuine message
// afterwards.
func TestPaddingBucketsBitFlip(t *testing.T) {
	alice, bob, _ := twoMembers(t, &Config{PaddingBuckets: StandardPaddingBuckets()})
	m := alice.encrypt("agree")
	const tag = 16
	var pm wire.MLSMessage
	if err := wire.Unmarshal(m, &pm); err != nil {
		t.Fatal(err)
	}
	// "agree" (1+5 bytes) and an Ed25519 signature (1+64 bytes): the
	// rest of the plaintext is padding.
	pad := len(pm.PrivateMessage.Ciphertext) - tag - (1 + 5 + 1 + 64)
	if pad < 64 {
		t.Fatalf("padding of %d bytes", pad)
	}
	for i := range pad * 8 {
		bad := bytes.Clone(m)
		bad[len(bad)-tag-pad+i/8] ^= 1 << (i % 8)
		if _, err := bob.process(bad); err == nil {
			t.Fatalf("padding bit %d flipped: accepted", i)
		}
	}
	if r := bob.mustProcess(m); string(r.Data) != "agree" {
		t.Fatalf("read %q", r.Data)
	}
}

func TestPaddingBucketsInvalid(t *testing.T) {
	for _, b := range [][]int{{0}, {-1, 5}, {512, 256}, {256, 256}} {
		if _, err := bucketPad(b, 10, 10); err == nil {
			t.Errorf("buckets %v accepted", b)
		}
	}
	// Around the length prefix's growth from 2 to 4 bytes (a vector of
	// 16384 bytes), some sizes cannot be reached; the next bucket is used.
	base := 100
	for l := 16000; l < 16400; l++ {
		pad, err := bucketPad([]int{base + 16386, base + 16387, base + 16388, base + 20000}, base, l)
		if err != nil {
			t.Fatal(err)
		}
		got := base + codec.VarintLen(l+pad) + l + pad
		if got != base+16388 && got != base+20000 {
			t.Fatalf("vector of %d bytes padded to a message of %d bytes", l, got)
		}
	}
}
