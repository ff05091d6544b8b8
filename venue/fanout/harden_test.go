package fanout_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// TestRevocationOnOtherNodeEndsStream: a device's event stream open on node
// 2 ends within a second of node 1 logging the device's revocation (NATS
// carries the notice), also when nothing else happens on its channels (no
// append wakes it), and an entry appended on node 1 after the revocation
// never reaches it.
func TestRevocationOnOtherNodeEndsStream(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	ns := startNATS(t)
	n1 := node(t, db, ns.url, nil, "--poll", "1m")
	n2 := node(t, db, ns.url, n1, "--poll", "1m")
	admin, err := n1.AdminCredential()
	if err != nil {
		t.Fatal(err)
	}
	w := setup(t, n1.URL, admin)
	ctx := t.Context()
	writer := w.device(t, n1.URL, "writer")

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	cert, err := w.root.Certify(&delegation.Certificate{Delegation: w.name, Person: "victim", Role: "expert", Level: "expert",
		Device: pub, NotBefore: now.Add(-time.Minute).Truncate(time.Second), NotAfter: now.Add(time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	anon1, _ := client.New(n1.URL)
	reg, _ := client.New(n1.URL, client.WithDevice(priv))
	if _, err := reg.RegisterDevice(ctx, cert); err != nil {
		t.Fatal(err)
	}
	victim, _ := client.New(n2.URL, client.WithDevice(priv))
	sub, err := victim.Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if ev, err := sub.Next(ctx); err != nil || ev.Type != "ready" {
		t.Fatalf("first event %+v, %v", ev, err)
	}

	var mu sync.Mutex
	var revokedAt time.Time
	firstAfter := int64(-1)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for wctx.Err() == nil {
			mu.Lock()
			after := !revokedAt.IsZero()
			mu.Unlock()
			idx, err := appendRetrying(wctx, writer, w.channel, bench.Frame([]byte("during")))
			if err != nil {
				return
			}
			mu.Lock()
			if after && firstAfter < 0 {
				firstAfter = idx
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	// The stream works before the revocation; then the channel is quiet.
	collect(t, sub, w.channel, 3, 10*time.Second)
	stop()
	<-done
	rev, err := w.root.Revoke(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon1.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	revokedAt = time.Now()
	mu.Unlock()
	// Appended after the revocation, a little later than NATS carries a
	// notice: the stream must already be closed to it.
	wctx, stop = context.WithCancel(ctx)
	done = make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond)
		idx, err := appendRetrying(wctx, writer, w.channel, bench.Frame([]byte("after")))
		if err == nil {
			mu.Lock()
			firstAfter = idx
			mu.Unlock()
		}
	}()
	var got []int64
	var endErr error
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		ev, err := sub.Next(nctx)
		if err != nil {
			endErr = err
			break
		}
		if ev.Type == "entry" {
			got = append(got, ev.Index)
		}
	}
	ended := time.Since(revokedAt)
	<-done
	stop()
	var ae *client.Error
	if !errors.As(endErr, &ae) || ae.Status != 401 {
		t.Fatalf("stream on node 2 did not end with the revocation on node 1: %v after %v", endErr, ended)
	}
	if ended > time.Second {
		t.Errorf("stream on node 2 ended %v after the revocation on node 1, want within 1 s", ended)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstAfter < 0 {
		t.Fatal("no append after the revocation")
	}
	for _, idx := range got {
		if idx >= firstAfter {
			t.Errorf("entry %d, appended after the revocation (from %d on), reached the revoked device on node 2", idx, firstAfter)
		}
	}
	t.Logf("stream on node 2 ended %v after the revocation on node 1; %d entries delivered during it", ended, len(got))
}
