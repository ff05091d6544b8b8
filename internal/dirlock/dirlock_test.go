package dirlock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAcquireTwice: a second Acquire on a held lock fails with ErrInUse
// naming the holder; after Release it succeeds. flock locks belong to open
// file descriptions, so two Acquires in one process conflict like two
// processes do.
func TestAcquireTwice(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "x.lock")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "x.lock")
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Acquire: %v, want ErrInUse", err)
	}
	if want := "process " + strconv.Itoa(os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "x.lock")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
}

// TestAcquireOtherProcess: a lock held by another process (flock(1)).
func TestAcquireOtherProcess(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("no flock(1)")
	}
	dir := t.TempDir()
	cmd := exec.Command(flock, "-x", filepath.Join(dir, "x.lock"), "-c", "echo locked; sleep 30")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("flock(1): %q, %v", line, err)
	}
	if _, err := Acquire(dir, "x.lock"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Acquire while another process holds the lock: %v, want ErrInUse", err)
	}
}
