package desk_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	hv "github.com/good-offices/goodoffices/internal/hostile"
)

// TestBinaryRecoverAfterFork: the host forks the working group's log for
// Borealia (the hostile proxy serves its desk another history). Borealia's
// desk raises the alarm; clearing it keeps the evidence and records who,
// when and why, and the next sync raises it again (the doctored log is
// still served). Borealia recovers into a fresh channel the host creates:
// its desk sends the last good checkpoint of the old channel there, and
// Arden's desk verifies it against its own view of the old channel and
// says so on the notice. The talks go on in the fresh channel, and
// Borealia's desk syncs without alarm.
func TestBinaryRecoverAfterFork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	px := c.hostilePairIn("wg1", "working-group", "expert")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Good morning.")
	c.syncAll("tomas", "iryna")
	// Talks under way before the fork: a text tabled by Arden, Borealia's
	// position on its paragraph.
	c.run(0, "desk", "table", "wg1", "--home", "tomas", "--text", "protocol", "--title", "Protocol", "--para", "Monitors report weekly.")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "position", "wg1", "--home", "iryna", "--text", "protocol", "--para", "p1", "--version", "1", "--stance", "agree")
	c.syncAll("tomas", "iryna")
	var st struct {
		Logs []struct {
			Log  string
			Size int64
		}
		Alarms []struct {
			Log, Kind, Evidence string
			Cleared             *struct{ Person, Delegation, Device, Reason string }
		}
		Recovered []struct {
			From, To string
			Size     int64
		}
		Continued []struct {
			Channel, From string
			Size          int64
		}
	}
	status := func(home string, want int) {
		t.Helper()
		st.Alarms, st.Recovered, st.Continued = nil, nil, nil
		if err := json.Unmarshal([]byte(c.run(want, "desk", "status", "--home", home, "--json")), &st); err != nil {
			t.Fatal(err)
		}
	}
	status("iryna", 0)
	size := int64(0)
	for _, l := range st.Logs {
		if l.Log == "wg1" {
			size = l.Size
		}
	}
	if size < 2 {
		t.Fatalf("wg1 has %d entries", size)
	}

	// The fork: the last entry and one more replaced, for Borealia only.
	px.Set("borealia", hv.Fork("wg1", int(size-1), []byte("forged 1"), []byte("forged 2")))
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Arden proposes to meet at ten.")
	if code, _, errOut := c.runCode("desk", "sync", "--home", "iryna"); code != 3 {
		t.Fatalf("sync of the forked log: exit %d, want 3 (%s)", code, errOut)
	}
	if code, _, _ := c.runCode("desk", "recover", "--channel", "wg1", "--to", "wg1b", "--home", "iryna"); code == 0 {
		t.Fatal("recover ran with the alarm not cleared")
	}
	reason := "fork of wg1 reported to the host; talks continue in wg1b"
	c.run(0, "desk", "clear-alarm", "wg1", "--reason", reason, "--home", "iryna")
	status("iryna", 0)
	var evidence string
	for _, a := range st.Alarms {
		if a.Log == "wg1" {
			if a.Cleared == nil || a.Cleared.Reason != reason || a.Cleared.Person != "Iryna Holt" || a.Cleared.Delegation != "borealia" {
				t.Fatalf("alarm not marked cleared by Iryna with the reason: %+v", a)
			}
			evidence = a.Evidence
		}
	}
	if evidence == "" {
		t.Fatalf("no alarm of wg1 in the status: %+v", st.Alarms)
	}
	if !filepath.IsAbs(evidence) {
		evidence = filepath.Join(c.dir, evidence)
	}
	if _, err := os.Stat(filepath.Join(evidence, "alarm.json")); err != nil {
		t.Fatalf("evidence not kept: %v", err)
	}
	// The doctored log is still served: the alarm comes back, and
	// 'desk recover --clear-alarm' clears it and recovers in one step.
	if code, _, _ := c.runCode("desk", "sync", "--home", "iryna"); code != 3 {
		t.Fatalf("sync after clearing: exit %d, want 3 (the fork is still served)", code)
	}

	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "wg1b", "--kind", "working-group", "--level", "expert", "--members", "arden,borealia")...)
	out := c.run(0, "desk", "recover", "--channel", "wg1", "--to", "wg1b", "--home", "iryna", "--reason", "the venue forked wg1", "--clear-alarm", reason)
	if !strings.Contains(out, "wg1 continues in wg1b") {
		t.Fatalf("recover: %s", out)
	}
	c.run(0, "desk", "sync", "--home", "iryna")
	status("iryna", 0)
	if len(st.Recovered) != 1 || st.Recovered[0].To != "wg1b" || st.Recovered[0].Size != size {
		t.Fatalf("recovered: %+v, want wg1 → wg1b carrying %d entries", st.Recovered, size)
	}

	c.syncAll("tomas")
	var r struct {
		Messages []struct {
			Kind, Note string
		}
	}
	if err := json.Unmarshal([]byte(c.run(0, "desk", "read", "wg1b", "--home", "tomas", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, m := range r.Messages {
		if m.Kind == "recovery" {
			found++
			if !strings.Contains(m.Note, "Iryna Holt (borealia) continues channel wg1 here: verified") {
				t.Fatalf("Arden's desk did not verify the recovery notice: %q", m.Note)
			}
			t.Logf("Arden's desk: %s", m.Note)
		}
	}
	if found != 1 {
		t.Fatalf("%d recovery notices in wg1b on Arden's desk, want 1: %+v", found, r.Messages)
	}
	c.run(0, "desk", "send", "wg1b", "--home", "tomas", "Shall we go on from where we were?")
	c.syncAll("iryna")
	if got := c.texts("iryna", "wg1b"); !slices.Contains(got, "Tomas Reig: Shall we go on from where we were?") {
		t.Fatalf("Borealia does not read the fresh channel: %q", got)
	}
	if got := c.texts("iryna", "wg1"); !slices.Contains(got, "Tomas Reig: Good morning.") {
		t.Fatalf("the verified history of wg1 is not readable on Borealia's desk: %q", got)
	}
	status("tomas", 0)

	// The talks go on where they were: the Protocol and Borealia's
	// position are in wg1b on both desks, nothing tabled again; Arden's
	// agreement in wg1b completes the paragraph for both.
	type talks struct {
		Texts []struct {
			ID         string
			Paragraphs []struct {
				ID, Status string
				Positions  []struct{ Party, Stance string }
			}
		}
	}
	para := func(home string) (status string, stances map[string]string) {
		t.Helper()
		var tk talks
		if err := json.Unmarshal([]byte(c.run(0, "desk", "talks", "wg1b", "--home", home, "--json")), &tk); err != nil {
			t.Fatal(err)
		}
		for _, x := range tk.Texts {
			if x.ID == "protocol" && len(x.Paragraphs) == 1 {
				stances = map[string]string{}
				for _, p := range x.Paragraphs[0].Positions {
					stances[p.Party] = p.Stance
				}
				return x.Paragraphs[0].Status, stances
			}
		}
		t.Fatalf("%s's desk: no Protocol in wg1b's talks: %+v", home, tk)
		return "", nil
	}
	for _, home := range []string{"tomas", "iryna"} {
		status(home, 0)
		if len(st.Continued) != 1 || st.Continued[0].Channel != "wg1b" || st.Continued[0].From != "wg1" || st.Continued[0].Size != size {
			t.Fatalf("%s's desk status: continued %+v, want wg1b from wg1's %d entries", home, st.Continued, size)
		}
	}
	for _, home := range []string{"tomas", "iryna"} {
		if _, st := para(home); st["borealia"] != "agree" || st["arden"] != "" {
			t.Fatalf("%s's desk: positions carried into wg1b %v, want Borealia's agree only", home, st)
		}
	}
	c.run(0, "desk", "position", "wg1b", "--home", "tomas", "--text", "protocol", "--para", "p1", "--version", "1", "--stance", "agree")
	c.syncAll("tomas", "iryna")
	for _, home := range []string{"tomas", "iryna"} {
		if status, st := para(home); status != "agreed" || st["arden"] != "agree" || st["borealia"] != "agree" {
			t.Fatalf("%s's desk: after Arden's agreement in wg1b, p1 is %s with %v", home, status, st)
		}
	}
	// Nothing more is said in the old channel, on either desk: it would
	// not be carried.
	for _, home := range []string{"tomas", "iryna"} {
		if code, _, errOut := c.runCode("desk", "send", "wg1", "--home", home, "Still here?"); code == 0 || !strings.Contains(errOut, "continue in wg1b") {
			t.Fatalf("%s's desk sent in wg1 after the recovery (exit %d): %s", home, code, errOut)
		}
	}
	// The snapshot is no source of truth: a replay from the histories of
	// both channels gives the same state.
	a := c.run(0, "desk", "talks", "wg1b", "--home", "iryna", "--json")
	b := c.run(0, "desk", "talks", "wg1b", "--home", "iryna", "--json", "--replay")
	if a != b {
		t.Fatal("Borealia's desk: the state of wg1b's talks differs from its replay")
	}

	// The desk's web interface computes the talks on its own: wg1b's
	// Protocol page shows the carried paragraph, agreed.
	link := c.startBackground("Borealia's desk web", []string{"desk", "web", "--home", "iryna", "--listen", "127.0.0.1:0"}, `open \(works once\): (\S+)`)[0]
	base, get, _ := c.signIn(link)
	page := func(u string) string {
		t.Helper()
		code, body := get(u)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, code, body)
		}
		return body
	}
	if got := page(base + "/texts/protocol?ch=wg1b"); !strings.Contains(got, "Monitors report weekly.") || !strings.Contains(got, "status-agreed") {
		t.Fatalf("the desk web's Protocol in wg1b lacks the carried, agreed paragraph:\n%s", got)
	}
	// The old channel stays readable, says where the talks went, offers
	// no message form, and its texts are gone from the menu.
	old := page(base + "/channels/wg1")
	if !strings.Contains(old, `id="continued"`) || !strings.Contains(old, `href="/channels/wg1b"`) || strings.Contains(old, `action="/channels/wg1/messages"`) {
		t.Fatalf("the desk web's page of wg1 does not say that the talks continue in wg1b, or still offers to send:\n%s", old)
	}
	if strings.Contains(old, `?ch=wg1"`) || !strings.Contains(old, `?ch=wg1b"`) {
		t.Fatalf("the desk web's menu lists the texts of wg1, or not those of wg1b:\n%s", old)
	}
	if ov := page(base + "/"); !strings.Contains(ov, "continues in wg1b") {
		t.Fatalf("the desk web's overview does not say that wg1 continues in wg1b:\n%s", ov)
	}
}

