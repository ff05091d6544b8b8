package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// deskBenchLine is the form issue 14 asked for, exactly.
var deskBenchLine = regexp.MustCompile(`^history (\d+): read-last-page \d+\.\d ms, talks \d+\.\d ms, search \d+\.\d ms, sync \d+ entries/s$`)

// TestBenchDesk runs 'bench desk' on small histories against a real venue
// (in this process, over HTTP on loopback) and two real desks: one line
// per size, in the promised form, at the sizes asked.
func TestBenchDesk(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main(t.Context(), []string{"bench", "desk", "--history", "30,80", "--samples", "3", "--in-process"}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got:\n%s", out.String())
	}
	for i, want := range []string{"30", "80"} {
		m := deskBenchLine.FindStringSubmatch(lines[i])
		if m == nil || m[1] != want {
			t.Fatalf("line %d is not in the promised form: %q", i, lines[i])
		}
	}
	if !strings.Contains(errOut.String(), "details: fill") {
		t.Fatalf("no details on stderr:\n%s", errOut.String())
	}
}

// TestDeskSearchRefusesBadQueries: 'desk search' refuses what it cannot run
// before it opens the desk.
func TestDeskSearchRefusesBadQueries(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--kind", "gossip", "ceasefire"},
		{"--from", "October", "ceasefire"},
		{"--limit", "0", "ceasefire"},
	} {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), append([]string{"desk", "search", "--home", t.TempDir()}, args...), &out, &errOut)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want usage error\n%s", args, code, errOut.String())
		}
	}
}
