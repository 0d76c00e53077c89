package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length of the store key: AES-256.
const KeySize = 32

// ErrDecrypt: a stored secret does not open under the store's key, which
// is the wrong key or the data was tampered with (or moved to another name).
var ErrDecrypt = errors.New("secret cannot be decrypted: wrong store key or corrupted data")

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("failed to use store key: need %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("failed to create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("failed to create GCM: %w", err)
	}
	return aead, nil
}

// PutSecret seals data with AES-256-GCM under a fresh random nonce; the
// lower-cased name is the additional authenticated data, so a ciphertext
// copied to another name does not open.
func (t *sqlTx) PutSecret(ctx context.Context, name string, data []byte) error {
	if name == "" {
		return fmt.Errorf("failed to put secret: empty name")
	}
	name = strings.ToLower(name)
	nonce := make([]byte, t.aead.NonceSize())
	rand.Read(nonce) // never fails (Go 1.24+)
	ct := t.aead.Seal(nil, nonce, data, []byte(name))
	_, err := t.q.ExecContext(ctx, `INSERT INTO secrets (name, nonce, ciphertext) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext`,
		name, nonce, ct)
	if err != nil {
		return fmt.Errorf("failed to put secret %q: %w", name, err)
	}
	return nil
}

// GetSecret returns the plaintext; ErrNotFound if absent, ErrDecrypt if it
// does not open under the store's key.
func (t *sqlTx) GetSecret(ctx context.Context, name string) ([]byte, error) {
	name = strings.ToLower(name)
	var nonce, ct []byte
	err := t.q.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM secrets WHERE name = ?`, name).Scan(&nonce, &ct)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get secret %q: %w", name, err)
	}
	if len(nonce) != t.aead.NonceSize() {
		return nil, fmt.Errorf("failed to decrypt secret %q: %w", name, ErrDecrypt)
	}
	data, err := t.aead.Open(nil, nonce, ct, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt secret %q: %w (%v)", name, ErrDecrypt, err)
	}
	return data, nil
}

// DeleteSecret removes the secret; ErrNotFound if absent.
func (t *sqlTx) DeleteSecret(ctx context.Context, name string) error {
	name = strings.ToLower(name)
	res, err := t.q.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("failed to delete secret %q: %w", name, err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return fmt.Errorf("failed to delete secret %q: %w", name, errors.Join(ErrNotFound, err))
	}
	return nil
}

// KeyFromEnv parses a base64 store key, e.g. from KUBEML_STORE_KEY.
func KeyFromEnv(value string) ([]byte, error) {
	key, err := decodeKey([]byte(value))
	if err != nil {
		return nil, fmt.Errorf("failed to parse store key from environment: %w", err)
	}
	return key, nil
}

func decodeKey(b []byte) ([]byte, error) {
	s := string(bytes.TrimSpace(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("key is %d bytes, need %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("key is not valid base64 (want %d bytes, base64-encoded)", KeySize)
}

// LoadOrCreateKey reads the store key from path (32 raw bytes or base64),
// or, if path does not exist, creates it with a new random key (written as
// base64, mode 0600). A key file readable by group or others is refused.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create directory for store key: %w", err)
	}
	key = make([]byte, KeySize)
	rand.Read(key) // never fails (Go 1.24+)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadKey(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("failed to create store key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("failed to write store key file %s: %w", path, err)
	}
	return key, nil
}

func loadKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read store key file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("failed to load store key: refusing key file %s with mode %04o, "+
			"readable by group or others; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read store key file: %w", err)
	}
	if len(b) == KeySize {
		return b, nil
	}
	key, err := decodeKey(b)
	if err != nil {
		return nil, fmt.Errorf("failed to load store key from %s: %w", path, err)
	}
	return key, nil
}
