package localdev_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider/local"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "none"}, &env))
}

// A user runs `kubeml up`; the server it starts is killed in the middle of
// creating the cluster; the next `kubeml up` finishes it, and the cluster
// runs pods; the control plane dies (as in a crash) and `kubeml up`
// restarts it; `kubeml down` removes everything from the host.
func TestUpSurvivesKillsAndDownCleansUp(t *testing.T) {
	clustertest.RequireLocal(t, env)
	data := filepath.Join(env.Root, "data")
	before := clustertest.SnapshotHost()
	t.Cleanup(func() { // in case the test stopped before its own down
		exec.Command(env.KubemlBinary, "--data-dir", data, "down", "--yes").Run()
		proc.Stop(filepath.Join(data, "run", "server.pid"), 5*time.Second)
	})

	// 1. Kill the server once the cluster's control plane is being made.
	// The server takes a free port (recorded for the later commands), so
	// the test passes beside a kubeml that is up on the default one.
	cmd := exec.Command(env.KubemlBinary, "--data-dir", data, "up", "--addr", clustertest.FreeAddr(t))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(data, "clusters", "local")
	waitFor(t, 2*time.Minute, func() bool {
		m, _ := filepath.Glob(filepath.Join(clusters, "*", "run", "kube-apiserver.pid"))
		return len(m) > 0
	})
	pid, ok := proc.Running(filepath.Join(data, "run", "server.pid"))
	if !ok {
		t.Fatal("no server running")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	cmd.Process.Kill()
	cmd.Wait()

	// 2. up again: the server restarts and finishes the create.
	out := kubeml(t, data, "up")
	if !strings.Contains(out, `compute "local-dev" is Succeeded`) {
		t.Fatalf("second up: %s", out)
	}
	// The sample model is deployed, and the printed curl command scores.
	i := strings.Index(out, "curl -s ")
	if i < 0 {
		t.Fatalf("second up printed no scoring command: %s", out)
	}
	line, _, _ := strings.Cut(out[i:], "\n")
	scored, err := exec.Command("sh", "-c", line).CombinedOutput()
	var probs [][]float64
	if err != nil || json.Unmarshal(scored, &probs) != nil || len(probs) != 1 || len(probs[0]) != 10 {
		t.Fatalf("%s: %s %v", line, scored, err)
	}
	cs := client(t, filepath.Join(data, "local-dev.kubeconfig"))
	// The router runs kubeml's image in kubeml-system, Ready, as kubectl shows.
	if out, err := exec.Command("kubectl", "--kubeconfig", filepath.Join(data, "local-dev.kubeconfig"), "-n", "kubeml-system",
		"get", "deployment", "kubeml-router", "-o", "jsonpath={.status.readyReplicas}").CombinedOutput(); err != nil || string(out) != "1" {
		t.Errorf("kubectl: router ready replicas = %q, %v", out, err)
	}
	ref, err := local.ImageRef(env.KubemlBinary)
	if err != nil {
		t.Fatal(err)
	}
	ip := clustertest.RunProbe(t, cs, ref)
	if body := get(t, ip); !strings.HasPrefix(body, "kubeml ") {
		t.Fatalf("pod answered %q", body)
	}

	// 3. The API server and etcd die; up restarts them; the pod still answers.
	dirs, _ := filepath.Glob(filepath.Join(clusters, "*", "cluster.json"))
	if len(dirs) != 1 {
		t.Fatalf("clusters: %v", dirs)
	}
	dir := filepath.Dir(dirs[0])
	for _, n := range []string{"kube-apiserver", "etcd"} {
		pid, ok := proc.Running(filepath.Join(dir, "run", n+".pid"))
		if !ok {
			t.Fatalf("%s is not running", n)
		}
		syscall.Kill(pid, syscall.SIGKILL)
		proc.WaitExit(pid, 10*time.Second)
	}
	if out := kubeml(t, data, "up"); !strings.Contains(out, "kubeml is up") {
		t.Fatalf("third up: %s", out)
	}
	if _, err := cs.CoreV1().Pods("default").Get(context.Background(), "probe", metav1.GetOptions{}); err != nil {
		t.Fatalf("pod lost across the restart: %v", err)
	}
	if body := get(t, ip); !strings.HasPrefix(body, "kubeml ") {
		t.Fatalf("pod answered %q after the restart", body)
	}

	// 4. down removes everything.
	if out := kubeml(t, data, "down", "--yes"); !strings.Contains(out, "kubeml is down") {
		t.Fatalf("down: %s", out)
	}
	if diff := clustertest.SnapshotHost().Diff(before); diff != "" {
		t.Errorf("left behind after down:\n%s", diff)
	}
}

// An address that another process holds makes up fail at once, naming
// the holder and --addr, instead of waiting for a server that cannot
// listen.
func TestUpFailsAtOnceWhenItsAddressIsTaken(t *testing.T) {
	clustertest.RequireLocal(t, env)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, env.KubemlBinary, "--data-dir", t.TempDir(), "up", "--addr", ln.Addr().String()).CombinedOutput()
	took := time.Since(start)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("up on a taken address: %v after %s\n%s", err, took, out)
	}
	for _, want := range []string{ln.Addr().String() + " is in use by pid " + strconv.Itoa(os.Getpid()), "--addr"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("up's error does not say %q:\n%s", want, out)
		}
	}
	t.Logf("up refused in %s", took.Round(time.Millisecond))
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func kubeml(t *testing.T, data string, args ...string) string {
	t.Helper()
	out, err := exec.Command(env.KubemlBinary, append([]string{"--data-dir", data}, args...)...).CombinedOutput()
	t.Logf("kubeml %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("kubeml %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

func client(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

func get(t *testing.T, ip string) string {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second}
	var last error
	for range 50 {
		resp, err := c.Get("http://" + net.JoinHostPort(ip, "8080") + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET pod %s: %v", ip, last)
	return ""
}
