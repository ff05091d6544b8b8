package desk_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryMembershipByTheParties: the host edits its member list of a
// channel to drop Borealia, whose device is still in the channel's
// encrypted group. Arden's desk keeps counting Borealia among those who
// must confirm (the group the parties agreed decides, not the venue's
// list): an entry Arden sends afterwards is not "confirmed by every party"
// until Borealia cosigns it, and Arden's desk raises a membership alarm.
// Nor can Arden's desk move the talks, by a recovery, into a fresh channel
// the host created without Borealia.
func TestBinaryMembershipByTheParties(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, _ := startWorkingGroup(t)
	c.run(0, "desk", "send", "wg1", "--home", "tomas", "Good morning.")
	c.syncAll("tomas", "iryna")
	if out := c.run(0, "desk", "members", "wg1", "--home", "tomas"); !strings.Contains(out, "borealia") {
		t.Fatalf("Borealia is not in the group:\n%s", out)
	}

	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	c.run(0, append(append([]string{"host", "channel", "members"}, admin...), "--id", "wg1", "--members", "arden")...)
	code, _, errOut := c.runCode("desk", "send", "wg1", "--home", "tomas", "Arden proposes to meet at ten.")
	t.Logf("send after the venue's change: exit %d, %s", code, errOut)
	if code, _, syncErr := c.runCode("desk", "sync", "--home", "tomas"); code != 3 || !strings.Contains(syncErr, "ALARM: log wg1: membership") {
		t.Errorf("sync after the venue's change: exit %d, %s", code, syncErr)
	}

	var st struct {
		Alarms        []struct{ Log, Kind, Detail string }
		Confirmations []struct {
			Log             string
			Size, Confirmed int64
			Missing         []string
		}
	}
	raw := c.run(0, "desk", "status", "--home", "tomas", "--json")
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	for _, cf := range st.Confirmations {
		if cf.Log == "wg1" && (cf.Confirmed >= cf.Size || strings.Join(cf.Missing, ",") != "borealia") {
			t.Errorf("wg1 confirmed %d of %d, missing %v: Arden's last entry counts as confirmed without Borealia", cf.Confirmed, cf.Size, cf.Missing)
		}
	}
	found := false
	for _, a := range st.Alarms {
		if a.Log == "wg1" && a.Kind == "membership" && strings.Contains(a.Detail, "omits borealia") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no membership alarm on Arden's desk (send stderr %q):\n%s", errOut, raw)
	}

	// Nor does the host's list take the talks elsewhere without Borealia:
	// a fresh channel of Arden alone is not the same parties as wg1, whose
	// group holds Borealia, whatever the venue's list of wg1 now says.
	c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", "wg1x", "--kind", "working-group", "--level", "expert", "--members", "arden")...)
	code, _, errOut = c.runCode("desk", "recover", "--channel", "wg1", "--to", "wg1x", "--home", "tomas", "--reason", "test")
	if code == 0 || !strings.Contains(errOut, "not those of wg1 (arden,borealia)") {
		t.Fatalf("recover into a channel without Borealia: exit %d, %s", code, errOut)
	}
	if out := c.run(0, "desk", "status", "--home", "tomas"); strings.Contains(out, "continues in wg1x") {
		t.Errorf("Arden's desk recorded a recovery it refused:\n%s", out)
	}
}
