package cli

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoBinary builds the real goodoffices binary, runs 'goodoffices
// demo', signs in to Borealia's desk with the printed link, reads the Joint
// Statement, presses Enter to make the venue sign a fork, has the desk check
// the venue, downloads the proof of misbehaviour from the trust panel and
// checks it with 'goodoffices verify', and stops the demo with SIGINT.
func TestDemoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes a while")
	}
	bin := filepath.Join(t.TempDir(), "goodoffices")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/goodoffices").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command(bin, "demo", "--dir", data)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	links := map[string]string{}
	var venueKey, suiteLine string
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(5 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the demo exited before it was ready")
			}
			if i := strings.Index(l, "http://127.0.0.1:"); i >= 0 && strings.Contains(l, "/login?token=") {
				links[strings.TrimSpace(l[:i])] = l[i:]
			}
			if k, ok := strings.CutPrefix(l, "Venue key: "); ok {
				venueKey = k
			}
			if strings.HasPrefix(l, "Channels: ") {
				suiteLine = l
			}
			if strings.Contains(l, "Press Ctrl-C") {
				break wait
			}
		case <-timeout:
			t.Fatal("the demo did not become ready in 5 minutes")
		}
	}
	go func() {
		for range lines {
		}
	}()
	if !strings.Contains(suiteLine, "MLS_256_XWING_AES256GCM_SHA512_Ed25519 (0x0053), post-quantum") {
		t.Errorf("the demo's channels: %q, want X-Wing", suiteLine)
	}
	link := links["Iryna Holt (Borealia):"]
	if link == "" {
		t.Fatalf("no link for Borealia's expert in %v", links)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(link + "&next=/texts/joint-statement")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Joint Statement", "[15]", "needs consultation with the general staff", "a fixed date before signature is not acceptable"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the text page lacks %q", want)
		}
	}
	// The link works once.
	c2 := &http.Client{Timeout: 30 * time.Second}
	if resp, err := c2.Get(link); err != nil {
		t.Error(err)
	} else if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reused link: status %d", resp.StatusCode)
	}
	checkUIGuards(t, c, link[:strings.Index(link, "/login")], links, link)
	// Enter: the venue signs a fork of working group 1; Borealia's desk
	// checks, raises the alarm and offers the proof.
	if _, err := io.WriteString(stdin, "\n"); err != nil {
		t.Fatal(err)
	}
	base := link[:strings.Index(link, "/login")]
	var proofPath string
	for deadline := time.Now().Add(60 * time.Second); proofPath == "" && time.Now().Before(deadline); time.Sleep(time.Second) {
		req, _ := http.NewRequest("POST", base+"/trust/check", nil)
		req.Header.Set("Origin", base)
		if resp, err := c.Do(req); err == nil {
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := regexp.MustCompile(`/trust/alarms/[0-9]+/proof`).Find(page); m != nil {
				proofPath = string(m)
			}
		}
	}
	if proofPath == "" {
		t.Fatal("no proof of misbehaviour offered in the trust panel after the venue signed a fork")
	}
	resp, err = c.Get(base + proofPath)
	if err != nil {
		t.Fatal(err)
	}
	proofData, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pf := filepath.Join(t.TempDir(), "misbehaviour.proof")
	os.WriteFile(pf, proofData, 0o600)
	if out, err := exec.Command(bin, "verify", "--venue-key", venueKey, pf).CombinedOutput(); err != nil {
		t.Errorf("goodoffices verify of the downloaded proof: %v\n%s", err, out)
	}
	// The demo's channels run on the post-quantum suite (the desks'
	// default), as the trust panel says.
	if resp, err := c.Get(base + "/trust"); err != nil {
		t.Error(err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := strings.Count(string(page), "MLS_256_XWING_AES256GCM_SHA512_Ed25519"); n < 2 || strings.Contains(string(page), "NOT post-quantum") {
			t.Errorf("trust panel: %d channels on X-Wing, classical ones: %v", n, strings.Contains(string(page), "NOT post-quantum"))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the demo did not stop cleanly: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not stop within 60 s of SIGINT")
	}
	// The venue holds no plaintext of the talks.
	filepath.Walk(filepath.Join(data, "venue"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			for _, s := range []string{"general staff", "heavy weapons", "Hold on", "capital could live"} {
				if strings.Contains(string(b), s) {
					t.Errorf("plaintext %q in the venue's %s", s, p)
				}
			}
		}
		return nil
	})
}
