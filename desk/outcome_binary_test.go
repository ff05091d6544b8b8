package desk_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryOutcome drives adoption, offline signing, export, briefing and
// rendering through the real binary's commands, each with --json, against
// a real venue process.
func TestBinaryOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startWorkingGroup(t)

	c.run(0, "desk", "table", "wg1", "--home", "tomas", "--json", "--text", "js", "--title", "Joint Statement",
		"--para", "The Parties agree to a [complete] [partial] ceasefire.", "--para", "The Parties will meet again.")
	c.syncAll("tomas", "iryna")
	// Nothing is adopted before it is agreed.
	c.run(1, "desk", "adopt", "wg1", "--home", "tomas", "--text", "js")
	c.run(0, "desk", "propose", "wg1", "--home", "iryna", "--text", "js", "--para", "p1", "--base", "1", "--op", "remove_brackets", "--path", "1", "--option", "0")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "respond", "wg1", "--home", "tomas", "--proposal", "A1", "--response", "accept")
	c.syncAll("tomas", "iryna")
	for _, h := range []string{"tomas", "iryna"} {
		c.run(0, "desk", "position", "wg1", "--home", h, "--text", "js", "--para", "p1", "--version", "2", "--stance", "agree")
		c.run(0, "desk", "position", "wg1", "--home", h, "--text", "js", "--para", "p2", "--version", "1", "--stance", "agree")
	}
	c.syncAll("tomas", "iryna")
	if err := os.WriteFile(filepath.Join(c.dir, "fr.json"), []byte(`[{"lang":"fr","title":"Déclaration commune","paragraphs":["Les Parties conviennent d'un cessez-le-feu complet.","Les Parties se réuniront à nouveau."]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	var adopt struct {
		Index  int64
		Digest string
	}
	// The French version concords first: Arden submits it, Borealia confirms.
	c.run(0, "desk", "translate", "wg1", "--home", "tomas", "--text", "js", "--languages", "fr.json")
	c.syncAll("tomas", "iryna")
	c.run(1, "desk", "adopt", "wg1", "--home", "tomas", "--text", "js", "--lang", "fr")
	if out := c.run(0, "desk", "concordance", "wg1", "--home", "iryna", "--text", "js"); !strings.Contains(out, "pending, waiting for borealia") {
		t.Fatalf("desk concordance before Borealia confirms:\n%s", out)
	}
	c.run(0, "desk", "concord", "wg1", "--home", "iryna", "--text", "js", "--lang", "fr")
	c.syncAll("tomas", "iryna")
	if out := c.run(0, "desk", "concordance", "wg1", "--home", "tomas", "--text", "js"); !strings.Contains(out, "concordant, ready for adoption: fr") {
		t.Fatalf("desk concordance after both confirmed:\n%s", out)
	}
	if err := json.Unmarshal([]byte(c.run(0, "desk", "adopt", "wg1", "--home", "tomas", "--text", "js", "--lang", "fr", "--json")), &adopt); err != nil || len(adopt.Digest) != 64 {
		t.Fatalf("adopt --json: %v %+v", err, adopt)
	}
	c.syncAll("tomas", "iryna")
	// Each head: signing request out, signature made offline, posted back.
	for _, x := range [][2]string{{"tomas", "arden"}, {"iryna", "borealia"}} {
		var req struct{ File, Digest string }
		json.Unmarshal([]byte(c.run(0, "desk", "signing-request", "wg1", "--home", x[0], "--text", "js", "--out", x[1]+".req.json", "--json")), &req)
		if req.Digest != adopt.Digest || req.File != x[1]+".req.json" {
			t.Fatalf("signing-request --json: %+v", req)
		}
		var sig struct {
			SignatureFile string `json:"signature_file"`
		}
		json.Unmarshal([]byte(c.run(0, "delegation", "sign-outcome", "--key", x[1]+".root", "--json", req.File)), &sig)
		if sig.SignatureFile == "" {
			t.Fatal("sign-outcome --json names no file")
		}
		// The other desk cannot post it for its own delegation.
		other := map[string]string{"tomas": "iryna", "iryna": "tomas"}[x[0]]
		c.run(1, "desk", "post-signature", sig.SignatureFile, "--home", other)
		var post struct{ Party string }
		json.Unmarshal([]byte(c.run(0, "desk", "post-signature", sig.SignatureFile, "--home", x[0], "--json")), &post)
		if post.Party != x[1] {
			t.Fatalf("post-signature --json: %+v", post)
		}
		c.syncAll("tomas", "iryna")
	}
	var exp struct {
		File       string
		Signatures int
	}
	json.Unmarshal([]byte(c.run(0, "desk", "export-outcome", "wg1", "--home", "iryna", "--text", "js", "--out", "js.outcome.json", "--pdf", "js.pdf", "--json")), &exp)
	if exp.Signatures != 2 {
		t.Fatalf("export-outcome --json: %+v", exp)
	}
	pins := []string{"verify", "--pin", "arden=" + fps["arden"], "--pin", "borealia=" + fps["borealia"], "--venue-key", c.venueKey}
	out := c.run(0, append(pins, "--require-evidence", "js.outcome.json")...)
	if !strings.Contains(out, "VALID outcome") || !strings.Contains(out, "en, fr") || !strings.Contains(out, "the signature of borealia") {
		t.Fatalf("verify:\n%s", out)
	}
	if pdf, err := os.ReadFile(filepath.Join(c.dir, "js.pdf")); err != nil || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("outcome PDF: %v", err)
	}
	// A briefing on paragraph 1's history: the proposal, its answer and
	// the positions; verify decrypts and checks each.
	var br struct{ Entries []int64 }
	json.Unmarshal([]byte(c.run(0, "desk", "brief", "wg1", "--home", "tomas", "--text", "js", "--para", "p1", "--out", "p1.briefing.json", "--json")), &br)
	if len(br.Entries) != 4 {
		t.Fatalf("brief --json: %+v", br)
	}
	out = c.run(0, append(pins, "p1.briefing.json")...)
	if !strings.Contains(out, "VALID channel briefing: 4 messages") || strings.Contains(out, "p2") {
		t.Fatalf("verify briefing:\n%s", out)
	}
	c.run(0, "desk", "brief-outcome", "wg1", "--home", "tomas", "--text", "js", "--ref", "fr:1", "--out", "fr1.json", "--json")
	if out := c.run(0, append(pins, "fr1.json")...); !strings.Contains(out, "cessez-le-feu") {
		t.Fatalf("verify outcome briefing:\n%s", out)
	}
	c.run(0, "desk", "render", "wg1", "--home", "iryna", "--text", "js", "--out", "js-text.pdf", "--json")
	c.run(2, "desk", "brief", "wg1", "--home", "tomas")
}