// TestBinaryRecoverFromTheWeb: the delegate whose desk raised the fork
// alarm recovers from the trust page of its web interface, as 'desk
// recover' does: the page offers the host's fresh channel of the same
// delegations (and not one of other delegations), refuses without a
// reason, and then clears the alarm with the reason, sends the notice and
// opens the fresh channel; the other party's desk verifies the notice and
// its talks carry the old channel's text.
func TestBinaryRecoverFromTheWeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	px := c.hostilePairIn("wg1", "working-group", "expert")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "table", "wg1", "--home", "tomas", "--text", "protocol", "--title", "Protocol", "--para", "Monitors report weekly.")
	c.syncAll("tomas", "iryna")
	px.Set("borealia", hv.Fork("wg1", 1, []byte("forged 1"), []byte("forged 2")))
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Arden proposes to meet at ten.")
	if code, _, errOut := c.runCode("desk", "sync", "--home", "iryna"); code != 3 {
		t.Fatalf("sync of the forked log: exit %d, want 3 (%s)", code, errOut)
	}
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "wg1b", "--kind", "working-group", "--level", "expert", "--members", "arden,borealia")...)
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "wg1x", "--kind", "working-group", "--level", "expert", "--members", "borealia")...)

	link := c.startBackground("Borealia's desk web", []string{"desk", "web", "--home", "iryna", "--listen", "127.0.0.1:0"}, `open \(works once\): (\S+)`)[0]
	base, get, post := c.signIn(link)
	post(base+"/trust/check", url.Values{}) // the venue's channel list, with wg1b, as the delegate would
	_, trust := get(base + "/trust")
	if !strings.Contains(trust, `action="/trust/recover"`) || !strings.Contains(trust, `<option value="wg1b">`) || strings.Contains(trust, `<option value="wg1x">`) {
		t.Fatalf("the trust page does not offer the recovery into wg1b (and only there):\n%s", trust)
	}
	if _, body := post(base+"/trust/recover", url.Values{"log": {"wg1"}, "to": {"wg1b"}}); !strings.Contains(body, "say why") {
		t.Fatalf("a recovery without a reason was not refused:\n%s", body)
	}
	reason := "fork of wg1 reported to the host"
	code, body := post(base+"/trust/recover", url.Values{"log": {"wg1"}, "to": {"wg1b"}, "reason": {reason}})
	if code != http.StatusOK || !strings.Contains(body, "The talks of wg1 continue in wg1b") {
		t.Fatalf("recovery from the web: %d\n%s", code, body)
	}

	c.syncAll("tomas")
	var r struct{ Messages []struct{ Kind, Note string } }
	if err := json.Unmarshal([]byte(c.run(0, "desk", "read", "wg1b", "--home", "tomas", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.Messages, func(m struct{ Kind, Note string }) bool {
		return m.Kind == "recovery" && strings.Contains(m.Note, "continues channel wg1 here: verified") && strings.Contains(m.Note, reason)
	}) {
		t.Fatalf("Arden's desk has no verified recovery notice in wg1b: %+v", r.Messages)
	}
	if x := c.talks("tomas", "wg1b").Text("protocol"); x == nil {
		t.Fatal("Arden's talks in wg1b do not carry the Protocol")
	}
}
