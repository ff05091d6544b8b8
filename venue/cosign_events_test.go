package venue_test

import (
	"context"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
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
