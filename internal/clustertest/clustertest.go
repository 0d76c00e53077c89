// Package clustertest gives integration tests real Kubernetes clusters:
// one per test package, made in TestMain by a kubeml provider (simulated
// by default, local where pods must really run) and deleted afterwards.
//
// When the Kubernetes binaries (or, for local, root and containerd) are
// missing, tests skip on a developer machine but fail under CI=true, so a
// CI run can never pass by testing nothing.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/provider/simulated"
)

// Options choose the cluster a test package gets.
type Options struct {
	// Provider is "simulated" (default) or "local".
	Provider string
	// Spec of the cluster; Name defaults to the provider name.
	Spec provider.Spec
}

// Env is a test package's cluster and the means to reach it.
type Env struct {
	Root       string // state root of the harness's providers
	Registry   provider.Registry
	Provider   provider.Provider
	Cluster    *provider.Cluster
	Kubeconfig []byte
	Client     kubernetes.Interface
	// KubemlBinary is a static kubeml binary built from this source tree,
	// with kubeml-node beside it.
	KubemlBinary string
}

// skipReason is set when the harness could not make a cluster.
var skipReason string

// Run is TestMain's body: it makes the cluster into *env, runs the tests
// and deletes the cluster. It returns the exit code.
func Run(m *testing.M, o Options, env **Env) int {
	e, cleanup, err := Start(o)
	if err != nil {
		if os.Getenv("CI") == "true" || !errors.Is(err, errUnavailable) {
			fmt.Fprintf(os.Stderr, "clustertest: %v\n", err)
			return 1
		}
		skipReason = err.Error()
		return m.Run()
	}
	*env = e
	code := m.Run()
	if err := cleanup(); err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: cleanup: %v\n", err)
		code = 1
	}
	return code
}

// Require skips the test when the harness had no cluster (never in CI,
// where Run already failed).
func Require(t testing.TB, env *Env) {
	t.Helper()
	if env == nil {
		t.Skipf("no cluster: %s", skipReason)
	}
}

var errUnavailable = errors.New("cluster unavailable on this machine")

// Available reports whether the named provider can make clusters here.
func Available(name string) error {
	if _, err := kube.Find(); err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if name == local.Name {
		if err := local.CheckHost(); err != nil {
			return fmt.Errorf("%w: %w", errUnavailable, err)
		}
	}
	return nil
}

// RequireLocal skips a test that needs a local cluster on a machine that
// cannot run one, and fails it under CI=true.
func RequireLocal(t testing.TB, env *Env) {
	t.Helper()
	Require(t, env)
	if err := Available(local.Name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// Start makes the harness's providers and, unless o.Provider is "none",
// one cluster. The returned cleanup deletes everything.
func Start(o Options) (*Env, func() error, error) {
	if o.Provider == "" {
		o.Provider = simulated.Name
	}
	if err := Available(o.Provider); err != nil {
		return nil, nil, err
	}
	root, err := newRoot()
	if err != nil {
		return nil, nil, err
	}
	bin, err := BuildKubeml(root)
	if err != nil {
		return nil, nil, err
	}
	e := &Env{Root: root, KubemlBinary: bin, Registry: Registry(root, bin)}
	cleanup := func() error {
		err := DeleteAll(e.Registry)
		if err == nil {
			err = os.RemoveAll(root)
		}
		return err
	}
	if o.Provider == "none" {
		return e, cleanup, nil
	}
	if e.Provider, err = e.Registry.Get(o.Provider); err != nil {
		return nil, nil, err
	}
	spec := o.Spec
	if spec.Name == "" {
		spec.Name = o.Provider
	}
	if spec.AgentCount == 0 {
		spec.AgentCount = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if e.Cluster, err = e.Provider.Create(ctx, spec, nil); err != nil {
		cleanup()
		return nil, nil, err
	}
	if e.Kubeconfig, e.Client, err = Connect(ctx, e.Provider, spec.Name); err != nil {
		cleanup()
		return nil, nil, err
	}
	return e, cleanup, nil
}

// Registry returns the providers with their state under root.
func Registry(root, kubemlBinary string) provider.Registry {
	return provider.NewRegistry(
		local.New(local.Options{Root: filepath.Join(root, local.Name), Bins: kube.Find, ImageBinary: kubemlBinary}),
		simulated.New(filepath.Join(root, simulated.Name), kube.Find),
	)
}

// Connect returns the cluster's kubeconfig and a client from it.
func Connect(ctx context.Context, p provider.Provider, name string) ([]byte, kubernetes.Interface, error) {
	kc, err := p.Kubeconfig(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return kc, cs, err
}

// DeleteAll deletes every cluster of every provider in r.
func DeleteAll(r provider.Registry) error {
	var errs []error
	for _, n := range r.Names() {
		p := r[n]
		cs, err := p.List(context.Background())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range cs {
			if err := p.Delete(context.Background(), c.Name, nil); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// harnessDir holds one directory per test process, named <pid>-<random>.
// Short, because containerd's socket path lives under it.
const harnessDir = "/tmp/kmlt"

// newRoot makes this process's state root, first deleting the clusters of
// earlier test processes that died without cleaning up.
func newRoot() (string, error) {
	if err := os.MkdirAll(harnessDir, 0o700); err != nil {
		return "", err
	}
	ents, _ := os.ReadDir(harnessDir)
	for _, ent := range ents {
		pid, err := strconv.Atoi(strings.SplitN(ent.Name(), "-", 2)[0])
		if err != nil || processAlive(pid) {
			continue
		}
		dir := filepath.Join(harnessDir, ent.Name())
		if err := DeleteAll(Registry(dir, "")); err != nil {
			fmt.Fprintf(os.Stderr, "clustertest: removing leftovers in %s: %v\n", dir, err)
		}
		os.RemoveAll(dir)
	}
	return os.MkdirTemp(harnessDir, strconv.Itoa(os.Getpid())+"-")
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// BuildKubeml builds static kubeml and kubeml-node binaries from this
// source tree into dir and returns kubeml's path.
func BuildKubeml(dir string) (string, error) { return BuildKubemlTags(dir, "") }

// TempRoot returns a fresh directory for a test's own providers, short
// enough for the unix sockets of a local cluster under it, removed when
// the test ends.
func TempRoot(t testing.TB) string {
	t.Helper()
	root, err := newRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	return root
}

// BuildKubemlTags builds kubeml and kubeml-node from this source tree into
// dir with the given build tags (comma-separated), static when tags is
// empty, with cgo otherwise (the ort tag needs it), and returns kubeml's
// path.
func BuildKubemlTags(dir, tags string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("failed to find the module root: %w", err)
	}
	modRoot := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "kubeml")
	// kubeml-node beside it, from the same build: local clusters' images
	// are made of it, as for a user who builds both.
	cmd := exec.Command("go", "build", "-tags", tags, "-o", dir+"/", "./cmd/kubeml", "./cmd/kubeml-node")
	cmd.Dir = modRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if tags != "" {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build kubeml: %w: %s", err, out)
	}
	return bin, nil
}

// ConnectKubeconfig returns a client for a kubeconfig.
func ConnectKubeconfig(kubeconfig []byte) ([]byte, kubernetes.Interface, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return kubeconfig, cs, err
}

// FreeAddr is a loopback address no one listens on now, for a server a
// test starts (tests must not depend on kubeml's default port).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
