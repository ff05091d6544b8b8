// Package pgtest gives tests a PostgreSQL database: the one on the machine
// (127.0.0.1:5432, database test, or env GOODOFFICES_TEST_POSTGRES), a fresh
// schema per test. Without PostgreSQL a test skips, except when env CI is
// set: then it fails, so that CI cannot pass without having run it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns the URL of the test database, or skips the test when
// no PostgreSQL answers (and fails it when env CI is set).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GOODOFFICES_TEST_POSTGRES")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL needed in CI: %v", err)
		}
		t.Skipf("no PostgreSQL at %s: %v", u, err)
	}
	conn.Close(ctx)
	return u
}

// Schema creates a fresh schema in the database at base, dropped when
// the test ends, and returns a URL whose connections use it.
func Schema(t testing.TB, base string) string {
	t.Helper()
	var rb [6]byte
	rand.Read(rb[:])
	schema := "gotest_" + hex.EncodeToString(rb[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String()
}
