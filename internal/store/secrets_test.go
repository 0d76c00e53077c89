package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	plain := []byte("super-secret-kubeconfig-PLAINTEXT-0123456789")
	tests := []struct {
		name string
		run  func(t *testing.T, dir string)
	}{
		{"a secret round-trips and its name is case-insensitive", func(t *testing.T, dir string) {
			s := openTest(t, dir, testKey)
			defer s.Close()
			if err := s.PutSecret(ctx, "/W/kubeconfig", plain); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetSecret(ctx, "/w/KUBECONFIG")
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("GetSecret = %q, %v", got, err)
			}
			if err := s.DeleteSecret(ctx, "/w/kubeconfig"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetSecret(ctx, "/w/kubeconfig"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("GetSecret after delete: %v", err)
			}
		}},
		{"the database file on disk does not contain the plaintext", func(t *testing.T, dir string) {
			s := openTest(t, dir, testKey)
			s.PutSecret(ctx, "/w/kubeconfig", plain)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "state.db*"))
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, plain) || bytes.Contains(b, plain[:16]) {
					t.Errorf("%s contains the plaintext", f)
				}
			}
		}},
		{"the wrong key fails to decrypt with a clear error", func(t *testing.T, dir string) {
			s := openTest(t, dir, testKey)
			s.PutSecret(ctx, "/w/kubeconfig", plain)
			s.Close()
			s = openTest(t, dir, bytes.Repeat([]byte{8}, KeySize))
			defer s.Close()
			_, err := s.GetSecret(ctx, "/w/kubeconfig")
			if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "wrong store key") {
				t.Fatalf("GetSecret with wrong key: %v", err)
			}
		}},
		{"a ciphertext moved to another name does not decrypt", func(t *testing.T, dir string) {
			s := openTest(t, dir, testKey)
			defer s.Close()
			s.PutSecret(ctx, "/a/s", plain)
			s.PutSecret(ctx, "/b/s", []byte("other"))
			_, err := s.w.Exec(`UPDATE secrets SET (nonce, ciphertext) = (SELECT nonce, ciphertext FROM secrets WHERE name = '/a/s') WHERE name = '/b/s'`)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetSecret(ctx, "/b/s"); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("GetSecret of moved ciphertext: %v", err)
			}
		}},
		{"secrets vanish with their resource and others stay", func(t *testing.T, dir string) {
			s := openTest(t, dir, testKey)
			defer s.Close()
			s.Create(ctx, res("/W", "ws", ""))
			for _, n := range []string{"/W/kubeconfig", "/w/token", "/w2/x", "/w"} {
				s.PutSecret(ctx, n, plain)
			}
			if err := s.Delete(ctx, "/w"); err != nil {
				t.Fatal(err)
			}
			for n, want := range map[string]error{"/w/kubeconfig": ErrNotFound, "/w/token": ErrNotFound, "/w2/x": nil, "/w": nil} {
				if _, err := s.GetSecret(ctx, n); !errors.Is(err, want) {
					t.Errorf("GetSecret(%s) = %v, want %v", n, err, want)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, t.TempDir()) })
	}
}

func TestKeys(t *testing.T) {
	t.Run("a new key file is created with mode 0600 and loads back the same key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sub", "store.key")
		k1, err := LoadOrCreateKey(path)
		if err != nil || len(k1) != KeySize {
			t.Fatalf("create = %d bytes, %v", len(k1), err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
		}
		if k2, err := LoadOrCreateKey(path); err != nil || !bytes.Equal(k1, k2) {
			t.Errorf("reload = %x, %v", k2, err)
		}
	})
	t.Run("a raw 32-byte key file is accepted", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "raw.key")
		os.WriteFile(path, testKey, 0o600)
		if k, err := LoadOrCreateKey(path); err != nil || !bytes.Equal(k, testKey) {
			t.Errorf("raw = %x, %v", k, err)
		}
	})
	t.Run("a key file readable by others is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "open.key")
		os.WriteFile(path, testKey, 0o600)
		os.Chmod(path, 0o644)
		_, err := LoadOrCreateKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("LoadOrCreateKey(0644) = %v, want a refusal", err)
		}
	})
	t.Run("a key from the environment is base64 and must be 32 bytes", func(t *testing.T) {
		if k, err := KeyFromEnv(" " + base64.StdEncoding.EncodeToString(testKey) + "\n"); err != nil || !bytes.Equal(k, testKey) {
			t.Errorf("KeyFromEnv = %x, %v", k, err)
		}
		for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(testKey[:16])} {
			if _, err := KeyFromEnv(bad); err == nil {
				t.Errorf("KeyFromEnv(%q) succeeded", bad)
			}
		}
	})
	t.Run("opening a store with a short key fails", func(t *testing.T) {
		if _, err := OpenSQLite(filepath.Join(t.TempDir(), "x.db"), []byte("short")); err == nil {
			t.Error("OpenSQLite accepted a 5-byte key")
		}
	})
}
