package desk_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

// TestBinaryHandoverAfterRecovery: Arden's head (Helen) recovers wg1 into
// wg1b, where the talks go on from wg1's. Nadia, a new Arden device, joins
// afterwards and reads none of it. Helen hands over wg1b: its recovery
// notice is among the messages, so Nadia's desk verifies it against its own
// view of wg1 and its talks in wg1b continue wg1's. Helen then hands over
// wg1: Nadia's state of the talks in wg1b is then Helen's and Iryna's,
// though a snapshot of it was kept before, from the unread history, and
// though Nadia's web interface was open with what it computed before (the
// hand-over drops what was computed for the channels that continue wg1).
func TestBinaryHandoverAfterRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startHeadPair(t)
	c.run(0, "desk", "table", "wg1", "--home", "helen", "--text", "js", "--title", "Joint Statement",
		"--para", "The Parties agree to a complete ceasefire.", "--para", "Monitors report [weekly] [monthly].")
	c.syncAll("helen", "iryna")
	c.run(0, "desk", "position", "wg1", "--home", "iryna", "--text", "js", "--para", "1", "--version", "1", "--stance", "agree")
	c.syncAll("helen", "iryna")

	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "wg1b", "--kind", "working-group", "--level", "expert", "--members", "arden,borealia")...)
	c.run(0, "desk", "recover", "--channel", "wg1", "--to", "wg1b", "--home", "helen", "--reason", "moving the talks")
	c.syncAll("helen", "iryna", "helen")
	c.run(0, "desk", "position", "wg1b", "--home", "helen", "--text", "js", "--para", "1", "--version", "1", "--stance", "agree")
	c.syncAll("iryna", "helen")

	canon := func(home string) string {
		t.Helper()
		var st map[string]any
		if err := json.Unmarshal([]byte(c.run(0, "desk", "talks", "wg1b", "--home", home, "--json")), &st); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		return string(b)
	}
	want := canon("helen")
	if got := canon("iryna"); got != want {
		t.Fatalf("Helen's and Iryna's talks in wg1b differ:\n%s\n%s", want, got)
	}
	if p := c.talks("helen", "wg1b").Text("js").Paragraph("p1"); p == nil || p.Status != "agreed" {
		t.Fatalf("Helen's talks in wg1b: p1 %+v, want agreed by both", p)
	}

	nadia := c.newDesk("nadia", "arden", "Nadia Kerr", "expert")
	c.run(0, "desk", "verify-party", "borealia", "--home", "nadia", "--fingerprint", fps["borealia"])
	c.syncAll("nadia", "helen", "iryna", "nadia")
	if x := c.talks("nadia", "wg1b").Text("js"); x != nil {
		t.Fatalf("Nadia's desk has the Joint Statement before any hand-over: %+v", x)
	}
	// No desk makes a commit in wg1 any more: Nadia is in wg1b's group
	// only.
	for ch, want := range map[string]bool{"wg1": false, "wg1b": true} {
		if ms, _ := c.members("iryna", ch); slices.Contains(ms, nadia) != want {
			t.Fatalf("%s's group holds %v; Nadia's device in it: %v", ch, ms, !want)
		}
	}

	out := c.run(0, "desk", "handover", "wg1b", "--home", "helen", "--to", nadia, "--all")
	if !strings.Contains(out, "keys of 2 messages") || !strings.Contains(out, "hand over wg1 as well") {
		t.Fatalf("hand-over of wg1b (the notice and Helen's position): %s", out)
	}
	c.syncAll("nadia")
	var st struct {
		Continued []struct {
			Channel, From string
			Size          int64
		}
	}
	if err := json.Unmarshal([]byte(c.run(0, "desk", "status", "--home", "nadia", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Continued) != 1 || st.Continued[0].Channel != "wg1b" || st.Continued[0].From != "wg1" {
		t.Fatalf("Nadia's desk: continued %+v, want wg1b from wg1", st.Continued)
	}
	if r := c.readHandover("nadia", "wg1b"); !slices.ContainsFunc(r.Messages, func(m struct {
		Index      int64  `json:"index"`
		Kind       string `json:"kind"`
		Text       string `json:"text"`
		HandedOver string `json:"handed_over"`
	}) bool {
		return m.Kind == "recovery" && m.HandedOver != ""
	}) {
		t.Fatalf("Nadia's desk shows no handed-over recovery notice in wg1b: %+v", r.Messages)
	}
	// wg1 still unread: nothing of it is carried.
	if x := c.talks("nadia", "wg1b").Text("js"); x != nil {
		t.Fatalf("Nadia's desk has the Joint Statement without wg1's history: %+v", x)
	}

	// A snapshot of Nadia's talks in wg1b, as a desk that stays open (its
	// web interface) would keep; the hand-over of wg1 must not leave it.
	desk.SetSnapshotEvery(t, 1)
	d, err := desk.Open(t.Context(), filepath.Join(c.dir, "nadia"), []byte("desk secret"), desk.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Talks(t.Context(), "wg1b", ""); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// Nadia's web interface, open while the hand-over of wg1 arrives,
	// computes the talks on its own: it must not keep what it computed
	// before.
	found, stop := c.startStoppable("Nadia's desk web", []string{"desk", "web", "--home", "nadia", "--listen", "127.0.0.1:0"}, `open \(works once\): (\S+)`)
	base, page, _ := c.signIn(found[0])
	if code, body := page(base + "/channels/wg1b"); code != http.StatusOK || strings.Contains(body, "Joint Statement") {
		t.Fatalf("Nadia's desk web, wg1b before the hand-over of wg1: %d\n%s", code, body)
	}
	c.run(0, "desk", "handover", "wg1", "--home", "helen", "--to", nadia, "--all")
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := page(base + "/texts/js?ch=wg1b")
		if code == http.StatusOK && strings.Contains(body, "status-agreed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Nadia's desk web does not show the Joint Statement in wg1b, p1 agreed, after the hand-over of wg1: %d\n%s", code, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	stop()

	c.syncAll("nadia")
	if got := canon("nadia"); got != want {
		t.Fatalf("Nadia's talks in wg1b after both hand-overs differ from Helen's:\n%s\n%s", got, want)
	}
}
