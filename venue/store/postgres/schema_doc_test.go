package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/good-offices/goodoffices/internal/metadatadoc"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// TestSchemaDocumented checks that the PostgreSQL schema of the venue and
// of its schedule has exactly the columns docs/metadata.md lists for
// PostgreSQL: a new column without a line there fails.
func TestSchemaDocumented(t *testing.T) {
	u := pgtest.Schema(t, pgtest.URL(t))
	ctx := t.Context()
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	sched, err := scheduleapi.OpenPostgres(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	sched.Close()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for rows.Next() {
		var tb, col string
		if err := rows.Scan(&tb, &col); err != nil {
			t.Fatal(err)
		}
		got[tb+"."+col] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want, err := metadatadoc.Columns("../../../docs/metadata.md", metadatadoc.PostgreSQL)
	if err != nil {
		t.Fatal(err)
	}
	undocumented, missing := metadatadoc.Diff(got, want)
	for _, k := range undocumented {
		t.Errorf("column %s is stored but not documented in docs/metadata.md", k)
	}
	for _, k := range missing {
		t.Errorf("docs/metadata.md documents column %s, which PostgreSQL does not have", k)
	}
	t.Logf("%d PostgreSQL columns, each documented", len(got))
}
