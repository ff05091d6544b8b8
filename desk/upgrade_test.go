package desk

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestUpgrade moves a channel opened on the classical suite 0x0001 to X-Wing
// with a ReInit (RFC 9420 §11.2): the history stays readable on every desk,
// the negotiation state is the same before and after on both parties'
// desks, messages and commits continue in the successor, and the venue's
// one-commit-per-epoch rule holds across the two groups.
func TestUpgrade(t *testing.T) {
	tv := startVenue(t)
	ctx := t.Context()
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	a2 := tv.newDesk(arden, "Nora Vass")
	b := tv.newDesk(borealia, "Iryna Holt")
	all := []*Desk{a, a2, b}
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	classical := SuitePolicy{Suite: mls.DefaultCipherSuite, Minimum: MinClassical}
	for _, d := range all {
		if err := d.SetSuitePolicy(ctx, classical); err != nil {
			t.Fatal(err)
		}
		confirmAll(t, d)
	}
	// Talks on the classical suite: an item, a statement, a rotation.
	if _, err := a.Send(ctx, "wg1", negotiation.NewAddItem("ceasefire", "Ceasefire", "")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, all...)
	if _, err := b.Say(ctx, "wg1", "", "Borealia is ready.", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := a2.Rotate(ctx, "wg1"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, all...)
	for _, d := range all {
		if si, err := d.ChannelSuite(ctx, "wg1"); err != nil || si.PostQuantum {
			t.Fatalf("%s: wg1 on %+v, %v", d.Profile().Person, si, err)
		}
	}
	before := talksOf(t, all, "wg1")

	// The upgrade is refused while the others publish classical key
	// packages only, before anything is sent.
	size := logSize(t, a, "wg1")
	if err := a.Upgrade(ctx, "wg1", DefaultSuite); err == nil || !strings.Contains(err.Error(), "no key package of") {
		t.Fatalf("upgrade without X-Wing key packages: %v", err)
	}
	if logSize(t, a, "wg1") != size {
		t.Fatal("a refused upgrade appended to the log")
	}
	for _, d := range all {
		if err := d.SetSuitePolicy(ctx, DefaultSuitePolicy); err != nil {
			t.Fatal(err)
		}
	}
	syncAll(t, all...) // new key packages on the venue
	if err := a.Upgrade(ctx, "wg1", DefaultSuite); err != nil {
		t.Fatal(err)
	}
	// A Welcome into the successor read before the ReInit commit waits for
	// it (b has not synced the log since).
	cur, _ := strconv.ParseInt(string(mustGet(ctx, b.store, keyMailCur)), 10, 64)
	mail, err := b.api.mail(ctx, cur)
	if err != nil || len(mail) == 0 {
		t.Fatalf("no Welcome for b: %v", err)
	}
	if _, err := b.tryWelcome(ctx, mail[len(mail)-1].Data); !errors.Is(err, errWaitingReInit) {
		t.Fatalf("a Welcome into the successor before the ReInit commit: %v", err)
	}
	// Only the member whose ReInit closed the group makes its successor.
	if err := b.Upgrade(ctx, "wg1", DefaultSuite); err == nil || !strings.Contains(err.Error(), "by another member") {
		t.Fatalf("another member making the successor: %v", err)
	}
	syncAll(t, all...)
	for _, d := range all {
		si, err := d.ChannelSuite(ctx, "wg1")
		if err != nil || si.ID != uint16(DefaultSuite) || !si.PostQuantum {
			t.Fatalf("%s: wg1 after the upgrade on %+v, %v", d.Profile().Person, si, err)
		}
		if ms, _, err := d.Members(ctx, "wg1"); err != nil || len(ms) != 3 {
			t.Fatalf("%s: %d members after the upgrade, %v", d.Profile().Person, len(ms), err)
		}
	}
	if after := talksOf(t, all, "wg1"); !bytes.Equal(after, before) {
		t.Fatal("the negotiation state changed with the upgrade")
	}
	if err := a.Upgrade(ctx, "wg1", DefaultSuite); err == nil || !strings.Contains(err.Error(), "already on") {
		t.Fatalf("a second upgrade to the same suite: %v", err)
	}

	// The talks go on in the successor: messages both ways, a commit by
	// another member (announced past the old group's epochs), a removal.
	if _, err := b.Say(ctx, "wg1", "", "Borealia proposes a ceasefire from Monday.", "", "", ""); err != nil {
		t.Fatal(err)
	}
	syncAll(t, all...)
	if err := b.Rotate(ctx, "wg1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Say(ctx, "wg1", "", "Arden agrees ad referendum.", "", "", ""); err != nil {
		t.Fatal(err)
	}
	syncAll(t, all...)
	if err := a.Remove(ctx, "wg1", a2.DeviceID()); err != nil {
		t.Fatal(err)
	}
	syncAll(t, all...)
	final := talksOf(t, []*Desk{a, b}, "wg1")
	if bytes.Equal(final, before) {
		t.Fatal("the statements after the upgrade are not in the negotiation state")
	}
	for _, d := range []*Desk{a, b} {
		var said []string
		ms, err := d.Read(ctx, "wg1", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Kind == "rejected" {
				t.Errorf("%s: entry %d rejected: %s", d.Profile().Person, m.Index, m.Note)
			}
			if m.Kind == "application" {
				said = append(said, m.Sender.Person)
			}
		}
		if got := strings.Join(said, ","); got != "Tomas Reig,Iryna Holt,Iryna Holt,Tomas Reig" {
			t.Errorf("%s reads messages from %s", d.Profile().Person, got)
		}
	}
	if _, err := a2.Send(ctx, "wg1", []byte("still here?")); err == nil {
		t.Fatal("a removed device sent in the upgraded channel")
	}
	// The ReInit commit is described in the history.
	found := false
	ms, _ := b.Read(ctx, "wg1", 0, 0)
	for _, m := range ms {
		found = found || strings.Contains(m.Note, "closed for an upgrade to MLS_256_XWING_AES256GCM_SHA512_Ed25519")
	}
	if !found {
		t.Error("the history does not show the upgrade")
	}
	if _, err := b.Read(ctx, "wg1", 0, 0); errors.Is(err, ErrNoGroup) {
		t.Fatal(err)
	}
}

// talksOf returns the canonical negotiation state of ch, the same on every
// desk of ds.
func talksOf(t *testing.T, ds []*Desk, ch string) []byte {
	t.Helper()
	var first []byte
	for _, d := range ds {
		st, err := d.Talks(t.Context(), ch, "")
		if err != nil {
			t.Fatal(err)
		}
		c := st.Canonical()
		if first == nil {
			first = c
		} else if !bytes.Equal(c, first) {
			t.Fatalf("%s computes another negotiation state of %s", d.Profile().Person, ch)
		}
	}
	return first
}

func logSize(t *testing.T, d *Desk, ch string) int64 {
	t.Helper()
	st, err := d.logState(t.Context(), d.store, ch)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size
}

// TestUpgradeResumes: a desk that stopped after its ReInit commit was logged
// (before making the successor) finishes the upgrade when run again.
func TestUpgradeResumes(t *testing.T) {
	tv := startVenue(t)
	ctx := t.Context()
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	b := tv.newDesk(borealia, "Iryna Holt")
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Desk{a, b} {
		if err := d.SetSuitePolicy(ctx, SuitePolicy{Suite: mls.DefaultCipherSuite, Minimum: MinClassical}); err != nil {
			t.Fatal(err)
		}
		confirmAll(t, d)
	}
	if _, err := a.Send(ctx, "wg1", []byte("on X25519")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	for _, d := range []*Desk{a, b} {
		if err := d.SetSuitePolicy(ctx, DefaultSuitePolicy); err != nil {
			t.Fatal(err)
		}
	}
	syncAll(t, a, b)
	// What Upgrade does up to the ReInit commit, and no further.
	a.mu.Lock()
	err := a.commitLocked(ctx, "wg1", false, func(g *mls.Group) (*mls.CommitOptions, []string, error) {
		return &mls.CommitOptions{Proposals: []mls.Proposal{mls.ReInitProposal(groupIDGen(a.venue.Name, "wg1", 1), DefaultSuite, nil)}}, nil, nil
	})
	a.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	if _, err := b.Send(ctx, "wg1", []byte("too early")); err == nil || !strings.Contains(err.Error(), "being upgraded") {
		t.Fatalf("sending in a closed group: %v", err)
	}
	if err := a.Upgrade(ctx, "wg1", DefaultSuite); err != nil {
		t.Fatalf("finishing the upgrade: %v", err)
	}
	syncAll(t, a, b)
	if _, err := b.Send(ctx, "wg1", []byte("on X-Wing")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	if got := strings.Join(texts(t, a, "wg1"), "|"); got != "Tomas Reig: on X25519|Iryna Holt: on X-Wing" {
		t.Fatalf("a reads %q", got)
	}
	if si, err := b.ChannelSuite(ctx, "wg1"); err != nil || si.ID != uint16(DefaultSuite) {
		t.Fatalf("b's wg1 on %+v, %v", si, err)
	}
}
