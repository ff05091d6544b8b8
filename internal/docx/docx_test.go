package docx

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
)

// scenario builds the Joint Statement of shared/scenario.md, with
// positions, as the engine computes it.
func scenario(t testing.TB) *negotiation.State {
	t.Helper()
	s, err := negotiation.New(negotiation.Config{
		Talks: "Talks at the Caspia venue",
		Host:  "caspia",
		Parties: []negotiation.Party{
			{ID: "arden", Name: "Federation of Arden"},
			{ID: "borealia", Name: "Republic of Borealia"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var index uint64
	send := func(delegation string, payload []byte) {
		index++
		r := s.Apply(negotiation.Event{LogIndex: index, Channel: "wg1", Delegation: delegation, Person: delegation + "-expert", Payload: payload})
		if r.Result != negotiation.ResultApplied {
			t.Fatalf("event %d refused: %s", index, r.Reason)
		}
	}
	send("borealia", negotiation.NewTableText(negotiation.TableText{
		ID: "js", Title: "Joint Statement", Level: negotiation.LevelExpert, Language: "en",
		Paragraphs: scenarioParagraphs,
	}))
	send("arden", negotiation.NewPosition("js", "p1", 1, negotiation.Agree, ""))
	send("borealia", negotiation.NewPosition("js", "p1", 1, negotiation.AgreeAdReferendum, "subject to the capital's approval"))
	send("arden", negotiation.NewPosition("js", "p3", 1, negotiation.Reserve, "needs more time"))
	return s
}

var scenarioParagraphs = []string{
	"The Parties reaffirm their commitment to a negotiated settlement.",
	"The Parties agree to a [complete]{arden} [partial] cessation of hostilities from [00:00 on 1 December] [the date of signature].",
	"[The Parties agree to withdraw heavy weapons [15] [30] km from the line of contact.]",
	"The Parties request the Republic of Caspia to continue to provide its good offices \\{sic\\} as a venue for further talks at all levels.",
}

// stripParties removes the {party} attributions, which a Word document
// shows as colour and comments, not as text.
func stripParties(s string) string {
	for _, p := range []string{"{arden}", "{borealia}"} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

func TestExportImportRoundTrip(t *testing.T) {
	s := scenario(t)
	data, err := Export(s, "js", ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Export(s, "js", ExportOptions{})
	if err != nil || !bytes.Equal(data, again) {
		t.Fatalf("export is not reproducible (err %v)", err)
	}
	im, err := Import(data)
	if err != nil {
		t.Fatal(err)
	}
	if im.Title != "Joint Statement" {
		t.Errorf("title %q", im.Title)
	}
	text := s.Text("js")
	if len(im.Paragraphs) != len(text.Paragraphs) {
		t.Fatalf("%d paragraphs back, want %d: %q", len(im.Paragraphs), len(text.Paragraphs), im.Paragraphs)
	}
	for i, p := range text.Paragraphs {
		if want := stripParties(p.Text); im.Paragraphs[i] != want {
			t.Errorf("paragraph %d:\n got %q\nwant %q", i+1, im.Paragraphs[i], want)
		}
	}
	// The positions were written as comments: reported, not dropped silently.
	if im.Fatal() {
		t.Errorf("fatal issues on our own export: %v", im.Issues)
	}
	var comments int
	for _, is := range im.Issues {
		if strings.Contains(is.What, "comment") {
			comments++
		}
	}
	if comments == 0 {
		t.Errorf("comments not reported: %v", im.Issues)
	}
}

func TestExportAdoptedNeedsAdoption(t *testing.T) {
	s := scenario(t)
	if _, err := Export(s, "js", ExportOptions{Lang: "fr"}); err == nil || !strings.Contains(err.Error(), "not adopted") {
		t.Fatalf("export of a language version of an unadopted text: %v", err)
	}
	if _, err := Export(s, "nope", ExportOptions{}); err == nil {
		t.Fatal("export of a missing text succeeded")
	}
}

func TestImportReportsWhatItCannotMap(t *testing.T) {
	body := `<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Protocol</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">1. The line of contact is </w:t></w:r><w:r><w:t>[as shown on the map]</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>secret cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl>` +
		`<w:p><w:r><w:t>2)</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>Monitors {OSCE} report weekly.</w:t></w:r><w:r><w:drawing/></w:r></w:p>` +
		`<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Annex</w:t></w:r></w:p>`
	im, err := Import(docWith(t, body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"The line of contact is [as shown on the map]", `Monitors \{OSCE\} report weekly.`}
	if strings.Join(im.Paragraphs, "|") != strings.Join(want, "|") || im.Title != "Protocol" {
		t.Fatalf("title %q, paragraphs %q", im.Title, im.Paragraphs)
	}
	got := ""
	for _, is := range im.Issues {
		got += is.String() + "\n"
	}
	for _, w := range []string{"footnote", "table", "image", "heading (\"Annex\")"} {
		if !strings.Contains(got, w) {
			t.Errorf("issue %q not reported; got:\n%s", w, got)
		}
	}
	if strings.Contains(strings.Join(im.Paragraphs, " "), "secret cell") {
		t.Error("table text leaked into the paragraphs")
	}
	if im.Fatal() {
		t.Errorf("fatal issues: %s", got)
	}
}

func TestImportFatal(t *testing.T) {
	for name, body := range map[string]string{
		"unbalanced":       `<w:p><w:r><w:t>The Parties agree to [withdraw.</w:t></w:r></w:p>`,
		"tracked insert":   `<w:p><w:r><w:t>The Parties agree</w:t></w:r><w:ins w:id="1" w:author="x"><w:r><w:t> not</w:t></w:r></w:ins></w:p>`,
		"tracked deletion": `<w:p><w:r><w:t>The Parties agree</w:t></w:r><w:del w:id="1" w:author="x"><w:r><w:delText> fully</w:delText></w:r></w:del></w:p>`,
	} {
		t.Run(name, func(t *testing.T) {
			im, err := Import(docWith(t, body))
			if err != nil {
				t.Fatal(err)
			}
			if !im.Fatal() {
				t.Fatalf("not fatal: %v %q", im.Issues, im.Paragraphs)
			}
		})
	}
}

func TestReadRefusesNonDocx(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":    nil,
		"text":     []byte("hello"),
		"no part":  zipOf(t, map[string]string{"a.txt": "x"}),
		"bad xml":  zipOf(t, map[string]string{"word/document.xml": "<w:document"}),
		"wrong ns": zipOf(t, map[string]string{"word/document.xml": "<document/>"}),
		"deep":     zipOf(t, map[string]string{"word/document.xml": `<w:document xmlns:w="` + nsW + `">` + strings.Repeat("<w:x>", 100) + strings.Repeat("</w:x>", 100) + `</w:document>`}),
	} {
		if _, err := Read(data); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}

// TestThirdPartyReader reads our export with python-docx, a .docx reader we
// did not write, and imports a document python-docx wrote.
func TestThirdPartyReader(t *testing.T) {
	py := pythonDocx(t)
	s := scenario(t)
	data, err := Export(s, "js", ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "js.docx")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import sys, json, docx
d = docx.Document(sys.argv[1])
paras = [{"style": p.style.name, "text": p.text,
          "colors": sorted({str(r.font.color.rgb) for r in p.runs if r.font.color and r.font.color.rgb})}
         for p in d.paragraphs]
print(json.dumps(paras))
`, file).CombinedOutput()
	if err != nil {
		t.Fatalf("python-docx could not read the export: %v\n%s", err, out)
	}
	var got []struct {
		Style  string   `json:"style"`
		Text   string   `json:"text"`
		Colors []string `json:"colors"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) < 5 || got[0].Text != "Joint Statement" || got[0].Style != "Title" {
		t.Fatalf("python-docx read: %+v", got)
	}
	for i, p := range s.Text("js").Paragraphs {
		if want := strings.ReplaceAll(stripParties(p.Text), `\`, ""); got[i+1].Text != want {
			t.Errorf("paragraph %d read by python-docx:\n got %q\nwant %q", i+1, got[i+1].Text, want)
		}
	}
	// Paragraph 2 has brackets of both parties: two colours.
	if len(got[2].Colors) != 2 {
		t.Errorf("paragraph 2 colours %v, want one per party", got[2].Colors)
	}

	// A document written by python-docx, with manual numbering, a list and
	// a table, imports with the table reported.
	src := filepath.Join(dir, "draft.docx")
	if out, err := exec.Command(py, "-c", `
import sys, docx
d = docx.Document()
d.add_heading("Protocol on the ceasefire line", 0)
d.add_paragraph("1. The line of contact runs [as shown on the map] [along the river].")
d.add_paragraph("Monitors report weekly.", style="List Number")
t = d.add_table(rows=1, cols=2)
t.cell(0, 0).text = "sector"
d.add_paragraph("Сторони погоджуються на [повне] [часткове] припинення вогню.")
d.save(sys.argv[1])
`, src).CombinedOutput(); err != nil {
		t.Fatalf("python-docx could not write: %v\n%s", err, out)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"The line of contact runs [as shown on the map] [along the river].",
		"Monitors report weekly.",
		"Сторони погоджуються на [повне] [часткове] припинення вогню.",
	}
	if im.Title != "Protocol on the ceasefire line" || strings.Join(im.Paragraphs, "|") != strings.Join(want, "|") {
		t.Fatalf("import of a python-docx document: title %q paragraphs %q", im.Title, im.Paragraphs)
	}
	if len(im.Issues) != 1 || !strings.Contains(im.Issues[0].What, "table") {
		t.Fatalf("issues %v, want the table", im.Issues)
	}
}

// pythonDocx finds a Python with the docx module (Debian's python3-docx).
// Without one the test skips on a laptop and fails under CI.
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

func docWith(t testing.TB, body string) []byte {
	return zipOf(t, map[string]string{
		"word/document.xml": `<?xml version="1.0"?><w:document xmlns:w="` + nsW + `"><w:body>` + body + `</w:body></w:document>`,
	})
}

func zipOf(t testing.TB, parts map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range parts {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzImport: Import never panics, and what it accepts is valid notation.
func FuzzImport(f *testing.F) {
	s := scenario(f)
	data, err := Export(s, "js", ExportOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(docWith(f, `<w:p><w:r><w:t>[a] [b]</w:t></w:r></w:p>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Import(b)
		if err != nil {
			return
		}
		for _, p := range im.Paragraphs {
			if _, err := negotiation.ParseNotation(p); err != nil {
				t.Fatalf("imported invalid notation %q: %v", p, err)
			}
		}
	})
}

// FuzzReadDocument: the XML reader never panics on any document.xml.
func FuzzReadDocument(f *testing.F) {
	f.Add([]byte(`<w:document xmlns:w="` + nsW + `"><w:body><w:p><w:r><w:t>x</w:t></w:r></w:p></w:body></w:document>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDocument(b)
	})
}
