package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "venue.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "venue.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutMail(t.Context(), "d", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := s.Mail(t.Context(), "d", 0, 10)
	if err != nil || len(ms) != 1 || string(ms[0].Data) != "kept" {
		t.Fatalf("after reopen: %+v %v", ms, err)
	}
}

// TestOwnerOnly: the database, its WAL files and the store's journal are
// readable by the venue's user only.
func TestOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "venue.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{path, path + "-wal", s.journalPath(s.j.n)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), m)
		}
	}
}

// TestNewDatabase: a new database has the store's page size, in WAL mode,
// and keeps them when reopened.
func TestNewDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "venue.db")
	for range 2 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		var ps int
		var mode string
		if err := s.r.QueryRowContext(t.Context(), `PRAGMA page_size`).Scan(&ps); err != nil || ps != pageSize {
			t.Errorf("page size %d (%v), want %d", ps, err, pageSize)
		}
		if err := s.r.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal mode %q (%v), want wal", mode, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
