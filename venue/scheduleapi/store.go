package scheduleapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Errors of a Store; callers test with errors.Is.
var (
	// ErrConflict: the schedule was saved by someone else since it was
	// loaded. The service reloads and applies the operation again.
	ErrConflict = errors.New("schedule changed concurrently")
	// ErrNotFound: no such feed.
	ErrNotFound = errors.New("not found")
)

// FeedRecord is a calendar feed subscription. The token itself is never
// stored, only its SHA-256.
type FeedRecord struct {
	ID         string    `json:"id"`
	TokenHash  []byte    `json:"-"`
	Delegation string    `json:"delegation"`
	Person     string    `json:"person,omitempty"` // empty: the delegation's feed
	Zone       string    `json:"zone,omitempty"`   // the subscriber's IANA zone, for descriptions
	Created    time.Time `json:"created"`
	Revoked    time.Time `json:"revoked,omitzero"`
}

// Store persists the schedule and its feed subscriptions.
//
// The schedule is one versioned JSON document (schedule.State): every
// change is a compare-and-swap on the version, so two venue nodes cannot
// both book a room: the loser reloads and the rules run again.
type Store interface {
	// LoadSchedule returns the saved state and its version; version 0 and
	// nil data when nothing was saved yet.
	LoadSchedule(ctx context.Context) (data []byte, version int64, err error)
	// SaveSchedule stores data as version old+1 if the saved version is
	// still old, else returns ErrConflict.
	SaveSchedule(ctx context.Context, data []byte, old int64) error
	// PutFeed stores a new feed.
	PutFeed(ctx context.Context, f FeedRecord) error
	// FeedByToken returns the feed whose token hashes to hash, revoked or
	// not, or ErrNotFound.
	FeedByToken(ctx context.Context, hash []byte) (FeedRecord, error)
	// Feeds returns every feed, oldest first.
	Feeds(ctx context.Context) ([]FeedRecord, error)
	// RevokeFeed marks a feed revoked at t; ErrNotFound if there is none.
	RevokeFeed(ctx context.Context, id string, t time.Time) error
}

// SQLStore keeps the schedule in two tables of its own (schedule_state,
// schedule_feeds) in a SQLite or PostgreSQL database.
type SQLStore struct {
	db       *sql.DB
	own      bool
	postgres bool
}

// schemaFor returns the tables in the dialect's types.
func schemaFor(postgres bool) []string {
	blob, integer := "BLOB", "INTEGER"
	if postgres {
		blob, integer = "BYTEA", "BIGINT"
	}
	return []string{`
CREATE TABLE IF NOT EXISTS schedule_state (
	id      ` + integer + ` PRIMARY KEY CHECK (id = 1),
	version ` + integer + ` NOT NULL,
	data    ` + blob + ` NOT NULL
)`, `
CREATE TABLE IF NOT EXISTS schedule_feeds (
	id         TEXT PRIMARY KEY,
	token_hash ` + blob + ` NOT NULL UNIQUE,
	delegation TEXT NOT NULL,
	person     TEXT NOT NULL,
	zone       TEXT NOT NULL,
	created    ` + integer + ` NOT NULL,
	revoked    ` + integer + ` NOT NULL DEFAULT 0
)`}
}

// q rewrites the ? placeholders of query for PostgreSQL ($1, $2, …).
func (s *SQLStore) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// OpenSQLite opens (creating) a SQLite database file for the schedule,
// in WAL mode with synchronous=FULL like the venue's own store.
func OpenSQLite(ctx context.Context, path string) (*SQLStore, error) {
	// Created owner-only before SQLite opens it: SQLite gives its -wal and
	// -shm files the mode of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create database: %w", err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("failed to open schedule database: %w", err)
	}
	db.SetMaxOpenConns(1)
	s, err := newSQLStore(ctx, db, false)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at url
// ("postgres://…"), creating the schedule's tables, so that many venue
// nodes share one schedule.
func OpenPostgres(ctx context.Context, url string) (*SQLStore, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("failed to open schedule database: %w", err)
	}
	db.SetMaxOpenConns(8)
	s, err := newSQLStore(ctx, db, true)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// NewSQLStore creates the schedule's tables in db if they do not exist;
