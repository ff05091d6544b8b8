package desk_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

type handoverRead struct {
	Messages []struct {
		Index      int64  `json:"index"`
		Kind       string `json:"kind"`
		Text       string `json:"text"`
		HandedOver string `json:"handed_over"`
	} `json:"messages"`
	Unreadable []desk.Range `json:"unreadable"`
}

// startHeadPair starts a venue with wg1 and the desks of Arden's head of
// delegation (Helen, home "helen") and Borealia's expert (Iryna, "iryna"),
// each having verified the other party.
func startHeadPair(t *testing.T) (*cluster, map[string]string) {
	t.Helper()
	c := startCluster(t)
	fps := c.accreditPair("wg1", "working-group")
	c.newDesk("helen", "arden", "Helen Vance", "head")
	c.newDesk("iryna", "borealia", "Iryna Holt", "expert")
	c.run(0, "desk", "verify-party", "borealia", "--home", "helen", "--fingerprint", fps["borealia"])
	c.run(0, "desk", "verify-party", "arden", "--home", "iryna", "--fingerprint", fps["arden"])
	c.syncAll("helen", "iryna")
	return c, fps
}

func (c *cluster) readHandover(home, ch string) handoverRead {
	c.t.Helper()
	var r handoverRead
	if err := json.Unmarshal([]byte(c.run(0, "desk", "read", ch, "--home", home, "--json")), &r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

// TestBinaryHandover: Arden replaces its expert. Arden's head (Helen) and
// Borealia's expert talk in wg1; a new Arden device (Nadia) joins later and
// reads nothing of before. Helen hands over the messages since a date:
// Nadia reads exactly those, marked, and her desk names the range it cannot
// read. Two lying hand-overs (keys that do not open the logged entry; an
// entry the log does not hold) raise an alarm (sync exits 3) and change
// nothing. The whole history handed over gives Nadia's desk the same state
// of the talks as Helen's. The venue's store holds no plaintext.
func TestBinaryHandover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startHeadPair(t)

	early := []string{"Handover secret one: the northern ridge stays neutral.", "Handover secret two: prisoners exchanged at dawn."}
	late := []string{"Handover secret three: monitors report weekly.", "Handover secret four: the river crossing reopens."}
	c.run(0, "desk", "send", "wg1", "--home", "helen", early[0])
	c.syncAll("helen", "iryna")
	c.run(0, "desk", "send", "wg1", "--home", "iryna", early[1])
	c.syncAll("helen", "iryna")
	// The date of the policy: the next whole second, after every early
	// message was received by Helen's desk.
	since := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(since) + 50*time.Millisecond)
	c.run(0, "desk", "table", "wg1", "--home", "helen", "--text", "js", "--title", "Joint Statement",
		"--para", "The Parties agree to a complete ceasefire.", "--para", "Monitors report [weekly] [monthly].")
	c.syncAll("helen", "iryna")
	c.run(0, "desk", "send", "wg1", "--home", "iryna", late[0])
	c.syncAll("helen", "iryna")
	c.run(0, "desk", "position", "wg1", "--home", "iryna", "--text", "js", "--para", "1", "--version", "1", "--stance", "agree")
	c.run(0, "desk", "send", "wg1", "--home", "helen", late[1])
	c.syncAll("helen", "iryna")

	// The newcomer joins: it reads nothing of before.
	nadia := c.newDesk("nadia", "arden", "Nadia Kerr", "expert")
	c.run(0, "desk", "verify-party", "borealia", "--home", "nadia", "--fingerprint", fps["borealia"])
	c.syncAll("nadia", "helen", "iryna", "nadia")
	before := c.readHandover("nadia", "wg1")
	var unreadIdx []int64
	for _, m := range before.Messages {
		if m.Kind == "application" {
			t.Fatalf("Nadia reads entry %d before any hand-over: %+v", m.Index, m)
		}
	}
	for _, r := range before.Unreadable {
		for i := r.From; i <= r.To; i++ {
			unreadIdx = append(unreadIdx, i)
		}
	}
	helenRead := c.readHandover("helen", "wg1")
	var helenApp, earlyIdx []int64
	for _, m := range helenRead.Messages {
		if m.Kind == "application" {
			helenApp = append(helenApp, m.Index)
			for _, e := range early {
				if strings.Contains(m.Text, e) {
					earlyIdx = append(earlyIdx, m.Index)
				}
			}
		}
	}
	if !reflect.DeepEqual(unreadIdx, helenApp) {
		t.Fatalf("Nadia cannot read %v; Helen's messages are %v", unreadIdx, helenApp)
	}
	if len(earlyIdx) != 2 {
		t.Fatalf("early messages at %v", earlyIdx)
	}

	// Refused before sending: not the head, no policy, two policies.
	if out := c.runErr(1, "desk", "handover", "wg1", "--home", "nadia", "--to", nadia, "--all"); !strings.Contains(out, "head of delegation") {
		t.Fatalf("hand-over by a non-head: %s", out)
	}
	c.runErr(2, "desk", "handover", "wg1", "--home", "helen", "--to", nadia)
	c.runErr(2, "desk", "handover", "wg1", "--home", "helen", "--to", nadia, "--all", "--none")

	// Since the date: exactly the early messages stay unreadable.
	out := c.run(0, "desk", "handover", "wg1", "--home", "helen", "--to", nadia, "--since", since.Format(time.RFC3339))
	if !strings.Contains(out, "keys of 4 messages") || !strings.Contains(out, "2 withheld") {
		t.Fatalf("hand-over since %s: %s", since, out)
	}
	c.run(0, "desk", "sync", "--home", "nadia")
	after := c.readHandover("nadia", "wg1")
	var got []desk.Range
	got = append(got, after.Unreadable...)
	want := []desk.Range{{From: earlyIdx[0], To: earlyIdx[0]}, {From: earlyIdx[1], To: earlyIdx[1]}}
	if earlyIdx[1] == earlyIdx[0]+1 {
		want = []desk.Range{{From: earlyIdx[0], To: earlyIdx[1]}}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("unreadable after the hand-over since a date: %v, want %v", got, want)
	}
	handed := 0
	for _, m := range after.Messages {
		if m.Kind == "application" {
			if m.HandedOver == "" || !strings.Contains(m.HandedOver, "Helen Vance") {
				t.Errorf("entry %d not marked as handed over: %+v", m.Index, m)
			}
			handed++
		}
	}
	if handed != 4 {
		t.Fatalf("Nadia reads %d handed-over messages, want 4", handed)
	}
	if text := c.run(0, "desk", "read", "wg1", "--home", "nadia"); !strings.Contains(text, "[HANDED OVER by Helen Vance") || !strings.Contains(text, "cannot read") {
		t.Fatalf("desk read does not mark the hand-over:\n%s", text)
	}

	// Lying hand-overs, made by Helen's desk in this process.
	lie := func(name string, tamper func(*desk.Handover), wantDetail string) {
		t.Helper()
		d, err := desk.Open(t.Context(), filepath.Join(c.dir, "helen"), []byte("desk secret"), desk.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		desk.SetHandoverTamper(tamper)
		pol, _ := desk.ParseHandoverPolicy(true, false, "")
		_, err = d.Handover(t.Context(), "wg1", nadia, pol)
		desk.SetHandoverTamper(nil)
		d.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		code, _, stderr := c.runCode("desk", "sync", "--home", "nadia")
		if code != 3 || !strings.Contains(stderr, "handover") || !strings.Contains(stderr, wantDetail) {
			t.Fatalf("%s: sync exit %d, stderr:\n%s", name, code, stderr)
		}
		if now := c.readHandover("nadia", "wg1"); !reflect.DeepEqual(now.Unreadable, want) {
			t.Fatalf("%s: the lying hand-over was used: unreadable %v", name, now.Unreadable)
		}
	}
	lie("altered keys", func(h *desk.Handover) {
		d := h.Entries[0].Disclosure
		d[len(d)-1] ^= 1 // the sender's signature key
	}, "do not open logged entry")
	lie("an entry not in the log", func(h *desk.Handover) {
		last := h.Entries[len(h.Entries)-1]
		h.Entries = append(h.Entries, desk.HandoverEntry{Index: last.Index + 1000, Disclosure: last.Disclosure})
	}, "not in the log")

	// The whole history: Nadia's state of the talks is Helen's.
	c.run(0, "desk", "handover", "wg1", "--home", "helen", "--to", nadia, "--all")
	c.run(0, "desk", "sync", "--home", "nadia")
	if r := c.readHandover("nadia", "wg1"); len(r.Unreadable) != 0 {
		t.Fatalf("unreadable after the whole history was handed over: %v", r.Unreadable)
	}
	ht, nt := c.run(0, "desk", "talks", "wg1", "--home", "helen", "--json"), c.run(0, "desk", "talks", "wg1", "--home", "nadia", "--json")
	if ht != nt {
		t.Fatalf("talks differ:\nHelen: %s\nNadia: %s", ht, nt)
	}

	// The venue's store: no plaintext of any message.
	filepath.WalkDir(filepath.Join(c.dir, "vdata"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, s := range append(append([]string{"Joint Statement", "complete ceasefire"}, early...), late...) {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("the venue's %s holds plaintext %q", p, s)
			}
		}
		return nil
	})
}
