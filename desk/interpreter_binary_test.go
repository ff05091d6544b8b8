package desk_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
)

// TestBinaryInterpreter plays the host's interpreter in a working group
// through the real binary and venue: the host lets the interpreter's device
// use the channel, but the parties' desks add it only once both parties have
// consented; it then reads a statement sent before, posts an interpretation
// that both parties' desks show beside it, and cannot take a position; one
// party removes it, the desks take it out of the group, and it cannot read
// what is sent afterwards.
func TestBinaryInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startWorkingGroup(t)
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	aigul := c.hostInterpreter(fps, "tomas", "iryna")

	var sent struct{ Index int64 }
	json.Unmarshal([]byte(c.run(0, "desk", "send", "wg1", "--home", "tomas", "--json", "Arden proposes to meet monthly.")), &sent)
	c.run(0, append(append([]string{"host", "channel", "interpreters"}, admin...), "--id", "wg1", "--devices", aigul)...)
	c.syncAll("tomas", "iryna", "aigul")
	inGroup := func(home string) bool {
		return strings.Contains(c.run(0, "desk", "members", "wg1", "--home", home), aigul)
	}
	// The host let it in; the parties have not: it is not in the group.
	if inGroup("tomas") || inGroup("iryna") {
		t.Fatal("the interpreter is in the group without the parties' consent")
	}
	c.run(1, "desk", "interpret", "wg1", "--home", "aigul", "--entry", "1", "--lang", "ru", "…")

	c.run(0, "desk", "consent-interpreter", "wg1", "--home", "tomas", "--device", aigul)
	c.syncAll("tomas", "iryna", "aigul")
	if inGroup("tomas") {
		t.Fatal("the interpreter joined with one party's consent of two")
	}
	// A party's own device is no interpreter.
	c.run(1, "desk", "consent-interpreter", "wg1", "--home", "iryna", "--device", c.deviceOf("tomas"))
	c.run(0, "desk", "consent-interpreter", "wg1", "--home", "iryna", "--device", aigul)
	c.syncAll("tomas", "iryna", "aigul")
	c.syncAll("tomas", "iryna", "aigul")
	if !inGroup("tomas") || !inGroup("iryna") {
		t.Fatal("the interpreter is not in the group after both parties consented")
	}
	if out := c.run(0, "desk", "members", "wg1", "--home", "iryna"); !strings.Contains(out, "interpreters (not parties") || !strings.Contains(out, "Aigul Nur of caspia") {
		t.Fatalf("desk members does not list the interpreter apart:\n%s", out)
	}

	// It reads what is sent now, and interprets.
	json.Unmarshal([]byte(c.run(0, "desk", "send", "wg1", "--home", "iryna", "--json", "Borealia prefers quarterly meetings.")), &sent)
	if !slicesContain(c.texts("aigul", "wg1"), "Borealia prefers quarterly meetings.") {
		t.Fatalf("the interpreter does not read the channel: %v", c.texts("aigul", "wg1"))
	}
	// A dry run checks and shows, and posts nothing; a wrong language is
	// refused by it too.
	dry := c.run(0, "desk", "interpret", "wg1", "--home", "aigul", "--entry", itoa(int(sent.Index)), "--lang", "ru", "--dry-run", "Бореалия…")
	if !strings.Contains(dry, "nothing posted") || !strings.Contains(dry, "Borealia prefers quarterly meetings.") || !strings.Contains(dry, "into ru: Бореалия…") {
		t.Fatalf("dry run: %s", dry)
	}
	c.run(1, "desk", "interpret", "wg1", "--home", "aigul", "--entry", itoa(int(sent.Index)), "--lang", "fr", "--dry-run", "La Boréalie…")
	c.syncAll("tomas")
	for _, s := range c.talks("tomas", "wg1").Statements {
		if s.Lang != "" {
			t.Fatalf("a dry run posted an interpretation: %+v", s)
		}
	}
	c.run(0, "desk", "interpret", "wg1", "--home", "aigul", "--entry", itoa(int(sent.Index)), "--lang", "ru", "Бореалия предпочитает ежеквартальные встречи.")
	c.run(1, "desk", "interpret", "wg1", "--home", "aigul", "--entry", itoa(int(sent.Index)), "--lang", "fr", "La Boréalie…")
	c.syncAll("tomas", "iryna", "aigul")
	for _, h := range []string{"tomas", "iryna"} {
		talks := c.talks(h, "wg1")
		var interp *negotiation.Statement
		for _, s := range talks.Statements {
			if s.Lang == "ru" {
				interp = s
			}
		}
		if interp == nil || interp.Delegation != "caspia" || interp.Body != "Бореалия предпочитает ежеквартальные встречи." {
			t.Fatalf("%s: interpretation not shown: %+v", h, talks.Statements)
		}
	}
	// Not a party: a position from the interpreter's desk is refused.
	c.run(0, "desk", "table", "wg1", "--home", "tomas", "--text", "js", "--title", "Joint Statement", "--para", "The Parties will meet.")
	c.syncAll("tomas", "iryna", "aigul")
	c.run(1, "desk", "position", "wg1", "--home", "aigul", "--text", "js", "--para", "1", "--version", "1", "--stance", "agree")

	// One party ends it; the next sync takes the device out of the group.
	c.run(0, "desk", "remove-interpreter", "wg1", "--home", "iryna", "--device", aigul, "--note", "the meeting is over")
	c.syncAll("tomas", "iryna", "aigul")
	c.syncAll("tomas", "iryna")
	if inGroup("tomas") || inGroup("iryna") {
		t.Fatal("the removed interpreter is still in the group")
	}
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "After the meeting: Arden accepts quarterly.")
	c.run(0, "desk", "sync", "--home", "aigul")
	if slicesContain(c.texts("aigul", "wg1"), "After the meeting: Arden accepts quarterly.") {
		t.Fatal("the removed interpreter reads what is sent after its removal")
	}
}

