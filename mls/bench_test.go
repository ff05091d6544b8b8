package mls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/mls/internal/tree"
)

// Benchmarks of the public API, each on the default suite (0001) and the
// default post-quantum suite (0053, X-Wing). Run them with
//
//	go test ./mls/ -run '^$' -bench . -benchtime 20x
//
// Sizes are reported as metrics: kp-bytes (a key package), commit-bytes and
// welcome-bytes (the messages of an add), ct-bytes (a 1 KiB message).
// Groups for the add benchmarks are built once per size and reused, as
// serialized states: every iteration restores a fresh copy outside the
// timer, then times Commit (the committer: commit, Welcome and GroupInfo)
// or Process (another member handling that commit).

// cpuClock accumulates the CPU time (user and system, all threads) of the
// timed parts of a benchmark, reported as cpu-ns/op next to the wall-clock
// ns/op: on a machine shared with other work, CPU time shows the cost of the
// operation itself, and wall time what a caller waited.
type cpuClock struct {
	total time.Duration
	at    time.Duration
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) start() { c.at = cpuNow() }
func (c *cpuClock) stop()  { c.total += cpuNow() - c.at }
func (c *cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(c.total.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// benchSuites are the suites every benchmark runs on.
var benchSuites = []CipherSuite{DefaultCipherSuite, DefaultPostQuantumCipherSuite}

// forSuites runs f as a sub-benchmark per suite, named by its code point.
func forSuites(b *testing.B, f func(b *testing.B, cs CipherSuite)) {
	for _, cs := range benchSuites {
		b.Run(fmt.Sprintf("%04x", uint16(cs)), func(b *testing.B) { f(b, cs) })
	}
}

func BenchmarkNewKeyPackage(b *testing.B) {
	forSuites(b, func(b *testing.B, cs CipherSuite) {
		id, err := NewIdentity(cs, BasicCredential([]byte("bench")))
		if err != nil {
			b.Fatal(err)
		}
		var cpu cpuClock
		var size int
		cpu.start()
		for b.Loop() {
			kp, _, err := NewKeyPackage(id, nil)
			if err != nil {
				b.Fatal(err)
			}
			size = len(kp.Bytes())
		}
		cpu.stop()
		cpu.report(b)
		b.ReportMetric(float64(size), "kp-bytes")
	})
}

func BenchmarkCreateGroup(b *testing.B) {
	forSuites(b, func(b *testing.B, cs CipherSuite) {
		id, err := NewIdentity(cs, BasicCredential([]byte("bench")))
		if err != nil {
			b.Fatal(err)
		}
		var cpu cpuClock
		cpu.start()
		for b.Loop() {
			if _, err := Create(id, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		cpu.stop()
		cpu.report(b)
	})
}

// benchGroup is a group of n members: the committer's state (leaf 0), the
// state of a member far from it (the last leaf) and fresh key packages.
type benchGroup struct {
	committer, member []byte
}

type member struct {
	id      *Identity
	encPriv []byte
}

// asMember returns the state of the member m at leaf l, derived from
// another member's state g of the same epoch: the group secrets are shared
// by all members; the leaf and its private key are m's. It is a shortcut
// for building large benchmark groups without n full joins; the states it
// makes only ever commit (or process commits whose path secrets they can
// decrypt with their leaf key).
func asMember(b *testing.B, g *Group, m member, l uint32) *Group {
	c := *g
	c.id, c.own, c.pending, c.proposals = m.id, l, nil, nil
	priv, err := tree.NewPrivateState(g.tree, tree.LeafIndex(l), m.encPriv)
	if err != nil {
		b.Fatal(err)
	}
	c.priv = priv
	st, err := g.secretsCopy()
	if err != nil {
		b.Fatal(err)
	}
	c.secrets = st
	return &c
}

func process(b *testing.B, g *Group, msg []byte) {
	b.Helper()
	if _, err := g.Process(msg); err != nil {
		b.Fatal(err)
	}
}

// populateOrder returns the leaves 1..n-1 in bit-reversed order, so that
// the first commits fill the top of the tree and later commits encrypt to
// few nodes (filling in leaf order would cost O(n^2) encryptions).
func populateOrder(n int) []int {
	bits := 0
	for 1<<bits < n {
		bits++
	}
	var out []int
	for r := 0; r < 1<<bits; r++ {
		i := 0
		for b := 0; b < bits; b++ {
			if r&(1<<b) != 0 {
				i |= 1 << (bits - 1 - b)
			}
		}
		if i > 0 && i < n {
			out = append(out, i)
		}
	}
	return out
}

// buildGroup bulk-adds n-1 members to a new group in one commit (no path).
// With populate, every member then commits once with a path (see
// populateOrder), and the committer and the far member process every commit, so
// that the tree has no blank parent and no unmerged leaf.
func buildGroup(b *testing.B, cs CipherSuite, n int, populate bool) *benchGroup {
	cfg := &Config{PublicHandshake: false}
	members := make([]member, n)
	kps := make([]Proposal, 0, n-1)
	for i := range members {
		id, err := NewIdentity(cs, BasicCredential(fmt.Appendf(nil, "member-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		members[i].id = id
		if i == 0 {
			continue
		}
		kp, priv, err := NewKeyPackage(id, nil)
		if err != nil {
			b.Fatal(err)
		}
		kpp, err := parseKeyPackagePrivate(priv)
		if err != nil {
			b.Fatal(err)
		}
		members[i].encPriv = kpp.encPriv
		kps = append(kps, AddProposal(kp))
	}
	alice, err := Create(members[0].id, nil, cfg)
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := alice.Commit(&CommitOptions{Proposals: kps, OmitRatchetTree: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := alice.MergeCommit(); err != nil {
		b.Fatal(err)
	}
	_ = bundle
	last := uint32(n - 1)
	far := asMember(b, alice, members[last], last)
	if populate {
		for _, i := range populateOrder(n) {
			var c *Group
			if uint32(i) == last {
				c = far
			} else {
				c = asMember(b, alice, members[i], uint32(i))
			}
			cb, err := c.Commit(&CommitOptions{ForcePath: true})
			if err != nil {
				b.Fatal(err)
			}
			process(b, alice, cb.Commit)
			if uint32(i) == last {
				if err := far.MergeCommit(); err != nil {
					b.Fatal(err)
				}
			} else {
				process(b, far, cb.Commit)
			}
		}
		// Finally the committer refreshes its own path too.
		cb, err := alice.Commit(&CommitOptions{ForcePath: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := alice.MergeCommit(); err != nil {
			b.Fatal(err)
		}
		process(b, far, cb.Commit)
	}
	bg := &benchGroup{}
	if bg.committer, err = alice.MarshalBinary(); err != nil {
		b.Fatal(err)
	}
	if bg.member, err = far.MarshalBinary(); err != nil {
		b.Fatal(err)
	}
	return bg
}

var (
	benchGroupsMu sync.Mutex
	benchGroups   = map[string]*benchGroup{}
)

func cachedGroup(b *testing.B, cs CipherSuite, n int, populate bool) *benchGroup {
	key := fmt.Sprint(cs, n, populate)
	benchGroupsMu.Lock()
	defer benchGroupsMu.Unlock()
	if g, ok := benchGroups[key]; ok {
		return g
	}
	g := buildGroup(b, cs, n, populate)
	benchGroups[key] = g
	return g
}

func BenchmarkAddMember(b *testing.B) { forSuites(b, benchmarkAddMember) }

func benchmarkAddMember(b *testing.B, cs CipherSuite) {
	newcomer, err := NewIdentity(cs, BasicCredential([]byte("newcomer")))
	if err != nil {
		b.Fatal(err)
	}
	kp, _, err := NewKeyPackage(newcomer, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		populate bool
	}{{"populated", true}, {"bulk", false}} {
		for _, n := range []int{10, 100, 1000} {
			// The last variant sends the Welcome without the ratchet tree
			// (the joiner gets it another way): what the tree costs.
			for _, v := range []struct {
				path, omitTree bool
			}{{true, false}, {false, false}, {false, true}} {
				path := v.path
				name := fmt.Sprintf("%s/n=%d/path=%v", tc.name, n, path)
				if v.omitTree {
					name += "/tree=omitted"
				}
				opts := &CommitOptions{Proposals: []Proposal{AddProposal(kp)}, ForcePath: path, OmitRatchetTree: v.omitTree}
				b.Run(name+"/commit", func(b *testing.B) {
					bg := cachedGroup(b, cs, n, tc.populate)
					var cpu cpuClock
					var commitSize, welcomeSize int
					for b.Loop() {
						b.StopTimer()
						g, err := UnmarshalGroup(bg.committer, nil)
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						cpu.start()
						cb, err := g.Commit(opts)
						if err != nil || cb.Welcome == nil {
							b.Fatal(err)
						}
						if err := g.MergeCommit(); err != nil {
							b.Fatal(err)
						}
						cpu.stop()
						commitSize, welcomeSize = len(cb.Commit), len(cb.Welcome)
					}
					cpu.report(b)
					b.ReportMetric(float64(commitSize), "commit-bytes")
					b.ReportMetric(float64(welcomeSize), "welcome-bytes")
				})
				if v.omitTree {
					continue // the commit is the same as with the tree
				}
				b.Run(name+"/process", func(b *testing.B) {
					bg := cachedGroup(b, cs, n, tc.populate)
					g, err := UnmarshalGroup(bg.committer, nil)
					if err != nil {
						b.Fatal(err)
					}
					cb, err := g.Commit(opts)
					if err != nil {
						b.Fatal(err)
					}
					var cpu cpuClock
					for b.Loop() {
						b.StopTimer()
						m, err := UnmarshalGroup(bg.member, nil)
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						cpu.start()
						process(b, m, cb.Commit)
						cpu.stop()
					}
					cpu.report(b)
				})
			}
		}
	}
}

// BenchmarkEncryptDecrypt1KiB encrypts a 1 KiB application message as one
// member and decrypts it as another (one signature and one verification).
func BenchmarkEncryptDecrypt1KiB(b *testing.B) {
	forSuites(b, func(b *testing.B, cs CipherSuite) {
		alice, bob := pair(b, cs)
		msg := make([]byte, 1024)
		b.SetBytes(1024)
		var cpu cpuClock
		var size int
		cpu.start()
		for b.Loop() {
			ct, err := alice.Encrypt(msg, nil)
			if err != nil {
				b.Fatal(err)
			}
			r, err := bob.Process(ct)
			if err != nil || len(r.Data) != 1024 {
				b.Fatal(err)
			}
			size = len(ct)
		}
		cpu.stop()
		cpu.report(b)
		b.ReportMetric(float64(size), "ct-bytes")
	})
}

// pair returns a two-member group as both members' states.
func pair(b *testing.B, cs CipherSuite) (*Group, *Group) {
	aid, _ := NewIdentity(cs, BasicCredential([]byte("alice")))
	bid, _ := NewIdentity(cs, BasicCredential([]byte("bob")))
	alice, err := Create(aid, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	kp, priv, err := NewKeyPackage(bid, nil)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := alice.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp)}})
	if err != nil {
		b.Fatal(err)
	}
	if err := alice.MergeCommit(); err != nil {
		b.Fatal(err)
	}
	bob, err := Join(bid, priv, cb.Welcome, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return alice, bob
}

// BenchmarkEd25519Floor is the floor of BenchmarkEncryptDecrypt1KiB: one
// Ed25519 signature and one verification of a message of the same size,
// measured in the same run so that the two can be compared on a shared
// machine.
func BenchmarkEd25519Floor(b *testing.B) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	msg := make([]byte, 1024+200)
	var cpu cpuClock
	cpu.start()
	for b.Loop() {
		sig := ed25519.Sign(priv, msg)
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify")
		}
	}
	cpu.stop()
	cpu.report(b)
}

// BenchmarkWelcomeFloor is the floor of an add's Welcome that carries the
// ratchet tree of 1,000 X-Wing members (2.7 MB): what RFC 9420 requires
// over the GroupInfo whatever the implementation, measured in the same run
// as the add: one Ed25519 signature (SignWithLabel; Ed25519 hashes the
// message twice with SHA-512), one more SHA-512 pass (HPKE's key schedule
// hashes its info, which holds the encrypted GroupInfo, §12.4.3.1) and an
// AES-256-GCM encryption.
func BenchmarkWelcomeFloor(b *testing.B) {
	msg := make([]byte, 2702756)
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	blk, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	out := make([]byte, 0, len(msg)+gcm.Overhead())
	b.SetBytes(int64(len(msg)))
	var cpu cpuClock
	cpu.start()
	for b.Loop() {
		ed25519.Sign(priv, msg)
		sha512.Sum512(msg)
		gcm.Seal(out, nonce, msg, nil)
	}
	cpu.stop()
	cpu.report(b)
}

// BenchmarkJoin measures joining a populated group from a Welcome that
// carries the ratchet tree: decrypting, then validating the whole tree
// (every leaf signature, parent hashes, tree hash) as §12.4.3.1 requires.
func BenchmarkJoin(b *testing.B) { forSuites(b, benchmarkJoin) }

func benchmarkJoin(b *testing.B, cs CipherSuite) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			bg := cachedGroup(b, cs, n, true)
			newcomer, err := NewIdentity(cs, BasicCredential([]byte("newcomer")))
			if err != nil {
				b.Fatal(err)
			}
			kp, priv, err := NewKeyPackage(newcomer, nil)
			if err != nil {
				b.Fatal(err)
			}
			g, err := UnmarshalGroup(bg.committer, nil)
			if err != nil {
				b.Fatal(err)
			}
			cb, err := g.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp)}})
			if err != nil {
				b.Fatal(err)
			}
			var cpu cpuClock
			cpu.start()
			for b.Loop() {
				if _, err := Join(newcomer, priv, cb.Welcome, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
			cpu.report(b)
		})
	}
}

// BenchmarkState measures storing and loading a member's state
// (MarshalBinary, UnmarshalGroup with its consistency checks) in a populated
// group.
func BenchmarkState(b *testing.B) { forSuites(b, benchmarkState) }

func benchmarkState(b *testing.B, cs CipherSuite) {
	for _, n := range []int{10, 100, 1000} {
		bg := cachedGroup(b, cs, n, true)
		b.Run(fmt.Sprintf("n=%d/unmarshal", n), func(b *testing.B) {
			b.SetBytes(int64(len(bg.member)))
			for b.Loop() {
				if _, err := UnmarshalGroup(bg.member, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/marshal", n), func(b *testing.B) {
			g, err := UnmarshalGroup(bg.member, nil)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := g.MarshalBinary(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReInit measures moving a group of n members to another suite
// (0x0001 to 0x0003, RFC 9420 §11.2) after the ReInit commit: one member
// creates the successor (Group.CreateSuccessor: Create, a commit adding the
// n-1 others with the reinit PSK, the Welcome with the ratchet tree), and
// a member joins it with its state of the old group (Join with
// JoinOptions.ResumedGroup, which also checks that the membership is the
// old group's). The Welcome's size is reported as welcome-bytes.
func BenchmarkReInit(b *testing.B) {
	const to = X25519_CHACHA20POLY1305_SHA256_Ed25519
	for _, n := range []int{10, 100, 1000} {
		bg := cachedGroup(b, DefaultCipherSuite, n, false)
		old, err := UnmarshalGroup(bg.committer, nil)
		if err != nil {
			b.Fatal(err)
		}
		far, err := UnmarshalGroup(bg.member, nil)
		if err != nil {
			b.Fatal(err)
		}
		cb, err := old.Commit(&CommitOptions{Proposals: []Proposal{ReInitProposal(nil, to, nil)}})
		if err != nil {
			b.Fatal(err)
		}
		if err := old.MergeCommit(); err != nil {
			b.Fatal(err)
		}
		process(b, far, cb.Commit)
		var creator, farID *Identity
		var farPriv []byte
		var kps []*KeyPackage
		for _, m := range old.Members() {
			id, err := NewIdentity(to, m.Credential)
			if err != nil {
				b.Fatal(err)
			}
			if m.Index == old.OwnIndex() {
				creator = id
				continue
			}
			kp, priv, err := NewKeyPackage(id, nil)
			if err != nil {
				b.Fatal(err)
			}
			kps = append(kps, kp)
			if m.Index == far.OwnIndex() {
				farID, farPriv = id, priv
			}
		}
		var welcome []byte
		b.Run(fmt.Sprintf("n=%d/successor", n), func(b *testing.B) {
			var cpu cpuClock
			cpu.start()
			for b.Loop() {
				if _, welcome, err = old.CreateSuccessor(creator, kps, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
			cpu.report(b)
			b.ReportMetric(float64(len(welcome)), "welcome-bytes")
		})
		b.Run(fmt.Sprintf("n=%d/join", n), func(b *testing.B) {
			if welcome == nil {
				b.Skip("no successor")
			}
			var cpu cpuClock
			cpu.start()
			for b.Loop() {
				if _, err := Join(farID, farPriv, welcome, nil, &JoinOptions{ResumedGroup: far}); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
			cpu.report(b)
		})
	}
}
