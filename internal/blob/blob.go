// Package blob keeps the workspace's large files (registered models)
// behind a small interface; Dir keeps them under a directory of the
// server's data dir. Content is addressed by the caller's key and checked
// by its SHA-256, computed while it is written.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Info is what Put learned of the content it stored.
type Info struct {
	SHA256 string
	Size   int64
}

// Store keeps blobs by key.
type Store interface {
	// Put stores r under key, replacing nothing: a key is written once.
	// At most max bytes are read; more is an error wrapping ErrTooLarge.
	Put(ctx context.Context, key string, r io.Reader, max int64) (Info, error)
	// Open reads a blob; an absent key is an error wrapping ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// Errors callers branch on.
var (
	ErrNotFound = errors.New("blob not found")
	ErrTooLarge = errors.New("blob too large")
	ErrExists   = errors.New("blob exists")
)

// Dir is a Store on a local directory.
type Dir struct{ Root string }

func (d Dir) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file and renames it into place once its
// hash and size are known, so a reader never sees half a blob.
func (d Dir) Put(ctx context.Context, key string, r io.Reader, max int64) (Info, error) {
	p, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	if _, err := os.Stat(p); err == nil {
		return Info{}, fmt.Errorf("%w: %s", ErrExists, key)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return Info{}, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), &ctxReader{ctx: ctx, r: io.LimitReader(r, max+1)})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Info{}, fmt.Errorf("failed to store %s: %w", key, err)
	}
	if n > max {
		return Info{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, max)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return Info{}, err
	}
	return Info{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// Open opens a blob for reading.
func (d Dir) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return f, err
}

// Delete removes a blob; an absent one is not an error.
func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
