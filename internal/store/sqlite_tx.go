package store

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlTx implements Tx over a *sql.Tx (or, for single reads, the read pool).
type sqlTx struct {
	q    querier
	aead cipher.AEAD
}

const resourceCols = `id, type, parent, body, etag`

type scanner interface{ Scan(dest ...any) error }

func scanResource(row scanner, id string) (Resource, error) {
	var r Resource
	var body []byte
	if err := row.Scan(&r.ID, &r.Type, &r.Parent, &body, &r.ETag); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Resource{}, fmt.Errorf("failed to get resource %q: %w", id, ErrNotFound)
		}
		return Resource{}, fmt.Errorf("failed to get resource %q: %w", id, err)
	}
	r.Body = body
	return r, nil
}

// newETag returns 16 random hex characters.
func newETag() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// affected reports whether res changed exactly one row or more.
func affected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *sqlTx) Get(ctx context.Context, id string) (Resource, error) {
	return scanResource(t.q.QueryRowContext(ctx,
		`SELECT `+resourceCols+` FROM resources WHERE key = ?`, strings.ToLower(id)), id)
}

func (t *sqlTx) List(ctx context.Context, typ, parent string, skip, limit int) ([]Resource, int, error) {
	var where []string
	var args []any
	if typ != "" {
		where, args = append(where, "type = ?"), append(args, typ)
	}
	if parent != "" {
		where, args = append(where, "parent_key = ?"), append(args, strings.ToLower(parent))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM resources`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("failed to count resources: %w", err)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := t.q.QueryContext(ctx, `SELECT `+resourceCols+` FROM resources`+cond+
		` ORDER BY key LIMIT ? OFFSET ?`, append(args, limit, max(skip, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list resources: %w", err)
	}
	defer rows.Close()
	var out []Resource
	for rows.Next() {
		r, err := scanResource(rows, "")
		if err != nil {
			return nil, 0, fmt.Errorf("failed to list resources: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("failed to list resources: %w", err)
	}
	return out, total, nil
}

const upsertResource = `INSERT INTO resources (key, id, type, parent_key, parent, body, etag, updated)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func resourceArgs(r Resource, etag string) []any {
	return []any{strings.ToLower(r.ID), r.ID, r.Type, strings.ToLower(r.Parent), r.Parent,
		[]byte(r.Body), etag, time.Now().UnixNano()}
}

func (t *sqlTx) Create(ctx context.Context, r Resource) (string, error) {
	if r.ID == "" {
		return "", fmt.Errorf("failed to create resource: empty id")
	}
	etag := newETag()
	res, err := t.q.ExecContext(ctx, upsertResource+` ON CONFLICT (key) DO NOTHING`, resourceArgs(r, etag)...)
	if err != nil {
		return "", fmt.Errorf("failed to create resource %q: %w", r.ID, err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return "", fmt.Errorf("failed to create resource %q: %w", r.ID, errors.Join(ErrConflict, err))
	}
	return etag, nil
}

func (t *sqlTx) Put(ctx context.Context, r Resource, ifMatch string) (string, error) {
	if r.ID == "" {
		return "", fmt.Errorf("failed to put resource: empty id")
	}
	if ifMatch != "" {
		var cur string
		err := t.q.QueryRowContext(ctx, `SELECT etag FROM resources WHERE key = ?`, strings.ToLower(r.ID)).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return "", fmt.Errorf("failed to put resource %q: %w", r.ID, ErrNotFound)
		case err != nil:
			return "", fmt.Errorf("failed to put resource %q: %w", r.ID, err)
		case cur != ifMatch:
			return "", fmt.Errorf("failed to put resource %q: etag %q does not match: %w", r.ID, ifMatch, ErrConflict)
		}
	}
	etag := newETag()
	_, err := t.q.ExecContext(ctx, upsertResource+` ON CONFLICT (key) DO UPDATE SET id = excluded.id,
		type = excluded.type, parent_key = excluded.parent_key, parent = excluded.parent,
		body = excluded.body, etag = excluded.etag, updated = excluded.updated`, resourceArgs(r, etag)...)
	if err != nil {
		return "", fmt.Errorf("failed to put resource %q: %w", r.ID, err)
	}
	return etag, nil
}

// Delete removes the resource and every secret named "<lower-cased id>/...".
func (t *sqlTx) Delete(ctx context.Context, id string) error {
	key := strings.ToLower(id)
	res, err := t.q.ExecContext(ctx, `DELETE FROM resources WHERE key = ?`, key)
	if err != nil {
		return fmt.Errorf("failed to delete resource %q: %w", id, err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return fmt.Errorf("failed to delete resource %q: %w", id, errors.Join(ErrNotFound, err))
	}
	// Names in [key+"/", key+"0") are exactly those prefixed by key+"/" ('0' follows '/').
	if _, err := t.q.ExecContext(ctx, `DELETE FROM secrets WHERE name >= ? AND name < ?`, key+"/", key+"0"); err != nil {
		return fmt.Errorf("failed to delete secrets of resource %q: %w", id, err)
	}
	return nil
}
