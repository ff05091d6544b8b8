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
// Statement, checks the signed Caspia package with the 'goodoffices verify'
// command the demo prints, reads the Word documents it wrote with
// python-docx, sees working group 1's history handed over on the new Arden
// adviser's desk, presses Enter to make the venue sign a fork, has the desk
// check the venue, downloads the proof of misbehaviour from the trust panel
// and checks it with 'goodoffices verify', and stops the demo with SIGINT.
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
	var venueKey, suiteLine, verifyLine string
	var docs []string
	inDocs := false
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
			if v, ok := strings.CutPrefix(l, "  goodoffices verify "); ok {
				verifyLine = v
			}
			switch {
			case strings.HasPrefix(l, "Documents (in "):
				inDocs = true
			case inDocs && strings.HasPrefix(l, "  "):
				docs = append(docs, strings.Fields(l)[0])
			default:
				inDocs = false
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
	// checkUIGuards uses up the sign-in link of some other desk than
	// Borealia's expert's: not the new adviser's, which is for below.
	others := map[string]string{}
	for k, v := range links {
		if k != "Pieter Ost (Arden):" {
			others[k] = v
		}
	}
	checkUIGuards(t, c, link[:strings.Index(link, "/login")], others, link)
	checkDemoDocuments(t, bin, data, verifyLine, docs)
	// Arden's new adviser reads working group 1's history, handed over by
	// his head of delegation, marked as such.
	if pieter := links["Pieter Ost (Arden):"]; pieter == "" {
		t.Errorf("no link for Arden's new adviser in %v", links)
	} else {
		jar, _ := cookiejar.New(nil)
		pc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		resp, err := pc.Get(pieter + "&next=/channels/wg1-ceasefire")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := strings.Count(string(page), "handed over by Ilse Marven"); n < 10 || strings.Contains(string(page), `id="unreadable"`) {
			t.Errorf("the new adviser's working group 1 (%s): %d messages marked handed over, unreadable entries shown: %v\n%.3000s", resp.Status, n, strings.Contains(string(page), `id="unreadable"`), page)
		}
	}
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

// checkDemoDocuments checks the files the demo wrote: the signed package
// verifies with the command the demo printed, run with the real binary;
// one changed byte is refused; the Word documents are read by python-docx,
// a reader we did not write.
func checkDemoDocuments(t *testing.T, bin, data, verifyLine string, docs []string) {
	t.Helper()
	want := []string{"protocol.docx", "caspia-package.outcome.json", "caspia-package.pdf", "joint-statement.docx", "final-statement.fr.docx"}
	if strings.Join(docs, " ") != strings.Join(want, " ") {
		t.Errorf("the demo lists the documents %q, want %q", docs, want)
	}
	dir := filepath.Join(data, "documents")
	// The paths the demo prints hold no spaces or quotes: split on spaces.
	args := append([]string{"verify"}, strings.Fields(verifyLine)...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("the printed verify command (%q): %v\n%s", verifyLine, err, out)
	}
	for _, w := range []string{"VALID package of 2 documents", `text "final-statement" (version 1)`, `text "protocol-ministerial" (version 2)`,
		"(en, fr)", "root key PINNED", "venue key PINNED", "the signature of borealia"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("verify of the demo's package lacks %q:\n%s", w, out)
		}
	}
	// The package's PDF, read by a PDF reader we did not write.
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(bin, filepath.Join(dir, "caspia-package.pdf"), "-").Output()
		if err != nil {
			t.Fatalf("pdftotext cannot read the package's PDF: %v", err)
		}
		for _, w := range []string{"Caspia package", "Déclaration commune", "Protocole sur la ligne de cessez-le-feu", "Signatures"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("the package's PDF lacks %q:\n%s", w, out)
			}
		}
	} else if os.Getenv("CI") != "" {
		t.Fatal("pdftotext is missing (apt-get install poppler-utils)")
	}
	pkg := filepath.Join(dir, "caspia-package.outcome.json")
	b, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "Les observateurs font rapport chaque mois")
	if i < 0 {
		t.Fatalf("the package lacks the French Protocol")
	}
	b[i+len("Les observateurs font rapport chaque ")] = 'M'
	changed := filepath.Join(t.TempDir(), "changed.json")
	os.WriteFile(changed, b, 0o644)
	args[len(args)-1] = changed
	if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil {
		t.Errorf("verify accepts the package with one byte changed:\n%s", out)
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("verify of a changed package: %v, want exit 3\n%s", err, out)
	}
	py := pythonDocx(t)
	if py == "" {
		return
	}
	script := `import docx, sys
for f in sys.argv[1:]:
    print("==", f.rsplit("/", 1)[-1])
    for p in docx.Document(f).paragraphs:
        print(p.style.name + "|" + p.text)
`
	files := []string{filepath.Join(dir, "protocol.docx"), filepath.Join(dir, "joint-statement.docx"), filepath.Join(dir, "final-statement.fr.docx")}
	got, err := exec.Command(py, append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python-docx cannot read the demo's Word documents: %v\n%s", err, got)
	}
	for _, w := range []string{
		"== protocol.docx\nTitle|Protocol on the ceasefire line\n",
		"Normal|Monitors report [weekly] [monthly] to both Parties.\n",
		"== joint-statement.docx\nTitle|Joint Statement\n",
		"Normal|[The Parties agree to withdraw heavy weapons [15] [30] km from the line of contact.]\n",
		"== final-statement.fr.docx\nTitle|Déclaration commune\n",
		"Normal|Les Parties conviennent de retirer les armes lourdes à 20 km de la ligne de contact.\n",
		"Heading 1|Signatures\n",
	} {
		if !strings.Contains(string(got), w) {
			t.Errorf("python-docx does not read %q in the demo's documents:\n%s", w, got)
		}
	}
}

// pythonDocx finds a Python with the docx module (Debian's python3-docx),
// a .docx reader we did not write: "" on a laptop without it, a failure
// under CI.
func pythonDocx(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if p, err := exec.LookPath(py); err == nil && exec.Command(p, "-c", "import docx").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 with the docx module (Debian: python3-docx) is required under CI")
	}
	t.Log("no python3 with the docx module (apt-get install python3-docx): the demo's Word documents are not read back")
	return ""
}
