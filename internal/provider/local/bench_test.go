package local_test

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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/hostcluster"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
)

// BenchmarkLocalClusterVsBare creates a local DevTest cluster with kubeml
// and then starts the very same components by hand (same binaries, same
// arguments, same configs, everything at once, no checks), in the same
// run, and reports both and their ratio: time to control plane ready, to
// node Ready, to a pod from kubeml's image answering HTTP; and the RSS of
// the cluster's processes.
//
//	go test -run '^$' -bench LocalClusterVsBare -benchtime 1x ./internal/provider/local/
func BenchmarkLocalClusterVsBare(b *testing.B) {
	clustertest.RequireLocal(b, env)
	p, _ := env.Registry.Get("local")
	kubemlRun(b, p) // warm-up: page cache, image tarball
	var k, bare phases
	for range b.N {
		kr := kubemlRun(b, p)
		br := bareRun(b, p)
		k, bare = k.add(kr), bare.add(br)
	}
	n := float64(b.N)
	b.ReportMetric(k.cp/n, "kubeml-cp-s")
	b.ReportMetric(k.node/n, "kubeml-node-s")
	b.ReportMetric(k.pod/n, "kubeml-pod-s")
	b.ReportMetric(bare.cp/n, "bare-cp-s")
	b.ReportMetric(bare.node/n, "bare-node-s")
	b.ReportMetric(bare.pod/n, "bare-pod-s")
	b.ReportMetric(k.pod/bare.pod, "ratio-pod")
	b.ReportMetric(k.node/bare.node, "ratio-node")
	b.ReportMetric(k.rssMB/n, "kubeml-rss-MB")
	b.ReportMetric(k.rssPodsMB/n, "kubeml-rss-with-pod-MB")
}

type phases struct{ cp, node, pod, rssMB, rssPodsMB float64 }

func (a phases) add(b phases) phases {
	return phases{a.cp + b.cp, a.node + b.node, a.pod + b.pod, a.rssMB + b.rssMB, a.rssPodsMB + b.rssPodsMB}
}

const benchName = "bench"

var daemons = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet"}

