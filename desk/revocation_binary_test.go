package desk_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	hv "github.com/good-offices/goodoffices/internal/hostile"
)

// members returns the device IDs of a channel's group as home's desk sees
// it, and its epoch.
func (c *cluster) members(home, ch string) ([]string, uint64) {
	c.t.Helper()
	var out struct {
		Epoch   uint64
		Members []struct{ Device string }
	}
	if err := json.Unmarshal([]byte(c.run(0, "desk", "members", ch, "--home", home, "--json")), &out); err != nil {
		c.t.Fatal(err)
	}
	var ids []string
	for _, m := range out.Members {
		ids = append(ids, m.Device)
	}
	return ids, out.Epoch
}

// TestBinaryRevocation: Borealia's root revokes a stolen laptop that is in
// the working group's encrypted group. The host "forgets" the revocation
// towards Borealia's own desk (the hostile proxy serves it the revocations
// log without it); Arden's desk reads the revocations log itself, and
// within one sync the laptop is out of the group, on both desks. A message
// sent afterwards is in an epoch the laptop has no key of: its desk, which
// the venue refuses, still holds the old epoch and not the message.
func TestBinaryRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	fps := c.accreditPair("wg1", "working-group")
	c.newDesk("tomas", "arden", "Tomas Reig", "expert")
	px := c.hostileDesk("iryna", "borealia", "Iryna Holt")
	laptop := c.newDesk("laptop", "borealia", "Iryna Holt", "expert")
	c.run(0, "desk", "verify-party", "borealia", "--home", "tomas", "--fingerprint", fps["borealia"])
	for _, h := range []string{"iryna", "laptop"} {
		c.run(0, "desk", "verify-party", "arden", "--home", h, "--fingerprint", fps["arden"])
	}
	c.syncAll("tomas", "iryna", "laptop")
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Good morning.")
	c.syncAll("tomas", "iryna", "laptop")
	if ids, _ := c.members("tomas", "wg1"); !slices.Contains(ids, laptop) {
		t.Fatalf("the laptop is not in the group before its revocation: %v", ids)
	}
	if got := c.texts("laptop", "wg1"); !slices.Contains(got, "Tomas Reig: Good morning.") {
		t.Fatalf("the laptop does not read the channel before its revocation: %q", got)
	}
	_, laptopEpoch := c.members("laptop", "wg1")

	// The host forgets the revocation towards Borealia's desk.
	px.Set("borealia", hv.ForgetRevocations(0))
	out := c.run(0, "delegation", "revoke", "--key", "borealia.root", "--device", laptop, "--venue", c.venueURL)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %s", out)
	}

	// One sync of Arden's desk removes the laptop.
	c.run(0, "desk", "sync", "--home", "tomas")
	ids, epoch := c.members("tomas", "wg1")
	if slices.Contains(ids, laptop) {
		t.Fatalf("after one sync of Arden's desk the revoked laptop is still in the group (epoch %d): %v", epoch, ids)
	}
	if epoch <= laptopEpoch {
		t.Fatalf("epoch %d after the removal, the laptop has %d", epoch, laptopEpoch)
	}
	// Borealia's desk, not told of the revocation, follows the removal.
	c.run(0, "desk", "sync", "--home", "iryna")
	if ids, _ := c.members("iryna", "wg1"); slices.Contains(ids, laptop) {
		t.Fatalf("Borealia's desk still has the laptop in the group: %v", ids)
	}
	var st struct {
		Logs []struct {
			Log  string
			Size int64
		}
	}
	json.Unmarshal([]byte(c.run(0, "desk", "status", "--home", "iryna", "--json")), &st)
	for _, l := range st.Logs {
		if l.Log == "revocations" && l.Size != 0 {
			t.Fatalf("the proxy did not hide the revocation from Borealia's desk: %+v", st.Logs)
		}
	}

	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Arden proposes to meet at ten.")
	c.run(0, "desk", "sync", "--home", "iryna")
	if got := c.texts("iryna", "wg1"); !slices.Contains(got, "Tomas Reig: Arden proposes to meet at ten.") {
		t.Fatalf("Borealia's desk does not read the new message: %q", got)
	}
	code, _, errOut := c.runCode("desk", "sync", "--home", "laptop")
	if code == 0 {
		t.Errorf("the venue let the revoked laptop sync")
	}
	if got := c.texts("laptop", "wg1"); slices.Contains(got, "Tomas Reig: Arden proposes to meet at ten.") {
		t.Fatalf("the revoked laptop reads the message sent after its removal: %q", got)
	}
	if _, e := c.members("laptop", "wg1"); e != laptopEpoch {
		t.Fatalf("the laptop's group moved to epoch %d (sync: exit %d %s)", e, code, errOut)
	}
	t.Logf("laptop removed at epoch %d (it holds epoch %d); its sync: exit %d", epoch, laptopEpoch, code)
}
