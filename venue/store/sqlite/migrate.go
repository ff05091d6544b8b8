package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// createSchema creates the tables of a new database, or migrates an older
// one to schemaVersion, in one transaction.
func createSchema(ctx context.Context, w *sql.DB, path string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to create schema: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("failed to create schema: %w", err)
	}
	var v string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil {
		return fmt.Errorf("failed to read the schema version: %w", err)
	}
	if v == "2" {
		start := time.Now()
		st, err := migrate2(ctx, tx)
		if err != nil {
			return fmt.Errorf("failed to migrate the database from schema 2 to 3: %w", err)
		}
		log.InfoContext(ctx, "sqlite: database migrated from schema 2 to 3 (entries in chunks)",
			"path", path, "logs", st.logs, "entries", st.entries, "chunks", st.chunks, "duration", time.Since(start).Round(time.Millisecond))
		v = schemaVersion
	}
	if v != schemaVersion {
		return fmt.Errorf("unsupported database schema version %q", v)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to create schema: %w", err)
	}
	return nil
}

type migrateStats struct{ logs, entries, chunks int64 }

// migrate2 moves the rows of table entries (schema 2: one row per entry,
// with its stored hashes) into chunks of whole spans, drops the table and
// sets the version to 3. It reads one span of one log at a time. A log
// must hold entries 0 to its size without a gap, and each entry the
// number of stored hashes its index completes.
func migrate2(ctx context.Context, tx *sql.Tx) (migrateStats, error) {
	var st migrateStats
	var logs []string
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT log FROM entries ORDER BY log`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return st, err
		}
		logs = append(logs, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO chunks (log, first, n, last, hashes, data) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return st, err
	}
	defer ins.Close()
	for _, l := range logs {
		st.logs++
		for span := int64(0); ; span += chunkSpan {
			b := chunkBuilder{log: l}
			rows, err := tx.QueryContext(ctx, `SELECT idx, hashes, data FROM entries WHERE log = ? AND idx >= ? AND idx < ? ORDER BY idx`, l, span, span+chunkSpan)
			if err != nil {
				return st, err
			}
			for rows.Next() {
				var idx int64
				var hs, data []byte
				if err := rows.Scan(&idx, &hs, &data); err != nil {
					rows.Close()
					return st, err
				}
				want := span + int64(len(b.entries))
				if idx != want {
					rows.Close()
					return st, fmt.Errorf("log %s: entry %d missing", l, want)
				}
				if int64(len(hs)) != hashCount(idx, 1)*tlog.HashSize {
					rows.Close()
					return st, fmt.Errorf("log %s: entry %d has %d bytes of hashes, want %d", l, idx, len(hs), hashCount(idx, 1)*tlog.HashSize)
				}
				b.entries = append(b.entries, data)
				b.hashes = append(b.hashes, hs...)
				b.first = span
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return st, err
			}
			n := int64(len(b.entries))
			b.flush()
			for _, c := range b.done {
				if _, err := ins.ExecContext(ctx, c.log, c.first, c.n, c.last, c.hashes, c.data); err != nil {
					return st, err
				}
				st.chunks++
			}
			st.entries += n
			if n < chunkSpan {
				break
			}
		}
	}
	var left int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM entries`).Scan(&left); err != nil {
		return st, err
	}
	if left != st.entries {
		return st, fmt.Errorf("table entries holds %d rows, %d of them in logs from index 0 without a gap", left, st.entries)
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE entries; UPDATE meta SET value = '3' WHERE key = 'schema'`); err != nil {
		return st, err
	}
	return st, nil
}
