package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A NATSServer is a nats-server process started for a benchmark.
type NATSServer struct {
	URL     string
	Version string
	cmd     *exec.Cmd
	done    chan struct{}
	log     bytes.Buffer
}

// FindNATSServer returns the path of a nats-server binary: explicit if not
// empty, else nats-server on PATH, in $GOBIN or ~/go/bin, or
// /usr/sbin/nats-server.
func FindNATSServer(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	var cands []string
	if p, err := exec.LookPath("nats-server"); err == nil {
		cands = append(cands, p)
	}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		cands = append(cands, filepath.Join(gobin, "nats-server"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, "go", "bin", "nats-server"))
	}
	cands = append(cands, "/usr/sbin/nats-server")
	for _, c := range cands {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c, nil
		}
	}
	return "", errors.New("no nats-server found (install one with: go install github.com/nats-io/nats-server/v2@v2.15.2)")
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartJetStream starts binary with JetStream on file storage in dir,
// syncing every write before acknowledging it (sync_interval: always), on a
// free loopback port. A server too old to know sync_interval (before
// v2.10) is refused rather than measured without syncing.
func StartJetStream(ctx context.Context, binary, dir string) (*NATSServer, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`# written by goodoffices bench
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
  sync_interval: always
}
`, port, filepath.Join(dir, "jetstream"))
	confPath := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s := &NATSServer{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), done: make(chan struct{})}
	if out, err := exec.CommandContext(ctx, binary, "--version").Output(); err == nil {
		s.Version = strings.TrimSpace(string(out))
	}
	s.cmd = exec.Command(binary, "-c", confPath)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start nats-server: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("nats-server %s exited: %s (sync_interval needs nats-server v2.10 or later)", s.Version, strings.TrimSpace(s.log.String()))
		default:
		}
		nc, err := nats.Connect(s.URL, nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("nats-server did not start: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server and waits for it to exit.
func (s *NATSServer) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// A JetStreamTarget is a stream prepared for the workload.
type JetStreamTarget struct {
	url, stream string
	channels    int
	conns       []*nats.Conn
}

// PrepareJetStream creates a file-storage stream for nChannels subjects.
func PrepareJetStream(ctx context.Context, url string, nChannels int) (*JetStreamTarget, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("BENCH%d", time.Now().UnixNano())
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, Storage: jetstream.FileStorage, Replicas: 1,
	}); err != nil {
		return nil, fmt.Errorf("failed to create stream: %w", err)
	}
	return &JetStreamTarget{url: url, stream: name, channels: nChannels}, nil
}

// Writers returns n writers, each with its own connection.
func (t *JetStreamTarget) Writers(ctx context.Context, n int) ([]Writer, error) {
	out := make([]Writer, n)
	for i := range n {
		nc, err := nats.Connect(t.url)
		if err != nil {
			return nil, err
		}
		t.conns = append(t.conns, nc)
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, err
		}
		subj := make([]string, t.channels)
		for c := range subj {
			subj[c] = fmt.Sprintf("%s.ch%d", strings.ToLower(t.stream), c)
		}
		out[i] = &jsWriter{js: js, subjects: subj}
	}
	return out, nil
}

// Close closes the writers' connections.
func (t *JetStreamTarget) Close() {
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}

type jsWriter struct {
	js       jetstream.JetStream
	subjects []string
}

func (w *jsWriter) Append(ctx context.Context, ch int, entry []byte) error {
	_, err := w.js.Publish(ctx, w.subjects[ch], entry)
	return err
}
