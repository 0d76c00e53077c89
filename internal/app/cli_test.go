package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/provider/simulated"
	"github.com/kubeml/kubeml/internal/server"
)

// cliServer is a real kubeml server over plain HTTP (httptest) on a fresh
// data dir, and the token to call it with. Its providers make no cluster
// in these tests: versions and validation need none.
func cliServer(t *testing.T) (url, token string) {
	t.Helper()
	dir := t.TempDir()
	reg := provider.NewRegistry(
		local.New(local.Options{Root: filepath.Join(dir, "clusters", local.Name), Bins: kube.Find}),
		simulated.New(filepath.Join(dir, "clusters", simulated.Name), kube.Find),
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Defaults(dir)
	cfg.ExternalURL = "http://" + ln.Addr().String()
	srv, err := server.New(cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() { hs.Close(); cancel(); srv.Drain(); srv.Close() })
	tok, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return hs.URL, strings.TrimSpace(string(tok))
}

// cli runs kubeml with args on dataDir (no stdin) and returns its outputs.
func cli(t *testing.T, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	s := app.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}
	err = app.Run(context.Background(), s, app.Config{}, append([]string{"--data-dir", dataDir}, args...))
	return out.String(), errb.String(), err
}

// mustCLI is cli that fails the test on an error.
func mustCLI(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, dataDir, args...)
	if err != nil {
		t.Fatalf("kubeml %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// conn is the flags reaching the test server.
func conn(url, token string) []string { return []string{"--server", url, "--token", token} }

func TestCLIAKSGetVersions(t *testing.T) {
	url, tok := cliServer(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		return mustCLI(t, dir, append(append([]string{"aks", "get-versions", "-l", "simulated"}, conn(url, tok)...), args...)...)
	}
	// The doc's two commands, with their expected output.
	if got, want := run("-o", "table"), "KubernetesVersion    Upgrades\n-------------------  --------------\n1.37.2               None available\n"; got != want {
		t.Errorf("-o table:\n%s\nwant:\n%s", got, want)
	}
	if got, want := run("--query", "orchestrators[?default == `true`].orchestratorVersion", "-o", "table"), "Result\n--------\n1.37.2\n"; got != want {
		t.Errorf("--query default -o table: %q, want %q", got, want)
	}
	// JSON is az's flattened shape: orchestrators at the top level.
	var v map[string]any
	if err := json.Unmarshal([]byte(run()), &v); err != nil {
		t.Fatal(err)
	}
	orch, _ := v["orchestrators"].([]any)
	if len(orch) != 1 || v["properties"] != nil || v["name"] != "default" || !strings.HasSuffix(v["id"].(string), "/locations/simulated/orchestrators") {
		t.Fatalf("json: %v", v)
	}
	if o := orch[0].(map[string]any); o["orchestratorVersion"] != "1.37.2" || o["default"] != true || o["orchestratorType"] != "Kubernetes" {
		t.Errorf("orchestrator: %v", o)
	}
	if got := run("--query", "orchestrators[0].orchestratorVersion"); got != "\"1.37.2\"\n" {
		t.Errorf("--query as JSON: %q", got)
	}
}

func TestCLIWorkspace(t *testing.T) {
	url, tok := cliServer(t)
	dir := t.TempDir()
	ml := func(args ...string) string {
		return mustCLI(t, dir, append(append([]string{"ml", "workspace"}, args...), conn(url, tok)...)...)
	}
	var ws map[string]any
	if err := json.Unmarshal([]byte(ml("create", "-w", "ws1", "-g", "rg1", "-l", "local")), &ws); err != nil {
		t.Fatal(err)
	}
	wantID := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1"
	if ws["name"] != "ws1" || ws["id"] != wantID || ws["resourceGroup"] != "rg1" || ws["provisioningState"] != "Succeeded" {
		t.Errorf("create printed %v", ws)
	}
	if got := ml("show", "-w", "ws1", "-g", "rg1", "--query", "name", "-o", "tsv"); got != "ws1\n" {
		t.Errorf("show --query name -o tsv: %q", got)
	}
	if got := ml("show", "-w", "ws1", "-g", "rg1", "--query", "id"); got != "\""+wantID+"\"\n" {
		t.Errorf("show --query id: %q", got)
	}
	ml("create", "-w", "ws2", "-g", "rg1")
	if got := ml("list", "-g", "rg1", "--query", "[].name", "-o", "tsv"); got != "ws1\nws2\n" {
		t.Errorf("list names: %q", got)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(ml("list", "-g", "rg1")), &list); err != nil || len(list) != 2 {
		t.Errorf("list json: %v %v", list, err)
	}
	if got := ml("delete", "-w", "ws2", "-g", "rg1", "--yes"); got != "" {
		t.Errorf("delete printed %q", got)
	}
	if got := ml("list", "-g", "rg1", "--query", "[].name", "-o", "tsv"); got != "ws1\n" {
		t.Errorf("list after delete: %q", got)
	}
}

func TestCLIComputeTargetErrors(t *testing.T) {
	url, tok := cliServer(t)
	dir := t.TempDir()
	scope := append([]string{"-g", "rg1", "-w", "ws1"}, conn(url, tok)...)
	mustCLI(t, dir, append([]string{"ml", "workspace", "create"}, scope...)...)
	ct := func(args ...string) (string, error) {
		out, _, err := cli(t, dir, append(append([]string{"ml", "computetarget"}, args...), scope...)...)
		return out, err
	}

	// FastProd on the one-node local location fails at once with both
	// known messages, each detail on its own line.
	out, err := ct("create", "aks", "-n", "tiny", "--location", "local", "--cluster-purpose", "FastProd")
	if err == nil {
		t.Fatalf("FastProd on local was accepted: %s", out)
	}
	for _, want := range []string{
		"must be greater than or equal to 12",
		"At least 3 machine(s) are required for cluster with purpose 'FastProd'. Available machine(s) : 1",
		"\n  - InsufficientVCPUs: The number of nodes multiplied",
		"\n  - InsufficientNodes: At least 3 machine(s)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if out != "" {
		t.Errorf("stdout: %q", out)
	}

	if _, err := ct("show", "-n", "tiny"); err == nil || !strings.HasPrefix(err.Error(), "ResourceNotFound: ") {
		t.Errorf("show of a missing compute: %v", err)
	}
	if out, err := ct("list"); err != nil || out != "[]\n" {
		t.Errorf("list: %q %v", out, err)
	}
	if _, err := ct("attach", "aks", "-n", "att"); err == nil || !strings.Contains(err.Error(), "--compute-resource-id") {
		t.Errorf("attach naming no cluster: %v", err)
	}
}

// Without a terminal there is nobody to ask: destructive commands run as
// written (as scripts and the documented commands need) and never prompt.
func TestCLIDeleteWithoutATerminalRunsWithoutAsking(t *testing.T) {
	url, tok := cliServer(t)
	dir := t.TempDir()
	c := conn(url, tok)
	mustCLI(t, dir, append([]string{"ml", "workspace", "create", "-w", "ws1", "-g", "rg1"}, c...)...)
	_, errOut, err := cli(t, dir, append([]string{"ml", "workspace", "delete", "-w", "ws1", "-g", "rg1"}, c...)...)
	if err != nil || strings.Contains(errOut, "Are you sure") {
		t.Fatalf("delete without a terminal: %v %q", err, errOut)
	}
	if _, _, err := cli(t, dir, append([]string{"ml", "workspace", "show", "-w", "ws1", "-g", "rg1"}, c...)...); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("workspace still there: %v", err)
	}
}
