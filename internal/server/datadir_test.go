package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/server"
)

// TestTheDataDirIsMadePrivate: a data dir that exists with 0755 holds
// the admin token and the database after the server starts: 0700.
func TestTheDataDirIsMadePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kubeml")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	clustertest.Require(t, env)
	srv, err := server.New(server.Defaults(dir), env.Registry, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, p := range []string{dir, filepath.Join(dir, "kubeml.db"), filepath.Join(dir, "admin-token")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if m := fi.Mode().Perm(); m != want {
			t.Errorf("%s is %#o, want %#o", p, m, want)
		}
	}
}
