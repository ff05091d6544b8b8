package deskui

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

func TestConfView(t *testing.T) {
	c := desk.Confirmation{Log: "wg1", Size: 10, Confirmed: 7, Cosigned: map[string]int64{"arden": 10, "borealia": 7}, Missing: []string{"borealia", "dalmor"}}
	v := confViewOf(c)
	if v.All || v.Pending != 3 {
		t.Fatalf("all=%v pending=%d, want false, 3", v.All, v.Pending)
	}
	want := []cosignerView{{"arden", 10, false}, {"borealia", 7, true}, {"dalmor", 0, true}}
	if len(v.Cosigners) != len(want) {
		t.Fatalf("cosigners %+v", v.Cosigners)
	}
	for i := range want {
		if v.Cosigners[i] != want[i] {
			t.Errorf("cosigner %d: %+v, want %+v", i, v.Cosigners[i], want[i])
		}
	}
	c.Confirmed, c.Cosigned["borealia"], c.Missing = 10, 10, nil
	if v := confViewOf(c); !v.All || v.Pending != 0 {
		t.Errorf("fully cosigned log: all=%v pending=%d", v.All, v.Pending)
	}
	if v := confViewOf(desk.Confirmation{Log: "empty"}); v.All {
		t.Error("an empty log shows as confirmed by all parties")
	}
}

// TestAlarmsOf checks which alarms the panel shows as holding: a halting
// alarm while its log is halted; a withholding alarm while the entry it
// names is still pending; a freeze while others are ahead.
func TestAlarmsOf(t *testing.T) {
	ev := t.TempDir()
	os.WriteFile(filepath.Join(ev, desk.ProofFile), []byte("proof"), 0o600)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	fork := desk.Alarm{Log: "wg1", Kind: desk.AlarmFork, Time: t0, Evidence: ev}
	oldFork := desk.Alarm{Log: "plenary", Kind: desk.AlarmFork, Time: t0}
	withheld := desk.Alarm{Log: "logistics", Kind: desk.AlarmWithholding, Index: 4, Time: t0.Add(time.Minute)}
	freeze := desk.Alarm{Log: "register", Kind: desk.AlarmFreeze, Index: 3, Time: t0.Add(2 * time.Minute)}
	st := &desk.Status{
		Logs:   []desk.LogState{{Log: "wg1", Alarm: &fork}, {Log: "plenary"}},
		Alarms: []desk.Alarm{oldFork, fork, withheld, freeze},
		Confirmations: []desk.Confirmation{
			{Log: "logistics", Size: 6, Confirmed: 4},
			{Log: "register", Size: 3, Confirmed: 3, Ahead: 5},
		},
	}
	got := alarmsOf(st)
	if len(got) != 4 || got[0].Kind != desk.AlarmFreeze || got[3].Log != "plenary" {
		t.Fatalf("order: %+v", got)
	}
	byLog := map[string]alarmView{}
	for _, a := range got {
		byLog[a.Log] = a
	}
	if a := byLog["wg1"]; !a.Active || !a.Halts || !a.Proof || a.N != 1 {
		t.Errorf("halting fork: %+v", a)
	}
	if a := byLog["plenary"]; a.Active || a.Proof {
		t.Errorf("cleared fork: %+v", a)
	}
	if a := byLog["logistics"]; !a.Active || a.Halts {
		t.Errorf("withholding with entry 4 pending: %+v", a)
	}
	if a := byLog["register"]; !a.Active {
		t.Errorf("freeze while others are ahead: %+v", a)
	}
	// Once entry 4 is confirmed and the log caught up, they no longer hold.
	st.Confirmations = []desk.Confirmation{{Log: "logistics", Size: 6, Confirmed: 6}, {Log: "register", Size: 5, Confirmed: 5, Ahead: 0}}
	for _, a := range alarmsOf(st) {
		if (a.Log == "logistics" || a.Log == "register") && a.Active {
			t.Errorf("%s alarm still shown as holding: %+v", a.Kind, a)
		}
	}
}

func TestSafeName(t *testing.T) {
	if got := safeName(`../wg1"; x`); got != ".._wg1___x" {
		t.Errorf("safeName: %q", got)
	}
}
