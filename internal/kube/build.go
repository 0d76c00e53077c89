package kube

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// packages are what the one `go build` compiles; etcd's main package
// builds a binary named "server", renamed to etcd afterwards.
var packages = []string{
	"go.etcd.io/etcd/server/v3",
	"k8s.io/kubernetes/cmd/kube-apiserver",
	"k8s.io/kubernetes/cmd/kube-controller-manager",
	"k8s.io/kubernetes/cmd/kube-scheduler",
	"k8s.io/kubernetes/cmd/kubelet",
	"k8s.io/kubernetes/cmd/kube-proxy",
	"sigs.k8s.io/kwok/cmd/kwok",
}

// ldflags stamp the version; without them the binaries report v0.0.0.
const ldflags = "-s -w" +
	" -X k8s.io/component-base/version.gitVersion=" + Version +
	" -X k8s.io/component-base/version.gitMajor=1" +
	" -X k8s.io/component-base/version.gitMinor=37" +
	" -X k8s.io/component-base/version.gitTreeState=clean"

// Build returns the cached binaries, building them first when the cache
// has none for this tools module and Go version. It is idempotent and
// safe against concurrent callers: one builds while the others wait.
// Progress goes to out; a cold build takes many minutes.
func Build(ctx context.Context, out io.Writer) (Bins, error) {
	if d := os.Getenv(EnvBinDir); d != "" {
		return Find()
	}
	gv, err := goVersion()
	if err != nil {
		return Bins{}, err
	}
	root, err := CacheRoot()
	if err != nil {
		return Bins{}, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Bins{}, fmt.Errorf("failed to create %s: %w", root, err)
	}
	unlock, err := lock(filepath.Join(root, ".lock"), out)
	if err != nil {
		return Bins{}, err
	}
	defer unlock()

	key := Key(gv)
	final := Bins{Dir: filepath.Join(root, key)}
	if final.Check() == nil {
		return final, nil
	}
	work := filepath.Join(root, ".work-"+key)
	tmp := filepath.Join(root, ".tmp-"+key)
	for _, d := range []string{work, tmp} {
		if err := os.RemoveAll(d); err != nil {
			return Bins{}, fmt.Errorf("failed to clean %s: %w", d, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Bins{}, fmt.Errorf("failed to create %s: %w", d, err)
		}
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, "go.mod"), toolsMod, 0o644); err != nil {
		return Bins{}, err
	}
	if err := os.WriteFile(filepath.Join(work, "go.sum"), toolsSum, 0o644); err != nil {
		return Bins{}, err
	}
	fmt.Fprintf(out, "Building Kubernetes %s binaries with %s into %s (a cold build takes about 15 minutes)\n", Version, gv, final.Dir)
	start := time.Now()
	args := append([]string{"build", "-v", "-trimpath", "-ldflags", ldflags, "-o", tmp + "/"}, packages...)
	if err := goCmd(ctx, work, out, start, args...); err != nil {
		os.RemoveAll(tmp)
		return Bins{}, fmt.Errorf("failed to build the Kubernetes binaries: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "server"), filepath.Join(tmp, Etcd)); err != nil {
		return Bins{}, fmt.Errorf("failed to name the etcd binary: %w", err)
	}
	if err := (Bins{Dir: tmp}).Check(); err != nil {
		return Bins{}, err
	}
	os.RemoveAll(final.Dir)
	if err := os.Rename(tmp, final.Dir); err != nil {
		return Bins{}, fmt.Errorf("failed to move the binaries into place: %w", err)
	}
	fmt.Fprintf(out, "Built %d binaries in %s: %s\n", len(All), time.Since(start).Round(time.Second), final.Dir)
	return final, nil
}

// goCmd runs the go command in dir, printing a progress line whenever ten
// more packages are compiled or a minute passes, and the last lines of its
// output if it fails.
func goCmd(ctx context.Context, dir string, out io.Writer, start time.Time, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	var tail []string
	n, last := 0, time.Now()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > 30 {
			tail = tail[1:]
		}
		if strings.HasPrefix(line, "go: downloading") {
			continue
		}
		n++
		if n%100 == 0 || time.Since(last) > time.Minute {
			fmt.Fprintf(out, "  %4ds  %d packages compiled (%s)\n", int(time.Since(start).Seconds()), n, line)
			last = time.Now()
		}
	}
	if err := <-done; err != nil {
		return fmt.Errorf("%w\n%s", err, strings.Join(tail, "\n"))
	}
	return nil
}

func goVersion() (string, error) {
	b, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the Kubernetes binaries (or set %s): %w", EnvBinDir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// lock takes an exclusive flock so that only one build runs on the host.
func lock(path string, out io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		fmt.Fprintln(out, "Another kubeml is building the Kubernetes binaries; waiting for it")
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil
}
