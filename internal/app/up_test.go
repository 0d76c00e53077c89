package app_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/proc"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "none"}, &env))
}

// A user runs `kubeml up`; kubeml is killed in the middle of it; the next
// `kubeml up` finishes the cluster, which works; the control plane dies
// (as in a crash) and `kubeml up` restarts it; `kubeml down` removes all.
func TestUpSurvivesKillsAndDownCleansUp(t *testing.T) {
	clustertest.RequireLocal(t, env)
	data := filepath.Join(env.Root, "data")
	before := clustertest.SnapshotHost()
	t.Cleanup(func() { // in case the test stopped before its own down
		exec.Command(env.KubemlBinary, "--data-dir", data, "down").Run()
	})

	// 1. Kill kubeml once the control plane runs and the node is starting.
	cmd := exec.Command(env.KubemlBinary, "--data-dir", data, "up")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		t.Log("up: " + sc.Text())
		if strings.Contains(sc.Text(), "starting containerd") {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("kubeml up ended before it could be killed mid-create")
	}

	// 2. up again resumes it.
	out := kubeml(t, data, "up")
	if !strings.Contains(out, `Cluster "kubeml" is Running`) {
		t.Fatalf("second up: %s", out)
	}
	cs := client(t, filepath.Join(data, "kubeml.kubeconfig"))
	ip := runProbe(t, cs, imageFrom(out))
	if body := get(t, ip); !strings.HasPrefix(body, "kubeml ") {
		t.Fatalf("pod answered %q", body)
	}

	// 3. The API server and etcd die; up restarts them; the pod still answers.
	dir := filepath.Join(data, "clusters", "local", "kubeml")
	for _, n := range []string{"kube-apiserver", "etcd"} {
		pid, ok := proc.Running(filepath.Join(dir, "run", n+".pid"))
		if !ok {
			t.Fatalf("%s is not running", n)
		}
		syscall.Kill(pid, syscall.SIGKILL)
		proc.WaitExit(pid, 10*time.Second)
	}
	if out := kubeml(t, data, "up"); !strings.Contains(out, "Running") {
		t.Fatalf("third up: %s", out)
	}
	if _, err := cs.CoreV1().Pods("default").Get(context.Background(), "probe", metav1.GetOptions{}); err != nil {
		t.Fatalf("pod lost across the restart: %v", err)
	}
	if body := get(t, ip); !strings.HasPrefix(body, "kubeml ") {
		t.Fatalf("pod answered %q after the restart", body)
	}

	// 4. down removes everything.
	if out := kubeml(t, data, "down"); !strings.Contains(out, "Deleted") {
		t.Fatalf("down: %s", out)
	}
	if diff := clustertest.SnapshotHost().Diff(before); diff != "" {
		t.Errorf("left behind after down:\n%s", diff)
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

func imageFrom(upOutput string) string {
	i := strings.Index(upOutput, "image ")
	if i < 0 {
		return ""
	}
	return strings.Fields(upOutput[i+len("image "):])[0]
}

func client(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

func runProbe(t *testing.T, cs kubernetes.Interface, image string) string {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "probe", Image: image, ImagePullPolicy: corev1.PullNever,
			Args: []string{"probe-server", "--listen", ":8080"},
		}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "probe", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			return p.Status.PodIP
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("probe pod did not run")
	return ""
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
