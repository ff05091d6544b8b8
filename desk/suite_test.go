package desk

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/venue/client"
)

func TestParseSuite(t *testing.T) {
	for in, want := range map[string]mls.CipherSuite{
		"post-quantum": 0x0053, "X-Wing": 0x0053, "classical": 0x0001, "0x0054": 0x0054, "61441": 0xF001,
		"MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519": 0xF002,
	} {
		if got, err := ParseSuite(in); err != nil || got != want {
			t.Errorf("ParseSuite(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x0004", "0xF003", "quantum", "0x10000"} {
		if _, err := ParseSuite(in); err == nil {
			t.Errorf("ParseSuite(%q) accepted", in)
		}
	}
}

func TestSuitePolicyCheck(t *testing.T) {
	if err := DefaultSuitePolicy.validate(); err != nil || DefaultSuitePolicy.Suite != 0x0053 || !DefaultSuitePolicy.Suite.PostQuantum() {
		t.Fatalf("default policy %+v: %v", DefaultSuitePolicy, err)
	}
	pq := SuitePolicy{Suite: 0x0053, Minimum: MinPostQuantum}
	for _, cs := range []mls.CipherSuite{0x0001, 0x0003} {
		if err := pq.Check(cs); !errors.Is(err, ErrSuitePolicy) || !strings.Contains(err.Error(), "not post-quantum") {
			t.Errorf("post-quantum policy accepts %v: %v", cs, err)
		}
	}
	for _, cs := range []mls.CipherSuite{0x0053, 0x0054, 0xF001, 0xF002} {
		if err := pq.Check(cs); err != nil {
			t.Errorf("post-quantum policy refuses %v: %v", cs, err)
		}
	}
	classical := SuitePolicy{Suite: 0x0001, Minimum: MinClassical}
	if err := classical.validate(); err != nil {
		t.Fatal(err)
	}
	// ECDSA suites: a desk's device key is Ed25519.
	if err := classical.Check(0x0002); !errors.Is(err, ErrSuitePolicy) {
		t.Errorf("a P-256 suite accepted: %v", err)
	}
	if err := (SuitePolicy{Suite: 0x0001, Minimum: MinPostQuantum}).validate(); err == nil {
		t.Error("a classical suite for new channels under a post-quantum minimum accepted")
	}
	if err := (SuitePolicy{Suite: 0x0053, Minimum: "strong"}).validate(); err == nil {
		t.Error("an unknown minimum accepted")
	}
}

// TestSuitePolicy runs the policy between desks on a venue: channels open
// on the opener's suite (post-quantum by default); a desk refuses to open a
// channel, and to join one from a Welcome, below its minimum; key packages
// follow a change of policy, the stale ones being skipped.
func TestSuitePolicy(t *testing.T) {
	tv := startVenue(t)
	ctx := t.Context()
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	b := tv.newDesk(borealia, "Iryna Holt")
	for _, id := range []string{"plenary", "wg1", "wg2"} {
		if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: id, Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
			t.Fatal(err)
		}
	}
	confirmAll(t, a)
	confirmAll(t, b)

	// Default: the plenary opens on X-Wing, and both read it.
	if _, err := a.Send(ctx, "plenary", []byte("on X-Wing")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	for _, d := range []*Desk{a, b} {
		si, err := d.ChannelSuite(ctx, "plenary")
		if err != nil || si.ID != 0x0053 || !si.PostQuantum || !strings.HasPrefix(si.Summary, "post-quantum") {
			t.Fatalf("%s: plenary on %+v, %v", d.Profile().Person, si, err)
		}
	}
	if got := texts(t, b, "plenary"); len(got) != 1 {
		t.Fatalf("b reads %q", got)
	}

	// A classical suite is refused under the post-quantum minimum.
	if err := a.SetSuitePolicy(ctx, SuitePolicy{Suite: 0x0001, Minimum: MinPostQuantum}); err == nil {
		t.Fatal("a classical suite under a post-quantum minimum was set")
	}

	// Both allow classical suites and publish classical key packages.
	for _, d := range []*Desk{a, b} {
		if err := d.SetSuitePolicy(ctx, SuitePolicy{Suite: 0x0001, Minimum: MinClassical}); err != nil {
			t.Fatal(err)
		}
	}
	syncAll(t, a, b)
	if _, err := a.Send(ctx, "wg1", []byte("on X25519")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	if si, err := b.ChannelSuite(ctx, "wg1"); err != nil || si.ID != 0x0001 || si.PostQuantum || !strings.HasPrefix(si.Summary, "NOT post-quantum") {
		t.Fatalf("wg1 on %+v, %v", si, err)
	}

	// b goes back to post-quantum only, but its classical key packages are
	// still on the venue: a adds b to a classical channel, and b refuses
	// the Welcome.
	if err := b.SetSuitePolicy(ctx, DefaultSuitePolicy); err != nil {
		t.Fatal(err)
	}
	var blog syncBuffer
	b.log = slog.New(slog.NewTextHandler(&blog, nil))
	if _, err := a.Send(ctx, "wg2", []byte("classical again")); err != nil {
		t.Fatal(err)
	}
	if ms, _, err := a.Members(ctx, "wg2"); err != nil || len(ms) != 2 {
		t.Fatalf("a did not add b to wg2: %d members, %v", len(ms), err)
	}
	syncAll(t, a, b)
	if _, err := b.ChannelSuite(ctx, "wg2"); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("b joined a classical channel under a post-quantum policy: %v", err)
	}
	if !strings.Contains(blog.String(), "refused to join a channel") || !strings.Contains(blog.String(), "is not post-quantum") {
		t.Fatalf("b's log does not say why it refused the Welcome:\n%s", blog.String())
	}
	b.log = quiet
	// a cannot open a channel on a suite its own minimum refuses.
	if err := a.SetSuitePolicy(ctx, SuitePolicy{Suite: 0x0053, Minimum: MinPostQuantum}); err != nil {
		t.Fatal(err)
	}
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg3", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	// Back on X-Wing: b's stock is X-Wing again, a's stale classical one-time
	// key packages are skipped by whoever adds a.
	if err := b.Open(ctx, "wg3"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	if si, err := a.ChannelSuite(ctx, "wg3"); err != nil || si.ID != 0x0053 {
		t.Fatalf("a in wg3 on %+v, %v", si, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAddOptionsBounded checks that a commit adding many devices of an
// X-Wing channel carries no more key packages than fit in a log entry.
func TestAddOptionsBounded(t *testing.T) {
	var kps []*mls.KeyPackage
	var devs []string
	for i := range 30 {
		id, err := mls.NewIdentity(DefaultSuite, mls.BasicCredential([]byte{byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		kp, _, err := mls.NewKeyPackage(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		kps, devs = append(kps, kp), append(devs, string(rune('a'+i)))
	}
	opts, added := addOptions(kps, devs)
	if len(opts.Proposals) != len(added) || len(added) < 5 || len(added) >= 30 {
		t.Fatalf("%d proposals for %d devices", len(opts.Proposals), len(added))
	}
	size := 0
	for _, kp := range kps[:len(added)] {
		size += len(kp.Bytes())
	}
	if size > maxAddBytes {
		t.Fatalf("%d bytes of key packages in one commit", size)
	}
	if opts, added := addOptions(kps[:3], devs[:3]); len(opts.Proposals) != 3 || len(added) != 3 {
		t.Fatal("a small batch was cut")
	}
}
