package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the embedded Store: one SQLite file in WAL mode. Writes are
// serialized through a single connection whose transactions begin
// IMMEDIATE; reads go through a small pool of query-only connections and
// never wait for the writer.
//
// Inside Update, fn must use the Tx it is given: calling the SQLite's own
// write methods from fn would wait for the writer connection fn holds.
type SQLite struct {
	w, r *sql.DB
	aead cipher.AEAD
	get  *sql.Stmt // on r: Get is the hot path
}

var _ Store = (*SQLite)(nil)

// migrations are applied in order; schema_version holds how many ran.
// Append only: never edit a migration that has shipped.
var migrations = []string{
	`CREATE TABLE resources (
		key        TEXT PRIMARY KEY,
		id         TEXT NOT NULL,
		type       TEXT NOT NULL COLLATE NOCASE,
		parent_key TEXT NOT NULL,
		parent     TEXT NOT NULL,
		body       BLOB,
		etag       TEXT NOT NULL,
		updated    INTEGER NOT NULL
	);
	CREATE INDEX resources_type_parent ON resources (type, parent_key, key);
	CREATE TABLE operations (
		id           TEXT PRIMARY KEY,
		kind         TEXT NOT NULL,
		resource_key TEXT NOT NULL,
		status       TEXT NOT NULL,
		input        BLOB,
		error        BLOB,
		attempts     INTEGER NOT NULL DEFAULT 0,
		created      INTEGER NOT NULL,
		updated      INTEGER NOT NULL
	);
	CREATE INDEX operations_status ON operations (status);
	CREATE TABLE secrets (
		name       TEXT PRIMARY KEY,
		nonce      BLOB NOT NULL,
		ciphertext BLOB NOT NULL
	);`,
	// Checkpoints and progress leave the operation's input for a table of
	// their own; those a running operation had journaled move along.
	`CREATE TABLE operation_checkpoints (
		operation_id TEXT NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
		key          TEXT NOT NULL,
		value        TEXT NOT NULL,
		PRIMARY KEY (operation_id, key)
	);
	INSERT INTO operation_checkpoints (operation_id, key, value)
		SELECT o.id, j.key, CAST(j.value AS TEXT)
		FROM operations o, json_each(CAST(o.input AS TEXT), '$.checkpoints') j
		WHERE json_valid(CAST(o.input AS TEXT)) AND json_type(CAST(o.input AS TEXT), '$.checkpoints') = 'object'
			AND j.type IN ('text', 'integer', 'real')
		ON CONFLICT (operation_id, key) DO UPDATE SET value = excluded.value;
	UPDATE operations SET input = CAST(json_remove(CAST(input AS TEXT), '$.checkpoints') AS BLOB)
		WHERE json_valid(CAST(input AS TEXT)) AND json_type(CAST(input AS TEXT), '$.checkpoints') IS NOT NULL;`,
}

// OpenSQLite opens (creating if needed) the database at path and brings its
// schema up to date. key is the 32-byte AES-256 key secrets are sealed with
// (see LoadOrCreateKey and KeyFromEnv).
func OpenSQLite(path string, key []byte) (*SQLite, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("failed to open store: invalid database path %q", path)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("failed to open store: %w", err)
	}
	// SQLite gives its -wal and -shm files the database's mode: make the
	// database 0600 first, then mend files an older kubeml left readable.
	if err := private(path); err != nil {
		return nil, fmt.Errorf("failed to open store %s: %w", path, err)
	}
	const common = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&"+common+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("failed to open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	s := &SQLite{w: w, aead: aead}
	if err := s.init(path, common); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// private creates the database file 0600 if it is missing and makes it,
