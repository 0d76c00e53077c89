package localdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/image"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/serving"
)

// serverPidFile records the background server that up starts.
func serverPidFile(dataDir string) string { return filepath.Join(dataDir, "run", "server.pid") }

// ensureServer starts `kubeml server` in the background unless it runs,
// and returns a client once it is ready.
func ensureServer(ctx context.Context, progress io.Writer, dataDir string) (*client.Client, error) {
	pidFile := serverPidFile(dataDir)
	if _, ok := proc.Running(pidFile); !ok {
		exe, err := installSelf(dataDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(pidFile), 0o700); err != nil {
			return nil, err
		}
		log := filepath.Join(dataDir, "logs", "server.log")
		fmt.Fprintf(progress, "Starting the kubeml server (log: %s)\n", log)
		if _, err := proc.Start(proc.Spec{Name: "kubeml server", Path: exe, Args: []string{"--data-dir", dataDir, "server"},
			LogFile: log, PidFile: pidFile}); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		cfg, err := client.LoadConfig(client.Config{}, os.Getenv, dataDir)
		if err == nil {
			c, err := client.New(cfg)
			if err == nil {
				if _, err = c.Do(ctx, "GET", "/readyz", nil, nil, nil); err == nil {
					return c, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the kubeml server did not become ready: %w\n%s", err, proc.Tail(filepath.Join(dataDir, "logs", "server.log"), 15))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// installSelf copies the running kubeml to <dataDir>/bin/kubeml, unless
// the same binary is there, and returns that path. The background server
// runs from it (and puts it into cluster images), so it outlives a
// `go run` whose temporary binary is deleted when up exits. kubeml-node,
// the lean in-cluster binary, goes beside it when it lies beside the
// running kubeml (the provider then makes the images of it), and so does
// ONNX Runtime's library.
func installSelf(dataDir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(dataDir, "bin")
	// kubeml-node, and ONNX Runtime's library for an ort build, go along
	// from beside the running kubeml (or go away with it).
	for _, name := range []string{local.NodeBinaryName, serving.ORTLibraryName} {
		src := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(src); err == nil {
			if err := install(src, filepath.Join(dir, name)); err != nil {
				return "", err
			}
		} else if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	dst := filepath.Join(dir, "kubeml")
	return dst, install(exe, dst)
}

// install copies the file at src to dst (mode 0755), unless dst has the
// same contents.
func install(src, dst string) error {
	if same, _ := sameFile(src, dst); same {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func sameFile(a, b string) (bool, error) {
	ta, err := image.ContentTag(a)
	if err != nil {
		return false, err
	}
	tb, err := image.ContentTag(b)
	return err == nil && ta == tb, err
}
