package desk_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/desk"
	hv "github.com/good-offices/goodoffices/internal/hostile"
	"github.com/good-offices/goodoffices/mls"
)

// TestHostileBinaryKeyPackageSubstituted: the real binaries, Arden's desk
// behind the hostile proxy. When Arden opens the working group, the venue
// answers the claim for Borealia's device's key package with one the host
// made (Borealia's certificate, another signature key). 'desk send' exits
// with the key-package alarm and sends nothing: the channel's log stays
// empty, so no statement exists that Borealia could never read. Once the
// venue is honest again, the channel opens with both devices and Borealia
// reads what Arden sends.
func TestHostileBinaryKeyPackageSubstituted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	fps := c.accreditPair("wg1", "working-group")
	px := c.hostileDesk("tomas", "arden", "Tomas Reig")
	iryna := c.newDesk("iryna", "borealia", "Iryna Holt", "expert")
	c.run(0, "desk", "verify-party", "borealia", "--home", "tomas", "--fingerprint", fps["borealia"])
	c.run(0, "desk", "verify-party", "arden", "--home", "iryna", "--fingerprint", fps["arden"])
	c.run(0, "desk", "sync", "--home", "iryna")

	cert, err := os.ReadFile(filepath.Join(c.dir, "iryna.cert"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := mls.NewIdentity(desk.DefaultSuite, mls.BasicCredential(cert))
	if err != nil {
		t.Fatal(err)
	}
	rogue, _, err := mls.NewKeyPackage(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	px.Set("arden", hv.SubstituteKeyPackage(iryna, rogue.Bytes()))
	code, out, stderr := c.runCode("desk", "send", "wg1", "--home", "tomas", "Arden opens the working group.")
	if code == 0 || strings.Contains(out, "sent to") {
		t.Fatalf("send with a substituted key package: exit %d, %q", code, out)
	}
	if !strings.Contains(stderr, desk.AlarmKeyPackage) && !strings.Contains(stderr, "key package") {
		t.Errorf("send's error does not name the key package: %q", stderr)
	}
	found := false
	for _, a := range status(t, c, "tomas").Alarms {
		if a.Kind == desk.AlarmKeyPackage && strings.Contains(a.Detail, iryna) && a.Evidence != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no key-package alarm with evidence on Arden's desk")
	}
	// Nothing reached the channel's log.
	c.run(0, "desk", "sync", "--home", "iryna")
	for _, cf := range status(t, c, "iryna").Confirmations {
		if cf.Log == "wg1" && cf.Size != 0 {
			t.Fatalf("wg1 holds %d entries after the refused send", cf.Size)
		}
	}
	t.Logf("substituted key package: exit %d, %s", code, strings.TrimSpace(stderr))

	px.Set("arden", nil)
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Arden opens the working group.")
	c.run(0, "desk", "sync", "--home", "iryna")
	if got := strings.Join(c.texts("iryna", "wg1"), "|"); !strings.Contains(got, "Arden opens the working group.") {
		t.Fatalf("Borealia reads %q", got)
	}
}
