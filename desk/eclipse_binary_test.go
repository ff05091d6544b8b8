package desk_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
	hv "github.com/good-offices/goodoffices/internal/hostile"
)

// eclipseBound is the neutrality bound of the eclipse tests' desks.
const eclipseBound = 3 * time.Second

// eclipseCluster is a venue process, the hostile proxy in front of it for
// Borealia (with the venue's key, as the host has it), Arden's desk
// (tomas, direct) and Borealia's (iryna, through the proxy), both with the
// eclipse bound and, if witness, the witness of Borealia in their policy.
func eclipseCluster(t *testing.T, witness bool) (*cluster, *hv.Proxy) {
	c := startCluster(t)
	px := c.hostilePair()
	if witness {
		m := c.startBackground("witness", []string{"witness", "--listen", "127.0.0.1:0", "--data", "wdata", "--name", "witness.borealia.test", "--log-key", c.venueKey},
			`listening on (http://\S+)`, `verifier key: (\S+)`)
		url, key := m[0], m[1]
		for _, h := range []string{"tomas", "iryna"} {
			c.run(0, "desk", "witness", "add", "--home", h, url, key)
		}
	}
	for _, h := range []string{"tomas", "iryna"} {
		c.run(0, "desk", "neutrality", "--home", h, "--withholding", eclipseBound.String())
	}
	// Honest first: both talk, with pauses longer than the bound, and
	// every entry ends confirmed without an alarm (no false alarm).
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden opens the plenary")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "iryna", "Borealia answers")
	time.Sleep(eclipseBound + 500*time.Millisecond)
	c.syncAll("tomas", "iryna")
	c.syncAll("tomas", "iryna")
	for _, h := range []string{"tomas", "iryna"} {
		st := status(t, c, h)
		if len(st.Alarms) > 0 {
			t.Fatalf("false alarm on %s with an honest venue: %+v", h, st.Alarms)
		}
		for _, cf := range st.Confirmations {
			if cf.Confirmed != cf.Size {
				t.Fatalf("%s: %s not confirmed with an honest venue: %+v", h, cf.Log, cf)
			}
			if witness && cf.Cosigned[desk.WitnessMember("witness.borealia.test")] != cf.Size {
				t.Fatalf("%s: %s not cosigned by the witness: %+v", h, cf.Log, cf)
			}
		}
	}
	t.Log("honest proxy: every entry confirmed on both desks, no alarm")
	return c, px
}

type deskStatus struct {
	Alarms        []desk.Alarm        `json:"alarms"`
	Confirmations []desk.Confirmation `json:"confirmations"`
}

