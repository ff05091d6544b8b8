package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
	"github.com/good-offices/goodoffices/venue/store/storetest"
)

func TestConformance(t *testing.T) {
	base := pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), pgtest.Schema(t, base))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	u := pgtest.Schema(t, pgtest.URL(t))
	ctx := t.Context()
	// Nodes starting together: every one applies or finds the schema.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, u)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, v int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion || v != SchemaVersion {
		t.Fatalf("schema_migrations has %d rows, max %d; want %d", n, v, SchemaVersion)
	}
	// A database from the future is refused.
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, u); err == nil {
		s.Close()
		t.Fatal("Open accepted a newer schema")
	}
}

// TestRacingNodes has several "nodes" (stores with their own pools, on one
// database) append to the same logs, each sequencing from its own possibly
// stale view as a venue node does: every append either lands exactly on top
// of the previous one or fails with ErrConflict, and the result is one
// unforked log with no gaps.
func TestRacingNodes(t *testing.T) {
	u := pgtest.Schema(t, pgtest.URL(t))
	ctx := t.Context()
	const nodes, perNode = 3, 40
	var stores []*Store
	for range nodes {
		s, err := Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	logs := []string{"shared", "other"}
	var wg sync.WaitGroup
	errc := make(chan error, nodes)
	for n, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := 0
			for done < perNode {
				// Load the current state, as a sequencer does after a conflict.
				var batch []store.LogAppend
				for _, l := range logs {
					a, err := nextAppend(ctx, s, l, fmt.Appendf(nil, "node %d entry %d", n, done))
					if err != nil {
						errc <- err
						return
					}
					batch = append(batch, a)
				}
				if n%2 == 1 {
					batch[0], batch[1] = batch[1], batch[0] // other lock order: must not deadlock
				}
				err := s.Append(ctx, batch)
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for _, l := range logs {
		size, _, err := stores[0].Checkpoint(ctx, l)
		if err != nil || size != nodes*perNode {
			t.Fatalf("log %s: size %d, %v; want %d", l, size, err, nodes*perNode)
		}
		es, err := stores[1].ReadEntries(ctx, l, 0, size)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var all hashesMem
		for i, e := range es {
			if seen[string(e)] {
				t.Fatalf("log %s: entry %q twice", l, e)
			}
			seen[string(e)] = true
			hs, err := tlog.StoredHashes(int64(i), e, all)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, hs...)
			// Every stored checkpoint commits to the tree of its size,
			// computed from the entries: no fork.
			note, err := stores[2].CheckpointAt(ctx, l, int64(i+1))
			if err != nil {
				t.Fatalf("log %s: checkpoint %d: %v", l, i+1, err)
			}
			th, _ := tlog.TreeHash(int64(i+1), all)
			if string(note) != checkpointText(l, int64(i+1), th) {
				t.Fatalf("log %s: checkpoint %d does not match the entries", l, i+1)
			}
		}
		idx := make([]int64, len(all))
		for i := range idx {
			idx[i] = int64(i)
		}
		got, err := stores[0].ReadHashes(ctx, l, idx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != all[i] {
				t.Fatalf("log %s: stored hash %d differs", l, i)
			}
		}
	}
}

type hashesMem []tlog.Hash

func (h hashesMem) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(h)) {
			return nil, fmt.Errorf("hash %d missing", x)
		}
		out[i] = h[x]
	}
	return out, nil
}

func checkpointText(log string, size int64, h tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", log, size, h)
}

// nextAppend builds the append of one entry on top of what the store holds.
func nextAppend(ctx context.Context, s store.Store, log string, entry []byte) (store.LogAppend, error) {
	size, _, err := s.Checkpoint(ctx, log)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.LogAppend{}, err
	}
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, log, idx) })
	hs, err := tlog.StoredHashes(size, entry, r)
	if err != nil {
		return store.LogAppend{}, err
	}
	var all hashesOverlay
	all.r, all.base, all.extra = r, tlog.StoredHashCount(size), hs
	th, err := tlog.TreeHash(size+1, all)
	if err != nil {
		return store.LogAppend{}, err
	}
	return store.LogAppend{Log: log, OldSize: size, Entries: [][]byte{entry}, Hashes: hs, Note: []byte(checkpointText(log, size+1, th))}, nil
}

