package desk_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/good-offices/goodoffices/internal/metadatadoc"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/store/sqlite"
)

// metadataDoc is the document that lists what the venue keeps.
const metadataDoc = "../docs/metadata.md"

// isBucket reports whether n is a size the desk pads PrivateMessages to
// (docs/metadata.md, "Sizes").
func isBucket(n int) bool {
	if n == 65535 {
		return true
	}
	for b := 1024; b <= 32768; b *= 2 {
		if n == b {
			return true
		}
	}
	return false
}

// sqliteColumns returns every "table.column" of the SQLite database at path.
func sqliteColumns(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]bool{}
	for _, tb := range tables {
		cols, err := db.Query(`SELECT name FROM pragma_table_info(?)`, tb)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var n string
			cols.Scan(&n)
			out[tb+"."+n] = true
		}
		cols.Close()
	}
	return out
}

// TestMetadataBinary runs a scripted session through the real binary (two
// parties, three channels, statements from one word to several pages, a
// tabled text and a position) and checks what the venue kept against
// docs/metadata.md: every stored PrivateMessage is a bucket size; the
// databases have exactly the documented columns; the data directory holds
// only the documented files, and no plaintext; the access log has only its
// four fields and names no channel or device.
func TestMetadataBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	admin := []string{"--admin-file", filepath.Join("vdata", "admin.token")}
	fps := map[string]string{}
	for _, del := range []string{"arden", "borealia"} {
		out := c.run(0, "delegation", "init", "--name", del, "--key", del+".root")
		fps[del] = c.field(out, "fingerprint")
		c.run(0, append(append([]string{"host", "accredit"}, admin...), del, c.field(out, "verifier key"))...)
	}
	for _, ch := range [][]string{
		{"plenary", "plenary", "arden,borealia"},
		{"bilateral-arden-borealia", "bilateral", "arden,borealia"},
		{"arden-internal", "delegation-internal", "arden"},
	} {
		c.run(0, append(append([]string{"host", "channel", "create"}, admin...), "--id", ch[0], "--kind", ch[1], "--level", "expert", "--members", ch[2])...)
	}
	devices := []string{
		c.newDesk("tomas", "arden", "Tomas Reig", "expert"),
		c.newDesk("nora", "arden", "Nora Vass", "expert"),
		c.newDesk("iryna", "borealia", "Iryna Holt", "expert"),
	}
	homes := []string{"tomas", "nora", "iryna"}
	for h, own := range map[string]string{"tomas": "arden", "nora": "arden", "iryna": "borealia"} {
		for _, other := range []string{"arden", "borealia"} {
			if other != own {
				c.run(0, "desk", "verify-party", other, "--home", h, "--fingerprint", fps[other])
			}
		}
	}
	c.syncAll(homes...)

	paragraph := "PARAGRAPH-MARKER The Parties shall, within seven days of the signature of this Declaration, withdraw their forces behind the line of contact described in Annex I, under the observation of the Mission."
	statements := []struct{ home, ch, text string }{
		{"tomas", "plenary", "agree"},
		{"iryna", "plenary", paragraph},
		{"tomas", "bilateral-arden-borealia", "PAGE-MARKER " + strings.Repeat("The exchange of prisoners proceeds in three stages. ", 60)},
		{"iryna", "bilateral-arden-borealia", "no"},
		{"nora", "arden-internal", "LONG-MARKER " + strings.Repeat("Instructions from the capital on paragraph 3, with the fallback positions. ", 250)},
		{"tomas", "arden-internal", "ok"},
	}
	for _, s := range statements {
		c.run(0, "desk", "send", s.ch, "--home", s.home, s.text)
	}
	c.syncAll(homes...)
	c.run(0, "desk", "table", "plenary", "--home", "iryna", "--text", "joint-statement", "--title", "Joint Statement",
		"--para", "The Parties reaffirm their commitment to a negotiated settlement.",
		"--para", "The Parties agree to a [complete] [partial] cessation of hostilities.")
	c.syncAll("tomas", "iryna")
	c.run(0, "desk", "position", "plenary", "--home", "tomas", "--text", "joint-statement", "--para", "p1", "--version", "1", "--stance", "agree")
	c.syncAll(homes...)
	if got := c.texts("iryna", "plenary"); len(got) < 2 {
		t.Fatalf("iryna reads the plenary: %q", got)
	}

	data := filepath.Join(c.dir, "vdata")
	dbPath := filepath.Join(data, venue.DBFile)

	// 1. Every PrivateMessage in a channel's log is a bucket size.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT log, first, n, data FROM chunks WHERE log NOT IN ('register', 'revocations') ORDER BY log, first`)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]map[int]int{} // log -> size -> count
	var private, public int
	type stored struct {
		log   string
		entry []byte
	}
	var all []stored
	for rows.Next() {
		var log string
		var first, n int64
		var chunk []byte
		if err := rows.Scan(&log, &first, &n, &chunk); err != nil {
			t.Fatal(err)
		}
		entries, err := sqlite.ParseChunk(log, first, n, chunk)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			all = append(all, stored{log, e})
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, st := range all {
		log, entry := st.log, st.entry
		h, err := mls.ParseHeader(entry)
		if err != nil {
			t.Fatalf("%s: an entry that is not an MLS message: %v", log, err)
		}
		if h.WireFormat != mls.WireFormatPrivateMessage {
			public++
			continue
		}
		private++
		if !isBucket(len(entry)) {
			t.Errorf("%s: PrivateMessage of %d bytes: not a bucket size", log, len(entry))
		}
		if sizes[log] == nil {
			sizes[log] = map[int]int{}
		}
		sizes[log][len(entry)]++
	}
	db.Close()
	if private < len(statements)+2 {
		t.Fatalf("%d PrivateMessages stored, want at least %d", private, len(statements)+2)
	}
	t.Logf("stored PrivateMessages by channel and size: %v (and %d handshake PublicMessages)", sizes, public)
	// The plenary's "agree", its paragraph, the tabled text and the
	// position all look alike.
	if len(sizes["plenary"]) != 1 {
		t.Errorf("the plenary's messages have sizes %v: a one-word statement and a paragraph differ", sizes["plenary"])
	}

	// 2. Exactly the documented columns, in both databases.
	got := sqliteColumns(t, dbPath)
	for k := range sqliteColumns(t, filepath.Join(data, venue.ScheduleDBFile)) {
		got[k] = true
	}
	want, err := metadatadoc.Columns(metadataDoc, metadatadoc.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	undocumented, missing := metadatadoc.Diff(got, want)
	for _, k := range undocumented {
		t.Errorf("column %s is stored but not documented in docs/metadata.md", k)
	}
	for _, k := range missing {
		t.Errorf("docs/metadata.md documents column %s, which the SQLite stores do not have", k)
	}
	t.Logf("%d SQLite columns, each documented", len(got))

	// 3. Only documented files, and no plaintext in any of them.
	patterns, err := metadatadoc.Files(metadataDoc)
	if err != nil || len(patterns) < 5 {
		t.Fatalf("docs/metadata.md lists files %v", patterns)
	}
	var files []string
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		files = append(files, rel)
		if !slices.ContainsFunc(patterns, func(p string) bool { ok, _ := filepath.Match(p, rel); return ok }) {
			t.Errorf("data directory holds %s, which docs/metadata.md does not list", rel)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, marker := range []string{"PARAGRAPH-MARKER", "PAGE-MARKER", "LONG-MARKER", "fallback positions", "cessation of hostilities"} {
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("%s holds the plaintext %q", rel, marker)
			}
		}
		return nil
	})
	sort.Strings(files)
	t.Logf("data directory: %v", files)

	// 4. The access log: only its four fields; no channel or device named.
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); len(lines) == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		logs, _ := filepath.Glob(filepath.Join(data, venue.AccessLogDir, "*.log"))
		lines = nil
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			// Whole lines only: the venue's buffered writer may have
			// flushed part of the last one.
			whole := strings.Split(string(b), "\n")
			for _, l := range whole[:len(whole)-1] {
				if l != "" {
					lines = append(lines, l)
				}
			}
		}
	}
	if len(lines) == 0 {
		t.Fatal("no access log lines")
	}
	routes := map[string]int{}
	for _, l := range lines {
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		var a venue.AccessLine
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
		routes[a.Route]++
		for _, leak := range append([]string{"plenary", "bilateral-arden-borealia", "arden-internal", "127.0.0.1"}, devices...) {
			if strings.Contains(l, leak) {
				t.Errorf("access log line %q names %q", l, leak)
			}
		}
	}
	t.Logf("access log: %d lines, by route %v", len(lines), routes)
}
