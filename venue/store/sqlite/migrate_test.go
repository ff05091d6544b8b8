package sqlite

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// schema2 is the schema of version 2 (one row per entry), as the store
// created it before chunks.
const schema2 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (log TEXT NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (log, idx));
CREATE TABLE checkpoints (log TEXT NOT NULL, size INTEGER NOT NULL, note BLOB NOT NULL, PRIMARY KEY (log, size));
CREATE TABLE commits (log TEXT NOT NULL, epoch INTEGER NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (log, epoch)) WITHOUT ROWID;
CREATE TABLE channels (id TEXT PRIMARY KEY, kind TEXT NOT NULL, level TEXT NOT NULL, members TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE devices (id TEXT PRIMARY KEY, delegation TEXT NOT NULL, certificate BLOB NOT NULL, registered INTEGER NOT NULL);
CREATE INDEX devices_delegation ON devices (delegation);
CREATE TABLE keypackages (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, data BLOB NOT NULL, last_resort INTEGER NOT NULL);
CREATE INDEX keypackages_device ON keypackages (device, last_resort, id);
CREATE TABLE mail (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, data BLOB NOT NULL, created INTEGER NOT NULL);
CREATE INDEX mail_device ON mail (device, id);
CREATE TABLE nonces (nonce BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('schema', '2');
`

// writeV2 creates a database of schema 2 at path holding logs, with plain
// SQL; each log's checkpoint at its size and a commit at each 100th entry.
func writeV2(t *testing.T, path string, logs []*testLog, skip int64) {
	t.Helper()
	tables := openTablesOnly(t, path)
	defer tables.Close()
	db, err := tables.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schema2); err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		for i, e := range l.entries {
			if int64(i) == skip {
				continue
			}
			var row []byte
			for _, h := range l.hashes[tlog.StoredHashCount(int64(i)):tlog.StoredHashCount(int64(i)+1)] {
				row = append(row, h[:]...)
			}
			if _, err := db.Exec(`INSERT INTO entries (log, idx, hashes, data) VALUES (?, ?, ?, ?)`, l.name, i, row, e); err != nil {
				t.Fatal(err)
			}
			if i%100 == 0 {
				if _, err := db.Exec(`INSERT INTO commits (log, epoch, idx) VALUES (?, ?, ?)`, l.name, i/100, i); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := db.Exec(`INSERT INTO checkpoints (log, size, note) VALUES (?, ?, ?)`, l.name, len(l.entries), "cp "+l.name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO mail (device, data, created) VALUES ('d', x'01', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(); err != nil {
		t.Fatal(err)
	}
}

func v2Logs(t *testing.T) []*testLog {
	var logs []*testLog
	for name, n := range map[string]int{"one": 1, "span": 256, "long": 700, "register": 513} {
		l := &testLog{name: name}
		l.next(t, n, false, -1)
		logs = append(logs, l)
	}
	return logs
}

// TestMigrate2: a database of schema 2 (rows written by plain SQL) opens as
// schema 3, with every entry, hash, commit and checkpoint as it was, in
// chunks of whole spans, and says so in the log.
func TestMigrate2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	logs := v2Logs(t)
	writeV2(t, path, logs, -1)

	var buf bytes.Buffer
	s, err := Open(ctx, path, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "migrated from schema 2 to 3") || !strings.Contains(buf.String(), "entries=1470") {
		t.Errorf("log of the migration: %q", buf.String())
	}
	check := func(s *Store) {
		t.Helper()
		for _, l := range logs {
			l.check(t, s)
			cs, err := s.Commits(ctx, l.name)
			if err != nil || len(cs) != (len(l.entries)+99)/100 {
				t.Fatalf("%s: Commits = %v, %v", l.name, cs, err)
			}
			if size, note, err := s.Checkpoint(ctx, l.name); err != nil || size != int64(len(l.entries)) || string(note) != "cp "+l.name {
				t.Fatalf("%s: Checkpoint = %d %q %v", l.name, size, note, err)
			}
			var want [][2]int64
			for first := int64(0); first < int64(len(l.entries)); first += chunkSpan {
				want = append(want, [2]int64{first, min(chunkSpan, int64(len(l.entries))-first)})
			}
			if got := tableChunks(t, s, l.name); !slices.Equal(got, want) {
				t.Fatalf("%s: chunks %v, want %v", l.name, got, want)
			}
		}
		if behind, err := s.Behind(ctx); err != nil || len(behind) != 0 {
			t.Fatalf("Behind = %v, %v", behind, err)
		}
		if ms, err := s.Mail(ctx, "d", 0, 10); err != nil || len(ms) != 1 {
			t.Fatalf("Mail = %v, %v", ms, err)
		}
	}
	check(s)
	// The log grows on from the migrated chunks.
	long := logs[slices.IndexFunc(logs, func(l *testLog) bool { return l.name == "long" })]
	if err := s.Append(ctx, []store.LogAppend{long.next(t, 100, false, 7)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long.check(t, s)
	var v string
	var tables int
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil || v != "3" {
		t.Fatalf("schema version %q, %v", v, err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'entries'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("table entries still there (%d, %v)", tables, err)
	}
}

// TestMigrate2Gap: a schema 2 database with an entry missing is refused,
// and left as it was.
func TestMigrate2Gap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "venue.db")
	writeV2(t, path, v2Logs(t), 300)
	_, err := Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "entry 300 missing") {
		t.Fatalf("Open of a schema 2 database with a gap: %v", err)
	}
	db := openTablesOnly(t, path)
	defer db.Close()
	var v string
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil || v != "2" {
		t.Fatalf("schema version %q, %v after a refused migration", v, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM entries`).Scan(&n); err != nil || n != 1468 {
		t.Fatalf("%d entries (%v) after a refused migration", n, err)
	}
}
