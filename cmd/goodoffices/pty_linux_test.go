package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// ptyrun FILE PROGRAM ARGS... runs PROGRAM with a pseudo-terminal as its
// standard input, as a person at a terminal would, and types the content
// of FILE into it; its standard output and error are the command's.
func cmdPtyRun(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: ptyrun FILE PROGRAM ARGS...")
	}
	master, slave, err := openPty()
	ts.Check(err)
	defer master.Close()
	path, err := exec.LookPath(args[1])
	ts.Check(err)
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = os.Environ()
	for _, k := range scriptEnv {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &stdout, &stderr
	ts.Check(cmd.Start())
	slave.Close()
	// Drain what the terminal echoes (nothing, for a passphrase).
	go func() {
		b := make([]byte, 1024)
		for {
			if _, err := master.Read(b); err != nil {
				return
			}
		}
	}()
	// Type each line once the program waits for it: after a prompt.
	lines := strings.SplitAfter(ts.ReadFile(args[0]), "\n")
	go func() {
		for _, l := range lines {
			if l == "" {
				continue
			}
			time.Sleep(300 * time.Millisecond)
			master.Write([]byte(l))
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		err = fmt.Errorf("timed out; stderr so far:\n%s", stderr.String())
		<-done
	}
	fmt.Fprint(ts.Stdout(), stdout.String())
	fmt.Fprint(ts.Stderr(), stderr.String())
	if (err != nil) != neg {
		ts.Fatalf("%s: exit %v", args[1], err)
	}
}

// openPty opens a pseudo-terminal pair (Linux: /dev/ptmx, pts(4)).
func openPty() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}
