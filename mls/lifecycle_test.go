package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"testing/cryptotest"
)

// client is one in-process MLS client. Clients never share Go values: each
// holds only its own serialized state, and everything they exchange is
// bytes, as it would be over the network.
type client struct {
	t      *testing.T
	name   string
	id     []byte // Identity.MarshalBinary
	state  []byte // Group.MarshalBinary
	kpPriv []byte
	cfg    *Config
}

// clientSuite is the suite newClient uses; TestLifecycle varies it.
var clientSuite = DefaultCipherSuite

func newClient(t *testing.T, name string, cfg *Config) *client {
	t.Helper()
	id, err := NewIdentity(clientSuite, BasicCredential([]byte(name)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := id.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = &Config{}
	}
	return &client{t: t, name: name, id: b, cfg: cfg}
}

func (c *client) identity() *Identity {
	c.t.Helper()
	id, err := UnmarshalIdentity(c.id)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

// with loads the client's group, runs f on it and stores the state again.
func (c *client) with(f func(g *Group) error) error {
	c.t.Helper()
	g, err := UnmarshalGroup(c.state, c.cfg)
	if err != nil {
		c.t.Fatalf("%s: failed to load state: %v", c.name, err)
	}
	ferr := f(g)
	if c.state, err = g.MarshalBinary(); err != nil {
		c.t.Fatalf("%s: failed to store state: %v", c.name, err)
	}
	return ferr
}

func (c *client) keyPackage() []byte {
	c.t.Helper()
	kp, priv, err := NewKeyPackage(c.identity(), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.kpPriv = priv
	return kp.Bytes()
}

func (c *client) create() {
	c.t.Helper()
	g, err := Create(c.identity(), []byte("talks/plenary"), c.cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.state, err = g.MarshalBinary(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) join(welcome []byte) {
	c.t.Helper()
	g, err := Join(c.identity(), c.kpPriv, welcome, c.cfg, nil)
	if err != nil {
		c.t.Fatalf("%s: join: %v", c.name, err)
	}
	if c.state, err = g.MarshalBinary(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) commit(opts *CommitOptions) *CommitBundle {
	c.t.Helper()
	var b *CommitBundle
	if err := c.with(func(g *Group) (err error) { b, err = g.Commit(opts); return err }); err != nil {
		c.t.Fatalf("%s: commit: %v", c.name, err)
	}
	return b
}

func (c *client) propose(p Proposal) []byte {
	c.t.Helper()
	var m []byte
	if err := c.with(func(g *Group) (err error) { m, err = g.Propose(p, nil); return err }); err != nil {
		c.t.Fatalf("%s: propose: %v", c.name, err)
	}
	return m
}

func (c *client) process(msg []byte) (*Received, error) {
	c.t.Helper()
	var r *Received
	err := c.with(func(g *Group) (err error) { r, err = g.Process(msg); return err })
	return r, err
}

func (c *client) mustProcess(msg []byte) *Received {
	c.t.Helper()
	r, err := c.process(msg)
	if err != nil {
		c.t.Fatalf("%s: process: %v", c.name, err)
	}
	return r
}

func (c *client) encrypt(text string) []byte {
	c.t.Helper()
	var m []byte
	if err := c.with(func(g *Group) (err error) { m, err = g.Encrypt([]byte(text), []byte("aad:"+c.name)); return err }); err != nil {
		c.t.Fatalf("%s: encrypt: %v", c.name, err)
	}
	return m
}

func (c *client) get(f func(g *Group)) {
	c.t.Helper()
	_ = c.with(func(g *Group) error { f(g); return nil })
}

func (c *client) epochAuth() (epoch uint64, auth []byte) {
	c.get(func(g *Group) { epoch, auth = g.Epoch(), g.EpochAuthenticator() })
	return
}

// agree checks that all clients are in the same epoch with the same epoch
// authenticator and exporter output.
func agree(t *testing.T, cs ...*client) {
	t.Helper()
	e0, a0 := cs[0].epochAuth()
	var x0 []byte
	cs[0].get(func(g *Group) { x0, _ = g.Export("test", []byte("ctx"), 32) })
	for _, c := range cs[1:] {
		e, a := c.epochAuth()
		var x []byte
		c.get(func(g *Group) { x, _ = g.Export("test", []byte("ctx"), 32) })
		if e != e0 || !bytes.Equal(a, a0) || !bytes.Equal(x, x0) {
			t.Fatalf("%s (epoch %d) disagrees with %s (epoch %d)", c.name, e, cs[0].name, e0)
		}
	}
}

// exchange has every sender send a message that every other client reads.
func exchange(t *testing.T, cs ...*client) {
	t.Helper()
	for _, s := range cs {
		text := fmt.Sprintf("hello from %s", s.name)
		msg := s.encrypt(text)
		var own uint32
		s.get(func(g *Group) { own = g.OwnIndex() })
		for _, r := range cs {
			if r == s {
				continue
			}
			got := r.mustProcess(msg)
			if got.Kind != KindApplication || string(got.Data) != text || string(got.AuthenticatedData) != "aad:"+s.name ||
				got.Sender.Index != own || string(got.Sender.Credential.Identity) != s.name {
				t.Fatalf("%s read %+v from %s", r.name, got, s.name)
			}
		}
	}
}

func allowAll(Credential, []byte) error { return nil }

// TestLifecycle runs a group's life through serialized state only, for
// every implemented suite (the post-quantum ones included) and both
// handshake framings.
func TestLifecycle(t *testing.T) {
	if len(CipherSuites()) != 9 {
		t.Fatalf("%d suites, want the 5 classical and 4 post-quantum ones", len(CipherSuites()))
	}
	for _, cs := range CipherSuites() {
		for _, public := range []bool{false, true} {
			t.Run(fmt.Sprintf("%04x/public=%v", uint16(cs), public), func(t *testing.T) {
				clientSuite = cs
				defer func() { clientSuite = DefaultCipherSuite }()
				testLifecycle(t, public)
			})
		}
	}
}

func testLifecycle(t *testing.T, public bool) {
	psk := []byte("a pre-shared key of the talks")
	cfg := func() *Config {
		return &Config{PublicHandshake: public, ExternalPSKs: func(id []byte) ([]byte, bool) { return psk, string(id) == "talks-psk" }, AllowExternalJoin: allowAll}
	}
	alice, bob, carol, dave := newClient(t, "alice", cfg()), newClient(t, "bob", cfg()), newClient(t, "carol", cfg()), newClient(t, "dave", cfg())

	// Create, add 3 members in one commit.
	alice.create()
	var adds []Proposal
	for _, c := range []*client{bob, carol, dave} {
		kp, err := ParseKeyPackage(c.keyPackage())
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, AddProposal(kp))
	}
	b := alice.commit(&CommitOptions{Proposals: adds})
	if b.Welcome == nil {
		t.Fatal("no Welcome for added members")
	}
	if r := alice.mustProcess(b.Commit); r.Kind != KindCommit || len(r.Commit.Added) != 3 {
		t.Fatalf("alice merged her commit as %+v", r)
	}
	for _, c := range []*client{bob, carol, dave} {
		c.join(b.Welcome)
	}
	all := []*client{alice, bob, carol, dave}
	agree(t, all...)
	exchange(t, all...)

	// A replayed message is rejected, and the receiver's state is unchanged.
	m := bob.encrypt("once")
	carol.mustProcess(m)
	if _, err := carol.process(m); !errors.Is(err, ErrGenerationReused) {
		t.Fatalf("replay: got %v, want ErrGenerationReused", err)
	}
	dave.mustProcess(m)

	// Bob proposes an update; Carol commits it by reference.
	up := bob.propose(UpdateProposal())
	for _, c := range []*client{alice, carol, dave} {
		if r := c.mustProcess(up); r.Kind != KindProposal || r.Proposal.Type != ProposalUpdate {
			t.Fatalf("%s: update proposal read as %+v", c.name, r)
		}
	}
	old := alice.encrypt("sent in the old epoch")
	b = carol.commit(nil)
	for _, c := range all {
		r := c.mustProcess(b.Commit)
		if c != carol && (len(r.Commit.Updated) != 2) {
			t.Fatalf("%s: commit updated %d members, want 2 (bob and the committer)", c.name, len(r.Commit.Updated))
		}
	}
	agree(t, all...)
	if _, err := bob.process(old); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("message of the previous epoch: got %v, want ErrWrongEpoch", err)
	}
	exchange(t, all...)

	// A commit by value with an external PSK, a resumption PSK of the
	// previous epoch and a GroupContextExtensions proposal.
	var epoch uint64
	alice.get(func(g *Group) { epoch = g.Epoch() })
	rc := []byte{0, 0, 0} // required_capabilities with no requirements
	b = dave.commit(&CommitOptions{Proposals: []Proposal{
		ExternalPSKProposal([]byte("talks-psk")),
		ResumptionPSKProposal([]byte("talks/plenary"), epoch-1),
		GroupContextExtensionsProposal([]Extension{{Type: 3, Data: rc}}),
	}})
	for _, c := range all {
		if r := c.mustProcess(b.Commit); len(r.Commit.Proposals) != 3 {
			t.Fatalf("%s: commit carried %d proposals", c.name, len(r.Commit.Proposals))
		}
	}
	agree(t, all...)
	alice.get(func(g *Group) {
		if len(g.Extensions()) != 1 || g.Extensions()[0].Type != 3 {
			t.Fatalf("group context extensions not applied: %+v", g.Extensions())
		}
	})

	// A member without the PSK cannot follow a commit that uses it.
	{
		b := bob.commit(&CommitOptions{Proposals: []Proposal{ExternalPSKProposal([]byte("talks-psk"))}})
		saved := carol.cfg
		carol.cfg = &Config{}
		if _, err := carol.process(b.Commit); !errors.Is(err, ErrUnknownPSK) {
			t.Fatalf("commit with an unknown PSK: got %v", err)
		}
		carol.cfg = saved
		for _, c := range all {
			c.mustProcess(b.Commit)
		}
		agree(t, all...)
	}

	// A tampered commit is rejected and leaves the receiver unchanged.
	b = bob.commit(&CommitOptions{ForcePath: true})
	for i := 0; i < len(b.Commit); i += 7 {
		bad := bytes.Clone(b.Commit)
		bad[i] ^= 0x40
		if _, err := carol.process(bad); err == nil {
			t.Fatalf("commit with byte %d flipped was accepted", i)
		}
	}
	for _, c := range all {
		c.mustProcess(b.Commit)
	}
	agree(t, all...)
	exchange(t, all...)

	// Remove dave: he learns it, and can no longer decrypt.
	var daveIdx uint32
	dave.get(func(g *Group) { daveIdx = g.OwnIndex() })
	b = alice.commit(&CommitOptions{Proposals: []Proposal{RemoveProposal(daveIdx)}})
	for _, c := range []*client{alice, bob, carol} {
		if r := c.mustProcess(b.Commit); len(r.Commit.Removed) != 1 || string(r.Commit.Removed[0].Credential.Identity) != "dave" {
			t.Fatalf("%s: removal read as %+v", c.name, r.Commit)
		}
	}
	if r := dave.mustProcess(b.Commit); !r.Commit.SelfRemoved {
		t.Fatal("dave did not learn he was removed")
	}
	dave.get(func(g *Group) {
		if g.Active() {
			t.Fatal("dave's group is still active")
		}
	})
	all = []*client{alice, bob, carol}
	agree(t, all...)
	secret := carol.encrypt("not for dave")
	if _, err := dave.process(secret); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removed member reading a message: got %v, want ErrNotMember", err)
	}
	exchange(t, all...)

	// Eve joins by external commit from a GroupInfo.
	eve := newClient(t, "eve", cfg())
	var gi []byte
	bob.get(func(g *Group) {
		var err error
		if gi, err = g.GroupInfo(true); err != nil {
			t.Fatal(err)
		}
	})
	g, commit, err := JoinExternal(eve.identity(), gi, eve.cfg, nil)
	if err != nil {
		t.Fatalf("external join: %v", err)
	}
	if eve.state, err = g.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		r := c.mustProcess(commit)
		if !r.Commit.External || len(r.Commit.Added) != 1 || string(r.Commit.Added[0].Credential.Identity) != "eve" || r.Sender.Type != SenderNewMemberCommit {
			t.Fatalf("%s: external commit read as %+v", c.name, r.Commit)
		}
	}
	all = append(all, eve)
	agree(t, all...)
	exchange(t, all...)

	// Eve commits an update of her own; then everyone agrees on members.
	b = eve.commit(&CommitOptions{ForcePath: true})
	for _, c := range all {
		c.mustProcess(b.Commit)
	}
	agree(t, all...)
	exchange(t, all...)
	alice.get(func(g *Group) {
		var names []string
		for _, m := range g.Members() {
			names = append(names, string(m.Credential.Identity))
		}
		if fmt.Sprint(names) != "[alice bob carol eve]" {
			t.Fatalf("members %v", names)
		}
	})
}

// TestDeterministic fixes the randomness of crypto/rand (the tests' hook;
// the API takes none from callers) and checks that the same operations
// give the same bytes, so that failures reproduce.
func TestDeterministic(t *testing.T) {
	for _, cs := range []CipherSuite{DefaultCipherSuite, DefaultPostQuantumCipherSuite} {
		t.Run(fmt.Sprintf("%04x", uint16(cs)), func(t *testing.T) {
			clientSuite = cs
			defer func() { clientSuite = DefaultCipherSuite }()
			testDeterministic(t)
		})
	}
}

func testDeterministic(t *testing.T) {
	run := func(t *testing.T) [][]byte {
		cryptotest.SetGlobalRandom(t, 42)
		alice, bob, b := twoMembers(t, nil)
		m := bob.encrypt("hello")
		alice.mustProcess(m)
		return [][]byte{b.Commit, b.Welcome, m, alice.state, bob.state}
	}
	var first [][]byte
	t.Run("first", func(t *testing.T) { first = run(t) })
	t.Run("second", func(t *testing.T) {
		for i, b := range run(t) {
			if !bytes.Equal(b, first[i]) {
				t.Fatalf("output %d differs between runs with the same seed", i)
			}
		}
	})
}