// hostInterpreter accredits the host, Caspia, and enrols its interpreter
// Aigul Nur (en, ru) at home "aigul"; the parties' desks homes confirm
// Caspia's root key. It returns the interpreter's device.
func (c *cluster) hostInterpreter(fps map[string]string, homes ...string) string {
	c.t.Helper()
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	out := c.run(0, "delegation", "init", "--name", "caspia", "--key", "caspia.root")
	fps["caspia"] = c.field(out, "fingerprint")
	c.run(0, append(append([]string{"host", "accredit"}, admin...), "caspia", c.field(out, "verifier key"))...)
	c.run(0, "desk", "init", "--home", "aigul", "--delegation", "caspia", "--person", "Aigul Nur", "--role", "interpreter")
	aigul := c.deviceOf("aigul")
	c.run(0, "delegation", "certify", "--key", "caspia.root", "--device", aigul, "--person", "Aigul Nur", "--role", "interpreter",
		"--languages", "en,ru", "--out", "aigul.cert")
	c.run(0, "desk", "enroll", "--home", "aigul", "--venue", c.venueURL, "--venue-key", c.venueKey, "--cert", "aigul.cert")
	for _, p := range []string{"arden", "borealia"} {
		c.run(0, "desk", "verify-party", p, "--home", "aigul", "--fingerprint", fps[p])
	}
	for _, h := range homes {
		c.run(0, "desk", "sync", "--home", h)
		c.run(0, "desk", "verify-party", "caspia", "--home", h, "--fingerprint", fps["caspia"])
	}
	return aigul
}

// TestBinaryNewcomerWithInterpreter: a new device of Arden joins a working
// group after both parties admitted the host's interpreter. Its desk cannot
// read the consents (sent before it joined): it raises no alarm, removes no
// one, and sends nothing there; once Arden's head hands the history over,
// it reads the consents and sends. The interpreter stays in the group
// throughout.
func TestBinaryNewcomerWithInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startWorkingGroupOf(t, "ilse", "Ilse Marven", "head")
	aigul := c.hostInterpreter(fps, "ilse", "iryna")
	c.run(0, "desk", "send", "wg1", "--home", "ilse", "Arden proposes to meet monthly.")
	c.run(0, append([]string{"host", "channel", "interpreters", "--admin-file", filepath.Join("vdata", "admin.token")}, "--id", "wg1", "--devices", aigul)...)
	c.syncAll("ilse", "iryna", "aigul")
	c.run(0, "desk", "consent-interpreter", "wg1", "--home", "ilse", "--device", aigul)
	c.syncAll("ilse", "iryna", "aigul")
	c.run(0, "desk", "consent-interpreter", "wg1", "--home", "iryna", "--device", aigul)
	c.syncAll("ilse", "iryna", "aigul")
	c.syncAll("ilse", "iryna", "aigul")
	inGroup := func(home string) bool {
		return strings.Contains(c.run(0, "desk", "members", "wg1", "--home", home), aigul)
	}
	if !inGroup("ilse") {
		t.Fatal("the interpreter is not in the group after both parties consented")
	}

	nadia := c.newDesk("nadia", "arden", "Nadia Kerr", "expert")
	for _, p := range []string{"borealia", "caspia"} {
		c.run(0, "desk", "verify-party", p, "--home", "nadia", "--fingerprint", fps[p])
	}
	// Every sync succeeds: no alarm on the newcomer's desk, nor elsewhere.
	c.syncAll("nadia", "ilse", "iryna", "aigul", "nadia", "ilse", "iryna")
	if !inGroup("nadia") || !inGroup("ilse") || !inGroup("iryna") {
		t.Fatal("the interpreter left the group when the new device joined")
	}
	if out := c.runErr(1, "desk", "send", "wg1", "--home", "nadia", "Nadia says hello."); !strings.Contains(out, "hands the history over") {
		t.Fatalf("the newcomer's send, before the hand-over: %s", out)
	}
	c.run(0, "desk", "handover", "wg1", "--home", "ilse", "--to", nadia, "--all")
	c.syncAll("nadia", "ilse", "iryna")
	c.run(0, "desk", "send", "wg1", "--home", "nadia", "Nadia says hello.")
	c.syncAll("ilse", "iryna", "aigul")
	for _, h := range []string{"iryna", "aigul"} {
		if !slicesContain(c.texts(h, "wg1"), "Nadia says hello.") {
			t.Errorf("%s does not read the newcomer's message after the hand-over", h)
		}
	}
	if !inGroup("ilse") {
		t.Fatal("the interpreter left the group")
	}
}

func (c *cluster) deviceOf(home string) string {
	var st struct{ Device string }
	json.Unmarshal([]byte(c.run(0, "desk", "status", "--home", home, "--json")), &st)
	return st.Device
}

// slicesContain reports whether a message of list (as cluster.texts
// gives them, "Person: text") ends with s.
func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if strings.HasSuffix(x, s) {
			return true
		}
	}
	return false
}
