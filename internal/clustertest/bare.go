package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/hostcluster"
	"github.com/kubeml/kubeml/internal/provider/local"
)

// Phases are the times (seconds from the start) at which a cluster's
// control plane was ready, its node Ready and a pod answering HTTP.
type Phases struct{ CP, Node, Pod float64 }

// Daemons are a local cluster's long-running processes.
var Daemons = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet"}

// BareRun starts the components by hand with a cluster's own command
// lines and configuration, but none of its data (no etcd data, no
// containerd state) and none of kubeml's logic.
func BareRun(b testing.TB, p provider.Provider, name string) Phases {
	ctx := context.Background()
	// A throwaway cluster writes the configuration and shows the command
	// lines; keep those, drop everything else.
	if _, err := p.Create(ctx, provider.Spec{Name: name, AgentCount: 1}, nil); err != nil {
		b.Fatal(err)
	}
	dir := p.(*hostcluster.Provider).Store.Dir(name)
	_, cs, err := Connect(ctx, p, name)
	if err != nil {
		b.Fatal(err)
	}
	argv := map[string][]string{}
	for _, d := range Daemons {
		pid, _ := proc.Running(filepath.Join(dir, "run", d+".pid"))
		argv[d] = proc.Argv(pid)
	}
	image := imageOf(b, p, name)
	stopKeepingConfig(b, p, dir, name)

	start := time.Now()
	for _, d := range Daemons[:5] {
		startBare(b, dir, d, argv[d])
	}
	sock := ContainerdSocket(b, dir)
	for deadline := time.Now().Add(time.Minute); !exists(sock); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("containerd never opened %s", sock)
		}
	}
	tar := imageTarball(b, image)
	if out, err := exec.Command("ctr", "--address", sock, "-n", "k8s.io", "images", "import", tar).CombinedOutput(); err != nil {
		b.Fatalf("ctr import: %v: %s", err, out)
	}
	startBare(b, dir, "kubelet", argv["kubelet"])
	var r Phases
	for !apiReady(cs) {
		time.Sleep(5 * time.Millisecond)
	}
	r.CP = time.Since(start).Seconds()
	for !nodeReady(cs) {
		time.Sleep(5 * time.Millisecond)
	}
	r.Node = time.Since(start).Seconds()
	for !defaultSA(cs) {
		time.Sleep(5 * time.Millisecond)
	}
	Answer(b, cs, image)
	r.Pod = time.Since(start).Seconds()
	b.Logf("bare:   control plane %.2fs, node Ready %.2fs, pod answering %.2fs", r.CP, r.Node, r.Pod)
	if err := p.Delete(ctx, name, nil); err != nil {
		b.Fatal(err)
	}
	return r
}

func imageOf(b testing.TB, p provider.Provider, name string) string {
	c, err := p.Get(context.Background(), name)
	if err != nil {
		b.Fatal(err)
	}
	return c.KubemlImage
}

// stopKeepingConfig stops the cluster the way a delete does but keeps its
// configuration files (PKI, kubeconfigs, configs) for the bare start.
func stopKeepingConfig(b testing.TB, p provider.Provider, dir, name string) {
	keep := map[string][]byte{}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		top := strings.SplitN(rel, "/", 2)[0]
		if top == "pki" || top == "cni" && strings.HasSuffix(rel, ".conflist") || strings.HasSuffix(rel, ".kubeconfig") ||
			strings.HasSuffix(rel, ".toml") || strings.HasSuffix(rel, ".yaml") || rel == "cluster.json" {
			keep[rel], _ = os.ReadFile(path)
		}
		return nil
	})
	if err := p.Delete(context.Background(), name, nil); err != nil {
		b.Fatal(err)
	}
	for rel, data := range keep {
		path := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "run"), 0o700)
	// What the provider's plan made by hand: the bridge and cgroup root.
	var node struct{ Index int }
	rec, err := hostcluster.Store{Root: filepath.Dir(dir)}.Load(filepath.Base(dir))
	if err != nil {
		b.Fatal(err)
	}
	if err := jsonUnmarshal(rec.Node, &node); err != nil {
		b.Fatal(err)
	}
	br := "kml" + strconv.Itoa(node.Index)
	for _, args := range [][]string{{"link", "add", br, "type", "bridge"}, {"addr", "add", fmt.Sprintf("10.213.%d.1/24", node.Index), "dev", br}, {"link", "set", br, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			b.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	for _, c := range []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd"} {
		d := filepath.Join("/sys/fs/cgroup", c, "kubeml-"+br)
		os.MkdirAll(d, 0o755)
		if c == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuset", f))
				os.WriteFile(filepath.Join(d, f), v, 0o644)
			}
		}
	}
}

