package desk

// The adversarial suite of the neutrality issue: a real venue behind the
// hostile venue of internal/hostile (which holds the venue's signing key,
// as the host does), two parties, one attack at a time. Every test is named
// TestHostile..., logs "detected: <attack> -> <alarm>" and fails if the
// attack goes unnoticed within a bounded number of syncs.

import (
	"crypto/ed25519"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	hv "github.com/good-offices/goodoffices/internal/hostile"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/proof"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// bound is the withholding bound of the suite's desks.
const bound = 300 * time.Millisecond

// maxSyncs bounds the syncs an attack may take to be detected.
const maxSyncs = 6

type arena struct {
	t       testing.TB
	v       *venue.Venue
	px      *hv.Proxy
	admin   *client.Client
	urls    map[string]string
	parties map[string]*party
	desks   []*Desk // one delegate per party, in the order of the names
	pa, pb  *party
	a, b    *Desk // a delegate of arden, one of borealia
}

func newArena(t testing.TB, withholding time.Duration) *arena {
	return newArenaOf(t, withholding, "arden", "borealia")
}

// newArenaOf starts a real venue behind the hostile proxy (one front per
// party), accredits the parties, creates "plenary" with all of them, and
// enrols and confirms one desk per party.
func newArenaOf(t testing.TB, withholding time.Duration, names ...string) *arena {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	// OpaqueEntries: the attacks append raw entries, as a hostile venue
	// can (the real one refuses what is not MLS framing).
	v, err := venue.New(ctx, venue.Config{DataDir: dir, Name: "venue.test", Logger: quiet, Rate: -1, OpaqueEntries: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	skey, err := os.ReadFile(filepath.Join(dir, venue.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	ar := &arena{t: t, v: v, px: hv.New(srv.URL, signer), urls: map[string]string{}, parties: map[string]*party{}}
	var fronts []*httptest.Server
	for _, aud := range names {
		s := httptest.NewServer(ar.px.Handler(aud))
		fronts = append(fronts, s)
		ar.urls[aud] = s.URL
	}
	t.Cleanup(func() {
		for _, s := range fronts {
			s.CloseClientConnections()
			s.Close()
		}
		srv.CloseClientConnections()
		srv.Close()
		v.Close()
	})
	tok, err := os.ReadFile(v.AdminFile())
	if err != nil {
		t.Fatal(err)
	}
	if ar.admin, err = client.New(srv.URL, client.WithAdmin(string(tok))); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		ar.parties[n] = ar.accredit(n)
	}
	if _, err := ar.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: names}); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		ar.desks = append(ar.desks, ar.enroll(ar.parties[n], fmt.Sprintf("Delegate %d", i), withholding))
	}
	for _, d := range ar.desks {
		ar.confirm(d)
	}
	ar.pa, ar.pb = ar.parties["arden"], ar.parties["borealia"]
	if len(ar.desks) >= 2 {
		ar.a, ar.b = ar.desks[0], ar.desks[1]
	}
	return ar
}

// confirm has d sync and confirm every party's fingerprint (as its
// delegate would, out of band).
func (ar *arena) confirm(d *Desk) {
	ctx := ar.t.Context()
	if _, err := d.Sync(ctx); err != nil {
		ar.t.Fatal(err)
	}
	ps, _ := d.Parties(ctx)
	for _, p := range ps {
		if _, err := d.VerifyParty(ctx, p.Name, p.Fingerprint); err != nil {
			ar.t.Fatal(err)
		}
	}
}

func (ar *arena) accredit(name string) *party {
	root, err := delegation.GenerateRoot(name)
	if err != nil {
		ar.t.Fatal(err)
	}
	if _, err := ar.admin.Accredit(ar.t.Context(), name, root.VerifierKey()); err != nil {
		ar.t.Fatal(err)
	}
	return &party{name: name, root: root}
}

func (ar *arena) enroll(p *party, person string, withholding time.Duration) *Desk {
	t := ar.t
	ctx := t.Context()
	d, err := Init(ctx, t.TempDir(), []byte("pass"), Profile{Delegation: p.name, Person: person, Role: "expert", Level: "expert"}, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	req, _ := d.CertificateRequest()
	c, err := delegation.ParseCertificate(req)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.root.Certify(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Enroll(ctx, ar.urls[p.name], ar.v.VerifierKey(), cert); err != nil {
		t.Fatal(err)
	}
	if err := d.SetNeutrality(ctx, NeutralityConfig{WithholdingBound: withholding}); err != nil {
		t.Fatal(err)
	}
	return d
}

// honest appends raw entries as a and lets both desks sync and cosign until
// everything is confirmed on both.
func (ar *arena) honest(entries ...string) {
	t := ar.t.(*testing.T)
	appendRaw(t, nil, ar.a, "plenary", entries...)
	for range 2 {
		syncAll(t, ar.a, ar.b)
	}
	for _, d := range []*Desk{ar.a, ar.b} {
		c, err := d.Confirmation(t.Context(), "plenary")
		if err != nil || c.Confirmed != c.Size || c.Size == 0 {
			t.Fatalf("%s: honest entries not confirmed: %+v %v", d.Profile().Delegation, c, err)
		}
	}
}

// expect syncs d until it raises an alarm of kind on log, at most maxSyncs
// times, pausing between syncs so that time-based bounds can pass.
func expect(t *testing.T, d *Desk, log, kind string) *Alarm {
	t.Helper()
	var seen []string
	start := time.Now().UTC()
	for i := range maxSyncs {
		res, err := d.Sync(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Alarms of the sync, and those recorded on the way (the mailbox's
		// are raised during MLS housekeeping).
		all := res.Alarms
		recorded, err := d.Alarms(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range recorded {
			if !a.Time.Before(start) {
				all = append(all, &a)
			}
		}
		for _, a := range all {
			if a.Log == log && a.Kind == kind {
				t.Logf("detected by %s after %d sync(s): %s alarm: %s", d.Profile().Delegation, i+1, a.Kind, a.Detail)
				return a
			}
			seen = append(seen, a.Kind)
		}
		time.Sleep(bound + 50*time.Millisecond)
	}
	t.Fatalf("UNDETECTED by %s within %d syncs: want %s alarm on %s (saw %v)", d.Profile().Delegation, maxSyncs, kind, log, seen)
	return nil
}

// checkProof verifies the proof exported with alarm, offline.
func (ar *arena) checkProof(a *Alarm) {
	t := ar.t.(*testing.T)
	t.Helper()
	data, err := os.ReadFile(filepath.Join(a.Evidence, ProofFile))
	if err != nil {
		t.Fatalf("no proof exported: %v", err)
	}
	p, err := proof.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := proof.Verify(p, ar.v.VerifierKey())
	if err != nil {
		t.Fatalf("exported proof does not verify: %v", err)
	}
	t.Logf("exported proof verifies offline: %s", strings.SplitN(r.String(), "\n", 4)[2])
}

// neverConfirmed checks that d confirmed nothing at or after index.
func neverConfirmed(t *testing.T, d *Desk, log string, index int64) {
	t.Helper()
	c, err := d.Confirmation(t.Context(), log)
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirmed > index {
		t.Fatalf("%s confirmed entries up to %d of %s, including the doctored %d", d.Profile().Delegation, c.Confirmed, log, index)
	}
}

// stateOf returns d's accepted checkpoint of log.
func stateOf(t *testing.T, d *Desk, log string) LogState {
	st, err := d.logState(t.Context(), d.store, log)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestHostileAlterEntry(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	// Arden sees and cosigns e3; Borealia is shown e3 with one bit flipped.
	appendRaw(t, nil, ar.a, "plenary", "e3-the-real-one")
	syncAll(t, ar.a)
	ar.px.Set("borealia", hv.AlterByte("plenary", 3))
	t.Log("attack: alter one byte of an entry (for borealia, re-signed with the venue key)")
	a := expect(t, ar.b, "plenary", AlarmFork)
	ar.checkProof(a)
	neverConfirmed(t, ar.b, "plenary", 3)
	expect(t, ar.a, "plenary", AlarmWithholding)
	neverConfirmed(t, ar.a, "plenary", 3)
}

func TestHostileAlterAcceptedEntry(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	ar.px.Set("borealia", hv.AlterByte("plenary", 1))
	t.Log("attack: alter one byte of an entry borealia already accepted")
	a := expect(t, ar.b, "plenary", AlarmFork)
	ar.checkProof(a)
	if st := stateOf(t, ar.b, "plenary"); st.Size != 3 || st.Next != 3 {
		t.Fatalf("state moved: %+v", st)
	}
}

func TestHostileAlterBundle(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	appendRaw(t, nil, ar.a, "plenary", "e3")
	ar.px.Set("borealia", &hv.Attack{Name: "alter one byte of an entry bundle", Log: "plenary", Bundle: func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "e3", "E3", 1))
	}})
	t.Log("attack: alter one byte of an entry as served (not re-signed)")
	expect(t, ar.b, "plenary", AlarmInclusion)
	if st := stateOf(t, ar.b, "plenary"); st.Next != 3 {
		t.Fatalf("the altered entry was processed: %+v", st)
	}
}

func TestHostileDropEntry(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	appendRaw(t, nil, ar.a, "plenary", "e3", "e4")
	syncAll(t, ar.a) // arden cosigns size 5
	appendRaw(t, nil, ar.a, "plenary", "e5")
	ar.px.Set("borealia", hv.Drop("plenary", 3))
	t.Log("attack: drop entry 3 (for borealia, re-signed)")
	a := expect(t, ar.b, "plenary", AlarmFork)
	ar.checkProof(a)
	neverConfirmed(t, ar.b, "plenary", 3)
}

func TestHostileReorderEntries(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	appendRaw(t, nil, ar.a, "plenary", "e3", "e4")
	syncAll(t, ar.a)
	ar.px.Set("borealia", hv.Reorder("plenary", 3, 4))
	t.Log("attack: reorder entries 3 and 4 (for borealia, re-signed)")
	a := expect(t, ar.b, "plenary", AlarmFork)
	ar.checkProof(a)
	neverConfirmed(t, ar.b, "plenary", 3)
}

func TestHostileForkTwoHistories(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	appendRaw(t, nil, ar.a, "plenary", "a3", "a4")
	syncAll(t, ar.a) // arden's world: size 5, cosigned
	ar.px.Set("borealia", hv.Fork("plenary", 3, []byte("b3"), []byte("b4"), []byte("b5")))
	t.Log("attack: fork: borealia is shown another history from entry 3 on")
	a := expect(t, ar.b, "plenary", AlarmFork)
	ar.checkProof(a)
	neverConfirmed(t, ar.b, "plenary", 3)
	// The other party: borealia's cosignature of arden's world never comes.
	expect(t, ar.a, "plenary", AlarmWithholding)
	neverConfirmed(t, ar.a, "plenary", 3)
}

func TestHostileWithholdFromOneParty(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	// Borealia sees nothing after size 3, nor arden's cosignatures.
	ar.px.Set("borealia", hv.Withhold("plenary", 3, true))
	appendRaw(t, nil, ar.a, "plenary", "e3", "e4")
	t.Log("attack: withhold new entries (and the cosignatures that tell of them) from borealia")
	expect(t, ar.a, "plenary", AlarmWithholding)
	neverConfirmed(t, ar.a, "plenary", 3)
}

func TestHostileFreeze(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	ar.px.Set("borealia", hv.Withhold("plenary", 3, false))
	appendRaw(t, nil, ar.a, "plenary", "e3", "e4")
	syncAll(t, ar.a) // arden cosigns size 5
	t.Log("attack: freeze the log for borealia while arden says it has grown")
	expect(t, ar.b, "plenary", AlarmFreeze)
	expect(t, ar.a, "plenary", AlarmWithholding)
}

func TestHostileRollbackCheckpoint(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	old := stateOf(t, ar.b, "plenary").Checkpoint
	ar.honest("e3", "e4")
	ar.px.Set("borealia", hv.Rollback("plenary", old))
	t.Log("attack: serve borealia an old, validly signed checkpoint")
	expect(t, ar.b, "plenary", AlarmRollback)
	if st := stateOf(t, ar.b, "plenary"); st.Size != 5 {
		t.Fatalf("rolled back: %+v", st)
	}
}

func TestHostileResignedCheckpoint(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	appendRaw(t, nil, ar.a, "plenary", "e3")
	skey, _, err := note.GenerateKey(nil, "venue.test")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := note.NewSigner(skey)
	ar.px.Set("borealia", hv.Resign("plenary", other))
	t.Log("attack: re-sign the checkpoint with a different venue key")
	expect(t, ar.b, "plenary", AlarmBadSignature)
	if st := stateOf(t, ar.b, "plenary"); st.Size != 3 {
		t.Fatalf("accepted a checkpoint of another key: %+v", st)
	}
}

func TestHostileSwapRootKey(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0")
	mallory, err := delegation.GenerateRoot("arden")
	if err != nil {
		t.Fatal(err)
	}
	ar.px.Set("borealia", hv.SwapRoot(ar.pa.root.VerifierKey(), mallory.VerifierKey()))
	t.Log("attack: swap arden's root key in the register for borealia")
	a := expect(t, ar.b, RegisterLog, AlarmFork)
	ar.checkProof(a)
	p, err := ar.b.party(t.Context(), "arden")
	if err != nil || p.RootKey != ar.pa.root.VerifierKey() {
		t.Fatalf("borealia's view of arden's root changed: %+v %v", p, err)
	}
}

func TestHostileSwapRootKeyNewcomer(t *testing.T) {
	// A borealia device enrolling through the doctored register sees the
	// host's key for arden; the register cosignatures expose the swap.
	ar := newArena(t, bound)
	ar.honest("e0")
	mallory, _ := delegation.GenerateRoot("arden")
	ar.px.Set("borealia", hv.SwapRoot(ar.pa.root.VerifierKey(), mallory.VerifierKey()))
	t.Log("attack: swap arden's root key in the register for a newly enrolled borealia device")
	b2 := ar.enroll(ar.pb, "Lena Dorn", bound)
	ps, _ := b2.Parties(t.Context())
	for _, p := range ps {
		if p.Name == "arden" {
			// The delegate compares the fingerprint out of band: it fails.
			if _, err := b2.VerifyParty(t.Context(), "arden", delegation.Fingerprint(ar.pa.root.VerifierKey())); err == nil {
				t.Fatal("the swapped key matched arden's real fingerprint")
			}
			t.Logf("detected: out-of-band fingerprint check fails for the swapped key")
		}
	}
	// Once it confirms borealia (its own) it checks arden's cosignature of
	// the register... which it cannot trust: arden is unconfirmed. The
	// existing borealia desk, which confirmed arden, vouches instead:
	a := expect(t, ar.b, RegisterLog, AlarmFork)
	ar.checkProof(a)
}

// mlsArena sets up a plenary where both desks are in the MLS group and
// have exchanged messages.
func mlsArena(t *testing.T) *arena {
	ar := newArena(t, bound)
	ctx := t.Context()
	if _, err := ar.a.Send(ctx, "plenary", []byte("Good morning from Arden")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		syncAll(t, ar.a, ar.b)
	}
	if _, err := ar.b.Send(ctx, "plenary", []byte("Borealia agrees ad referendum")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		syncAll(t, ar.a, ar.b)
	}
	return ar
}

func TestHostileReplayMessage(t *testing.T) {
	ar := mlsArena(t)
	ctx := t.Context()
	ms, err := ar.b.Read(ctx, "plenary", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	idx := -1
	for _, m := range ms {
		if m.Kind == "application" && !m.Own {
			idx = int(m.Index)
		}
	}
	if idx < 0 {
		t.Fatalf("borealia read no message from arden: %+v", ms)
	}
	ar.px.Set("borealia", hv.Replay("plenary", idx))
	t.Logf("attack: replay arden's application message (entry %d) to borealia", idx)
	// The copy is the very bytes of a message borealia read: it is
	// skipped as a duplicate (an honest venue may log a message twice, see
	// TestSimulation), so it cannot change the talks; what gives the host
	// away is that no other party cosigns the view with the copy.
	expect(t, ar.b, "plenary", AlarmWithholding)
	n := 0
	for _, m := range mustRead(t, ar.b) {
		if m.Kind == "application" && string(m.Data) == "Good morning from Arden" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the replayed message was accepted: read %d times", n)
	}
}

func mustRead(t *testing.T, d *Desk) []Message {
	ms, err := d.Read(t.Context(), "plenary", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// rogueCert certifies a fresh device key with a root the host made up,
// named like a real delegation.
func rogueCert(t *testing.T, name string) ([]byte, ed25519.PrivateKey) {
	root, err := delegation.GenerateRoot(name)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519GenerateKey()
	now := time.Now()
	cert, err := root.Certify(&delegation.Certificate{Delegation: name, Person: "Mole", Role: "expert", Level: "expert",
		Device: key.Public().(ed25519.PublicKey), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestHostileUncertifiedAdd(t *testing.T) {
	ar := mlsArena(t)
	ctx := t.Context()
	cert, key := rogueCert(t, "arden")
	id, err := mlsNewIdentity(cert, key.Seed())
	if err != nil {
		t.Fatal(err)
	}
	kp, _, err := mlsNewKeyPackage(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ar.a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	commit, epoch := rogueAdd(t, ar.a, "plenary", kp)
	if _, err := ar.a.api.appendEntry(ctx, "plenary", commit, int64(epoch)); err != nil {
		t.Fatal(err)
	}
	t.Log("attack: an Add of a device that no party certified (its root is made up)")
	expect(t, ar.b, "plenary", AlarmMember)
	ms, _, _ := ar.b.Members(ctx, "plenary")
	for _, m := range ms {
		if m.Person == "Mole" {
			t.Fatal("the rogue device is in borealia's group")
		}
	}
}

func TestHostileUncertifiedWelcome(t *testing.T) {
	ar := newArena(t, bound)
	ctx := t.Context()
	// The host claims one of borealia's key packages and builds the
	// plenary's group itself, with a device it certified with a made-up root.
	kpb, _, err := ar.a.api.claimKeyPackage(ctx, ar.b.DeviceID())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := mls.ParseKeyPackage(kpb)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := rogueCert(t, "arden")
	id, err := mlsNewIdentity(cert, key.Seed())
	if err != nil {
		t.Fatal(err)
	}
	accept := &mls.Config{PublicHandshake: true, ValidateCredential: func(mls.Credential, []byte) error { return nil }}
	g, err := mls.Create(id, groupID(ar.v.Name(), "plenary"), accept)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := g.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(kp)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ar.a.api.sendMail(ctx, ar.b.DeviceID(), bundle.Welcome); err != nil {
		t.Fatal(err)
	}
	t.Log("attack: slip borealia a Welcome into a group built by a device no party certified")
	expect(t, ar.b, "mailbox", AlarmMember)
	if g, _ := ar.b.loadGroup(ctx, ar.b.store, "plenary"); g != nil {
		t.Fatal("borealia joined the host's group")
	}
}

// TestNeutralityConfirmedEndToEnd: the two-party conversation through an
// honest venue, every entry of every log reaching confirmed on both sides.
func TestNeutralityConfirmedEndToEnd(t *testing.T) {
	ar := mlsArena(t)
	ctx := t.Context()
	if _, err := ar.admin.CreateChannel(ctx, client.ChannelSpec{ID: "arden-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.a.Send(ctx, "arden-internal", []byte("Hold firm on paragraph 3")); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.a.Send(ctx, "plenary", []byte("Then we have a text")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		syncAll(t, ar.a, ar.b)
	}
	for _, d := range []*Desk{ar.a, ar.b} {
		cs, err := d.Confirmations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var logs []string
		for _, c := range cs {
			logs = append(logs, c.Log)
			if c.Log == "revocations" && c.Size == 0 {
				continue // nobody revoked: an empty public log, nothing to confirm
			}
			if c.Size == 0 || c.Confirmed != c.Size || c.Pending() != 0 {
				t.Errorf("%s: %s not confirmed: %+v", d.Profile().Delegation, c.Log, c)
			}
		}
		// The public logs (register, revocations) and the channels.
		want := []string{RegisterLog, "plenary", "revocations"}
		if d == ar.a {
			want = []string{RegisterLog, "arden-internal", "plenary", "revocations"}
		}
		if !slices.Equal(logs, want) {
			t.Errorf("%s confirmations of %v, want %v", d.Profile().Delegation, logs, want)
		}
		s, _ := d.Status(ctx)
		if len(s.Alarms) != 0 {
			t.Errorf("alarms on an honest venue: %+v", s.Alarms)
		}
	}
	c, _ := ar.b.Confirmation(ctx, "plenary")
	t.Logf("plenary on borealia: %d entries, %d confirmed, cosigned %v", c.Size, c.Confirmed, c.Cosigned)
}
