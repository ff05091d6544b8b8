package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A VenueProcess is a `goodoffices venue` process started on a loopback
// port.
type VenueProcess struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	log     strings.Builder
}

// StartVenue starts `binary venue --listen 127.0.0.1:0 --data dataDir
// args...` and waits until it prints the address it listens on.
func StartVenue(ctx context.Context, binary, dataDir string, args ...string) (*VenueProcess, error) {
	p := &VenueProcess{DataDir: dataDir, done: make(chan struct{})}
	all := append([]string{"venue", "--listen", "127.0.0.1:0", "--data", dataDir}, args...)
	p.cmd = exec.Command(binary, all...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start venue: %w", err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.addLog(line)
			if _, after, ok := strings.Cut(line, " listening on "); ok && strings.HasPrefix(line, "venue ") {
				select {
				case urlc <- strings.TrimSpace(after):
				default:
				}
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.addLog(sc.Text())
		}
	}()
	go func() { p.cmd.Wait(); close(p.done) }()
	select {
	case u := <-urlc:
		p.URL = u
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("venue exited at start: %s", p.Log())
	case <-time.After(30 * time.Second):
		p.Kill()
		return nil, errors.New("venue did not start within 30s: " + p.Log())
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
}

func (p *VenueProcess) addLog(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log.Len() < 1<<20 {
		p.log.WriteString(line + "\n")
	}
}

// Log returns what the process printed so far.
func (p *VenueProcess) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Done is closed when the process has exited.
func (p *VenueProcess) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after 30s).
func (p *VenueProcess) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}

// Kill kills the process at once (SIGKILL) and waits for it.
func (p *VenueProcess) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// AdminCredential reads the admin credential the venue wrote.
func (p *VenueProcess) AdminCredential() (string, error) {
	b, err := os.ReadFile(filepath.Join(p.DataDir, "admin.token"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ShareKeys copies the venue key and admin credential of from into the data
// directory to, so that a second node signs and authenticates as the same
// venue.
func ShareKeys(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, f := range []string{"venue.key", "admin.token"} {
		if err := copyFile(filepath.Join(from, f), filepath.Join(to, f)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// CPUTime returns the user and system CPU time the venue process has used
// so far, read from /proc (Linux only; 0 and false elsewhere).
func (p *VenueProcess) CPUTime() (time.Duration, bool) {
	return procCPU(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
}

// SelfCPUTime returns the user and system CPU time this process (the
// benchmark client, when the venue runs in a process of its own) has used
// so far, as CPUTime does.
func SelfCPUTime() (time.Duration, bool) { return procCPU("/proc/self/stat") }

// procCPU reads utime + stime from a /proc/<pid>/stat file.
func procCPU(stat string) (time.Duration, bool) {
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0, false
	}
	// The fields after the command name (which may hold spaces) start
	// after the last ')'; utime and stime are fields 14 and 15 of the
	// line, 12 and 13 after it, in clock ticks (100 per second on Linux).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// RSS returns the resident memory of the venue process in bytes, read from
// /proc (Linux only; -1 elsewhere).
func (p *VenueProcess) RSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}
