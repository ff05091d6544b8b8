package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/outcome"
)

// verifyPins are the pins of the example files in outcome/testdata, made
// with the test keys of package outcome.
func verifyPins() []string {
	var out []string
	for _, p := range []string{"arden", "borealia"} {
		seed := sha256.Sum256([]byte("goodoffices test root key " + p))
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		out = append(out, "--pin", p+"="+outcome.Fingerprint(p, pub))
	}
	return out
}

// TestVerifyBinary runs the real goodoffices binary on the example outcome
// bundle and briefing of the scenario's Joint Statement.
func TestVerifyBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "goodoffices")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/goodoffices")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bundle := "../../outcome/testdata/joint-statement.outcome.json"
	briefing := "../../outcome/testdata/joint-statement-p3.briefing.json"
	run := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	code, out, errOut := run(append(append([]string{"verify"}, verifyPins()...), bundle)...)
	if code != 0 || !strings.Contains(out, "VALID outcome") || !strings.Contains(out, "Federation of Arden (arden)") ||
		!strings.Contains(out, "PINNED") || !strings.Contains(out, "en, fr, ru") {
		t.Fatalf("bundle: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(append(append([]string{"verify", "--json"}, verifyPins()...), briefing)...)
	var r outcome.Report
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Kind != "briefing" || len(r.Disclosed) != 2 || r.Disclosed[0].Number != 3 {
		t.Fatalf("briefing --json: exit %d\n%s", code, out)
	}

	// One changed byte: alarm, exit 3.
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, bytes.Replace(data, []byte("20 km"), []byte("30 km"), 1), 0o644)
	if code, _, errOut := run(append(append([]string{"verify"}, verifyPins()...), bad)...); code != ExitAlarm || !strings.Contains(errOut, "ALARM") {
		t.Fatalf("changed bundle: exit %d, %s", code, errOut)
	}
	// A pin that does not match: alarm.
	if code, _, errOut := run("verify", "--pin", "arden=AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", "--trust-embedded-keys", bundle); code != ExitAlarm || !strings.Contains(errOut, "not the pinned one") {
		t.Fatalf("wrong pin: exit %d, %s", code, errOut)
	}
	// No pins: usage error, with advice.
	if code, _, errOut := run("verify", bundle); code != ExitUsage || !strings.Contains(errOut, "--pin") {
		t.Fatalf("no pins: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run("verify", "--help"); code != 0 || !strings.Contains(errOut, "fingerprint") {
		t.Fatalf("--help: exit %d, %s", code, errOut)
	}
}
