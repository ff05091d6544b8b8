package desk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"

	_ "modernc.org/sqlite" // pure-Go SQLite driver
)

// StoreFile is the name of the encrypted database in a desk's home directory.
const StoreFile = "desk.db"

// scrypt parameters for the store key (RFC 7914). scryptLogN is a variable
// only so that tests can make key derivation cheap, and scryptMinLogN (the
// least cost a store's header may name) only so that the simulation can
// make it cheaper still.
var scryptLogN, scryptMinLogN = 15, 10

const scryptR, scryptP = 8, 1

// Store errors.
var (
	// ErrPassphrase means the passphrase does not open the store.
	ErrPassphrase = errors.New("wrong passphrase or corrupted desk store")
	// ErrNotFound means a key has no value.
	ErrNotFound = errors.New("not found")
	// ErrNoStore means the home directory has no desk store yet.
	ErrNoStore = errors.New("no desk in this home directory (run 'goodoffices desk init')")
	// ErrStoreExists means Create found a store already.
	ErrStoreExists = errors.New("a desk already exists in this home directory")
)

const storeCheck = "goodoffices desk store v1"

// The values live in a rowid table with an index on the key, not in a
// WITHOUT ROWID table: there, a value larger than about 1,000 bytes (a
// group state, a snapshot of the talks, a long statement) spills to
// overflow pages that SQLite reads in full whenever a key lookup compares
// against its row, so every lookup near a large value cost as much as
// reading it (milliseconds for a snapshot). Stores made before are
// migrated when opened (migrateKV).
const storeSchema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
`

// migrateKV moves the values of a store made with the WITHOUT ROWID kv
// table into the rowid table (one transaction; the sealed values are moved
// as they are: their key, the associated data, does not change).
func migrateKV(ctx context.Context, db *sql.DB) error {
	var ddl string
	if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'`).Scan(&ddl); err != nil {
		return err
	}
	if !strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		`ALTER TABLE kv RENAME TO kv_without_rowid`,
		`CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL)`,
		`INSERT INTO kv (key, value) SELECT key, value FROM kv_without_rowid ORDER BY key`,
		`DROP TABLE kv_without_rowid`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// A Store is the desk's encrypted key-value database: an SQLite file whose
// values are each sealed with XChaCha20-Poly1305 under a key derived from the
// passphrase with scrypt. The associated data of a value is its key, so no
// value can be moved to another key undetected. Keys (channel IDs, log
// indexes) are stored in clear; they are metadata the venue sees anyway.
//
// Writes go through Update, one SQLite transaction in WAL mode with
// synchronous=FULL: either all of a transaction's values are on disk after a
// crash, or none.
type Store struct {
	db   *sql.DB
	aead cipherAEAD
	desk *Desk // the desk using the store, for its in-memory caches

	// Statements prepared once, when the store is opened (never inside a
	// transaction: the database has one connection, which a transaction
	// holds), and used by every transaction on that connection.
	getStmt, putStmt *sql.Stmt
}

