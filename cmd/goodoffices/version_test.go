package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionNamesTheRevision builds the binary as a user does, from a
// clone (go build stamps the VCS state; it does not in a linked worktree,
// whose .git is a file) and checks that 'goodoffices version' names the
// commit it was built from (runtime/debug.ReadBuildInfo).
func TestVersionNamesTheRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("clones the repository and builds the binary")
	}
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "src")
	if out, err := exec.Command("git", "clone", "--quiet", "--shared", strings.TrimSpace(string(root)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	head, err := exec.Command("git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "goodoffices")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/goodoffices")
	build.Dir = clone
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("goodoffices version: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "goodoffices ") || !strings.HasPrefix(lines[2], "go1.") {
		t.Fatalf("goodoffices version says:\n%s", out)
	}
	if want := "revision " + strings.TrimSpace(string(head)); !strings.HasPrefix(lines[1], want) {
		t.Errorf("goodoffices version says %q, want %q…", lines[1], want)
	}
}
