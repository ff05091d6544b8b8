package fanout

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/sqlite"
)

func TestNoticeRoundTrip(t *testing.T) {
	n := &Notice{Node: "abc", Logs: map[string]int64{"plenary": 7, "register": 2}, Mail: []string{"dev1"}, Devices: []string{"dev2"}, Channels: []string{"wg-1"}}
	got, err := ParseNotice(n.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, n) {
		t.Fatalf("round trip: %+v, want %+v", got, n)
	}
}

func TestParseNoticeRejects(t *testing.T) {
	for _, s := range []string{
		``,
		`{}`,
		`{"v":2,"node":"a"}`,
		`{"v":1}`,
		`{"v":1,"node":""}`,
		`{"v":1,"node":"a b"}`,
		`{"v":1,"node":"a","logs":{"x":0}}`,
		`{"v":1,"node":"a","logs":{"x":-3}}`,
		`{"v":1,"node":"a","logs":{"":1}}`,
		`{"v":1,"node":"a","mail":["\n"]}`,
		`{"v":1,"node":"a","extra":1}`,
		`{"v":1,"node":"a"} {}`,
		`{"v":1,"node":"` + strings.Repeat("a", 129) + `"}`,
		`[1]`,
	} {
		if _, err := ParseNotice([]byte(s)); err == nil {
			t.Errorf("ParseNotice(%q) accepted", s)
		}
	}
	if _, err := ParseNotice(make([]byte, MaxNotice+1)); err == nil {
		t.Error("oversized notice accepted")
	}
}

func FuzzParseNotice(f *testing.F) {
	f.Add([]byte(`{"v":1,"node":"0123456789abcdef","logs":{"plenary":12}}`))
	f.Add([]byte(`{"v":1,"node":"n","mail":["dev"],"devices":["dev"],"channels":["wg"]}`))
	f.Add((&Notice{Node: "x", Logs: map[string]int64{"register": 1}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNotice(b)
		if err != nil {
			return
		}
		again, err := ParseNotice(n.Marshal())
		if err != nil {
			t.Fatalf("re-parse of an accepted notice failed: %v", err)
		}
		if !reflect.DeepEqual(n, again) {
			t.Fatalf("round trip changed the notice: %+v vs %+v", n, again)
		}
	})
}

func TestDiff(t *testing.T) {
	a := Heads{Logs: map[string]int64{"x": 1, "y": 2}, Mail: map[string]int64{"d": 3}, Channels: map[string]string{"x": "arden"}}
	if _, ok := diff(a, a); ok {
		t.Fatal("diff of equal heads reports a change")
	}
	b := Heads{Logs: map[string]int64{"x": 1, "y": 5, "z": 1}, Mail: map[string]int64{"d": 4, "e": 1}, Channels: map[string]string{"x": "arden,borealia", "y": "arden"}}
	c, ok := diff(a, b)
	if !ok || !reflect.DeepEqual(c.Logs, map[string]int64{"y": 5, "z": 1}) || len(c.Mail) != 2 || len(c.Channels) != 2 {
		t.Fatalf("diff = %+v", c)
	}
}

type recorder struct {
	mu sync.Mutex
	ns []*Notice
}

func (r *recorder) Publish(n *Notice) {
	r.mu.Lock()
	r.ns = append(r.ns, n)
	r.mu.Unlock()
}

// TestWrapPublishesDurableChangesOnly: a notice follows every change the
// store made, and none follows a refused one.
func TestWrapPublishesDurableChangesOnly(t *testing.T) {
	ctx := t.Context()
	lite, err := sqlite.Open(ctx, t.TempDir()+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	var r recorder
	s := Wrap(lite, &r)
	if err := s.CreateChannel(ctx, store.Channel{ID: "wg", Kind: "plenary", Level: "expert", Members: []string{"a"}, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChannel(ctx, store.Channel{ID: "wg", Kind: "plenary", Level: "expert", Created: time.Now()}); !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	if _, err := s.PutMail(ctx, "dev", []byte("welcome")); err != nil {
		t.Fatal(err)
	}
	// A stale append is refused and announces nothing.
	if err := s.Append(ctx, []store.LogAppend{{Log: "wg", OldSize: 3}}); err == nil {
		t.Fatal("stale append accepted")
	}
	if len(r.ns) != 2 || r.ns[0].Channels[0] != "wg" || r.ns[1].Mail[0] != "dev" {
		t.Fatalf("notices: %+v", r.ns)
	}
}

// TestPollAppliesChanges polls a changing snapshot.
func TestPollAppliesChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	h := Heads{Logs: map[string]int64{"x": 1}}
	got := make(chan venue.PeerChange, 10)
	go Poll(ctx, 5*time.Millisecond, func(context.Context) (Heads, error) {
		mu.Lock()
		defer mu.Unlock()
		c := Heads{Logs: map[string]int64{}}
		for k, v := range h.Logs {
			c.Logs[k] = v
		}
		return c, nil
	}, func(c venue.PeerChange) { got <- c }, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	next := func() venue.PeerChange {
		t.Helper()
		select {
		case c := <-got:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no change applied")
			return venue.PeerChange{}
		}
	}
	// The first read is the baseline: Poll catches up on everything once.
	// Change the heads only after it, or the change would be part of the
	// baseline (this test used to sleep 30 ms instead, and failed under
	// load when the first tick came later).
	if c := next(); !c.All {
		t.Fatalf("first change %+v, want all", c)
	}
	mu.Lock()
	h.Logs["x"] = 4
	mu.Unlock()
	if c := next(); c.All || c.Logs["x"] != 4 {
		t.Fatalf("change %+v, want x at 4", c)
	}
}
