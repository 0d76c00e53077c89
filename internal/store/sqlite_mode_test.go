package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestTheDatabaseIsForTheServersUserOnly: the database, its WAL and its
// shared memory are 0600, also when an older kubeml left them 0644 in a
// 0755 directory.
func TestTheDatabaseIsForTheServersUserOnly(t *testing.T) {
	for name, leftover := range map[string]bool{"a new database": false, "files an older kubeml left readable": true} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "kubeml.db")
			if leftover {
				s, err := OpenSQLite(path, testKey)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Create(context.Background(), res("/a", "t", "")); err != nil {
					t.Fatal(err)
				}
				s.Close()
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					if err := os.WriteFile(p, nil, 0o644); err != nil && !os.IsExist(err) {
						t.Fatal(err)
					}
					if err := os.Chmod(p, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			s, err := OpenSQLite(path, testKey)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Create(context.Background(), res("/b", "t", "")); err != nil { // the WAL is in use
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if m := fi.Mode().Perm(); m != 0o600 {
					t.Errorf("%s is %#o, want 0600", filepath.Base(p), m)
				}
			}
		})
	}
}
