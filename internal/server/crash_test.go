package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/simulated"
)

// process is a `kubeml server` subprocess over HTTPS, as a user runs it.
type process struct {
	t    testing.TB
	data string
	addr string
	cmd  *exec.Cmd
	hc   *http.Client
	tok  string
}

func startServer(t testing.TB, data, addr string) *process {
	t.Helper()
	return startServerOn(t, data, addr, "sim=simulated")
}

// startServerOn is startServer with the locations given (NAME=PROVIDER).
func startServerOn(t testing.TB, data, addr string, locations ...string) *process {
	t.Helper()
	args := []string{"--data-dir", data, "server", "--addr", addr}
	for _, l := range locations {
		args = append(args, "--location", l)
	}
	cmd := exec.Command(env.KubemlBinary, args...)
	logf, _ := os.OpenFile(filepath.Join(data, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, data: data, addr: addr, cmd: cmd}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ca, err := os.ReadFile(filepath.Join(data, "ca.crt")); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ca)
			p.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			if resp, err := p.hc.Get("https://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					tok, _ := os.ReadFile(filepath.Join(data, "admin-token"))
					p.tok = strings.TrimSpace(string(tok))
					return p
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(data, "server.log"))
	t.Fatalf("server did not become ready:\n%s", b)
	return nil
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func (p *process) call(method, path string, body any) (int, http.Header, []byte) {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	if !strings.HasPrefix(path, "https://") {
		path = "https://" + p.addr + path
	}
	req, _ := http.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+p.tok)
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func (p *process) waitOp(url string) api.Operation {
	p.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		_, _, body := p.call("GET", url, nil)
		var op api.Operation
		json.Unmarshal(body, &op)
		if op.Status != "" && op.Status != api.StatusInProgress {
			return op
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatal("operation did not finish")
	return api.Operation{}
}

// The server is SIGKILLed in the middle of a create and of a delete; once
// started again it finishes both, and no cluster is orphaned.
func TestServerKilledMidOperationFinishesAfterRestart(t *testing.T) {
	clustertest.Require(t, env)
	data := filepath.Join(env.Root, "crash")
	os.MkdirAll(data, 0o700)
	addr := clustertest.FreeAddr(t)
	sim := simulated.New(filepath.Join(data, "clusters", "simulated"), kube.Find)
	p := startServer(t, data, addr)
	ws := wsPath("crashws")
	if code, _, body := p.call("PUT", ws+av, api.Workspace{}); code != 201 {
		t.Fatalf("workspace: %d %s", code, body)
	}
	path := ws + "/computes/crashy"
	code, h, body := p.call("PUT", path+av, aks("DevTest", "sim", 2, "Standard_D2_v3"))
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	opURL := h.Get("Azure-AsyncOperation")
	waitForClusterDir(t, sim)
	p.kill() // mid-create: the control plane is starting

	p = startServer(t, data, addr)
	if op := p.waitOp(opURL); op.Status != api.StatusSucceeded {
		t.Fatalf("create after restart: %+v", op)
	}
	var c api.Compute
	_, _, body = p.call("GET", path+av, nil)
	json.Unmarshal(body, &c)
	if c.Properties.ProvisioningState != api.StateSucceeded {
		t.Fatalf("compute after restart: %s", body)
	}
	if cs, _ := sim.List(context.Background()); len(cs) != 1 || cs[0].State != provider.StateRunning || cs[0].AgentCount != 2 {
		t.Fatalf("provider clusters after restart: %+v", cs)
	}

	code, h, _ = p.call("DELETE", path+av+"&underlyingResourceAction=Delete", nil)
	if code != 202 {
		t.Fatalf("delete: %d", code)
	}
	p.kill() // mid-delete
	p = startServer(t, data, addr)
	if op := p.waitOp(h.Get("Azure-AsyncOperation")); op.Status != api.StatusSucceeded {
		t.Fatalf("delete after restart: %+v", op)
	}
	if code, _, _ := p.call("GET", path+av, nil); code != 404 {
		t.Fatalf("compute after delete: %d", code)
	}
	if cs, _ := sim.List(context.Background()); len(cs) != 0 {
		t.Fatalf("orphan clusters: %+v", cs)
	}
}

func waitForClusterDir(t *testing.T, sim provider.Provider) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cs, _ := sim.List(context.Background()); len(cs) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the create never started")
}
