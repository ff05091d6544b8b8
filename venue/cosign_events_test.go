package venue_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/fanout"
	"github.com/good-offices/goodoffices/venue/store/postgres"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// TestCosignEvents: storing a cosignature pushes a "cosign" event to the
// streams of the log's members (not to others), once per cosignature, even
// across the queue's compaction and a resumed stream; a fresh stream does
// not replay old cosignatures.
func TestCosignEvents(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.Rate = -1 })
	tv.accredit(t, "arden", "borealia", "corvia")
	tv.channel(t, "plenary", "plenary", "arden", "borealia")
	tv.channel(t, "corvia-internal", "delegation-internal", "corvia")
	a, b, c := tv.device(t, "arden"), tv.device(t, "borealia"), tv.device(t, "corvia")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	open := func(cl *client.Client, cursor string) *client.Subscription {
		t.Helper()
		sub, err := cl.Subscribe(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if cursor == "" {
			if ev, err := sub.Next(ctx); err != nil || ev.Type != "ready" {
				t.Fatalf("first event %+v %v", ev, err)
			}
		}
		return sub
	}
	appendCosign := func(cl *client.Client, del string, n int) {
		t.Helper()
		for range n {
			if _, err := cl.Append(ctx, "plenary", []byte("e")); err != nil {
				t.Fatal(err)
			}
			cp, err := cl.Fetch(ctx, "plenary", "checkpoint")
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.AddCosignature(ctx, "plenary", cosignAs(t, del, devKey(cl), cp)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ardenName := venue.CosignerName("arden", a.DeviceID())
	last := map[string]int64{} // cosigner -> last size delivered
	next := func(sub *client.Subscription) client.Event {
		t.Helper()
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "cosign" {
			if ev.Log != "plenary" {
				t.Fatalf("cosign event of %q", ev.Log)
			}
			if ev.Size <= last[ev.Cosigner] {
				t.Fatalf("cosignature of %s at size %d delivered after size %d (duplicate or out of order)", ev.Cosigner, ev.Size, last[ev.Cosigner])
			}
			last[ev.Cosigner] = ev.Size
		}
		return ev
	}
	sub := open(b, "")
	subC := open(c, "")
	appendCosign(a, "arden", 1)
	for last[ardenName] < 1 {
		next(sub)
	}
	// Many more: the queue is compacted (cosign.go) meanwhile; no record
	// is delivered twice, and the latest is delivered.
	appendCosign(a, "arden", 60)
	for last[ardenName] < 61 {
		next(sub)
	}
	// Resume after a disconnection: what was cosigned meanwhile, once.
	cursor := sub.Cursor()
	sub.Close()
	appendCosign(a, "arden", 2)
	if err := b.AddCosignature(ctx, "plenary", cosignAs(t, "borealia", devKey(b), mustFetch(t, b, "plenary"))); err != nil {
		t.Fatal(err)
	}
	tv.v.PeerChanged(venue.PeerChange{All: true})
	sub = open(b, cursor)
	borealiaName := venue.CosignerName("borealia", b.DeviceID())
	for last[ardenName] < 63 || last[borealiaName] < 63 {
		next(sub)
	}
	sub.Close()
	// A fresh stream starts at the current end of the queue.
	sub = open(b, "")
	defer sub.Close()
	appendCosign(a, "arden", 1)
	for {
		ev := next(sub)
		if ev.Type == "cosign" {
			if ev.Size != 64 || ev.Cosigner != ardenName {
				t.Fatalf("fresh stream: first cosign event %+v", ev)
			}
			break
		}
	}
	// corvia is not a member of plenary: it got nothing of it.
	if _, err := c.SendMail(ctx, c.DeviceID(), []byte("end")); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := subC.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "mail" {
			break
		}
		t.Fatalf("corvia received %+v", ev)
	}
	subC.Close()
}

func mustFetch(t *testing.T, c *client.Client, log string) []byte {
	t.Helper()
	b, err := c.Fetch(t.Context(), log, "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// peerPublisher hands a node's notices to the other nodes, as the NATS
// transport of package fanout does, through the notice's wire form.
type peerPublisher struct {
	mu    sync.Mutex
	peers []*venue.Venue
}

func (p *peerPublisher) Publish(n *fanout.Notice) {
	n.Node = "test-node"
	parsed, err := fanout.ParseNotice(n.Marshal())
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range p.peers {
		v.PeerChanged(parsed.Change())
	}
}

// TestCosignEventsAcrossNodes: two venue nodes on one PostgreSQL database
// whose stores publish their changes to each other (package fanout): a
// cosignature handed to node 1 is pushed at once to a stream on node 2.
func TestCosignEventsAcrossNodes(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var urls []string
	pubs := []*peerPublisher{{}, {}}
	var nodes []*venue.Venue
	dir1 := t.TempDir()
	for i, dir := range []string{dir1, t.TempDir()} {
		if i > 0 {
			for _, f := range []string{venue.KeyFile, venue.AdminFile} {
				b, err := os.ReadFile(filepath.Join(dir1, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dir, f), b, 0o600)
			}
		}
		st, err := postgres.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		v, err := venue.New(ctx, venue.Config{DataDir: dir, Name: "venue.test", Store: fanout.Wrap(st, pubs[i]), Rate: -1, OpaqueEntries: true, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(v.Handler())
		t.Cleanup(func() { srv.Close(); v.Close(); st.Close() })
		urls = append(urls, srv.URL)
		nodes = append(nodes, v)
	}
	pubs[0].peers, pubs[1].peers = []*venue.Venue{nodes[1]}, []*venue.Venue{nodes[0]}
	cred, _ := os.ReadFile(filepath.Join(dir1, venue.AdminFile))
	admin, _ := client.New(urls[0], client.WithAdmin(string(cred)))
	root, _ := delegation.GenerateRoot("arden")
	if _, err := admin.Accredit(ctx, "arden", root.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	var privs []ed25519.PrivateKey
	for range 2 {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		cert, _ := root.Certify(&delegation.Certificate{Delegation: "arden", Person: "P", Role: "expert", Level: "expert", Device: pub,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
		reg, _ := client.New(urls[0], client.WithDevice(priv))
		if _, err := reg.RegisterDevice(ctx, cert); err != nil {
			t.Fatal(err)
		}
		privs = append(privs, priv)
	}
	d1, _ := client.New(urls[0], client.WithDevice(privs[0]))
	d2, _ := client.New(urls[1], client.WithDevice(privs[1]))
	sub, err := d2.Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if ev, err := sub.Next(ctx); err != nil || ev.Type != "ready" {
		t.Fatalf("first event %+v %v", ev, err)
	}
	if _, err := d1.Append(ctx, "plenary", []byte("e0")); err != nil {
		t.Fatal(err)
	}
	cp, err := d1.Fetch(ctx, "plenary", "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if err := d1.AddCosignature(ctx, "plenary", cosignAs(t, "arden", privs[0], cp)); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != "cosign" {
			continue
		}
		if ev.Log != "plenary" || ev.Size != 1 || ev.Cosigner != venue.CosignerName("arden", d1.DeviceID()) {
			t.Fatalf("cosign event %+v", ev)
		}
		// Well before the stream's 15 s heartbeat, which would also find it.
		if d := time.Since(sent); d > 5*time.Second {
			t.Fatalf("cosign event after %s", d)
		}
		return
	}
}
