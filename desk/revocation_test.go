package desk

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue/client"
)

// revocationParties starts a venue with Arden (one desk, a) and Borealia
// (two desks of one delegate, b and other) in channel wg1, all synced.
func revocationParties(t testing.TB) (tv *testVenue, borealia *party, a, b, other *Desk) {
	tv = startVenue(t)
	arden := tv.accredit("arden")
	borealia = tv.accredit("borealia")
	a = tv.newDesk(arden, "Tomas Reig")
	b = tv.newDesk(borealia, "Iryna Holt")
	other = tv.newDesk(borealia, "Iryna Holt")
	if _, err := tv.admin.CreateChannel(t.Context(), client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Desk{a, b, other} {
		confirmAll(t, d)
	}
	syncAll(t, a, b, other)
	return tv, borealia, a, b, other
}

// TestRevokedSenderRefused: a message of a revoked device that reaches the
// log after the desk knew of the revocation (a venue that did not enforce
// it) is refused and marked, not shown; the same sync removes the device
// from the group. The venue here does enforce revocations, so the desk's
// knowledge of the revocation is put in its store directly, as
// processRevocation and markRevokedLocked would have left it.
func TestRevokedSenderRefused(t *testing.T) {
	_, _, a, b, thief := revocationParties(t)
	ctx := t.Context()
	if _, err := a.Send(ctx, "wg1", []byte("Good morning.")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b, thief)
	if _, err := thief.Send(ctx, "wg1", []byte("Before the theft.")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a)
	st, _ := a.logState(ctx, a.store, "wg1")
	rb, _ := json.Marshal(Revoked{Delegation: "borealia", Device: thief.DeviceID(), Index: 0, Marks: map[string]int64{"wg1": st.Size}})
	if err := a.store.Put(ctx, prefRevoked+thief.DeviceID(), rb); err != nil {
		t.Fatal(err)
	}
	if _, err := thief.Send(ctx, "wg1", []byte("Borealia concedes everything.")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := a.Read(ctx, "wg1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var before, refused bool
	for _, m := range ms {
		if m.Kind == "application" && string(m.Data) == "Before the theft." {
			before = true
		}
		if strings.Contains(string(m.Data), "concedes") {
			t.Fatalf("the revoked device's message after its revocation is shown: %+v", m)
		}
		if m.Kind == "rejected" && m.Sender.Device == thief.DeviceID() && strings.Contains(m.Note, "after its revocation") {
			refused = true
		}
	}
	if !before || !refused {
		t.Fatalf("message before the revocation shown: %v; after it refused: %v\n%+v", before, refused, ms)
	}
	members, _, err := a.Members(ctx, "wg1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Device == thief.DeviceID() {
			t.Fatalf("the revoked device is still in the group after the sync")
		}
	}
}

// TestRevocationByPush: a desk running Run, its periodic full sync an hour
// away, learns of a revocation from the venue's event stream as soon as it
// is logged, and at once marks the channels (what the device sends from
// then on is refused) and removes the device from the group.
func TestRevocationByPush(t *testing.T) {
	tv, borealia, a, b, stolen := revocationParties(t)
	ctx := t.Context()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx, time.Hour, nil) }()
	defer func() { cancel(); <-done }()
	// The stream is up once a message sent after the first full sync
	// reaches Arden's desk.
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; !slices.Contains(texts(t, a, "wg1"), "Iryna Holt: ready "+strconv.Itoa(n)); n++ {
		if time.Now().After(deadline) {
			t.Fatalf("the event stream is not up: %q", texts(t, a, "wg1"))
		}
		if _, err := b.Send(ctx, "wg1", []byte("ready "+strconv.Itoa(n+1))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if slices.Contains(texts(t, a, "wg1"), "Iryna Holt: ready "+strconv.Itoa(n+1)) {
			break
		}
	}
	rev, err := borealia.root.Revoke(stolen.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	logged := time.Now()
	if _, err := tv.admin.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rs, err := a.RevokedDevices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Known, the channel marked (what the device sends from there on
		// is refused) and the device out of the group.
		r, known := rs[stolen.DeviceID()]
		_, marked := r.Marks["wg1"]
		members, _, err := a.Members(ctx, "wg1")
		if err != nil {
			t.Fatal(err)
		}
		removed := !slices.ContainsFunc(members, func(m MemberInfo) bool { return m.Device == stolen.DeviceID() })
		if known && marked && removed {
			t.Logf("revocation in effect on the running desk %s after it was logged", time.Since(logged).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the revocation was logged, the running desk knows it: %v, has marked the channel: %v, removed the device: %v", known, marked, removed)
		}
	}
}

// BenchmarkRevocationBurst: b.N revocations logged in a burst while
// Arden's desk runs (Run, its periodic full sync an hour away). Each one
// reaches the desk on the venue's event stream as a kick to a full sync
// (register, revocations, every channel, the MLS housekeeping); kicks that
// arrive during a sync are taken together after it. Reported: the full
// syncs the burst cost (syncs/op is per revocation) and the time from the
// first revocation logged until the desk knows them all.
func BenchmarkRevocationBurst(b *testing.B) {
	for _, chans := range []int{1, 50} {
		b.Run(fmt.Sprintf("channels=%d", chans), func(b *testing.B) { benchmarkRevocationBurst(b, chans) })
	}
}

// benchmarkRevocationBurst is BenchmarkRevocationBurst with Arden's desk
// in chans channels (wg1, whose group it is in, and empty ones: a full sync
// verifies each one's checkpoint).
func benchmarkRevocationBurst(b *testing.B, chans int) {
	tv, borealia, a, _, _ := revocationParties(b)
	ctx := b.Context()
	for i := 1; i < chans; i++ {
		if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: fmt.Sprintf("wg%d", i+1), Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	syncs := 0
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- a.Run(rctx, time.Hour, func(logs []string) {
			if slices.Contains(logs, RevocationsLog) {
				mu.Lock()
				syncs++
				mu.Unlock()
			}
		})
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(2 * time.Second) // the first full sync, and the stream up
	revs := make([][]byte, b.N)
	for i := range revs {
		pub, _, _ := ed25519.GenerateKey(nil)
		var err error
		if revs[i], err = borealia.root.Revoke(pub); err != nil {
			b.Fatal(err)
		}
	}
	mu.Lock()
	syncs = 0
	mu.Unlock()
	b.ResetTimer()
	start := time.Now()
	for _, rev := range revs {
		if _, err := tv.admin.Revoke(ctx, rev); err != nil {
			b.Fatal(err)
		}
	}
	logged := time.Since(start)
	for {
		rs, err := a.RevokedDevices(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) >= b.N {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("the desk knows %d of %d revocations after 5 minutes", len(rs), b.N)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	n := syncs
	mu.Unlock()
	b.ReportMetric(float64(n), "full-syncs")
	b.ReportMetric(float64(n)/float64(b.N), "syncs/op")
	b.ReportMetric(logged.Seconds()*1000, "ms-to-log")
	b.ReportMetric(time.Since(start).Seconds()*1000, "ms-to-know")
}
