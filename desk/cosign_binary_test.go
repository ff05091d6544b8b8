package desk_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/desk"
	hv "github.com/good-offices/goodoffices/internal/hostile"
	"github.com/good-offices/goodoffices/venue"
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
	fps := c.accreditPair("plenary", "plenary")
	c.run(0, "host", "channel", "create", "--admin-file", filepath.Join("vdata", "admin.token"), "--id", "arden-internal", "--kind", "delegation-internal", "--level", "expert", "--members", "arden")
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
		// register, plenary and revocations (and Arden's internal channel)
		want := 3
		if h == "tomas" {
			want = 4
		}
		if len(st.Confirmations) != want {
			t.Errorf("%s: confirmations of %d logs, want %d: %+v", h, len(st.Confirmations), want, st.Confirmations)
		}
		for _, cf := range st.Confirmations {
			if cf.Log == "revocations" && cf.Size == 0 {
				continue // nobody revoked: nothing to confirm
			}
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

// TestHostileBinaryForkProof: the whole chain with the real binary. A venue
// process; the host puts the hostile proxy (with the venue's key, read from
// its data directory) between it and Borealia's desk and shows Borealia
// another history. 'desk sync' exits with an alarm and exports a proof;
// 'goodoffices verify --venue-key' checks the proof offline.
func TestHostileBinaryForkProof(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	px := c.hostilePair()
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden opens the plenary")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden proposes a ceasefire line")
	c.run(0, "desk", "sync", "--home", "tomas") // Arden cosigns the real history

	// The host shows Borealia a history where Arden's last message is another.
	px.Set("borealia", &hv.Attack{Name: "fork", Log: "plenary", View: func(es [][]byte) [][]byte {
		es[len(es)-1] = append([]byte(nil), es[len(es)-1]...)
		es[len(es)-1][len(es[len(es)-1])-1] ^= 1
		return es
	}})
	c.run(3, "desk", "sync", "--home", "iryna")
	var st struct {
		Alarms []desk.Alarm `json:"alarms"`
	}
	json.Unmarshal([]byte(c.run(3, "desk", "status", "--home", "iryna", "--json")), &st)
	var proofFile string
	for _, a := range st.Alarms {
		if a.Kind == desk.AlarmFork && a.Log == "plenary" {
			proofFile = filepath.Join(a.Evidence, desk.ProofFile)
			t.Logf("detected: %s alarm: %s", a.Kind, a.Detail)
		}
	}
	if proofFile == "" {
		t.Fatalf("no fork alarm: %+v", st.Alarms)
	}
	out := c.run(0, "verify", "--venue-key", c.venueKey, proofFile)
	if !strings.Contains(out, "PROOF OF MISBEHAVIOUR") || !strings.Contains(out, "PINNED") {
		t.Fatalf("verify:\n%s", out)
	}
	t.Logf("goodoffices verify:\n%s", out)
}

// hostilePair accredits Arden and Borealia with a plenary of both, and
// creates Arden's desk (tomas, direct to the venue) and Borealia's (iryna,
// through the hostile proxy it returns); each confirms the other's
// fingerprint.
func (c *cluster) hostilePair() *hv.Proxy {
	return c.hostilePairIn("plenary", "plenary", "head")
}

// hostilePairIn is hostilePair with channel ch of kind, and Arden's
// delegate in role.
func (c *cluster) hostilePairIn(ch, kind, role string) *hv.Proxy {
	fps := c.accreditPair(ch, kind)
	c.newDesk("tomas", "arden", "Tomas Reig", role)
	px := c.hostileDesk("iryna", "borealia", "Iryna Holt")
	c.run(0, "desk", "verify-party", "borealia", "--home", "tomas", "--fingerprint", fps["borealia"])
	c.run(0, "desk", "verify-party", "arden", "--home", "iryna", "--fingerprint", fps["arden"])
	return px
}

// hostileDesk creates, certifies and enrols a desk of del that talks to
// the venue through the hostile proxy (holding the venue's key, read from
// its data directory, as the host has it), honest until told otherwise;
// the proxy's audience is del.
func (c *cluster) hostileDesk(home, del, person string) *hv.Proxy {
	t := c.t
	skey, err := os.ReadFile(filepath.Join(c.dir, "vdata", venue.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	px := hv.New(c.venueURL, signer)
	front := httptest.NewServer(px.Handler(del))
	t.Cleanup(func() {
		front.CloseClientConnections()
		front.Close()
	})
	c.run(0, "desk", "init", "--home", home, "--delegation", del, "--person", person, "--role", "head")
	var s struct{ Device string }
	json.Unmarshal([]byte(c.run(0, "desk", "status", "--home", home, "--json")), &s)
	c.run(0, "delegation", "certify", "--key", del+".root", "--device", s.Device, "--person", person, "--role", "head", "--level", "expert", "--out", home+".cert")
	c.run(0, "desk", "enroll", "--home", home, "--venue", front.URL, "--venue-key", c.venueKey, "--cert", home+".cert")
	return px
}
