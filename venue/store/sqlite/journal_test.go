package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/storetest"
)

// The conformance suite with nothing applied before Close (every read
// answers from the journal's tail) and with an applier that runs every
// millisecond (reads race with rounds).
func TestConformanceJournal(t *testing.T) {
	for name, cfg := range map[string]options{
		"Unapplied":   {noApply: true},
		"EveryMillis": {applyEvery: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s, err := open(t.Context(), filepath.Join(t.TempDir(), "venue.db"), cfg)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

// testLog builds appends to one log, keeping its stored hashes.
type testLog struct {
	name    string
	hashes  []tlog.Hash
	entries [][]byte
}

func (l *testLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("hash %d missing", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

// next returns the append of n new entries; note says whether it carries a
// checkpoint. commit, if >= 0, makes the first entry the commit of that
// epoch.
func (l *testLog) next(t testing.TB, n int, note bool, commit int64) store.LogAppend {
	t.Helper()
	old := int64(len(l.entries))
	a := store.LogAppend{Log: l.name, OldSize: old}
	for i := range n {
		e := fmt.Appendf(nil, "%s entry %d", l.name, old+int64(i))
		hs, err := tlog.StoredHashes(old+int64(i), e, l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.entries = append(l.entries, e)
		a.Entries = append(a.Entries, e)
		a.Hashes = append(a.Hashes, hs...)
	}
	if note {
		a.Note = fmt.Appendf(nil, "%s checkpoint %d\n", l.name, old+int64(n))
	}
	if commit >= 0 {
		a.Commits = []store.EpochCommit{{Epoch: commit, Index: old}}
	}
	return a
}

// check verifies that s holds log l as built: size, entries, hashes.
func (l *testLog) check(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	if n, err := s.Size(ctx, l.name); err != nil || n != int64(len(l.entries)) {
		t.Fatalf("%s: Size = %d, %v, want %d", l.name, n, err, len(l.entries))
	}
	if len(l.entries) == 0 {
		return
	}
	got, err := s.ReadEntries(ctx, l.name, 0, int64(len(l.entries)))
	if err != nil {
		t.Fatalf("%s: ReadEntries: %v", l.name, err)
	}
	for i := range got {
		if !bytes.Equal(got[i], l.entries[i]) {
			t.Fatalf("%s: entry %d = %q, want %q", l.name, i, got[i], l.entries[i])
		}
	}
	idx := make([]int64, len(l.hashes))
	for i := range idx {
		idx[i] = int64(i)
	}
	hs, err := s.ReadHashes(ctx, l.name, idx)
	if err != nil {
		t.Fatalf("%s: ReadHashes: %v", l.name, err)
	}
	for i := range hs {
		if hs[i] != l.hashes[i] {
			t.Fatalf("%s: hash %d differs", l.name, i)
		}
	}
	if _, err := s.ReadEntries(ctx, l.name, 0, int64(len(l.entries))+1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: ReadEntries past the end: %v", l.name, err)
	}
}

// tableEntries counts the entries the tables hold (not the tail).
func tableEntries(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT COALESCE(SUM(n), 0) FROM chunks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func journalFiles(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + "-journal-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openUnapplied(t *testing.T, path string) *Store {
	t.Helper()
	s, err := open(t.Context(), path, options{noApply: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCrashKeepsAcknowledged appends through the journal with the applier
// stopped, reads the unapplied entries, stops the store as a kill would
// (nothing applied, files closed as they are) and reopens it: everything
// acknowledged is there.
func TestCrashKeepsAcknowledged(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	// Some entries in the tables before, so that reads join both.
	a, b := &testLog{name: "a"}, &testLog{name: "b"}
	s0 := openUnapplied(t, path)
	if err := s0.Append(ctx, []store.LogAppend{a.next(t, 5, true, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s0.Close(); err != nil {
		t.Fatal(err)
	}

	s := openUnapplied(t, path)
	for i := range 10 {
		batch := []store.LogAppend{a.next(t, 3, false, -1), b.next(t, i+1, i == 4, int64(10+i))}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: "a", Size: 20, Note: []byte("a 20\n")}}); err != nil {
		t.Fatal(err)
	}
	// Reads see what is only in the journal.
	if n := tableEntries(t, s); n != 5 {
		t.Fatalf("the tables hold %d entries, want the 5 of before", n)
	}
	check := func(s *Store) {
		t.Helper()
		a.check(t, s)
		b.check(t, s)
		if n, note, err := s.Checkpoint(ctx, "a"); err != nil || n != 20 || string(note) != "a 20\n" {
			t.Fatalf("Checkpoint(a) = %d %q %v", n, note, err)
		}
		if note, err := s.CheckpointAt(ctx, "a", 5); err != nil || string(note) != "a checkpoint 5\n" {
			t.Fatalf("CheckpointAt(a, 5) = %q %v", note, err)
		}
		if n, _, err := s.Checkpoint(ctx, "b"); err != nil || n != 15 {
			t.Fatalf("Checkpoint(b) = %d %v, want 15", n, err)
		}
		cs, err := s.Commits(ctx, "b")
		if err != nil || len(cs) != 10 || cs[0] != (store.EpochCommit{Epoch: 10, Index: 0}) || cs[9] != (store.EpochCommit{Epoch: 19, Index: 45}) {
			t.Fatalf("Commits(b) = %v, %v", cs, err)
		}
		if cs, err := s.Commits(ctx, "a"); err != nil || len(cs) != 1 {
			t.Fatalf("Commits(a) = %v, %v", cs, err)
		}
		behind, err := s.Behind(ctx)
		if err != nil || len(behind) != 2 {
			t.Fatalf("Behind = %v, %v, want a and b", behind, err)
		}
		// The compare-and-swap and the epochs hold across the tail.
		stale := store.LogAppend{Log: "a", OldSize: 34, Entries: [][]byte{[]byte("x")}, Hashes: make([]tlog.Hash, 1)}
		if err := s.Append(ctx, []store.LogAppend{stale}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("append at a stale size: %v, want ErrConflict", err)
		}
		taken := store.LogAppend{Log: "b", OldSize: 55, Entries: [][]byte{[]byte("x")}, Hashes: make([]tlog.Hash, hashCount(55, 1)),
			Commits: []store.EpochCommit{{Epoch: 12, Index: 55}}}
		if err := s.Append(ctx, []store.LogAppend{taken}); !errors.Is(err, store.ErrEpochTaken) {
			t.Fatalf("a second commit for epoch 12: %v, want ErrEpochTaken", err)
		}
		if err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: "b", Size: 56, Note: []byte("b 56\n")}}); err == nil {
			t.Fatal("a checkpoint past the log's end was stored")
		}
	}
	check(s)
	s.crash()
	if len(journalFiles(t, path)) == 0 {
		t.Fatal("no journal left after the crash")
	}

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := tableEntries(t, s2); n != 35+55 {
		t.Fatalf("after replay the tables hold %d entries, want %d", n, 35+55)
	}
	check(s2)
	if js := journalFiles(t, path); len(js) != 1 {
		t.Fatalf("journal files after replay: %v, want one fresh file", js)
	}
	// And it goes on from there.
	if err := s2.Append(ctx, []store.LogAppend{a.next(t, 2, false, -1)}); err != nil {
		t.Fatal(err)
	}
	a.check(t, s2)
}

// crashed appends n one-entry batches to log "a" of a fresh store, stops it
// as a kill would, and returns the database path, the log and the journal
// file's bytes.
func crashed(t *testing.T, n int) (string, *testLog, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "venue.db")
	s := openUnapplied(t, path)
	l := &testLog{name: "a"}
	for i := range n {
		if err := s.Append(t.Context(), []store.LogAppend{l.next(t, 1, false, int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	s.crash()
	js := journalFiles(t, path)
	if len(js) != 1 {
		t.Fatalf("journal files: %v", js)
	}
	return path, l, js[0]
}

// readJournal reads a journal file and splits it into what was written
// (the magic and the frames) and the reserved zeros after it.
func readJournal(t *testing.T, path string) (written, reserve []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, valid, err := parseJournal(data[len(journalMagic):])
	if err != nil {
		t.Fatal(err)
	}
	end := len(journalMagic) + valid
	if !zeros(data[end:]) {
		t.Fatalf("%s: bytes after the last frame are not zeros", path)
	}
	return data[:end:end], data[end:]
}

// dropLast forgets the last entry of l (whose record the test damaged).
func (l *testLog) dropLast() {
	n := int64(len(l.entries) - 1)
	l.entries = l.entries[:n]
	l.hashes = l.hashes[:tlog.StoredHashCount(n)]
}

// TestReservedJournal: journal files are created with their space reserved
// (on Linux), frames are written from the start of it, and a crash right
// after a file was created (reserved, magic not yet durable: all zeros)
// leaves a journal that opens with every record of before.
func TestReservedJournal(t *testing.T) {
	path, l, jf := crashed(t, 3)
	data, reserve := readJournal(t, jf)
	if runtime.GOOS == "linux" && int64(len(data)+len(reserve)) < journalReserve {
		t.Errorf("journal file of %d bytes, want at least the %d reserved", len(data)+len(reserve), int64(journalReserve))
	}
	if len(reserve) > 0 && len(data) > len(journalMagic)+3*300 {
		t.Errorf("%d bytes written for 3 one-entry appends: frames not at the start of the file", len(data))
	}
	// The next file, created and reserved, nothing written.
	writeNextJournal(t, path, jf, make([]byte, 1<<16))
	reopen(t, path, l)
}

// writeNextJournal writes data as the journal file that follows jf.
func writeNextJournal(t *testing.T, path, jf string, data []byte) {
	t.Helper()
	next := path + "-journal-" + strconv.Itoa(journalNumber(t, path, jf)+1)
	if err := os.WriteFile(next, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// reopen opens the store at path and checks that it holds l as built.
func reopen(t *testing.T, path string, l *testLog) {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l.check(t, s)
}

// TestTornBeforeUnusedFile: the applier creates the next journal file
// before it waits for the write in progress, so a kill can leave a file
// whose last frame is cut short followed by a created, unused one (found
// by TestKillDurabilityLoop). Open drops the torn frame, as it would at
// the end of the last file, and keeps every record before it; a torn
// frame followed by a file that holds a frame is still refused.
func TestTornBeforeUnusedFile(t *testing.T) {
	for name, next := range map[string][]byte{
		"MagicAndZeros": append([]byte(journalMagic), make([]byte, 4096)...),
		"MagicOnly":     []byte(journalMagic),
		"Zeros":         make([]byte, 4096),
		"Nothing":       nil,
	} {
		t.Run(name, func(t *testing.T) {
			path, l, jf := crashed(t, 4)
			data, reserve := readJournal(t, jf)
			l.dropLast()
			if err := os.WriteFile(jf, append(data[:len(data)-10], reserve...), 0o600); err != nil {
				t.Fatal(err)
			}
			writeNextJournal(t, path, jf, next)
			reopen(t, path, l)
		})
	}
	t.Run("FrameAfter", func(t *testing.T) {
		path, _, jf := crashed(t, 4)
		data, reserve := readJournal(t, jf)
		if err := os.WriteFile(jf, append(data[:len(data)-10], reserve...), 0o600); err != nil {
			t.Fatal(err)
		}
		// The next file holds a whole frame (any: a copy of the first).
		_, n, ok, _ := frameAt(data[len(journalMagic):])
		if !ok {
			t.Fatal("no first frame")
		}
		writeNextJournal(t, path, jf, append([]byte(journalMagic), data[len(journalMagic):len(journalMagic)+n]...))
		if _, err := Open(t.Context(), path); !errors.Is(err, errCorrupt) {
			t.Fatalf("Open with a torn frame before a used file: %v, want errCorrupt", err)
		}
	})
}

// journalNumber returns the number of journal file jf of the database at path.
func journalNumber(t *testing.T, path, jf string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(jf, path+"-journal-"))
	if err != nil {
		t.Fatalf("journal file %s: %v", jf, err)
	}
	return n
}

// TestTornTail: a last frame that a crash cut short, or left with garbage,
// is dropped; the records before it are kept.
func TestTornTail(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"CutInPayload": func(b []byte) []byte { return b[:len(b)-10] },
		"CutInHeader":  func(b []byte) []byte { return b[:lastFrame(b)+3] },
		"ZeroedTail":   func(b []byte) []byte { clear(b[len(b)-20:]); return b },
		"GarbageAfter": func(b []byte) []byte { return append(b, 0xff, 0x01, 0x02) },
	} {
		t.Run(name, func(t *testing.T) {
			path, l, jf := crashed(t, 4)
			data, reserve := readJournal(t, jf)
			if name != "GarbageAfter" {
				l.dropLast()
			}
			if err := os.WriteFile(jf, append(damage(data), reserve...), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			l.check(t, s)
			if cs, err := s.Commits(t.Context(), "a"); err != nil || len(cs) != len(l.entries) {
				t.Fatalf("Commits = %v, %v: want %d", cs, err, len(l.entries))
			}
			// The index of the dropped record is free again.
			if err := s.Append(t.Context(), []store.LogAppend{l.next(t, 1, false, -1)}); err != nil {
				t.Fatal(err)
			}
			l.check(t, s)
		})
	}
}

// lastFrame returns the offset of the last frame of a journal file.
func lastFrame(b []byte) int {
	off, last := len(journalMagic), 0
	for {
		_, n, ok, _ := frameAt(b[off:])
		if !ok {
			return last
		}
		last, off = off, off+n
	}
}

// TestBitFlip: a flipped bit in a record's payload is detected, never
// applied: in the last frame it reads as a torn write and the record is
// dropped; in an earlier frame (acknowledged, a valid frame after it) Open
// refuses the journal and leaves the tables as they were.
func TestBitFlip(t *testing.T) {
	t.Run("Last", func(t *testing.T) {
		path, l, jf := crashed(t, 3)
		data, reserve := readJournal(t, jf)
		data[len(data)-8] ^= 0x10 // in the last record's payload
		os.WriteFile(jf, append(data, reserve...), 0o600)
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l.dropLast()
		l.check(t, s)
	})
	t.Run("Earlier", func(t *testing.T) {
		path, _, jf := crashed(t, 3)
		data, reserve := readJournal(t, jf)
		data[len(journalMagic)+8+5] ^= 0x01 // in the first frame's payload
		os.WriteFile(jf, append(data, reserve...), 0o600)
		_, err := Open(t.Context(), path)
		if !errors.Is(err, errCorrupt) {
			t.Fatalf("Open of a journal damaged before its end: %v, want errCorrupt", err)
		}
		s := openTablesOnly(t, path)
		defer s.Close()
		var n int
		if err := s.QueryRow(`SELECT COALESCE(SUM(n), 0) FROM chunks`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the tables hold %d entries (%v) after a refused replay", n, err)
		}
	})
}

// TestFlipEveryBit: whatever bit of a journal is flipped, parsing yields
// either an error or a prefix of the records written, never a changed one.
func TestFlipEveryBit(t *testing.T) {
	recs := sampleRecords()
	var data []byte
	for i := range recs {
		data = appendFrame(data, appendRecord(nil, &recs[i]))
	}
	for i := range len(data) * 8 {
		d := bytes.Clone(data)
		d[i/8] ^= 1 << (i % 8)
		got, valid, err := parseJournal(d)
		if err != nil {
			continue
		}
		if valid > len(d) || len(got) == len(recs) {
			t.Fatalf("bit %d: %d records, valid prefix %d: the damage went unnoticed", i, len(got), valid)
		}
		for j := range got {
			if !bytes.Equal(appendRecord(nil, &got[j]), appendRecord(nil, &recs[j])) {
				t.Fatalf("bit %d: record %d changed", i, j)
			}
		}
	}
}

// TestReplayIdempotent: a journal file whose records the tables already
// hold (the applier committed, then the process died before deleting it)
// is replayed without effect.
func TestReplayIdempotent(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	s := openUnapplied(t, path)
	l := &testLog{name: "a"}
	for i := range 3 {
		if err := s.Append(ctx, []store.LogAppend{l.next(t, 2, i == 2, int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	js := journalFiles(t, path)
	kept, err := os.ReadFile(js[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.applyRound(false); err != nil {
		t.Fatal(err)
	}
	if n := tableEntries(t, s); n != 6 {
		t.Fatalf("applied %d entries, want 6", n)
	}
	if err := s.Append(ctx, []store.LogAppend{l.next(t, 1, false, -1)}); err != nil {
		t.Fatal(err)
	}
	s.crash()
	// The applied file comes back (its deletion was not durable).
	if err := os.WriteFile(js[0], kept, 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	l.check(t, s2)
	if n := tableEntries(t, s2); n != 7 {
		t.Fatalf("the tables hold %d entries, want 7", n)
	}
}

// TestApplierRounds: with the applier running, the journal reaches the
// tables and the tail empties; Close leaves no journal.
func TestApplierRounds(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	s, err := open(ctx, path, options{applyEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{name: "a"}
	for range 50 {
		if err := s.Append(ctx, []store.LogAppend{l.next(t, 3, false, -1)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for tableEntries(t, s) != 150 {
		if time.Now().After(deadline) {
			t.Fatalf("the applier moved %d of 150 entries in 10s", tableEntries(t, s))
		}
		time.Sleep(time.Millisecond)
	}
	l.check(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if js := journalFiles(t, path); len(js) != 0 {
		t.Fatalf("journal files after Close: %v", js)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	l.check(t, s2)
}

// openTablesOnly opens the database file with SQLite alone.
func openTablesOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func sampleRecords() []record {
	var all []tlog.Hash
	var hs []byte
	entries := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	for i, e := range entries {
		h, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = all[x]
			}
			return out, nil
		}))
		if err != nil {
			panic(err)
		}
		all = append(all, h...)
		for _, x := range h {
			hs = append(hs, x[:]...)
		}
	}
	return []record{
		{Kind: recAppend, Apps: []logRec{{Log: "ch-1", OldSize: 0, Entries: entries, Hashes: hs, Note: []byte("ch-1 3\n"), Commits: []store.EpochCommit{{Epoch: 7, Index: 1}}}}},
		{Kind: recCheckpoints, Cps: []store.SignedCheckpoint{{Log: "ch-1", Size: 3, Note: []byte("n\n")}, {Log: "x", Size: 1 << 40, Note: []byte("m")}}},
		{Kind: recAppend, Apps: []logRec{{Log: "", OldSize: 0, Entries: [][]byte{{}}, Hashes: make([]byte, 32), Note: []byte{}}}},
	}
}

// FuzzJournal: parsing never panics, its valid prefix is within the input,
// and every record parsed from a valid frame encodes back to the very
// bytes it came from (the encoding is canonical).
func FuzzJournal(f *testing.F) {
	recs := sampleRecords()
	var all []byte
	for i := range recs {
		one := appendRecord(nil, &recs[i])
		f.Add(appendFrame(nil, one))
		all = appendFrame(all, one)
	}
	f.Add(all)
	f.Add(appendFrame(nil, appendRecord(nil, &recs[0]), appendRecord(nil, &recs[1])))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, valid, _ := parseJournal(data)
		if valid < 0 || valid > len(data) {
			t.Fatalf("valid prefix %d of %d bytes", valid, len(data))
		}
		for off := 0; off < len(data); {
			payload, n, ok, _ := frameAt(data[off:])
			if !ok {
				break
			}
			var again []byte
			for rest := payload; len(rest) > 0; {
				r, next, err := parseRecord(rest)
				if err != nil {
					again = nil
					break
				}
				again = appendRecord(again, &r)
				rest = next
			}
			if again != nil && !bytes.Equal(again, payload) {
				t.Fatalf("records of frame at %d re-encode differently:\n%x\n%x", off, payload, again)
			}
			off += n
		}
	})
}

// FuzzJournalRecord fuzzes the record parser behind the checksums: it
// never panics, and a record it accepts encodes back to the bytes it read.
func FuzzJournalRecord(f *testing.F) {
	recs := sampleRecords()
	for i := range recs {
		f.Add(appendRecord(nil, &recs[i]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, rest, err := parseRecord(data)
		if err != nil {
			return
		}
		if again := appendRecord(nil, &r); !bytes.Equal(again, data[:len(data)-len(rest)]) {
			t.Fatalf("record re-encodes differently:\n%x\n%x", data[:len(data)-len(rest)], again)
		}
	})
}

// TestGroupCommit: concurrent appends and checkpoints share frames (one
// write, one fdatasync), and every one of them is in the journal, in an
// order that replays.
func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	s := openUnapplied(t, path)
	const writers, appends = 8, 25
	logs := make([]*testLog, writers)
	errc := make(chan error, writers)
	for w := range writers {
		logs[w] = &testLog{name: fmt.Sprintf("w%d", w)}
		go func() {
			l := logs[w]
			for i := range appends {
				a := l.next(t, 1, false, -1)
				if err := s.Append(ctx, []store.LogAppend{a}); err != nil {
					errc <- err
					return
				}
				if i%5 == 4 {
					cp := store.SignedCheckpoint{Log: l.name, Size: int64(i + 1), Note: fmt.Appendf(nil, "%s %d\n", l.name, i+1)}
					if err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{cp}); err != nil {
						errc <- err
						return
					}
				}
			}
			errc <- nil
		}()
	}
	for range writers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	s.crash()
	js := journalFiles(t, path)
	data, err := os.ReadFile(js[0])
	if err != nil {
		t.Fatal(err)
	}
	recs, valid, err := parseJournal(data[len(journalMagic):])
	if err != nil || !zeros(data[len(journalMagic)+valid:]) {
		t.Fatalf("journal: %v, %d of %d bytes valid, not zeros after", err, valid, len(data)-len(journalMagic))
	}
	frames := 0
	for off := len(journalMagic); off < len(journalMagic)+valid; frames++ {
		_, n, _, _ := frameAt(data[off:])
		off += n
	}
	if want := writers * (appends + appends/5); len(recs) != want || frames > want {
		t.Fatalf("%d records in %d frames, want %d records", len(recs), frames, want)
	}
	t.Logf("%d records in %d frames", len(recs), frames)
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, l := range logs {
		l.check(t, s2)
		if n, _, err := s2.Checkpoint(ctx, l.name); err != nil || n != appends {
			t.Fatalf("Checkpoint(%s) = %d, %v", l.name, n, err)
		}
	}
}

// TestOpenTwice: two Opens of one path in a process share the journal and
// the sizes, so that the compare-and-swap holds between them (two venues on
// one database); the store closes with the last Close.
func TestOpenTwice(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	s1, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, filepath.Join(filepath.Dir(path), ".", "venue.db"))
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{name: "a"}
	a := l.next(t, 1, false, -1)
	if err := s1.Append(ctx, []store.LogAppend{a}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Append(ctx, []store.LogAppend{a}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same append through the second Open: %v, want ErrConflict", err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Append(ctx, []store.LogAppend{l.next(t, 1, false, -1)}); err != nil {
		t.Fatalf("append after the first Close: %v", err)
	}
	l.check(t, s2)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if js := journalFiles(t, path); len(js) != 0 {
		t.Fatalf("journal files after the last Close: %v", js)
	}
}

// TestLazyCheckpoints: checkpoints published with PublishCheckpoints are
// served at once; a crash before the applier takes them loses them (and
// Behind then names their logs), unless AddCheckpoints made one durable
// since, with the note it was published with; an applier round makes them
// durable in the tables.
func TestLazyCheckpoints(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "venue.db")
	a, b := &testLog{name: "a"}, &testLog{name: "b"}
	s := openUnapplied(t, path)
	if err := s.Append(ctx, []store.LogAppend{a.next(t, 4, false, -1), b.next(t, 6, false, -1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishCheckpoints(ctx, []store.SignedCheckpoint{{Log: "a", Size: 4, Note: []byte("a 4\n")}, {Log: "b", Size: 6, Note: []byte("b 6\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishCheckpoints(ctx, []store.SignedCheckpoint{{Log: "a", Size: 5, Note: []byte("a 5\n")}}); err == nil {
		t.Fatal("a checkpoint past the log's end was published")
	}
	for _, c := range []struct {
		log  string
		size int64
		note string
	}{{"a", 4, "a 4\n"}, {"b", 6, "b 6\n"}} {
		if n, note, err := s.Checkpoint(ctx, c.log); err != nil || n != c.size || string(note) != c.note {
			t.Fatalf("Checkpoint(%s) = %d %q %v", c.log, n, note, err)
		}
	}
	if behind, err := s.Behind(ctx); err != nil || len(behind) != 0 {
		t.Fatalf("Behind = %v, %v, want none while served", behind, err)
	}
	// Made durable with the note it was published with, whatever the
	// caller passes.
	if err := s.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: "b", Size: 6, Note: []byte("other\n")}}); err != nil {
		t.Fatal(err)
	}
	s.crash()

	s2 := openUnapplied(t, path)
	a.check(t, s2)
	b.check(t, s2)
	if _, _, err := s2.Checkpoint(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Checkpoint(a) after the crash: %v, want it lost", err)
	}
	if n, note, err := s2.Checkpoint(ctx, "b"); err != nil || n != 6 || string(note) != "b 6\n" {
		t.Fatalf("Checkpoint(b) after the crash = %d %q %v, want the durable one", n, note, err)
	}
	if behind, err := s2.Behind(ctx); err != nil || len(behind) != 1 || behind[0] != "a" {
		t.Fatalf("Behind after the crash = %v, %v, want a", behind, err)
	}
	// Published again, then applied: in the tables.
	if err := s2.PublishCheckpoints(ctx, []store.SignedCheckpoint{{Log: "a", Size: 4, Note: []byte("a 4\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil { // the final applier round
		t.Fatal(err)
	}
	db := openTablesOnly(t, path)
	var notes int
	if err := db.QueryRow(`SELECT count(*) FROM checkpoints`).Scan(&notes); err != nil || notes != 2 {
		t.Fatalf("checkpoints in the tables: %d, %v, want 2", notes, err)
	}
}
