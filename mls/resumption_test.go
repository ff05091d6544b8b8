package mls

import (
	"errors"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// resumer is one client of the resumption tests: its identity per suite.
type resumer struct {
	name string
	ids  map[CipherSuite]*Identity
	g    *Group
}

func newResumer(t testing.TB, name string) *resumer {
	return &resumer{name: name, ids: make(map[CipherSuite]*Identity)}
}

func (m *resumer) id(t testing.TB, cs CipherSuite) *Identity {
	t.Helper()
	if m.ids[cs] == nil {
		id, err := NewIdentity(cs, BasicCredential([]byte(m.name)))
		if err != nil {
			t.Fatal(err)
		}
		m.ids[cs] = id
	}
	return m.ids[cs]
}

func (m *resumer) keyPackage(t testing.TB, cs CipherSuite) (*KeyPackage, []byte) {
	t.Helper()
	kp, priv, err := NewKeyPackage(m.id(t, cs), nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp, priv
}

// resumptionGroup makes a group of suite cs with the given members, the
// first one its creator; each resumer's state goes through MarshalBinary.
func resumptionGroup(t testing.TB, cs CipherSuite, ms ...*resumer) {
	t.Helper()
	g, err := Create(ms[0].id(t, cs), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms[0].g = g
	var adds []Proposal
	privs := make([][]byte, len(ms))
	for i, m := range ms[1:] {
		kp, priv := m.keyPackage(t, cs)
		adds = append(adds, AddProposal(kp))
		privs[i+1] = priv
	}
	b, err := g.Commit(&CommitOptions{Proposals: adds})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.MergeCommit(); err != nil {
		t.Fatal(err)
	}
	for i, m := range ms[1:] {
		if m.g, err = Join(m.id(t, cs), privs[i+1], b.Welcome, nil, nil); err != nil {
			t.Fatalf("%s: join: %v", m.name, err)
		}
	}
	sameEpoch(t, ms...)
}

// sameEpoch checks that every resumer is in the same epoch with the same
// epoch authenticator, and that application messages pass between them.
func sameEpoch(t testing.TB, ms ...*resumer) {
	t.Helper()
	for _, m := range ms[1:] {
		if m.g.Epoch() != ms[0].g.Epoch() || string(m.g.EpochAuthenticator()) != string(ms[0].g.EpochAuthenticator()) {
			t.Fatalf("%s and %s disagree on the epoch", m.name, ms[0].name)
		}
	}
	for _, from := range ms {
		msg, err := from.g.Encrypt([]byte("from "+from.name), nil)
		if err != nil {
			t.Fatalf("%s: encrypt: %v", from.name, err)
		}
		for _, to := range ms {
			if to == from {
				continue
			}
			r, err := to.g.Process(msg)
			if err != nil || string(r.Data) != "from "+from.name {
				t.Fatalf("%s reading %s: %v", to.name, from.name, err)
			}
		}
	}
}

// restore stores and restores a resumer's state.
func restore(t *testing.T, m *resumer) {
	t.Helper()
	b, err := m.g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if m.g, err = UnmarshalGroup(b, &m.g.cfg); err != nil {
		t.Fatal(err)
	}
}

// TestReInitToAnotherSuite: a group of suite 0x0001 is closed by a ReInit
// to suite 0x0003, or to the post-quantum X-Wing suite 0x0053 (RFC 9420
// §11.2); a resumer who did not commit the ReInit
// creates the successor, whose Welcome carries the resumption PSK (usage
// reinit) of the old group's final epoch; the others join it with their
// state of the old group, and the joins that the RFC forbids fail.
func TestReInitToAnotherSuite(t *testing.T) {
	for _, to := range []CipherSuite{X25519_CHACHA20POLY1305_SHA256_Ed25519, XWING_AES256GCM_SHA512_Ed25519} {
		t.Run(to.String(), func(t *testing.T) { testReInitTo(t, to) })
	}
}

func testReInitTo(t *testing.T, to CipherSuite) {
	const from = X25519_AES128GCM_SHA256_Ed25519
	alice, bob, carol := newResumer(t, "alice"), newResumer(t, "bob"), newResumer(t, "carol")
	resumptionGroup(t, from, alice, bob, carol)
	oldID := alice.g.GroupID()

	if _, _, err := alice.g.CreateSuccessor(alice.id(t, to), nil, nil, nil); !errors.Is(err, ErrResumption) {
		t.Fatalf("successor of an open group: got %v, want ErrResumption", err)
	}
	beforeReInit, err := carol.g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}

	// Alice commits the ReInit; everyone processes it.
	b, err := alice.g.Commit(&CommitOptions{Proposals: []Proposal{ReInitProposal(nil, to, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*resumer{alice, bob, carol} {
		r, err := m.g.Process(b.Commit)
		if err != nil {
			t.Fatalf("%s: ReInit commit: %v", m.name, err)
		}
		if !r.Commit.ReInit {
			t.Fatalf("%s: the commit is not reported as a ReInit", m.name)
		}
		restore(t, m)
		if m.g.Active() {
			t.Fatalf("%s: the group is still active after the ReInit", m.name)
		}
		if _, err := m.g.Encrypt([]byte("late"), nil); !errors.Is(err, ErrReInit) {
			t.Fatalf("%s: encrypt after ReInit: got %v, want ErrReInit", m.name, err)
		}
	}
	newID, cs, _, ok := bob.g.ReInitInfo()
	if !ok || cs != to || len(newID) != 16 || string(newID) == string(oldID) {
		t.Fatalf("ReInitInfo = %x, %v, %v", newID, cs, ok)
	}

	// The successor must hold exactly the old members.
	aliceKP, alicePriv := alice.keyPackage(t, to)
	carolKP, carolPriv := carol.keyPackage(t, to)
	daveKP, _ := newResumer(t, "dave").keyPackage(t, to)
	for name, kps := range map[string][]*KeyPackage{
		"a resumer missing":        {aliceKP},
		"a stranger":               {aliceKP, carolKP, daveKP},
		"a stranger for a resumer": {aliceKP, daveKP},
	} {
		if _, _, err := bob.g.CreateSuccessor(bob.id(t, to), kps, nil, nil); !errors.Is(err, ErrResumption) {
			t.Errorf("successor with %s: got %v, want ErrResumption", name, err)
		}
	}
	if _, _, err := bob.g.CreateSuccessor(bob.id(t, from), []*KeyPackage{aliceKP, carolKP}, nil, nil); !errors.Is(err, ErrResumption) {
		t.Errorf("successor in the old suite: got %v, want ErrResumption", err)
	}

	next, welcome, err := bob.g.CreateSuccessor(bob.id(t, to), []*KeyPackage{aliceKP, carolKP}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if next.Epoch() != 1 || next.CipherSuite() != to || string(next.GroupID()) != string(newID) {
		t.Fatalf("successor: epoch %d, suite %v, group %x", next.Epoch(), next.CipherSuite(), next.GroupID())
	}

	// Joining without the old group, with another group, with the old
	// group before the ReInit, or with a wrong resumption PSK fails.
	other := newResumer(t, "other")
	resumptionGroup(t, from, other, newResumer(t, "x"))
	stale, err := UnmarshalGroup(beforeReInit, &Config{})
	if err != nil {
		t.Fatal(err)
	}
	tampered, err := UnmarshalGroup(mustMarshal(t, carol.g), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range tampered.pastPSKs {
		tampered.pastPSKs[i].psk = make([]byte, len(tampered.pastPSKs[i].psk))
	}
	for name, c := range map[string]struct {
		old  *Group
		want error
	}{
		"no old group":           {nil, ErrUnknownPSK},
		"another group":          {other.g, ErrUnknownPSK},
		"the old group's past":   {stale, ErrUnknownPSK},
		"a wrong resumption PSK": {tampered, ErrDecrypt},
	} {
		if _, err := Join(carol.id(t, to), carolPriv, welcome, nil, &JoinOptions{ResumedGroup: c.old}); !errors.Is(err, c.want) {
			t.Errorf("join with %s: got %v, want %v", name, err, c.want)
		}
	}

	carolOld, aliceOld := carol.g, alice.g
	if carol.g, err = Join(carol.id(t, to), carolPriv, welcome, nil, &JoinOptions{ResumedGroup: carolOld}); err != nil {
		t.Fatalf("carol: join the successor: %v", err)
	}
	if alice.g, err = Join(alice.id(t, to), alicePriv, welcome, nil, &JoinOptions{ResumedGroup: aliceOld}); err != nil {
		t.Fatalf("alice: join the successor: %v", err)
	}
	bob.g = next
	sameEpoch(t, bob, alice, carol)
	if carol.g.CipherSuite() != to {
		t.Fatalf("carol's successor is of suite %v", carol.g.CipherSuite())
	}

	// The successor goes on like any group.
	c, err := carol.g.Commit(&CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*resumer{alice, bob, carol} {
		if _, err := m.g.Process(c.Commit); err != nil {
			t.Fatalf("%s: commit in the successor: %v", m.name, err)
		}
	}
	sameEpoch(t, alice, bob, carol)

	// A successor that does not match the ReInit is refused by the joiners
	// (§12.4.3.1): another group ID, or another suite, than the ReInit's.
	bobOld := bobOldGroup(t, aliceOld, bob)
	for name, c := range map[string]struct {
		groupID []byte
		cs      CipherSuite
	}{
		"another group ID": {[]byte("not the ReInit's"), to},
		"another suite":    {newID, from},
	} {
		aliceKP, _ := alice.keyPackage(t, c.cs)
		carolKP, carolPriv := carol.keyPackage(t, c.cs)
		_, w, err := bobOld.resume(bob.id(t, c.cs), c.groupID, &Config{}, nil, []*KeyPackage{aliceKP, carolKP}, wire.ResumptionPSKUsageReInit, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Join(carol.id(t, c.cs), carolPriv, w, nil, &JoinOptions{ResumedGroup: carolOld}); !errors.Is(err, ErrResumption) {
			t.Errorf("join of a successor with %s than the ReInit's: got %v, want ErrResumption", name, err)
		}
	}
}

// bobOldGroup returns bob's state of the old, reinitialised group, rebuilt
// from alice's (their public state and the resumption PSKs agree): the
// test moved bob on to the successor.
func bobOldGroup(t *testing.T, aliceOld *Group, bob *resumer) *Group {
	t.Helper()
	g, err := UnmarshalGroup(mustMarshal(t, aliceOld), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	g.id = bob.id(t, aliceOld.CipherSuite())
	return g
}

func mustMarshal(t *testing.T, g *Group) []byte {
	t.Helper()
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBranch: a resumer branches a subgroup (RFC 9420 §11.3) with a
// resumption PSK of usage branch; the invited resumer joins with its state
// of the old group, which stays usable; a branch with a stranger, or
// joined without the old group, fails.
func TestBranch(t *testing.T) {
	cs := DefaultCipherSuite
	alice, bob, carol := newResumer(t, "alice"), newResumer(t, "bob"), newResumer(t, "carol")
	resumptionGroup(t, cs, alice, bob, carol)

	bobKP, bobPriv := bob.keyPackage(t, cs)
	daveKP, _ := newResumer(t, "dave").keyPackage(t, cs)
	if _, _, err := alice.g.Branch(nil, []*KeyPackage{bobKP, daveKP}, nil, nil); !errors.Is(err, ErrResumption) {
		t.Fatalf("branch with a stranger: got %v, want ErrResumption", err)
	}
	sub, welcome, err := alice.g.Branch([]byte("side talks"), []*KeyPackage{bobKP}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Join(bob.id(t, cs), bobPriv, welcome, nil, nil); !errors.Is(err, ErrUnknownPSK) {
		t.Fatalf("join of a branch without the old group: got %v, want ErrUnknownPSK", err)
	}
	bobSub, err := Join(bob.id(t, cs), bobPriv, welcome, nil, &JoinOptions{ResumedGroup: bob.g})
	if err != nil {
		t.Fatalf("bob: join the branch: %v", err)
	}
	if string(bobSub.GroupID()) != "side talks" || bobSub.Epoch() != 1 || len(bobSub.Members()) != 2 {
		t.Fatalf("branch: group %q, epoch %d, %d members", bobSub.GroupID(), bobSub.Epoch(), len(bobSub.Members()))
	}
	sameEpoch(t, &resumer{name: "alice", g: sub}, &resumer{name: "bob", g: bobSub})
	// The old group goes on.
	sameEpoch(t, alice, bob, carol)

	// A branch holding someone who was not in the group is refused by the
	// joiner (§12.4.3.1), even when its creator let it through.
	bobKP2, bobPriv2 := bob.keyPackage(t, cs)
	daveKP2, _ := newResumer(t, "dave").keyPackage(t, cs)
	_, w, err := alice.g.resume(alice.g.id, nil, &Config{}, nil, []*KeyPackage{bobKP2, daveKP2}, wire.ResumptionPSKUsageBranch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Join(bob.id(t, cs), bobPriv2, w, nil, &JoinOptions{ResumedGroup: bob.g}); !errors.Is(err, ErrResumption) {
		t.Fatalf("join of a branch with a stranger: got %v, want ErrResumption", err)
	}

	// A PreSharedKey proposal of usage branch or reinit is invalid (§12.1.4).
	for _, usage := range []wire.ResumptionPSKUsage{wire.ResumptionPSKUsageBranch, wire.ResumptionPSKUsageReInit} {
		nonce := make([]byte, alice.g.s.Nh())
		p := &wire.Proposal{Type: wire.ProposalTypePreSharedKey, PreSharedKey: &wire.PreSharedKey{PSK: wire.PreSharedKeyID{
			Type: wire.PSKTypeResumption, Usage: usage, PSKGroupID: alice.g.GroupID(), PSKEpoch: alice.g.Epoch(), PSKNonce: nonce,
		}}}
		if err := bob.g.validateSingleProposal(p, wire.Sender{Type: wire.SenderTypeMember, Index: alice.g.OwnIndex()}, bob.g.tree, false, false); !errors.Is(err, ErrInvalidProposal) {
			t.Errorf("PreSharedKey proposal of usage %d: got %v, want ErrInvalidProposal", usage, err)
		}
	}
}

// FuzzJoinResumed feeds Welcome messages to Join for a member of a group
// closed by a ReInit, with its state of the old group: the successor's
// Welcome as seed, then whatever the fuzzer makes of it. No input may
// crash Join, and an accepted group must serialize.
func FuzzJoinResumed(f *testing.F) {
	t := testing.TB(f)
	const cs = DefaultCipherSuite
	alice, bob := newResumer(t, "alice"), newResumer(t, "bob")
	resumptionGroup(t, cs, alice, bob)
	b, err := alice.g.Commit(&CommitOptions{Proposals: []Proposal{ReInitProposal(nil, cs, nil)}})
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []*resumer{alice, bob} {
		if _, err := m.g.Process(b.Commit); err != nil {
			f.Fatal(err)
		}
	}
	kp, priv := bob.keyPackage(t, cs)
	_, welcome, err := alice.g.CreateSuccessor(alice.id(t, cs), []*KeyPackage{kp}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	bobID, old := bob.id(t, cs), bob.g
	if _, err := Join(bobID, priv, welcome, nil, &JoinOptions{ResumedGroup: old}); err != nil {
		f.Fatalf("seed: %v", err)
	}
	f.Add(welcome)
	f.Fuzz(func(t *testing.T, w []byte) {
		g, err := Join(bobID, priv, w, nil, &JoinOptions{ResumedGroup: old})
		if errors.Is(err, errInternal) {
			t.Fatal(err)
		}
		if err == nil {
			if _, err := g.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestReInitLateMessages: after the ReInit commit, a member still reads an
// application message sent before it and delivered late (Config.PastEpochs),
// and refuses anything sent in the closed group.
func TestReInitLateMessages(t *testing.T) {
	const cs = DefaultCipherSuite
	cfg := &Config{PastEpochs: 1}
	alice, bob := newResumer(t, "alice"), newResumer(t, "bob")
	g, err := Create(alice.id(t, cs), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kp, priv := bob.keyPackage(t, cs)
	b, err := g.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.MergeCommit(); err != nil {
		t.Fatal(err)
	}
	alice.g = g
	if bob.g, err = Join(bob.id(t, cs), priv, b.Welcome, cfg, nil); err != nil {
		t.Fatal(err)
	}
	late, err := bob.g.Encrypt([]byte("sent before the ReInit"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err = alice.g.Commit(&CommitOptions{Proposals: []Proposal{ReInitProposal(nil, cs, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*resumer{alice, bob} {
		if _, err := m.g.Process(b.Commit); err != nil {
			t.Fatal(err)
		}
	}
	r, err := alice.g.Process(late)
	if err != nil || string(r.Data) != "sent before the ReInit" {
		t.Fatalf("late message after the ReInit: %v", err)
	}
	if _, err := alice.g.Process(late); err == nil {
		t.Fatal("the late message was read twice")
	}
	if _, err := bob.g.Encrypt([]byte("after"), nil); !errors.Is(err, ErrReInit) {
		t.Fatalf("encrypt in the closed group: got %v, want ErrReInit", err)
	}
	if _, err := alice.g.Process(b.Commit); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("a handshake message of the epoch before the ReInit: got %v, want ErrWrongEpoch", err)
	}
}

// TestReInitByReference: one member proposes the ReInit, another commits
// it by reference, and a third creates the successor, which the first joins.
func TestReInitByReference(t *testing.T) {
	const from, to = P256_AES128GCM_SHA256_P256, X25519_AES128GCM_SHA256_Ed25519
	alice, bob, carol := newResumer(t, "alice"), newResumer(t, "bob"), newResumer(t, "carol")
	resumptionGroup(t, from, alice, bob, carol)
	p, err := bob.g.Propose(ReInitProposal([]byte("plenary v2"), to, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*resumer{alice, carol} {
		if _, err := m.g.Process(p); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	b, err := alice.g.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*resumer{alice, bob, carol} {
		if _, err := m.g.Process(b.Commit); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if id, cs, _, ok := m.g.ReInitInfo(); !ok || cs != to || string(id) != "plenary v2" {
			t.Fatalf("%s: ReInitInfo %q %v %v", m.name, id, cs, ok)
		}
	}
	aliceKP, alicePriv := alice.keyPackage(t, to)
	bobKP, bobPriv := bob.keyPackage(t, to)
	next, welcome, err := carol.g.CreateSuccessor(carol.id(t, to), []*KeyPackage{aliceKP, bobKP}, nil, &ResumeOptions{OmitRatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := next.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	olds := map[string]*Group{"alice": alice.g, "bob": bob.g}
	carol.g = next
	if alice.g, err = Join(alice.id(t, to), alicePriv, welcome, nil, &JoinOptions{RatchetTree: tree, ResumedGroup: olds["alice"]}); err != nil {
		t.Fatal(err)
	}
	if bob.g, err = Join(bob.id(t, to), bobPriv, welcome, nil, &JoinOptions{RatchetTree: tree, ResumedGroup: olds["bob"]}); err != nil {
		t.Fatal(err)
	}
	sameEpoch(t, carol, alice, bob)
}
