// Package storetest is the conformance suite every venue store driver must
// pass: drivers call Run from their tests with a function that returns a
// fresh, empty store.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// Run runs the conformance suite. newStore must return an empty store; Run
// closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"Append", testAppend},
		{"AppendConflict", testAppendConflict},
		{"IntegrateLater", testIntegrateLater},
		{"AppendAtomic", testAppendAtomic},
		{"EpochCommits", testEpochCommits},
		{"ConcurrentAppendAndRead", testConcurrent},
		{"Channels", testChannels},
		{"Devices", testDevices},
		{"KeyPackages", testKeyPackages},
		{"Mail", testMail},
		{"Nonces", testNonces},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tc.f(t, s)
		})
	}
}

// hashes is an in-memory tlog.HashReader used to compute what a log must
// store.
type hashes []tlog.Hash

func (h hashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(h)) {
			return nil, fmt.Errorf("hash %d missing", x)
		}
		out[i] = h[x]
	}
	return out, nil
}

// appendFor builds the LogAppend that adds entries to a log whose stored
// hashes are *all, updating *all.
func appendFor(t *testing.T, log string, all *hashes, entries ...[]byte) store.LogAppend {
	t.Helper()
	old := int64(0)
	for old < 1<<40 && tlog.StoredHashCount(old) < int64(len(*all)) {
		old++
	}
	a := store.LogAppend{Log: log, OldSize: old, Entries: entries}
	for i, e := range entries {
		hs, err := tlog.StoredHashes(old+int64(i), e, *all)
		if err != nil {
			t.Fatal(err)
		}
		*all = append(*all, hs...)
		a.Hashes = append(a.Hashes, hs...)
	}
	a.Note = fmt.Appendf(nil, "checkpoint %s %d\n", log, old+int64(len(entries)))
	return a
}

func testAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, _, err := s.Checkpoint(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Checkpoint of empty log: %v, want ErrNotFound", err)
	}
	var ha, hb hashes
	var want [][]byte
	for round := range 5 {
		var es [][]byte
		for i := range 3 + round*70 {
			es = append(es, fmt.Appendf(nil, "a-%d-%d", round, i))
		}
		want = append(want, es...)
		batch := []store.LogAppend{appendFor(t, "a", &ha, es...), appendFor(t, "b", &hb, []byte("b"))}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	size, note, err := s.Checkpoint(ctx, "a")
	if err != nil || size != int64(len(want)) || string(note) != fmt.Sprintf("checkpoint a %d\n", len(want)) {
		t.Fatalf("Checkpoint = %d %q %v", size, note, err)
	}
	if n, err := s.CheckpointAt(ctx, "a", 3); err != nil || string(n) != "checkpoint a 3\n" {
		t.Fatalf("CheckpointAt(3) = %q %v", n, err)
	}
	if _, err := s.CheckpointAt(ctx, "a", 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CheckpointAt(4): %v", err)
	}
	if size, _, _ := s.Checkpoint(ctx, "b"); size != 5 {
		t.Fatalf("log b size %d", size)
	}
	got, err := s.ReadEntries(ctx, "a", 0, int64(len(want)))
	if err != nil || len(got) != len(want) {
		t.Fatalf("ReadEntries: %d %v", len(got), err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("entry %d = %q, want %q", i, got[i], want[i])
		}
	}
	if got, err := s.ReadEntries(ctx, "a", 5, 7); err != nil || string(got[0]) != string(want[5]) || len(got) != 2 {
		t.Fatalf("ReadEntries(5,7): %v", err)
	}
	if _, err := s.ReadEntries(ctx, "a", 0, int64(len(want))+1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadEntries past end: %v", err)
	}
	idx := []int64{0, int64(len(ha)) - 1, 7, 3}
	hs, err := s.ReadHashes(ctx, "a", idx)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range idx {
		if hs[i] != ha[x] {
			t.Fatalf("hash %d differs", x)
		}
	}
	all := make([]int64, len(ha))
	for i := range all {
		all[i] = int64(i)
	}
	if hs, err := s.ReadHashes(ctx, "a", all); err != nil || hs[len(hs)-1] != ha[len(ha)-1] {
		t.Fatalf("ReadHashes(all): %v", err)
	}
	if _, err := s.ReadHashes(ctx, "a", []int64{int64(len(ha))}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadHashes past end: %v", err)
	}
	// The tree hash from the stored hashes matches the in-memory one.
	th, err := tlog.TreeHash(int64(len(want)), tlog.HashReaderFunc(func(i []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, "a", i) }))
	wh, _ := tlog.TreeHash(int64(len(want)), ha)
	if err != nil || th != wh {
		t.Fatalf("tree hash from store differs: %v", err)
	}
}

func testAppendConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	var h hashes
	a := appendFor(t, "x", &h, []byte("1"))
	if err := s.Append(ctx, []store.LogAppend{a}); err != nil {
		t.Fatal(err)
	}
	// Same OldSize again: another node got there first.
	if err := s.Append(ctx, []store.LogAppend{a}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale append: %v, want ErrConflict", err)
	}
	if size, _, _ := s.Checkpoint(ctx, "x"); size != 1 {
		t.Fatalf("size %d after conflict", size)
	}
}

// testIntegrateLater stores entries without a checkpoint (sequencing) and
// the checkpoints afterwards (integration).
func testIntegrateLater(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n, err := s.Size(ctx, "late"); err != nil || n != 0 {
		t.Fatalf("Size of an empty log = %d, %v", n, err)
	}
	if b, err := s.Behind(ctx); err != nil || len(b) != 0 {
		t.Fatalf("Behind of an empty store = %q, %v", b, err)
	}
	var h, hs hashes
	a := appendFor(t, "late", &h, []byte("1"), []byte("2"), []byte("3"))
	a.Note = nil
	signed := appendFor(t, "signed", &hs, []byte("x"))
	if err := s.Append(ctx, []store.LogAppend{a, signed}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Size(ctx, "late"); err != nil || n != 3 {
		t.Fatalf("Size = %d, %v, want 3", n, err)
	}
	if _, _, err := s.Checkpoint(ctx, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Checkpoint before integration: %v, want ErrNotFound", err)
	}
	if b, err := s.Behind(ctx); err != nil || len(b) != 1 || b[0] != "late" {
		t.Fatalf("Behind = %q, %v, want [late]", b, err)
	}
	// The next append is sequenced on the stored size, not on a checkpoint.
	b := appendFor(t, "late", &h, []byte("4"))
	b.Note = nil
	if err := s.Append(ctx, []store.LogAppend{b}); err != nil {
		t.Fatalf("append on an unintegrated log: %v", err)
	}
	if err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: "late", Size: 3, Note: []byte("late 3\n")}}); err != nil {
		t.Fatal(err)
	}
	if n, note, err := s.Checkpoint(ctx, "late"); err != nil || n != 3 || string(note) != "late 3\n" {
		t.Fatalf("Checkpoint = %d %q %v", n, note, err)
	}
	if b, err := s.Behind(ctx); err != nil || len(b) != 1 || b[0] != "late" {
		t.Fatalf("Behind after a partial integration = %q, %v", b, err)
	}
	// Past the end: refused, and nothing of the call stored.
	err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: "late", Size: 4, Note: []byte("late 4\n")}, {Log: "late", Size: 5, Note: []byte("late 5\n")}})
	if err == nil {
		t.Fatal("a checkpoint past the log's end was stored")
	}
	if _, err := s.CheckpointAt(ctx, "late", 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed AddCheckpoints stored part of its checkpoints: %v", err)
	}
	// A second checkpoint at a stored size keeps the first.
	if err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: "late", Size: 4, Note: []byte("late 4\n")}, {Log: "late", Size: 3, Note: []byte("other 3\n")}}); err != nil {
		t.Fatal(err)
	}
	if note, err := s.CheckpointAt(ctx, "late", 3); err != nil || string(note) != "late 3\n" {
		t.Fatalf("CheckpointAt(3) = %q, %v: a stored checkpoint was replaced", note, err)
	}
	if n, _, err := s.Checkpoint(ctx, "late"); err != nil || n != 4 {
		t.Fatalf("Checkpoint size = %d, %v, want 4", n, err)
	}
	if b, err := s.Behind(ctx); err != nil || len(b) != 0 {
		t.Fatalf("Behind after integration = %q, %v", b, err)
	}
}

func testAppendAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	var h1, h2 hashes
	first := appendFor(t, "one", &h1, []byte("1"))
	bad := appendFor(t, "two", &h2, []byte("2"))
	bad.OldSize = 5 // conflict on the second log
	if err := s.Append(ctx, []store.LogAppend{first, bad}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("append: %v, want ErrConflict", err)
	}
	if _, _, err := s.Checkpoint(ctx, "one"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("first log changed by a failed batch: %v", err)
	}
	if _, err := s.ReadEntries(ctx, "one", 0, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("entry stored by a failed batch: %v", err)
	}
	if err := s.Append(ctx, []store.LogAppend{first}); err != nil {
		t.Fatalf("retry after failed batch: %v", err)
	}
}

func testEpochCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	var h hashes
	a := appendFor(t, "c", &h, []byte("commit 7"), []byte("app"))
	a.Commits = []store.EpochCommit{{Epoch: 7, Index: 0}}
	if err := s.Append(ctx, []store.LogAppend{a}); err != nil {
		t.Fatal(err)
	}
	h2 := append(hashes(nil), h...)
	b := appendFor(t, "c", &h2, []byte("another commit 7"))
	b.Commits = []store.EpochCommit{{Epoch: 7, Index: 2}}
	if err := s.Append(ctx, []store.LogAppend{b}); !errors.Is(err, store.ErrEpochTaken) {
		t.Fatalf("second commit for epoch 7: %v, want ErrEpochTaken", err)
	}
	if size, _, _ := s.Checkpoint(ctx, "c"); size != 2 {
		t.Fatalf("size %d after rejected commit", size)
	}
	b.Commits = []store.EpochCommit{{Epoch: 8, Index: 2}}
	if err := s.Append(ctx, []store.LogAppend{b}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Commits(ctx, "c")
	if err != nil || len(cs) != 2 || cs[0] != (store.EpochCommit{Epoch: 7, Index: 0}) || cs[1].Epoch != 8 {
		t.Fatalf("Commits = %v, %v", cs, err)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h hashes
			log := fmt.Sprintf("w%d", w)
			for i := range 20 {
				if err := s.Append(ctx, []store.LogAppend{appendFor(t, log, &h, fmt.Appendf(nil, "%d", i))}); err != nil {
					errc <- err
					return
				}
				if _, err := s.ReadEntries(ctx, log, 0, int64(i+1)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func testChannels(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Unix(1700000000, 0).UTC()
	c := store.Channel{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}, Created: now}
	if err := s.CreateChannel(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChannel(ctx, c); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate channel: %v", err)
	}
	if err := s.CreateChannel(ctx, store.Channel{ID: "a-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"arden"}, Created: now}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Channel(ctx, "plenary")
	if err != nil || got.Kind != "plenary" || len(got.Members) != 2 || got.Members[1] != "borealia" || !got.Created.Equal(now) {
		t.Fatalf("Channel = %+v, %v", got, err)
	}
	if _, err := s.Channel(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown channel: %v", err)
	}
	if err := s.SetMembers(ctx, "plenary", []string{"arden", "borealia", "caspia"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMembers(ctx, "nope", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetMembers unknown: %v", err)
	}
	all, err := s.Channels(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "a-internal" || len(all[1].Members) != 3 {
		t.Fatalf("Channels = %+v, %v", all, err)
	}
}

func testDevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Unix(1700000000, 0).UTC()
	d := store.Device{ID: "dev1", Delegation: "arden", Certificate: []byte("cert1"), Registered: now}
	if err := s.PutDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Certificate = []byte("cert2")
	if err := s.PutDevice(ctx, d); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	if err := s.PutDevice(ctx, store.Device{ID: "dev1", Delegation: "borealia", Certificate: []byte("x"), Registered: now}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("device taken over by another delegation: %v", err)
	}
	if err := s.PutDevice(ctx, store.Device{ID: "dev2", Delegation: "borealia", Certificate: []byte("c"), Registered: now}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Device(ctx, "dev1")
	if err != nil || string(got.Certificate) != "cert2" || got.Delegation != "arden" || !got.Registered.Equal(now) {
		t.Fatalf("Device = %+v, %v", got, err)
	}
	if _, err := s.Device(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if ds, err := s.Devices(ctx, "borealia"); err != nil || len(ds) != 1 || ds[0].ID != "dev2" {
		t.Fatalf("Devices(borealia) = %+v, %v", ds, err)
	}
	if ds, err := s.Devices(ctx, ""); err != nil || len(ds) != 2 {
		t.Fatalf("Devices() = %+v, %v", ds, err)
	}
}

func testKeyPackages(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, _, err := s.ClaimKeyPackage(ctx, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim from empty: %v", err)
	}
	if err := s.AddKeyPackages(ctx, "d", [][]byte{[]byte("kp1"), []byte("kp2")}, []byte("lr1")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages(ctx, "d", nil, []byte("lr2")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountKeyPackages(ctx, "d"); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
	seen := map[string]bool{}
	for range 2 {
		kp, lr, err := s.ClaimKeyPackage(ctx, "d")
		if err != nil || lr || seen[string(kp)] {
			t.Fatalf("claim: %q %v %v", kp, lr, err)
		}
		seen[string(kp)] = true
	}
	for range 2 {
		kp, lr, err := s.ClaimKeyPackage(ctx, "d")
		if err != nil || !lr || string(kp) != "lr2" {
			t.Fatalf("last resort claim: %q %v %v", kp, lr, err)
		}
	}
	// Concurrent claims never hand out a one-time package twice.
	var kps [][]byte
	for i := range 20 {
		kps = append(kps, fmt.Appendf(nil, "c%d", i))
	}
	if err := s.AddKeyPackages(ctx, "e", kps, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				kp, _, err := s.ClaimKeyPackage(ctx, "e")
				if err != nil {
					return
				}
				mu.Lock()
				got[string(kp)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 20 {
		t.Fatalf("claimed %d distinct packages, want 20", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("package %s claimed %d times", k, n)
		}
	}
}

func testMail(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		id, err := s.PutMail(ctx, "d", fmt.Appendf(nil, "w%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > 0 && id <= ids[len(ids)-1] {
			t.Fatalf("mail IDs not increasing: %v then %d", ids, id)
		}
		ids = append(ids, id)
	}
	if _, err := s.PutMail(ctx, "other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Mail(ctx, "d", ids[1], 2)
	if err != nil || len(ms) != 2 || ms[0].ID != ids[2] || string(ms[1].Data) != "w3" {
		t.Fatalf("Mail = %+v, %v", ms, err)
	}
	if err := s.DeleteMail(ctx, "d", ids[3]); err != nil {
		t.Fatal(err)
	}
	ms, err = s.Mail(ctx, "d", 0, 100)
	if err != nil || len(ms) != 1 || string(ms[0].Data) != "w4" {
		t.Fatalf("Mail after delete = %+v, %v", ms, err)
	}
	if ms, _ := s.Mail(ctx, "other", 0, 100); len(ms) != 1 {
		t.Fatal("delete touched another mailbox")
	}
	if n, b, err := s.MailUsage(ctx, "d"); err != nil || n != 1 || b != 2 {
		t.Fatalf("MailUsage = %d, %d, %v; want 1 message of 2 bytes", n, b, err)
	}
	if n, b, err := s.MailUsage(ctx, "nobody"); err != nil || n != 0 || b != 0 {
		t.Fatalf("MailUsage of an empty mailbox = %d, %d, %v", n, b, err)
	}
	if _, err := s.PutMail(ctx, "~queue", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	// Mail is stored with the minute it was put, no finer.
	if ms, _ := s.Mail(ctx, "~queue", 0, 100); len(ms) != 1 || !ms[0].Created.Equal(store.MailTime(ms[0].Created)) || time.Since(ms[0].Created) > 2*time.Minute {
		t.Fatalf("mail created %v: not this minute", ms)
	}
	// Nothing is older than an hour ago; everything but the venue's own
	// queues is older than an hour from now.
	if n, err := s.ExpireMail(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("ExpireMail(an hour ago) = %d, %v", n, err)
	}
	if n, err := s.ExpireMail(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("ExpireMail(in an hour) = %d, %v; want 2", n, err)
	}
	if ms, _ := s.Mail(ctx, "~queue", 0, 100); len(ms) != 1 {
		t.Fatal("ExpireMail removed a venue queue")
	}
}

func testNonces(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.UseNonce(ctx, []byte("n1"), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx, []byte("n1"), exp); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("replayed nonce: %v", err)
	}
	if err := s.UseNonce(ctx, []byte("n2"), exp); err != nil {
		t.Fatal(err)
	}
}
