package desk_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryPackage plays the end of the scenario with the real binary and
// a real venue: a Joint Statement and a Protocol, each with a French
// version confirmed concordant by both parties, adopted together as one
// package (refused while the Protocol is open), signed once by each root
// key, exported with the venue's evidence and verified offline; a bundle
// with any byte changed is refused.
func TestBinaryPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, fps := startWorkingGroup(t)

	c.run(0, "desk", "table", "wg1", "--home", "tomas", "--text", "js", "--title", "Joint Statement",
		"--para", "The Parties agree to a complete ceasefire.", "--para", "The Parties will meet again.")
	c.run(0, "desk", "table", "wg1", "--home", "iryna", "--text", "protocol", "--title", "Protocol on the ceasefire line",
		"--para", "Monitors report [weekly] [monthly].")
	c.syncAll("tomas", "iryna")
	langs := map[string]string{
		"js.fr.json":       `[{"lang":"fr","title":"Déclaration commune","paragraphs":["Les Parties conviennent d'un cessez-le-feu complet.","Les Parties se réuniront à nouveau."]}]`,
		"protocol.fr.json": `[{"lang":"fr","title":"Protocole sur la ligne de cessez-le-feu","paragraphs":["Les observateurs font rapport chaque semaine."]}]`,
	}
	for name, data := range langs {
		if err := os.WriteFile(filepath.Join(c.dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"tomas", "iryna"} {
		c.run(0, "desk", "position", "wg1", "--home", h, "--text", "js", "--para", "1", "--version", "1", "--stance", "agree")
		c.run(0, "desk", "position", "wg1", "--home", h, "--text", "js", "--para", "2", "--version", "1", "--stance", "agree")
	}
	c.run(0, "desk", "translate", "wg1", "--home", "tomas", "--text", "js", "--languages", "js.fr.json")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "concord", "wg1", "--home", "iryna", "--text", "js", "--lang", "fr")
	c.syncAll("tomas", "iryna")
	// The Protocol is still bracketed: the package is refused, nothing sent.
	c.run(1, "desk", "adopt-package", "wg1", "--home", "tomas", "--package", "caspia", "--title", "Caspia package", "--text", "js", "--text", "protocol")

	c.run(0, "desk", "propose", "wg1", "--home", "tomas", "--text", "protocol", "--para", "1", "--base", "1", "--op", "remove_brackets", "--path", "1", "--option", "0")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "respond", "wg1", "--home", "iryna", "--proposal", "A1", "--response", "accept")
	c.syncAll("tomas", "iryna")
	for _, h := range []string{"tomas", "iryna"} {
		c.run(0, "desk", "position", "wg1", "--home", h, "--text", "protocol", "--para", "1", "--version", "2", "--stance", "agree")
	}
	c.run(0, "desk", "translate", "wg1", "--home", "iryna", "--text", "protocol", "--languages", "protocol.fr.json")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "concord", "wg1", "--home", "tomas", "--text", "protocol", "--lang", "fr")
	c.syncAll("tomas", "iryna")

	var adopt struct{ Digest string }
	if err := json.Unmarshal([]byte(c.run(0, "desk", "adopt-package", "wg1", "--home", "tomas", "--package", "caspia", "--title", "Caspia package",
		"--text", "js", "--text", "protocol", "--json")), &adopt); err != nil || len(adopt.Digest) != 64 {
		t.Fatalf("adopt-package --json: %v %+v", err, adopt)
	}
	c.syncAll("tomas", "iryna")
	for _, x := range [][3]string{{"tomas", "arden", "js"}, {"iryna", "borealia", "protocol"}} {
		var req struct{ File, Digest string }
		json.Unmarshal([]byte(c.run(0, "desk", "signing-request", "wg1", "--home", x[0], "--text", x[2], "--out", x[1]+".req.json", "--json")), &req)
		if req.Digest != adopt.Digest {
			t.Fatalf("signing request of %s: digest %s, want the package's %s", x[2], req.Digest, adopt.Digest)
		}
		out := c.run(0, "delegation", "sign-outcome", "--key", x[1]+".root", "--dry-run", req.File)
		if !strings.Contains(out, `package "Caspia package" (caspia) of 2 documents`) || !strings.Contains(out, "Protocole sur la ligne de cessez-le-feu") {
			t.Fatalf("sign-outcome shows:\n%s", out)
		}
		var sig struct {
			SignatureFile string `json:"signature_file"`
		}
		json.Unmarshal([]byte(c.run(0, "delegation", "sign-outcome", "--key", x[1]+".root", "--json", req.File)), &sig)
		c.run(0, "desk", "post-signature", sig.SignatureFile, "--home", x[0])
		c.syncAll("tomas", "iryna")
	}
	c.run(0, "desk", "export-outcome", "wg1", "--home", "iryna", "--text", "protocol", "--out", "package.json")
	pins := []string{"verify", "--pin", "arden=" + fps["arden"], "--pin", "borealia=" + fps["borealia"], "--venue-key", c.venueKey}
	out := c.run(0, append(pins, "--require-evidence", "package.json")...)
	for _, want := range []string{"VALID package of 2 documents", `text "js" (version 1)`, `text "protocol" (version 2)`, "en, fr", "the signature of borealia"} {
		if !strings.Contains(out, want) {
			t.Fatalf("verify lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(filepath.Join(c.dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), "Les observateurs")
	data[i] = 'l'
	if err := os.WriteFile(filepath.Join(c.dir, "changed.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(3, append(pins, "changed.json")...)
}