// kubemlRun times Create and a first pod, measures the daemons' RSS and
// deletes the cluster.
func kubemlRun(b *testing.B, p provider.Provider) phases {
	ctx := context.Background()
	var r phases
	start := time.Now()
	c, err := p.Create(ctx, provider.Spec{Name: benchName, AgentCount: 1}, func(s string) {
		if s == "starting the nodes" {
			r.cp = time.Since(start).Seconds()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	r.node = time.Since(start).Seconds()
	_, cs, err := clustertest.Connect(ctx, p, benchName)
	if err != nil {
		b.Fatal(err)
	}
	answer(b, cs, c.KubemlImage)
	r.pod = time.Since(start).Seconds()
	dir := filepath.Join(env.Root, "local", benchName)
	var pids []int
	for _, d := range daemons {
		pid, ok := proc.Running(filepath.Join(dir, "run", d+".pid"))
		if !ok {
			b.Fatalf("%s is not running", d)
		}
		pids = append(pids, pid)
	}
	r.rssMB = rssMB(pids)
	r.rssPodsMB = rssMB(append(pids, proc.Matching(filepath.Join(dir, "containerd.sock"))...)) + podRSS(dir)
	b.Logf("kubeml: control plane %.2fs, node Ready %.2fs, pod answering %.2fs; RSS %.0f MB (daemons), %.0f MB with the pod",
		r.cp, r.node, r.pod, r.rssMB, r.rssPodsMB)
	if err := p.Delete(ctx, benchName, nil); err != nil {
		b.Fatal(err)
	}
	return r
}

// bareRun starts the components by hand with a cluster's own command
// lines and configuration, but none of its data (no etcd data, no
// containerd state) and none of kubeml's logic.
func bareRun(b *testing.B, p provider.Provider) phases {
	ctx := context.Background()
	// A throwaway cluster writes the configuration and shows the command
	// lines; keep those, drop everything else.
	if _, err := p.Create(ctx, provider.Spec{Name: benchName, AgentCount: 1}, nil); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(env.Root, "local", benchName)
	_, cs, err := clustertest.Connect(ctx, p, benchName)
	if err != nil {
		b.Fatal(err)
	}
	argv := map[string][]string{}
	for _, d := range daemons {
		pid, _ := proc.Running(filepath.Join(dir, "run", d+".pid"))
		argv[d] = proc.Argv(pid)
	}
	image := imageOf(b, p)
	stopKeepingConfig(b, p, dir)

	start := time.Now()
	for _, d := range daemons[:5] {
		startBare(b, dir, d, argv[d])
	}
	sock := filepath.Join(dir, "containerd.sock")
	for !exists(sock) {
		time.Sleep(5 * time.Millisecond)
	}
	tar := imageTarball(b)
	if out, err := exec.Command("ctr", "--address", sock, "-n", "k8s.io", "images", "import", tar).CombinedOutput(); err != nil {
		b.Fatalf("ctr import: %v: %s", err, out)
	}
	startBare(b, dir, "kubelet", argv["kubelet"])
	var r phases
	for !apiReady(cs) {
		time.Sleep(5 * time.Millisecond)
	}
	r.cp = time.Since(start).Seconds()
	for !nodeReady(cs) {
		time.Sleep(5 * time.Millisecond)
	}
	r.node = time.Since(start).Seconds()
	for !defaultSA(cs) {
		time.Sleep(5 * time.Millisecond)
	}
	answer(b, cs, image)
	r.pod = time.Since(start).Seconds()
	b.Logf("bare:   control plane %.2fs, node Ready %.2fs, pod answering %.2fs", r.cp, r.node, r.pod)
	if err := p.Delete(ctx, benchName, nil); err != nil {
		b.Fatal(err)
	}
	return r
}

func imageOf(b *testing.B, p provider.Provider) string {
	c, err := p.Get(context.Background(), benchName)
	if err != nil {
		b.Fatal(err)
	}
	return c.KubemlImage
}

// stopKeepingConfig stops the cluster the way a delete does but keeps its
// configuration files (PKI, kubeconfigs, configs) for the bare start.
func stopKeepingConfig(b *testing.B, p provider.Provider, dir string) {
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
	if err := p.Delete(context.Background(), benchName, nil); err != nil {
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
	rec, err := hostcluster.Store{Root: filepath.Dir(dir)}.Load(benchName)
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
func startBare(b *testing.B, dir, name string, argv []string) {
	if _, err := proc.Start(proc.Spec{Name: name, Path: argv[0], Args: argv[1:], Dir: dir,
		LogFile: filepath.Join(dir, "logs", name+".log"), PidFile: filepath.Join(dir, "run", name+".pid")}); err != nil {
		b.Fatal(err)
	}
}

func imageTarball(b *testing.B) string {
	d, _ := os.UserCacheDir()
	m, _ := filepath.Glob(filepath.Join(d, "kubeml", "images", "*.tar"))
	if len(m) == 0 {
		b.Fatal("no cached image tarball")
	}
	newest := m[0]
	for _, f := range m {
		if fi, _ := os.Stat(f); fi != nil {
			if nf, _ := os.Stat(newest); fi.ModTime().After(nf.ModTime()) {
				newest = f
			}
		}
	}
	return newest
}

func answer(b *testing.B, cs kubernetes.Interface, image string) {
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "probe", Image: image, ImagePullPolicy: corev1.PullNever,
			Args: []string{"probe-server", "--listen", ":8080"},
		}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
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
func rssMB(pids []int) float64 {
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

// podRSS sums the RSS of the processes in the cluster's pod cgroups.
func podRSS(dir string) float64 {
	rec, err := hostcluster.Store{Root: filepath.Dir(dir)}.Load(benchName)
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
	return rssMB(pids)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
