package desk_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
)

// TestBinaryReferral plays an escalation from the expert level to the
// ministerial level through the real binary and a real venue: a text with
// one paragraph agreed and one blocked (bracketed, Borealia objecting, with
// its reason) is referred by both parties in the expert working group and
// taken up in a ministerial channel, where every desk checks the evidence
// (the referral messages with their inclusion proofs) and carries the
// positions over; a take-up with one byte of its evidence changed, sent by
// a desk that skips the dry run, is refused by the other desk's engine; a
// party reopens the agreed paragraph with its reason.
func TestBinaryReferral(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startWorkingGroup(t)
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "min1", "--kind", "plenary", "--level", "ministerial", "--members", "arden,borealia")...)
	// Arden's head, for the readiness gate of a ministerial meeting in min1.
	c.newDesk("ilse", "arden", "Ilse Marven", "head")
	c.run(0, "desk", "verify-party", "borealia", "--home", "ilse", "--fingerprint", fps["borealia"])
	c.syncAll("tomas", "iryna", "ilse")
	c.syncAll("tomas", "iryna", "ilse")
	c.run(0, append(append([]string{"host", "rooms", "add"}, admin...), "Hall of Independence", "--capacity", "40", "--booths", "en,ru")...)
	out := c.run(0, append(append([]string{"host", "meetings", "propose"}, admin...), "--title", "Ministerial meeting", "--talks", "caspia-talks",
		"--channel", "min1", "--level", "ministerial", "--room", "Hall of Independence", "--start", "2027-01-12T10:00", "--end", "2027-01-12T13:00",
		"--languages", "en,ru", "--delegations", "arden,borealia", "--headcount", "20")...)
	meeting := regexp.MustCompile(`\b(m[0-9a-z-]+)\b`).FindString(out)
	if meeting == "" {
		t.Fatalf("no meeting ID in:\n%s", out)
	}

	c.run(0, "desk", "table", "wg1", "--home", "tomas", "--text", "js", "--title", "Joint Statement",
		"--para", "The Parties agree to a complete ceasefire.", "--para", "Monitors report [weekly] [monthly].")
	c.syncAll("tomas", "iryna")
	for _, h := range []string{"tomas", "iryna"} {
		c.run(0, "desk", "position", "wg1", "--home", h, "--text", "js", "--para", "1", "--version", "1", "--stance", "agree")
	}
	c.run(0, "desk", "position", "wg1", "--home", "iryna", "--text", "js", "--para", "2", "--version", "1", "--stance", "object", "--note", "weekly reports are too frequent")
	c.syncAll("tomas", "iryna")

	// Refused before anything is sent: a lower level, and a take-up before
	// every party has referred.
	if out := c.runErr(1, "desk", "refer", "wg1", "--home", "iryna", "--text", "js", "--to", "expert"); !strings.Contains(out, "refer it to a higher one") {
		t.Fatalf("refer to the same level: %s", out)
	}
	// Summits are prepared at a lower level: nothing taken up yet.
	if out := c.runErr(1, "desk", "ready", meeting, "--home", "ilse"); !strings.Contains(out, "nothing has been prepared at a lower level") {
		t.Fatalf("readiness for an unprepared ministerial meeting: %s", out)
	}
	c.run(0, "desk", "refer", "wg1", "--home", "tomas", "--text", "js", "--to", "ministerial")
	c.syncAll("tomas", "iryna")
	if out := c.runErr(1, "desk", "take-up", "min1", "--home", "tomas", "--from", "wg1", "--text", "js"); !strings.Contains(out, "not been referred by every party") {
		t.Fatalf("take-up before every party referred: %s", out)
	}
	c.run(0, "desk", "refer", "wg1", "--home", "iryna", "--text", "js", "--to", "ministerial")
	c.syncAll("tomas", "iryna")
	lower := c.talks("iryna", "wg1")
	if x := lower.Text("js"); x.Status != negotiation.TextReferred {
		t.Fatalf("text in wg1 is %s after both referrals", x.Status)
	}

	// A desk that skips the dry run sends a take-up with one byte of the
	// evidence changed: every engine refuses it.
	d, err := desk.Open(t.Context(), filepath.Join(c.dir, "tomas"), []byte("desk secret"), desk.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := d.TakeUpEvidence(t.Context(), "wg1", "", "js")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(ev), `"data":"`) + len(`"data":"`) + 40
	ev[i] ^= 'A' ^ 'B'
	if ev[i] == '"' || ev[i] == '\\' {
		ev[i] = 'C'
	}
	if _, err := d.Send(t.Context(), "min1", negotiation.NewTakeUp("forged", ev)); err != nil {
		t.Fatal(err)
	}
	d.Close()

	c.run(0, "desk", "take-up", "min1", "--home", "tomas", "--from", "wg1", "--text", "js")
	c.syncAll("tomas", "iryna")
	for _, h := range []string{"tomas", "iryna"} {
		st := c.talks(h, "min1")
		if st.Text("forged") != nil {
			t.Fatalf("%s: a take-up with altered evidence was applied", h)
		}
		refused := false
		for _, r := range st.Log {
			refused = refused || r.Type == negotiation.TypeTakeUp && r.Result == negotiation.ResultRejected && strings.Contains(r.Reason, "does not verify")
		}
		if !refused {
			t.Fatalf("%s: the altered take-up is not recorded as refused: %+v", h, st.Log)
		}
		x := st.Text("js")
		if x == nil || x.Level != negotiation.LevelMinisterial || x.Origin == nil || x.Origin.Channel != "wg1" {
			t.Fatalf("%s: text not taken up: %+v", h, x)
		}
		if x.Paragraph("p1").Status != negotiation.ParaAgreed || x.Paragraph("p2").Status != negotiation.ParaObjected {
			t.Fatalf("%s: carried statuses p1 %s p2 %s", h, x.Paragraph("p1").Status, x.Paragraph("p2").Status)
		}
		blocked := false
		for _, b := range x.Package.Blocks {
			blocked = blocked || b.Para == "p2" && b.Party == "borealia" && b.Reason == "object"
		}
		note := ""
		for _, p := range x.Paragraph("p2").Positions {
			if p.Party == "borealia" {
				note = p.Note
			}
		}
		if !blocked || note != "weekly reports are too frequent" {
			t.Fatalf("%s: p2 should stay blocked by borealia's objection with its reason: blocks %+v note %q", h, x.Package.Blocks, note)
		}
	}

	c.syncAll("ilse")
	c.run(0, "desk", "ready", meeting, "--home", "ilse")

	// Borealia reopens what the experts agreed; the reason is recorded.
	c.run(0, "desk", "reopen", "min1", "--home", "iryna", "--text", "js", "--para", "1", "--note", "the ministers want a date")
	c.syncAll("tomas", "iryna")
	x := c.talks("tomas", "min1").Text("js")
	if x.Paragraph("p1").Status == negotiation.ParaAgreed || len(x.Origin.Reopened) != 1 || x.Origin.Reopened[0].Note != "the ministers want a date" {
		t.Fatalf("after reopening: p1 %s, reopened %+v", x.Paragraph("p1").Status, x.Origin.Reopened)
	}
}

// talks returns a desk's state of the talks in a channel (desk talks --json).
func (c *cluster) talks(home, ch string) *negotiation.State {
	c.t.Helper()
	var st negotiation.State
	if err := json.Unmarshal([]byte(c.run(0, "desk", "talks", ch, "--home", home, "--json")), &st); err != nil {
		c.t.Fatalf("desk talks --json: %v", err)
	}
	return &st
}