// postgres selects PostgreSQL (driver "pgx") rather than SQLite. The venue
// may pass its own database handle: the tables are separate from its
// store's.
func NewSQLStore(ctx context.Context, db *sql.DB, postgres bool) (*SQLStore, error) {
	return newSQLStore(ctx, db, postgres)
}

func newSQLStore(ctx context.Context, db *sql.DB, postgres bool) (*SQLStore, error) {
	for _, stmt := range schemaFor(postgres) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("failed to create schedule tables: %w", err)
		}
	}
	return &SQLStore{db: db, postgres: postgres}, nil
}

// Close closes the database if OpenSQLite opened it.
func (s *SQLStore) Close() error {
	if s.own {
		return s.db.Close()
	}
	return nil
}

// LoadSchedule implements Store.
func (s *SQLStore) LoadSchedule(ctx context.Context) ([]byte, int64, error) {
	var data []byte
	var v int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT data, version FROM schedule_state WHERE id = 1`)).Scan(&data, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("failed to load schedule: %w", err)
	}
	return data, v, nil
}

// SaveSchedule implements Store.
func (s *SQLStore) SaveSchedule(ctx context.Context, data []byte, old int64) error {
	var res sql.Result
	var err error
	if old == 0 {
		res, err = s.db.ExecContext(ctx, s.q(`INSERT INTO schedule_state (id, version, data) VALUES (1, 1, ?) ON CONFLICT (id) DO NOTHING`), data)
	} else {
		res, err = s.db.ExecContext(ctx, s.q(`UPDATE schedule_state SET version = version + 1, data = ? WHERE id = 1 AND version = ?`), data, old)
	}
	if err != nil {
		return fmt.Errorf("failed to save schedule: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("failed to save schedule: %w", err)
	} else if n != 1 {
		return ErrConflict
	}
	return nil
}

// PutFeed implements Store.
func (s *SQLStore) PutFeed(ctx context.Context, f FeedRecord) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO schedule_feeds (id, token_hash, delegation, person, zone, created) VALUES (?, ?, ?, ?, ?, ?)`),
		f.ID, f.TokenHash, f.Delegation, f.Person, f.Zone, f.Created.UnixNano())
	if err != nil {
		return fmt.Errorf("failed to store feed: %w", err)
	}
	return nil
}

func scanFeed(row interface{ Scan(...any) error }) (FeedRecord, error) {
	var f FeedRecord
	var created, revoked int64
	if err := row.Scan(&f.ID, &f.TokenHash, &f.Delegation, &f.Person, &f.Zone, &created, &revoked); err != nil {
		return FeedRecord{}, err
	}
	f.Created = time.Unix(0, created).UTC()
	if revoked != 0 {
		f.Revoked = time.Unix(0, revoked).UTC()
	}
	return f, nil
}

// FeedByToken implements Store.
func (s *SQLStore) FeedByToken(ctx context.Context, hash []byte) (FeedRecord, error) {
	f, err := scanFeed(s.db.QueryRowContext(ctx, s.q(`SELECT id, token_hash, delegation, person, zone, created, revoked FROM schedule_feeds WHERE token_hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return FeedRecord{}, ErrNotFound
	}
	if err != nil {
		return FeedRecord{}, fmt.Errorf("failed to read feed: %w", err)
	}
	return f, nil
}

// Feeds implements Store.
func (s *SQLStore) Feeds(ctx context.Context) ([]FeedRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, token_hash, delegation, person, zone, created, revoked FROM schedule_feeds ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("failed to list feeds: %w", err)
	}
	defer rows.Close()
	var out []FeedRecord
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list feeds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// RevokeFeed implements Store.
func (s *SQLStore) RevokeFeed(ctx context.Context, id string, t time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE schedule_feeds SET revoked = ? WHERE id = ? AND revoked = 0`), t.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("failed to revoke feed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM schedule_feeds WHERE id = ?`), id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
	}
	return nil
}
