// Package kube builds, caches and finds the Kubernetes binaries that host
// clusters run: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet, kube-proxy and kwok.
//
// The binaries are built from the Go module proxy by one `go build` of a
// tools module (tools.mod and tools.sum, embedded here) and kept in a cache
// directory keyed by a hash of that module and the Go version. They are
// never part of the repository.
package kube

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The tools module: it pins k8s.io/kubernetes, etcd and kwok and holds no
// code. To change a version, copy it into an empty directory as go.mod and
// go.sum, run `go get -tool ...@version` there, and copy both back.
var (
	//go:embed tools.mod
	toolsMod []byte
	//go:embed tools.sum
	toolsSum []byte
)

// Version is the Kubernetes version the tools module builds.
const Version = "v1.37.2"

// EnvBinDir names a directory holding the binaries; it overrides the cache.
const EnvBinDir = "KUBEML_KUBE_BIN_DIR"

// Names of the binaries, as files in the bin directory.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Kubelet               = "kubelet"
	KubeProxy             = "kube-proxy"
	Kwok                  = "kwok"
)

// All lists every binary the build produces.
var All = []string{Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, Kubelet, KubeProxy, Kwok}

// ErrMissing says the binaries have not been built.
var ErrMissing = errors.New("kubernetes binaries not found: run `kubeml kube build`")

// Bins is a directory holding the binaries.
type Bins struct{ Dir string }

// Path returns the path of one binary.
func (b Bins) Path(name string) string { return filepath.Join(b.Dir, name) }

// Check reports every binary missing from the directory.
func (b Bins) Check() error {
	var errs []error
	for _, n := range All {
		if fi, err := os.Stat(b.Path(n)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s: not an executable file", b.Path(n)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrMissing, errors.Join(errs...))
	}
	return nil
}

// Key is the cache key for a Go version: a hash of the tools module and
// goVersion, so a new pin or toolchain builds anew.
func Key(goVersion string) string {
	h := sha256.New()
	for _, b := range [][]byte{toolsMod, {0}, toolsSum, {0}, []byte(goVersion)} {
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// CacheRoot is where built binaries are kept: $XDG_CACHE_HOME/kubeml/kube
// or ~/.cache/kubeml/kube.
func CacheRoot() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("failed to find a cache directory: %w", err)
	}
	return filepath.Join(d, "kubeml", "kube"), nil
}

// Find returns the binaries from $KUBEML_KUBE_BIN_DIR, or else from the
// cache entry for the installed Go toolchain. It builds nothing.
func Find() (Bins, error) {
	if d := os.Getenv(EnvBinDir); d != "" {
		b := Bins{Dir: d}
		if err := b.Check(); err != nil {
			return Bins{}, fmt.Errorf("%s=%s: %w", EnvBinDir, d, err)
		}
		return b, nil
	}
	root, err := CacheRoot()
	if err != nil {
		return Bins{}, err
	}
	gv, err := goVersion()
	if err != nil {
		// Without Go we cannot compute the key: accept any complete entry.
		return findAny(root)
	}
	b := Bins{Dir: filepath.Join(root, Key(gv))}
	if err := b.Check(); err != nil {
		if other, err := findAny(root); err == nil {
			return Bins{}, fmt.Errorf("%w for %s (the binaries in %s were built with another Go version or version pins)", ErrMissing, gv, other.Dir)
		}
		return Bins{}, ErrMissing
	}
	return b, nil
}

func findAny(root string) (Bins, error) {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if e.IsDir() && len(e.Name()) == 16 {
			b := Bins{Dir: filepath.Join(root, e.Name())}
			if b.Check() == nil {
				return b, nil
			}
		}
	}
	return Bins{}, ErrMissing
}
