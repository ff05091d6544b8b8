package desk_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryWord tables a text from a Word document that python-docx (a
// writer we did not write) produced, through the real binary and a real
// venue, and exports it back as .docx for python-docx to read: refused
// while something cannot be mapped or the brackets do not balance, with
// nothing sent; tabled with --skip-unmapped; the other party's position
// comes back as a comment.
func TestBinaryWord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	py := pythonDocx(t)
	c, _ := startWorkingGroup(t)

	write := func(name, script string) string {
		t.Helper()
		file := filepath.Join(c.dir, name)
		if out, err := exec.Command(py, "-c", "import sys, docx\nd = docx.Document()\n"+script+"\nd.save(sys.argv[1])\n", file).CombinedOutput(); err != nil {
			t.Fatalf("python-docx: %v\n%s", err, out)
		}
		return name
	}
	draft := write("protocol.docx", `
d.add_heading("Protocol on the ceasefire line", 0)
d.add_paragraph("1. The line of contact runs [as shown on the annexed map] [along the river].")
d.add_paragraph("2. Монітори звітують [щотижня] [щомісяця].")
t = d.add_table(rows=1, cols=2)
t.cell(0, 0).text = "sector north"`)
	broken := write("broken.docx", `
d.add_heading("Broken", 0)
d.add_paragraph("The Parties agree to [withdraw.")`)

	// Something cannot be imported: listed, nothing sent.
	out, errOut := c.runBoth(1, "desk", "import", "wg1", draft, "--home", "tomas", "--text", "protocol")
	if !strings.Contains(errOut, "a table is not imported") || !strings.Contains(errOut, "--skip-unmapped") || !strings.Contains(errOut, "nothing tabled") {
		t.Fatalf("import with a table:\n%s\n%s", out, errOut)
	}
	// Brackets that do not balance: refused whatever the flags.
	_, errOut = c.runBoth(1, "desk", "import", "wg1", broken, "--home", "tomas", "--text", "broken", "--skip-unmapped")
	if !strings.Contains(errOut, "nothing tabled") || !strings.Contains(errOut, "paragraph") {
		t.Fatalf("import of unbalanced brackets:\n%s", errOut)
	}
	// A dry run shows the paragraphs and sends nothing.
	out = c.run(0, "desk", "import", "wg1", draft, "--home", "tomas", "--text", "protocol", "--dry-run")
	if !strings.Contains(out, "1. The line of contact runs [as shown on the annexed map] [along the river].") || !strings.Contains(out, "nothing sent") {
		t.Fatalf("dry run:\n%s", out)
	}
	c.syncAll("tomas", "iryna")
	if talks := c.run(0, "desk", "talks", "wg1", "--home", "iryna", "--json"); strings.Contains(talks, "protocol") {
		t.Fatalf("a refused import reached the channel:\n%s", talks)
	}

	c.run(0, "desk", "import", "wg1", draft, "--home", "tomas", "--text", "protocol", "--skip-unmapped")
	c.syncAll("tomas", "iryna")
	var st struct {
		Texts []struct {
			ID, Title  string
			Paragraphs []struct{ ID, Text, TabledBy string }
		}
	}
	if err := json.Unmarshal([]byte(c.run(0, "desk", "talks", "wg1", "--home", "iryna", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Texts) != 1 || st.Texts[0].Title != "Protocol on the ceasefire line" || len(st.Texts[0].Paragraphs) != 2 ||
		st.Texts[0].Paragraphs[1].Text != "Монітори звітують [щотижня]{arden} [щомісяця]{arden}." {
		t.Fatalf("tabled from Word, as Borealia sees it: %+v", st.Texts)
	}
	c.run(0, "desk", "position", "wg1", "--home", "iryna", "--text", "protocol", "--para", "p1", "--version", "1", "--stance", "reserve", "--note", "the map is not annexed yet")
	c.syncAll("tomas", "iryna")

	c.run(0, "desk", "export", "wg1", "--home", "tomas", "--text", "protocol", "--docx", "protocol-out.docx")
	file := filepath.Join(c.dir, "protocol-out.docx")
	got, err := exec.Command(py, "-c", `
import sys, docx
for p in docx.Document(sys.argv[1]).paragraphs: print(p.text)
`, file).CombinedOutput()
	if err != nil {
		t.Fatalf("python-docx read: %v\n%s", err, got)
	}
	want := "Protocol on the ceasefire line\nThe line of contact runs [as shown on the annexed map] [along the river].\nМонітори звітують [щотижня] [щомісяця].\n"
	if string(got) != want {
		t.Fatalf("python-docx reads:\n%s\nwant:\n%s", got, want)
	}
	comments := zipPart(t, file, "word/comments.xml")
	if !strings.Contains(comments, "reserve") || !strings.Contains(comments, "the map is not annexed yet") {
		t.Fatalf("Borealia's position is not a comment:\n%s", comments)
	}
}

// runBoth runs the binary, checks its exit code and returns stdout and stderr.
func (c *cluster) runBoth(want int, args ...string) (string, string) {
	c.t.Helper()
	code, stdout, stderr := c.runCode(args...)
	if code != want {
		c.t.Fatalf("goodoffices %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// runCode runs the binary and returns its exit code, stdout and stderr.
func (c *cluster) runCode(args ...string) (int, string, string) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func zipPart(t *testing.T, file, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == name {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			return string(b)
		}
	}
	t.Fatalf("%s has no %s", file, name)
	return ""
}

// pythonDocx finds a Python with the docx module (Debian's python3-docx),
// a .docx reader and writer we did not write. Without one the test skips
// on a laptop and fails under CI.
func pythonDocx(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if p, err := exec.LookPath(py); err == nil && exec.Command(p, "-c", "import docx").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 with the docx module (Debian: python3-docx) is required under CI")
	}
	t.Skip("no python3 with the docx module (apt-get install python3-docx)")
	return ""
}

// startWorkingGroup starts a venue with Arden and Borealia accredited, the
// working group wg1 of both, and a desk for each (tomas of Arden, iryna of
// Borealia) that has confirmed the other's fingerprint and synced. It
// returns the cluster and the delegations' root-key fingerprints.
func startWorkingGroup(t *testing.T) (*cluster, map[string]string) {
	t.Helper()
	return startWorkingGroupOf(t, "tomas", "Tomas Reig", "expert")
}

// startWorkingGroupOf is startWorkingGroup with Arden's desk at home, of
// person in role.
func startWorkingGroupOf(t *testing.T, home, person, role string) (*cluster, map[string]string) {
	t.Helper()
	c := startCluster(t)
	fps := c.accreditPair("wg1", "working-group")
	c.newDesk(home, "arden", person, role)
	c.newDesk("iryna", "borealia", "Iryna Holt", "expert")
	c.run(0, "desk", "verify-party", "borealia", "--home", home, "--fingerprint", fps["borealia"])
	c.run(0, "desk", "verify-party", "arden", "--home", "iryna", "--fingerprint", fps["arden"])
	c.syncAll(home, "iryna")
	return c, fps
}