// status returns 'desk status --json' of home (exit 3 if an alarm halts a
// log, 0 otherwise).
func status(t *testing.T, c *cluster, home string) deskStatus {
	var st deskStatus
	code, out, stderr := c.runCode("desk", "status", "--home", home, "--json")
	if code != 0 && code != 3 {
		t.Fatalf("desk status: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func plenarySize(t *testing.T, c *cluster, home string) int64 {
	for _, cf := range status(t, c, home).Confirmations {
		if cf.Log == "plenary" {
			return cf.Size
		}
	}
	t.Fatalf("%s has no plenary", home)
	return 0
}

// eclipse has the host eclipse Borealia at its current size of the
// plenary while Arden sends and syncs (verifies, cosigns, submits).
func eclipse(t *testing.T, c *cluster, px *hv.Proxy) {
	size := plenarySize(t, c, "iryna")
	px.Set("borealia", hv.Eclipse("plenary", int(size)))
	t.Logf("attack: eclipse borealia at plenary size %d", size)
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden proposes a ceasefire line")
	c.run(0, "desk", "sync", "--home", "tomas")
}

// syncUntilAlarm runs 'desk sync' on home every 500 ms until it exits with
// an alarm of kind, and checks that it came within the bound: the first
// sync sees the cheat (or the desk appended just before it), so no sync
// that began more than the bound and a slack after the first one ended may
// pass without the alarm. The slack is what the desk does not look at on
// every sync: a fully confirmed log's cosignatures and witnesses are
// fetched again only every refetch (a quarter of the bound), so the
// witness that is ahead may first be seen up to a refetch and one sync
// later; from then on it is asked at every sync until the alarm. Measured
// in syncs (one more than the longest so far), not seconds, the check holds
// on a loaded machine too.
func syncUntilAlarm(t *testing.T, c *cluster, home, kind, what string) desk.Alarm {
	start := time.Now()
	var firstEnd, prevBegan time.Time
	var cycle time.Duration // the longest time from one sync's start to the next's
	late := 0               // syncs that began past the bound and the slack without the alarm
	limit := start.Add(4*eclipseBound + time.Minute)
	for n := 1; time.Now().Before(limit); n++ {
		began := time.Now()
		if !prevBegan.IsZero() {
			cycle = max(cycle, began.Sub(prevBegan))
		}
		prevBegan = began
		code, _, stderr := c.runCode("desk", "sync", "--home", home)
		if firstEnd.IsZero() {
			firstEnd = time.Now()
		}
		if code == 3 {
			for _, a := range status(t, c, home).Alarms {
				if a.Kind == kind && a.Log == "plenary" {
					t.Logf("detected %s after %s, at sync %d (bound %s, syncs every %s at most): %s alarm: %s",
						time.Since(start).Round(100*time.Millisecond), what, n, eclipseBound, cycle.Round(10*time.Millisecond), a.Kind, a.Detail)
					if late > 0 {
						t.Errorf("%d sync(s) began more than the bound, a refetch and a sync after the first one ended, without the alarm", late)
					}
					return a
				}
			}
		} else if code != 0 {
			t.Fatalf("desk sync exited %d: %s", code, stderr)
		}
		if began.After(firstEnd.Add(eclipseBound + eclipseBound/4 + cycle)) {
			late++
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, st, _ := c.runCode("desk", "status", "--home", home, "--json")
	t.Fatalf("UNDETECTED: no %s alarm on %s: %s", kind, home, st)
	return desk.Alarm{}
}

// TestHostileBinaryEclipseOwnAppend: the real binaries, no witness. The
// host eclipses Borealia (its view of the plenary frozen, the stale
// cosignatures it saw replayed, no mail, no events) while Arden goes on
// talking; Borealia appends, and the venue acknowledges an index beyond the
// checkpoint it keeps serving Borealia: Borealia's desk raises a stale-view
// alarm once the bound has passed, with the acknowledgement and the stale
// checkpoint as evidence.
func TestHostileBinaryEclipseOwnAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, px := eclipseCluster(t, false)
	eclipse(t, c, px)
	out := c.run(0, "desk", "send", "plenary", "--home", "iryna", "Borealia asks for the map")
	t.Logf("borealia: %s", strings.TrimSpace(out))
	a := syncUntilAlarm(t, c, "iryna", desk.AlarmStaleView, "the venue's acknowledgement")
	for _, f := range []string{"acknowledgement.json", "checkpoint"} {
		if _, err := os.Stat(filepath.Join(c.dir, a.Evidence, f)); err != nil {
			t.Errorf("evidence %s missing: %v", f, err)
		}
	}
}

// TestHostileBinaryEclipseWitness: the same eclipse, Borealia appending
// nothing, with Borealia's witness ('goodoffices witness') in both desks'
// policies: Arden's desk submits what it verifies to the witness, which
// Borealia's desk asks directly; it raises an eclipse alarm within the
// bound.
func TestHostileBinaryEclipseWitness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c, px := eclipseCluster(t, true)
	eclipse(t, c, px) // Arden's sync submits what it verifies to the witness
	syncUntilAlarm(t, c, "iryna", desk.AlarmEclipse, "Arden's submission to the witness")
	// Arden's side sees its entry pending: Borealia never cosigns it.
	st := status(t, c, "tomas")
	for _, cf := range st.Confirmations {
		if cf.Log == "plenary" && cf.Confirmed == cf.Size {
			t.Errorf("arden counts the plenary confirmed during the eclipse: %+v", cf)
		}
	}
}
