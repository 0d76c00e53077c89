package local_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/image"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/local"
)

var env *clustertest.Env

// The package's clusters are made by the tests themselves: they test
// create and delete.
func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "none"}, &env))
}

func TestLocalClustersRunPodsAndLeaveNothingBehind(t *testing.T) {
	clustertest.RequireLocal(t, env)
	ctx := context.Background()
	p, _ := env.Registry.Get("local")
	before := clustertest.SnapshotHost()

	// Two clusters at once: each has its own bridge, subnet, kubelet port.
	var clusters []*provider.Cluster
	for _, name := range []string{"alpha", "beta"} {
		c, err := p.Create(ctx, provider.Spec{Name: name, AgentCount: 1}, func(s string) { t.Logf("%s: %s", name, s) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Delete(context.Background(), name, nil) })
		clusters = append(clusters, c)
	}
	clients := map[string]kubernetes.Interface{}
	for _, c := range clusters {
		if c.State != provider.StateRunning || c.VMSize != "Host" || c.AgentCount != 1 {
			t.Errorf("cluster %s = %+v, want Running with 1 Host node", c.Name, c)
		}
		kc, cs, err := clustertest.Connect(ctx, p, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		clients[c.Name] = cs
		ip := clustertest.RunProbe(t, cs, c.KubemlImage)
		body := httpGet(t, "http://"+net.JoinHostPort(ip, "8080")+"/")
		if !strings.HasPrefix(body, "kubeml ") || !strings.Contains(body, "probe") {
			t.Errorf("%s: pod answered %q, want kubeml's greeting from pod probe", c.Name, body)
		}
		logs, err := cs.CoreV1().Pods("default").GetLogs("probe", &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil || !strings.Contains(string(logs), "GET / from") {
			t.Errorf("%s: logs = %q, %v; want the request logged", c.Name, logs, err)
		}
		kubectlLogs(t, kc)
		// The node keeps pod logs in its own state dir, not the host's
		// /var/log/pods that every cluster would share.
		if m, _ := filepath.Glob(filepath.Join(env.Root, "local", c.Name, "pod-logs", "default_probe_*", "*", "*.log")); len(m) == 0 {
			t.Errorf("%s: no log file of pod probe under the cluster's pod-logs", c.Name)
		}
	}

	// Deleting alpha leaves beta working.
	if err := p.Delete(ctx, "alpha", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx, "alpha"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Get(alpha) after delete: %v, want ErrNotFound", err)
	}
	ip := clustertest.ProbeIP(t, clients["beta"])
	if body := httpGet(t, "http://"+net.JoinHostPort(ip, "8080")+"/"); !strings.HasPrefix(body, "kubeml ") {
		t.Errorf("beta's pod after deleting alpha answered %q", body)
	}
	if logs, err := clients["beta"].CoreV1().Pods("default").GetLogs("probe", &corev1.PodLogOptions{}).DoRaw(ctx); err != nil || !strings.Contains(string(logs), "GET / from") {
		t.Errorf("beta's logs after deleting alpha = %q, %v", logs, err)
	}
	if err := p.Delete(ctx, "beta", nil); err != nil {
		t.Fatal(err)
	}
	if diff := clustertest.SnapshotHost().Diff(before); diff != "" {
		t.Errorf("left behind on the host after delete:\n%s", diff)
	}
	if left := stateDirs(filepath.Join(env.Root, "local")); len(left) != 0 {
		t.Errorf("state dirs left: %v", left)
	}
}

func TestFailedCreateRollsBackEverything(t *testing.T) {
	clustertest.RequireLocal(t, env)
	before := clustertest.SnapshotHost()
	// A file that is no binary cannot become an image: the create fails
	// while etcd and the API server are already starting.
	notBinary := filepath.Join(t.TempDir(), "kubeml")
	if err := os.WriteFile(notBinary, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := local.New(local.Options{Root: filepath.Join(env.Root, "rollback"), Bins: kube.Find, ImageBinary: notBinary})
	_, err := p.Create(context.Background(), provider.Spec{Name: "doomed", AgentCount: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "failed to read kubeml binary") {
		t.Fatalf("err = %v, want the file refused as a binary", err)
	}
	if diff := clustertest.SnapshotHost().Diff(before); diff != "" {
		t.Errorf("left behind after a failed create:\n%s", diff)
	}
	if left := stateDirs(filepath.Join(env.Root, "rollback")); len(left) != 0 {
		t.Errorf("state left after a failed create: %v", left)
	}
}

func TestLocalRefusesWhatItCannotBe(t *testing.T) {
	clustertest.Require(t, env)
	p, _ := env.Registry.Get("local")
	_, err := p.Create(context.Background(), provider.Spec{Name: "x", VMSize: "Standard_D3_v2", AgentCount: 3}, nil)
	if !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"simulated", "aks", "exactly 1 node", "Standard_D3_v2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// kubectlLogs reads the probe's logs with kubectl and the provider's
// kubeconfig, as a user would.
func kubectlLogs(t *testing.T, kubeconfig []byte) {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Log("kubectl not installed; skipping the kubectl check")
		return
	}
	f := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(f, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("kubectl", "--kubeconfig", f, "logs", "probe").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GET / from") {
		t.Errorf("kubectl logs: %v: %s", err, out)
	}
}

// stateDirs lists the clusters' state dirs under root (lock files apart).
func stateDirs(root string) []string {
	ents, _ := os.ReadDir(root)
	var dirs []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

// TestImagesHoldKubemlNode checks which binary the images are made of:
// kubeml-node from the same build beside kubeml, and kubeml itself when
// the file beside it is from another build.
func TestImagesHoldKubemlNode(t *testing.T) {
	clustertest.Require(t, env)
	tagOf := func(bin string) string {
		tag, err := image.ContentTag(bin)
		if err != nil {
			t.Fatal(err)
		}
		return local.KubemlRepo + ":" + tag
	}
	node := filepath.Join(filepath.Dir(env.KubemlBinary), local.NodeBinaryName)
	if got, err := local.ImageRef(env.KubemlBinary); err != nil || got != tagOf(node) {
		t.Errorf("ImageRef = %q, %v; want kubeml-node's %q", got, err, tagOf(node))
	}
	// Another build beside kubeml (here: any other program) is not used.
	dir := t.TempDir()
	kubeml := filepath.Join(dir, "kubeml")
	for src, dst := range map[string]string{env.KubemlBinary: kubeml, "/bin/true": filepath.Join(dir, local.NodeBinaryName)} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Skip(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := local.ImageRef(kubeml); err != nil || got != tagOf(kubeml) {
		t.Errorf("with another program beside kubeml: ImageRef = %q, %v; want kubeml's own %q", got, err, tagOf(kubeml))
	}
}
