package venue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/sqlite"
)

// TestSequencingApartFromIntegration: a 201 says the entry is durable at
// its index; the signed checkpoint covering it follows within
// CheckpointWithin, and an append that asks for it is answered only once
// it is served.
func TestSequencingApartFromIntegration(t *testing.T) {
	const within = 400 * time.Millisecond
	tv := newTestVenue(t, func(c *venue.Config) { c.CheckpointWithin = within })
	tv.accredit(t, "arden")
	tv.channel(t, "wg", "working-group", "arden")
	dev := tv.device(t, "arden")
	tok := deviceToken(t, tv.srv.URL, nil2(t, dev))
	post := func(hdr ...string) (int64, int) {
		status, body := raw(t, "POST", tv.srv.URL+"/logs/wg/entries", tok, "message/mls", []byte("entry"), hdr...)
		var out struct{ Index int64 }
		json.Unmarshal([]byte(body), &out)
		return out.Index, status
	}

	// Durable, not yet integrated: the checkpoint trails, then catches up
	// within the bound.
	start := time.Now()
	idx, status := post()
	if status != http.StatusCreated || idx != 0 {
		t.Fatalf("append: %d, index %d", status, idx)
	}
	if n := tv.verifiedSize(t, dev, "wg"); n != 0 && time.Since(start) < within/4 {
		t.Fatalf("checkpoint of size %d served %v after the append: the venue signed in the append's path", n, time.Since(start))
	}
	for tv.verifiedSize(t, dev, "wg") < 1 {
		if time.Since(start) > within+time.Second {
			t.Fatalf("no checkpoint covering the entry %v after its acknowledgement (bound %v)", time.Since(start), within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d > within+500*time.Millisecond {
		t.Errorf("checkpoint served %v after the acknowledgement, bound %v", d, within)
	}

	// Goodoffices-Await: checkpoint: covered as soon as answered, and
	// without waiting for the gathering interval.
	for i := range 3 {
		start := time.Now()
		idx, status := post("Goodoffices-Await", "checkpoint")
		if status != http.StatusCreated || idx != int64(1+i) {
			t.Fatalf("awaited append: %d, index %d", status, idx)
		}
		if n := tv.verifiedSize(t, dev, "wg"); n <= idx {
			t.Fatalf("awaited append %d answered with the checkpoint at %d", idx, n)
		}
		if d := time.Since(start); d >= within/2 {
			t.Logf("awaited append took %v (gathering interval %v): a loaded machine?", d, within/2)
		}
	}
	// The Go client waits by default, and not with WithDurableAcks.
	if i, err := dev.Append(t.Context(), "wg", []byte("by the client")); err != nil || tv.verifiedSize(t, dev, "wg") <= i {
		t.Fatalf("client append %d, %v: not covered when it returned", i, err)
	}
	// The batch endpoint waits the same way.
	if ix, err := dev.AppendBatch(t.Context(), "wg", [][]byte{[]byte("b1"), []byte("b2")}); err != nil || tv.verifiedSize(t, dev, "wg") <= ix[1] {
		t.Fatalf("client batch %v, %v: not covered when it returned", ix, err)
	}

	if status, body := raw(t, "POST", tv.srv.URL+"/logs/wg/entries", tok, "message/mls", []byte("x"), "Goodoffices-Await", "signature"); status != http.StatusBadRequest || !strings.Contains(body, "Goodoffices-Await") {
		t.Fatalf("unknown Goodoffices-Await: %d %s", status, body)
	}

	// One signature per log per interval: many appends, few checkpoints.
	durable, _ := client.New(tv.srv.URL, client.WithDevice(nil2(t, dev)), client.WithDurableAcks())
	before := stats(t, tv)
	for range 40 {
		if _, err := durable.Append(t.Context(), "wg", []byte("burst")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(within)
	after := stats(t, tv)
	signed := after["checkpoints_signed"] - before["checkpoints_signed"]
	if signed < 1 || signed >= 40 {
		t.Fatalf("%v checkpoints signed for 40 appends to one log within %v", signed, within)
	}
	t.Logf("40 appends, %v checkpoints signed", signed)
}

func stats(t *testing.T, tv *testVenue) map[string]float64 {
	t.Helper()
	cred := strings.TrimSpace(readFile(t, filepath.Join(tv.dir, venue.AdminFile)))
	status, body := raw(t, "GET", tv.srv.URL+"/v1/stats", cred, "", nil)
	if status != http.StatusOK {
		t.Fatalf("stats: %d %s", status, body)
	}
	var m map[string]float64
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestIntegrateAfterCrash: entries a venue made durable but did not
// integrate before it stopped (a crash between the two) are under a
// checkpoint before the restarted venue serves anything.
func TestIntegrateAfterCrash(t *testing.T) {
	dir := t.TempDir()
	cfg := func(c *venue.Config) { c.DataDir = dir; c.CheckpointWithin = time.Hour }
	tv := newTestVenue(t, cfg)
	tv.accredit(t, "arden")
	tv.channel(t, "wg", "working-group", "arden")
	dev := tv.device(t, "arden")
	if _, err := dev.Append(t.Context(), "wg", []byte("integrated")); err != nil {
		t.Fatal(err)
	}
	tv.v.BeginShutdown()
	tv.srv.Close()
	tv.v.Close()

	// What a crash leaves: two more entries durable, no checkpoint.
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, venue.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	appendUnsigned(t, s, "wg", []byte("acknowledged 1"), []byte("acknowledged 2"))
	if b, err := s.Behind(t.Context()); err != nil || len(b) != 1 {
		t.Fatalf("Behind = %v, %v", b, err)
	}
	s.Close()

	tv2 := newTestVenue(t, cfg)
	dev2, _ := client.New(tv2.srv.URL, client.WithDevice(nil2(t, dev)))
	if n := tv2.verifiedSize(t, dev2, "wg"); n != 3 {
		t.Fatalf("after the restart the venue serves a checkpoint of size %d, want 3 (CheckpointWithin is an hour: it must integrate at start)", n)
	}
}

// appendUnsigned appends entries to log in s without a checkpoint.
func appendUnsigned(t *testing.T, s store.Store, log string, entries ...[]byte) {
	t.Helper()
	ctx := context.Background()
	n, err := s.Size(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	reader := xtlog.HashReaderFunc(func(idx []int64) ([]xtlog.Hash, error) { return s.ReadHashes(ctx, log, idx) })
	a := store.LogAppend{Log: log, OldSize: n}
	var added []xtlog.Hash
	base := xtlog.StoredHashCount(n)
	for i, e := range entries {
		hs, err := xtlog.StoredHashes(n+int64(i), e, xtlog.HashReaderFunc(func(idx []int64) ([]xtlog.Hash, error) {
			out := make([]xtlog.Hash, len(idx))
			var old []int64
			for _, x := range idx {
				if x < base {
					old = append(old, x)
				}
			}
			got, err := reader(old)
			if err != nil {
				return nil, err
			}
			for j, x := range idx {
				if x < base {
					out[j], got = got[0], got[1:]
				} else {
					out[j] = added[x-base]
				}
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, hs...)
		a.Entries = append(a.Entries, bytes.Clone(e))
	}
	a.Hashes = added
	if err := s.Append(ctx, []store.LogAppend{a}); err != nil {
		t.Fatal(err)
	}
}
