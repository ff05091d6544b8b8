package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The command line as a user types it: the scripts in testdata/script run
// the goodoffices binary (this package's main, in its own process) command
// for command and check outputs and exit codes. readme_*.txtar are the
// README's walkthroughs (TestReadmeCommands checks that every command of
// the README appears in one of them); mistake_*.txtar are the mistakes a
// new user made, which must fail with the right message.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"goodoffices": main})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("GOODOFFICES_PASSPHRASE", "root secret")
			e.Setenv("GOODOFFICES_DESK_PASSPHRASE", "desk secret")
			e.Setenv("TZ", "UTC")
			e.Values[bgKey{}] = &bgSet{procs: map[string]*bgProc{}}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"start":   cmdStart,
			"waitfor": cmdWaitFor,
			"stop":    cmdStop,
			"capture": cmdCapture,
			"ptyrun":  cmdPtyRun, // pty_linux_test.go
		},
	})
}

// Background processes: testscript's own "&" gives no access to the output
// while the process runs, and a venue's address (port 0) is in its output.

type bgKey struct{}

type bgSet struct {
	mu    sync.Mutex
	procs map[string]*bgProc
}

type bgProc struct {
	cmd      *exec.Cmd
	out, err lockedBuffer
	done     chan struct{}
	werr     error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scriptEnv are the variables a background process inherits from the script.
var scriptEnv = []string{"PATH", "HOME", "WORK", "TMPDIR", "TZ", "GOODOFFICES_PASSPHRASE",
	"GOODOFFICES_DESK_PASSPHRASE", "GOODOFFICES_VENUE", "GOODOFFICES_ADMIN", "GOODOFFICES_DESK_HOME"}

// start NAME PROGRAM ARGS... runs a program in the background.
func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: start NAME PROGRAM ARGS...")
	}
	set := ts.Value(bgKey{}).(*bgSet)
	path, err := exec.LookPath(args[1])
	ts.Check(err)
	p := &bgProc{cmd: exec.Command(path, args[2:]...), done: make(chan struct{})}
	p.cmd.Dir = ts.MkAbs(".")
	for _, k := range scriptEnv {
		if v := ts.Getenv(k); v != "" {
			p.cmd.Env = append(p.cmd.Env, k+"="+v)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	ts.Check(p.cmd.Start())
	go func() { p.werr = p.cmd.Wait(); close(p.done) }()
	set.mu.Lock()
	set.procs[args[0]] = p
	set.mu.Unlock()
	ts.Defer(func() {
		p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func proc(ts *testscript.TestScript, name string) *bgProc {
	set := ts.Value(bgKey{}).(*bgSet)
	set.mu.Lock()
	defer set.mu.Unlock()
	p := set.procs[name]
	if p == nil {
		ts.Fatalf("no background process %s", name)
	}
	return p
}

// waitfor [-timeout=D] NAME REGEXP [VAR] waits (60s, or D, at most)
// until the standard output of background process NAME matches REGEXP,
// and sets VAR to its first group.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	wait := 60 * time.Second
	if len(args) > 0 && strings.HasPrefix(args[0], "-timeout=") {
		d, err := time.ParseDuration(strings.TrimPrefix(args[0], "-timeout="))
		ts.Check(err)
		wait, args = d, args[1:]
	}
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitfor [-timeout=D] NAME REGEXP [VAR]")
	}
	p := proc(ts, args[0])
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	deadline := time.Now().Add(wait)
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			if len(args) == 3 && len(m) > 1 {
				ts.Setenv(args[2], m[1])
			}
			return
		}
		select {
		case <-p.done:
			ts.Fatalf("%s exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", args[0], p.werr, args[1], p.out.String(), p.err.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not print %q in %v\nstdout:\n%s\nstderr:\n%s", args[0], args[1], wait, p.out.String(), p.err.String())
		}
	}
}

// stop NAME interrupts background process NAME (Ctrl-C), waits for it and
// makes its output the last command's; "! stop" expects it to fail.
func cmdStop(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: stop NAME")
	}
	p := proc(ts, args[0])
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	fmt.Fprint(ts.Stdout(), p.out.String())
	fmt.Fprint(ts.Stderr(), p.err.String())
	if (p.werr != nil) != neg {
		ts.Fatalf("%s: exit %v", args[0], p.werr)
	}
}

// capture VAR REGEXP sets VAR to the first group of REGEXP in the last
// command's standard output.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture VAR REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	out := ts.ReadFile("stdout")
	m := re.FindStringSubmatch(out)
	if m == nil || len(m) < 2 {
		ts.Fatalf("no %q in stdout:\n%s", args[1], out)
	}
	ts.Setenv(args[0], m[1])
}