const (
	getSQL = `SELECT value FROM kv WHERE key = ?`
	putSQL = `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
)

// prepare prepares the statements every transaction uses.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	if s.getStmt, err = s.db.PrepareContext(ctx, getSQL); err != nil {
		return fmt.Errorf("failed to open desk store: %w", err)
	}
	if s.putStmt, err = s.db.PrepareContext(ctx, putSQL); err != nil {
		return fmt.Errorf("failed to open desk store: %w", err)
	}
	return nil
}

type cipherAEAD interface {
	NonceSize() int
	Overhead() int
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
}

func openDB(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("failed to open desk store: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, storeSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to open desk store: %w", err)
	}
	if err := migrateKV(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to migrate desk store: %w", err)
	}
	return db, nil
}

func deriveStoreKey(passphrase, salt []byte, logN int) (cipherAEAD, error) {
	if logN < scryptMinLogN || logN > 22 {
		return nil, ErrPassphrase
	}
	k, err := scrypt.Key(passphrase, salt, 1<<logN, scryptR, scryptP, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("failed to derive store key: %w", err)
	}
	a, err := chacha20poly1305.NewX(k)
	if err != nil {
		return nil, fmt.Errorf("failed to derive store key: %w", err)
	}
	clear(k)
	return a, nil
}

// CreateStore creates a new store in dir (made 0700 if missing) protected by
// passphrase. It fails with ErrStoreExists if dir holds one already.
func CreateStore(ctx context.Context, dir string, passphrase []byte) (*Store, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("failed to create desk store: empty passphrase")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create desk home: %w", err)
	}
	path := filepath.Join(dir, StoreFile)
	if _, err := os.Stat(path); err == nil {
		return nil, ErrStoreExists
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	aead, err := deriveStoreKey(passphrase, salt, scryptLogN)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, aead: aead}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	kdf := fmt.Sprintf("scrypt %d %d %d %s", scryptLogN, scryptR, scryptP, base64.StdEncoding.EncodeToString(salt))
	check := s.seal("meta/check", []byte(storeCheck))
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to create desk store: %w", err)
	}
	defer tx.Rollback()
	for k, v := range map[string]string{"kdf": kdf, "check": base64.StdEncoding.EncodeToString(check)} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, k, v); err != nil {
			db.Close()
			return nil, fmt.Errorf("failed to create desk store: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to create desk store: %w", err)
	}
	os.Chmod(path, 0o600)
	return s, nil
}

// OpenStore opens the store in dir with passphrase. A wrong passphrase
// yields ErrPassphrase; a directory without a store ErrNoStore.
func OpenStore(ctx context.Context, dir string, passphrase []byte) (*Store, error) {
	path := filepath.Join(dir, StoreFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoStore
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	var kdf, check string
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'kdf'`).Scan(&kdf); err != nil {
		db.Close()
		return nil, ErrPassphrase
	}
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'check'`).Scan(&check); err != nil {
		db.Close()
		return nil, ErrPassphrase
	}
	f := strings.Split(kdf, " ")
	if len(f) != 5 || f[0] != "scrypt" || f[2] != strconv.Itoa(scryptR) || f[3] != strconv.Itoa(scryptP) {
		db.Close()
		return nil, ErrPassphrase
	}
	logN, err1 := strconv.Atoi(f[1])
	salt, err2 := base64.StdEncoding.Strict().DecodeString(f[4])
	sealed, err3 := base64.StdEncoding.Strict().DecodeString(check)
	if err1 != nil || err2 != nil || err3 != nil || len(salt) != 16 {
		db.Close()
		return nil, ErrPassphrase
	}
	aead, err := deriveStoreKey(passphrase, salt, logN)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, aead: aead}
	got, err := s.open("meta/check", sealed)
	if err != nil || subtle.ConstantTimeCompare(got, []byte(storeCheck)) != 1 {
		db.Close()
		return nil, ErrPassphrase
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.getStmt, s.putStmt} {
		if st != nil {
			st.Close()
		}
	}
	return s.db.Close()
}

func (s *Store) seal(key string, value []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(value)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, value, []byte("goodoffices desk value v1\x00"+key))
}

func (s *Store) open(key string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("failed to decrypt %q: corrupted value", key)
	}
	v, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte("goodoffices desk value v1\x00"+key))
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt %q: corrupted value", key)
	}
	return v, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) get(ctx context.Context, stmt *sql.Stmt, key string) ([]byte, error) {
	var sealed []byte
	err := stmt.QueryRowContext(ctx, key).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read desk store: %w", err)
	}
	return s.open(key, sealed)
}

// A KV is one key and its decrypted value.
type KV struct {
	Key   string
	Value []byte
}

func (s *Store) list(ctx context.Context, q querier, prefix string, limit int) ([]KV, error) {
	return s.listRange(ctx, q, prefix, prefix+"\xff", limit, false)
}

// listRange returns the values of the keys in [from, to), in key order (in
// reverse order if desc); at most limit of them when limit > 0. Only the
// values returned are decrypted.
func (s *Store) listRange(ctx context.Context, q querier, from, to string, limit int, desc bool) ([]KV, error) {
	if limit <= 0 {
		limit = -1
	}
	query := `SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`
	if desc {
		query = `SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT ?`
	}
	rows, err := q.QueryContext(ctx, query, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to read desk store: %w", err)
	}
	defer rows.Close()
	var out []KV
	for rows.Next() {
		var k string
		var sealed []byte
		if err := rows.Scan(&k, &sealed); err != nil {
			return nil, fmt.Errorf("failed to read desk store: %w", err)
		}
		v, err := s.open(k, sealed)
		if err != nil {
			return nil, err
		}
		out = append(out, KV{k, v})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read desk store: %w", err)
	}
	return out, nil
}

// Get returns the value of key, or ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	return s.get(ctx, s.getStmt, key)
}

// List returns the values whose keys start with prefix, in key order; at most
// limit of them when limit > 0.
func (s *Store) List(ctx context.Context, prefix string, limit int) ([]KV, error) {
	return s.list(ctx, s.db, prefix, limit)
}

// A Tx is a store transaction.
type Tx struct {
	s        *Store
	tx       *sql.Tx
	onCommit []func()
	groups   map[string]cachedGroup // group states as this transaction holds them (channel.go)
	// deferGroups makes saveGroup keep the states of a batch of entries
	// in memory (dirty) and write them once, before the commit.
	deferGroups bool
	dirty       map[string]bool

	getStmt, putStmt *sql.Stmt // the store's, on the transaction
}

// OnCommit registers f to run after the transaction has committed.
func (t *Tx) OnCommit(f func()) { t.onCommit = append(t.onCommit, f) }

// Get returns the value of key within the transaction.
func (t *Tx) Get(ctx context.Context, key string) ([]byte, error) {
	if t.getStmt == nil {
		t.getStmt = t.tx.StmtContext(ctx, t.s.getStmt)
	}
	return t.s.get(ctx, t.getStmt, key)
}

// List is Store.List within the transaction.
func (t *Tx) List(ctx context.Context, prefix string, limit int) ([]KV, error) {
	return t.s.list(ctx, t.tx, prefix, limit)
}

// Put sets key to value.
func (t *Tx) Put(ctx context.Context, key string, value []byte) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("failed to write desk store: invalid key")
	}
	if t.putStmt == nil {
		t.putStmt = t.tx.StmtContext(ctx, t.s.putStmt)
	}
	t.forgetGroup(key)
	if _, err := t.putStmt.ExecContext(ctx, key, t.s.seal(key, value)); err != nil {
		return fmt.Errorf("failed to write desk store: %w", err)
	}
	return nil
}

// Delete removes key (no error if absent).
func (t *Tx) Delete(ctx context.Context, key string) error {
	t.forgetGroup(key)
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM kv WHERE key = ?`, key); err != nil {
		return fmt.Errorf("failed to write desk store: %w", err)
	}
	return nil
}

// Update runs fn in one transaction and commits it if fn returns nil.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to write desk store: %w", err)
	}
	defer tx.Rollback()
	t := &Tx{s: s, tx: tx}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flushGroups(ctx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to write desk store: %w", err)
	}
	for _, f := range t.onCommit {
		f()
	}
	return nil
}

// Put sets one key in its own transaction.
func (s *Store) Put(ctx context.Context, key string, value []byte) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.Put(ctx, key, value) })
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, so a reader sees the old or the new content, never a mix.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("failed to write %s: %w", filepath.Base(path), err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
