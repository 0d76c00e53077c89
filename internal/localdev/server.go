package localdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/image"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/server"
	"github.com/kubeml/kubeml/internal/serving"
)

// serverPidFile records the background server that up starts.
func serverPidFile(dataDir string) string { return filepath.Join(dataDir, "run", "server.pid") }

// serverAddr is where the data dir's server listens: addr when given,
// else the address client.json records, else the default.
func serverAddr(dataDir, addr string) (string, error) {
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", fmt.Errorf("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8418", addr)
		}
		return addr, nil
	}
	cfg, err := client.LoadConfig(client.Config{}, nil, dataDir)
	if err != nil {
		return "", err
	}
	if u, err := url.Parse(cfg.Server); err == nil && u.Port() != "" {
		return u.Host, nil
	}
	return server.DefaultAddr, nil
}

// readyServer returns a client of this data dir's server when one
// answers (it may run in the foreground, without up's pid file): its
// address, CA and token are the data dir's.
func readyServer(ctx context.Context, dataDir string) (*client.Client, bool) {
	cfg, err := client.LoadConfig(client.Config{}, os.Getenv, dataDir)
	if err != nil {
		return nil, false
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := c.Do(ctx, "GET", "/readyz", nil, nil, nil); err != nil {
		return nil, false
	}
	return c, true
}

// checkFree fails at once when another process listens on addr, naming
// it, since the server up starts could not.
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln.Close()
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("the kubeml server cannot listen on %s: %w", addr, err)
	}
	holder := "another process"
	_, p, _ := net.SplitHostPort(addr)
	if port, _ := strconv.Atoi(p); port > 0 {
		if pid := proc.Listener(port); pid > 0 {
			holder = fmt.Sprintf("pid %d (%s)", pid, strings.Join(proc.Argv(pid), " "))
		}
	}
	return fmt.Errorf("%s is in use by %s: stop it, or give this data dir's server another address with `kubeml up --addr 127.0.0.1:PORT`", addr, holder)
}

// ensureServer starts `kubeml server` on addr in the background unless
// this data dir's server runs, records its URL in client.json, and
// returns a client once it is ready.
func ensureServer(ctx context.Context, progress io.Writer, dataDir, addr string) (*client.Client, error) {
	pidFile := serverPidFile(dataDir)
	started := 0
	if _, ok := proc.Running(pidFile); !ok {
		if c, ok := readyServer(ctx, dataDir); ok { // this data dir's, run by hand
			return c, nil
		}
		if err := checkFree(addr); err != nil {
			return nil, err
		}
		if err := recordServer(dataDir, "https://"+addr); err != nil {
			return nil, err
		}
		exe, err := installSelf(dataDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(pidFile), 0o700); err != nil {
			return nil, err
		}
		log := filepath.Join(dataDir, "logs", "server.log")
		fmt.Fprintf(progress, "Starting the kubeml server on %s (log: %s)\n", addr, log)
		if started, err = proc.Start(proc.Spec{Name: "kubeml server", Path: exe, Args: []string{"--data-dir", dataDir, "server", "--addr", addr},
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
		tail := func() string { return proc.Tail(filepath.Join(dataDir, "logs", "server.log"), 15) }
		if _, ok := proc.Running(pidFile); started > 0 && !ok {
			return nil, fmt.Errorf("the kubeml server stopped as it started:\n%s", tail())
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the kubeml server did not become ready: %w\n%s", err, tail())
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