// its WAL and its shared-memory file 0600 if they exist: the database
// holds sealed secrets and their metadata, for the server's user only.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (s *SQLite) init(path, common string) error {
	ctx := context.Background()
	if err := migrate(ctx, s.w); err != nil {
		return fmt.Errorf("failed to migrate store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("failed to open store %s for reading: %w", path, err)
	}
	s.r = r
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if s.get, err = r.PrepareContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE key = ?`); err != nil {
		return fmt.Errorf("failed to prepare statements for store %s: %w", path, err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("failed to create schema_version: %w", err)
	}
	var v int
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("failed to initialize schema_version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("failed to read schema_version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("failed to migrate: database schema version %d is newer than this binary supports (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("failed to apply migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return fmt.Errorf("failed to update schema_version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit migration: %w", err)
	}
	return nil
}

// Close closes both connection pools.
func (s *SQLite) Close() error {
	var errs []error
	if s.get != nil {
		errs = append(errs, s.get.Close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to close store: %w", err)
	}
	return nil
}

// Update runs fn in one BEGIN IMMEDIATE transaction on the writer
// connection. fn's error is returned as is, after rolling back.
func (s *SQLite) Update(ctx context.Context, fn func(Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer tx.Rollback() // no-op after Commit; also covers a panicking fn
	if err := fn(&sqlTx{q: tx, aead: s.aead}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit transaction: %w", err)
	}
	return nil
}

// reader reads outside any explicit transaction (single statements).
func (s *SQLite) reader() *sqlTx { return &sqlTx{q: s.r, aead: s.aead} }

func (s *SQLite) Get(ctx context.Context, id string) (Resource, error) {
	return scanResource(s.get.QueryRowContext(ctx, strings.ToLower(id)), id)
}

func (s *SQLite) List(ctx context.Context, typ, parent string, skip, limit int) ([]Resource, int, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("failed to begin read transaction: %w", err)
	}
	defer tx.Rollback()
	return (&sqlTx{q: tx, aead: s.aead}).List(ctx, typ, parent, skip, limit)
}

func (s *SQLite) Create(ctx context.Context, r Resource) (etag string, err error) {
	err = s.Update(ctx, func(tx Tx) error { etag, err = tx.Create(ctx, r); return err })
	return etag, err
}

func (s *SQLite) Put(ctx context.Context, r Resource, ifMatch string) (etag string, err error) {
	err = s.Update(ctx, func(tx Tx) error { etag, err = tx.Put(ctx, r, ifMatch); return err })
	return etag, err
}

func (s *SQLite) Delete(ctx context.Context, id string) error {
	return s.Update(ctx, func(tx Tx) error { return tx.Delete(ctx, id) })
}

func (s *SQLite) CreateOperation(ctx context.Context, op Operation) error {
	return s.Update(ctx, func(tx Tx) error { return tx.CreateOperation(ctx, op) })
}

func (s *SQLite) UpdateOperation(ctx context.Context, op Operation) error {
	return s.Update(ctx, func(tx Tx) error { return tx.UpdateOperation(ctx, op) })
}

func (s *SQLite) GetOperation(ctx context.Context, id string) (Operation, error) {
	return s.reader().GetOperation(ctx, id)
}

func (s *SQLite) Operations(ctx context.Context, status string) ([]Operation, error) {
	return s.reader().Operations(ctx, status)
}

func (s *SQLite) SaveCheckpoint(ctx context.Context, opID, key, value string) error {
	return s.Update(ctx, func(tx Tx) error { return tx.SaveCheckpoint(ctx, opID, key, value) })
}

func (s *SQLite) Checkpoints(ctx context.Context, opID string) (map[string]string, error) {
	return s.reader().Checkpoints(ctx, opID)
}

func (s *SQLite) PutSecret(ctx context.Context, name string, data []byte) error {
	return s.Update(ctx, func(tx Tx) error { return tx.PutSecret(ctx, name, data) })
}

func (s *SQLite) GetSecret(ctx context.Context, name string) ([]byte, error) {
	return s.reader().GetSecret(ctx, name)
}

func (s *SQLite) DeleteSecret(ctx context.Context, name string) error {
	return s.Update(ctx, func(tx Tx) error { return tx.DeleteSecret(ctx, name) })
}
