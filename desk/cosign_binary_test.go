package desk_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/desk"
)

// TestNeutralityBinary: the two-party conversation with the real binary,
// each party's desk syncing with 'desk sync': every entry of every log ends
// confirmed (cosigned by every member delegation), as 'desk status --json'
// and 'desk read --json' show.
func TestNeutralityBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	fps := map[string]string{}
	for _, del := range []string{"arden", "borealia"} {
		out := c.run(0, "delegation", "init", "--name", del, "--key", del+".root")
		fps[del] = c.field(out, "fingerprint")
		c.run(0, append(append([]string{"host", "accredit"}, admin...), del, c.field(out, "verifier key"))...)
	}
	for _, ch := range [][]string{{"plenary", "plenary", "arden,borealia"}, {"arden-internal", "delegation-internal", "arden"}} {
		c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", ch[0], "--kind", ch[1], "--level", "expert", "--members", ch[2])...)
	}
	c.newDesk("tomas", "arden", "Tomas Reig", "head")
	c.newDesk("iryna", "borealia", "Iryna Holt", "head")
	c.run(0, "desk", "verify-party", "borealia", "--home", "tomas", "--fingerprint", fps["borealia"])
	c.run(0, "desk", "verify-party", "arden", "--home", "iryna", "--fingerprint", fps["arden"])
	if out := c.run(0, "desk", "neutrality", "--home", "tomas", "--withholding", "5m"); !strings.Contains(out, "5m0s") {
		t.Fatalf("desk neutrality: %s", out)
	}
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden opens the plenary")
	c.run(0, "desk", "send", "arden-internal", "--home", "tomas", "hold firm")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "iryna", "Borealia answers")
	c.syncAll("tomas", "iryna")
	c.syncAll("tomas", "iryna")

	for _, h := range []string{"tomas", "iryna"} {
		var st struct {
			Confirmations []desk.Confirmation `json:"confirmations"`
		}
		if err := json.Unmarshal([]byte(c.run(0, "desk", "status", "--home", h, "--json")), &st); err != nil {
			t.Fatal(err)
		}
		want := 2
		if h == "tomas" {
			want = 3
		}
		if len(st.Confirmations) != want {
			t.Errorf("%s: confirmations of %d logs, want %d: %+v", h, len(st.Confirmations), want, st.Confirmations)
		}
		for _, cf := range st.Confirmations {
			if cf.Size == 0 || cf.Confirmed != cf.Size {
				t.Errorf("%s: %s not all confirmed: %+v", h, cf.Log, cf)
			}
		}
		var r struct {
			Messages []struct {
				Index     int64  `json:"index"`
				Kind      string `json:"kind"`
				Confirmed bool   `json:"confirmed"`
			} `json:"messages"`
		}
		if err := json.Unmarshal([]byte(c.run(0, "desk", "read", "plenary", "--home", h, "--json")), &r); err != nil {
			t.Fatal(err)
		}
		apps := 0
		for _, m := range r.Messages {
			if !m.Confirmed {
				t.Errorf("%s: plenary entry %d (%s) pending", h, m.Index, m.Kind)
			}
			if m.Kind == "application" {
				apps++
			}
		}
		if apps != 2 {
			t.Errorf("%s reads %d messages in the plenary", h, apps)
		}
		out := c.run(0, "desk", "status", "--home", h)
		if !strings.Contains(out, "CONFIRMED") {
			t.Errorf("%s: status does not show confirmation:\n%s", h, out)
		}
		t.Logf("%s status:\n%s", h, out)
	}
}