type hashesOverlay struct {
	r     tlog.HashReader
	base  int64
	extra []tlog.Hash
}

func (o hashesOverlay) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= o.base {
			out[i] = o.extra[x-o.base]
			continue
		}
		h, err := o.r.ReadHashes([]int64{x})
		if err != nil {
			return nil, err
		}
		out[i] = h[0]
	}
	return out, nil
}

// TestMailOrderUnderConcurrency: concurrent PutMail to one mailbox from
// several nodes; a reader polling with its cursor never skips an ID.
func TestMailOrderUnderConcurrency(t *testing.T) {
	u := pgtest.Schema(t, pgtest.URL(t))
	ctx := t.Context()
	a, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const per = 50
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := s.PutMail(ctx, "dev", fmt.Appendf(nil, "%d", i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var got []int64
	after := int64(0)
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 4*per && time.Now().Before(deadline) {
		ms, err := b.Mail(ctx, "dev", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.ID)
			after = m.ID
		}
	}
	wg.Wait()
	if len(got) != 4*per {
		t.Fatalf("reader saw %d of %d mails", len(got), 4*per)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("mail %d has ID %d: a gap or reordering", i, id)
		}
	}
}

// TestBackendsKilled terminates the store's database connections while
// appends run, as a PostgreSQL restart does from the venue's side: every
// append that returned nil is stored, failures are reported as errors, and
// the store works again afterwards without being reopened.
func TestBackendsKilled(t *testing.T) {
	base := pgtest.URL(t)
	u := pgtest.Schema(t, base) + "&application_name=gotest_killed"
	ctx := t.Context()
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)

	var mu sync.Mutex
	acked := map[string][]string{}
	var failures int
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := fmt.Sprintf("log%d", w)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e := fmt.Sprintf("w%d-%d", w, i)
				a, err := nextAppend(ctx, s, log, []byte(e))
				if err == nil {
					err = s.Append(ctx, []store.LogAppend{a})
				}
				mu.Lock()
				if err == nil {
					acked[log] = append(acked[log], e)
				} else {
					failures++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	for range 3 {
		time.Sleep(300 * time.Millisecond)
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gotest_killed'`); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d failed appends while connections were killed", failures)
	if failures == 0 {
		t.Fatal("no append failed: the connections were not killed mid-append")
	}
	for log, es := range acked {
		size, _, err := s.Checkpoint(ctx, log)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ReadEntries(ctx, log, 0, size)
		if err != nil {
			t.Fatal(err)
		}
		// Every acknowledged entry is there, in order; an append whose
		// commit succeeded but whose answer was lost may be there too.
		j := 0
		for _, g := range got {
			if j < len(es) && string(g) == es[j] {
				j++
			}
		}
		if j != len(es) {
			t.Fatalf("%s: acknowledged entry %q missing", log, es[j])
		}
	}
	if len(acked) != 4 {
		t.Fatalf("only %d logs got appends", len(acked))
	}
}

// TestAppendAheadConflicts: an append whose OldSize is beyond the log's end
// (a node that believes the log longer than it is) inserts nothing that
// would collide, so only the size check can refuse it.
func TestAppendAheadConflicts(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, pgtest.Schema(t, pgtest.URL(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := store.LogAppend{Log: "x", OldSize: 5, Entries: [][]byte{[]byte("e")},
		Hashes: make([]tlog.Hash, tlog.StoredHashCount(6)-tlog.StoredHashCount(5)), Note: []byte("n")}
	if err := s.Append(ctx, []store.LogAppend{a}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("append ahead of the log: %v, want ErrConflict", err)
	}
	if _, err := s.ReadEntries(ctx, "x", 5, 6); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("entry stored by a refused append: %v", err)
	}
}

// TestAppendLockedRacingNodes: nodes that plan under the lock
// (AppendLocked) append to the same logs concurrently without a single
// conflict, and the logs come out whole, unforked, with every checkpoint
// matching its entries.
func TestAppendLockedRacingNodes(t *testing.T) {
	u := pgtest.Schema(t, pgtest.URL(t))
	ctx := t.Context()
	const nodes, perNode = 3, 30
	var stores []*Store
	for range nodes {
		s, err := Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	logs := []string{"shared", "other"}
	var wg sync.WaitGroup
	for n, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order := logs
			if n%2 == 1 {
				order = []string{logs[1], logs[0]} // must not deadlock
			}
			for i := range perNode {
				err := s.AppendLocked(ctx, order, func(heads map[string]Head) ([]store.LogAppend, error) {
					var batch []store.LogAppend
					for _, l := range order {
						a, err := planOn(l, heads[l], fmt.Appendf(nil, "node %d entry %d", n, i))
						if err != nil {
							return nil, err
						}
						batch = append(batch, a)
					}
					return batch, nil
				})
				if err != nil {
					t.Errorf("node %d: %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, l := range logs {
		size, _, err := stores[0].Checkpoint(ctx, l)
		if err != nil || size != nodes*perNode {
			t.Fatalf("log %s: size %d, %v; want %d", l, size, err, nodes*perNode)
		}
		es, err := stores[1].ReadEntries(ctx, l, 0, size)
		if err != nil {
			t.Fatal(err)
		}
		var all hashesMem
		for i, e := range es {
			hs, err := tlog.StoredHashes(int64(i), e, all)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, hs...)
			note, err := stores[2].CheckpointAt(ctx, l, int64(i+1))
			if err != nil {
				t.Fatal(err)
			}
			th, _ := tlog.TreeHash(int64(i+1), all)
			if string(note) != checkpointText(l, int64(i+1), th) {
				t.Fatalf("log %s: checkpoint %d does not match the entries", l, i+1)
			}
		}
	}
	// A plan that fails writes nothing.
	boom := errors.New("boom")
	if err := stores[0].AppendLocked(ctx, logs, func(map[string]Head) ([]store.LogAppend, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed plan: %v", err)
	}
	// A plan may not touch a log it did not lock.
	err := stores[0].AppendLocked(ctx, []string{"shared"}, func(heads map[string]Head) ([]store.LogAppend, error) {
		a, err := planOn("unlocked", Head{}, []byte("x"))
		return []store.LogAppend{a}, err
	})
	if err == nil {
		t.Fatal("append to an unlocked log accepted")
	}
}

// planOn builds the append of entry on top of head, as a sequencer does
// from its in-memory frontier.
func planOn(log string, head Head, entry []byte) (store.LogAppend, error) {
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := head.Hashes[x]
			if !ok {
				return nil, fmt.Errorf("hash %d not in the frontier", x)
			}
			out[i] = h
		}
		return out, nil
	})
	hs, err := tlog.StoredHashes(head.Size, entry, r)
	if err != nil {
		return store.LogAppend{}, err
	}
	base := tlog.StoredHashCount(head.Size)
	th, err := tlog.TreeHash(head.Size+1, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x >= base {
				out[i] = hs[x-base]
				continue
			}
			h, err := r.ReadHashes([]int64{x})
			if err != nil {
				return nil, err
			}
			out[i] = h[0]
		}
		return out, nil
	}))
	if err != nil {
		return store.LogAppend{}, err
	}
	return store.LogAppend{Log: log, OldSize: head.Size, Entries: [][]byte{entry}, Hashes: hs, Note: []byte(checkpointText(log, head.Size+1, th))}, nil
}