// startBare starts one process with its recorded argv, recorded in the
// cluster's pid file so that the final Delete stops it.
func startBare(b testing.TB, dir, name string, argv []string) {
	if _, err := proc.Start(proc.Spec{Name: name, Path: argv[0], Args: argv[1:], Dir: dir,
		LogFile: filepath.Join(dir, "logs", name+".log"), PidFile: filepath.Join(dir, "run", name+".pid")}); err != nil {
		b.Fatal(err)
	}
}

// imageTarball is the cached tarball of image, which the cluster made
// from this test's kubeml (not merely the newest: other builds share the
// cache).
func imageTarball(b testing.TB, image string) string {
	path, err := local.TarballPath(image)
	if err == nil {
		_, err = os.Stat(path)
	}
	if err != nil {
		b.Fatalf("no cached tarball of %s: %v", image, err)
	}
	return path
}

// Answer starts ProbePod and returns as soon as it answers HTTP (polling
// every 10 ms, not waiting for Ready: benchmarks time this).
func Answer(b testing.TB, cs kubernetes.Interface, image string) {
	ctx := context.Background()
	if _, err := cs.CoreV1().Pods("default").Create(ctx, ProbePod(image), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "probe", metav1.GetOptions{})
		if err == nil && p.Status.PodIP != "" {
			if resp, err := hc.Get("http://" + net.JoinHostPort(p.Status.PodIP, "8080") + "/"); err == nil {
				resp.Body.Close()
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("pod did not answer")
}

func apiReady(cs kubernetes.Interface) bool {
	_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
	return err == nil
}

func nodeReady(cs kubernetes.Interface) bool {
	n, err := cs.CoreV1().Nodes().Get(context.Background(), "agent-0", metav1.GetOptions{})
	return err == nil && hostcluster.NodeReady(n)
}

func defaultSA(cs kubernetes.Interface) bool {
	_, err := cs.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metav1.GetOptions{})
	return err == nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// rssMB sums VmRSS of the processes.
func RSSMB(pids []int) float64 {
	var kb float64
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				v, _ := strconv.ParseFloat(f[1], 64)
				kb += v
			}
		}
	}
	return kb / 1024
}

// PodRSS sums the RSS of the processes in a local cluster's pod cgroups.
func PodRSS(dir string) float64 {
	rec, err := hostcluster.Store{Root: filepath.Dir(dir)}.Load(filepath.Base(dir))
	if err != nil {
		return 0
	}
	var node struct{ Index int }
	if jsonUnmarshal(rec.Node, &node) != nil {
		return 0
	}
	var pids []int
	root := filepath.Join("/sys/fs/cgroup/pids", "kubeml-kml"+strconv.Itoa(node.Index))
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "cgroup.procs" {
			b, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		return nil
	})
	return RSSMB(pids)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// ContainerdSocket reads the node's socket path from its containerd config.
func ContainerdSocket(b testing.TB, dir string) string {
	cfg, err := os.ReadFile(filepath.Join(dir, "containerd.toml"))
	if err != nil {
		b.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(cfg), "[grpc]")
	_, rest, _ = strings.Cut(rest, `address = "`)
	sock, _, _ := strings.Cut(rest, `"`)
	if sock == "" {
		b.Fatal("no grpc address in containerd.toml")
	}
	return sock
}
