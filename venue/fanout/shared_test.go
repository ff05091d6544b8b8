package fanout_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// TestLaggingNodeServesNoOlderCheckpoint runs two nodes that do not tell
// each other anything (no NATS, a poll once a minute). Node 2 appends first,
// so that it has the log's state in memory; then node 1 appends. A desk
// load-balanced over both nodes must never get from node 2 a checkpoint
// older than one node 1 served (it would take it for a rollback), and node
// 2 must serve the tiles that prove node 1's entries.
func TestLaggingNodeServesNoOlderCheckpoint(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	n1 := node(t, db, "", nil, "--poll", "1m")
	n2 := node(t, db, "", n1, "--poll", "1m")
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()
	c1 := w.device(t, n1.URL, "one")
	c2 := w.device(t, n2.URL, "two")
	verifier, err := note.NewVerifier(w.info.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	origin := client.ChannelOrigin(w.info.Name, w.channel)
	l1 := c1.Log(w.channel, origin, verifier)
	l2 := c2.Log(w.channel, origin, verifier)

	acked := map[int64][]byte{}
	for i := range 3 {
		e := bench.Frame(fmt.Appendf(nil, "node 2 entry %d", i))
		idx, err := c2.Append(ctx, w.channel, e)
		if err != nil {
			t.Fatal(err)
		}
		acked[idx] = e
	}
	if cp, _, err := l2.Checkpoint(ctx); err != nil || cp.Size != 3 {
		t.Fatalf("node 2 checkpoint %d, %v; want size 3", cp.Size, err)
	}
	for i := range 20 {
		e := bench.Frame(fmt.Appendf(nil, "node 1 entry %d", i))
		idx, err := c1.Append(ctx, w.channel, e)
		if err != nil {
			t.Fatal(err)
		}
		acked[idx] = e
		cp1, _, err := l1.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp2, _, err := l2.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp2.Size < cp1.Size {
			t.Fatalf("after node 1 served size %d, node 2 served the older size %d", cp1.Size, cp2.Size)
		}
		// Node 2 serves the entries (and hash tiles) under node 1's
		// checkpoint; the client checks them against it.
		es, err := l2.Entries(ctx, cp1, idx, idx+1)
		if err != nil {
			t.Fatalf("node 2 cannot prove entry %d of node 1's checkpoint: %v", idx, err)
		}
		if string(es[0]) != string(e) {
			t.Fatalf("node 2 serves entry %d = %q, want %q", idx, es[0], e)
		}
	}
	verifyLog(t, l2, acked, 23)
}

// TestTwoNodesRacingOneChannel has writers on two nodes append to one
// channel as fast as they can, without retrying: the nodes take turns on the
// channel's row lock, so no append fails (no 503 storm), and the log holds
// every acknowledged entry once and verifies from both nodes.
func TestTwoNodesRacingOneChannel(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	n1 := node(t, db, "", nil, "--poll", "200ms")
	n2 := node(t, db, "", n1, "--poll", "200ms")
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()
	const writers, perWriter = 16, 30
	var cs []*client.Client
	for i := range writers {
		url := n1.URL
		if i%2 == 1 {
			url = n2.URL
		}
		cs = append(cs, w.device(t, url, fmt.Sprintf("writer%d", i)))
	}
	var mu sync.Mutex
	acked := map[int64][]byte{}
	failed := 0
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perWriter {
				e := bench.Frame(fmt.Appendf(nil, "writer %d entry %d", i, j))
				idx, err := c.Append(ctx, w.channel, e)
				mu.Lock()
				if err != nil {
					var ae *client.Error
					if !errors.As(err, &ae) || !ae.Retryable() {
						t.Errorf("append: %v", err)
					}
					failed++
				} else {
					if prev, dup := acked[idx]; dup {
						t.Errorf("index %d acknowledged twice: %q and %q", idx, prev, e)
					}
					acked[idx] = e
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Errorf("%d of %d appends failed with a retryable error; want none", failed, writers*perWriter)
	}
	if t.Failed() {
		t.FailNow()
	}
	total := int64(writers * perWriter)
	verifier, err := note.NewVerifier(w.info.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	origin := client.ChannelOrigin(w.info.Name, w.channel)
	verifyLog(t, cs[0].Log(w.channel, origin, verifier), acked, total)
	verifyLog(t, cs[1].Log(w.channel, origin, verifier), acked, total)

	// Two nodes logging a commit for the same epoch at once: one wins,
	// the other gets 409, whichever node each went through.
	for epoch := range uint64(5) {
		var wins, taken int
		var wg sync.WaitGroup
		for _, c := range cs[:4] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.AppendCommit(ctx, w.channel, bench.FrameCommit(epoch, fmt.Appendf(nil, "commit %d", epoch)), epoch)
				mu.Lock()
				defer mu.Unlock()
				var ae *client.Error
				switch {
				case err == nil:
					wins++
				case errors.As(err, &ae) && ae.Status == 409:
					taken++
				default:
					t.Errorf("commit for epoch %d: %v", epoch, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || taken != 3 {
			t.Errorf("epoch %d: %d commits logged, %d refused; want 1 and 3", epoch, wins, taken)
		}
	}
}
