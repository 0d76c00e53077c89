package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/app"
)

// fakeML answers compute PUTs: a dry run with report, an attach with an
// operation that runs for one poll (or, with refuse, a PreflightFailed
// error). It keeps every PUT's query and body.
type fakeML struct {
	mu       sync.Mutex
	report   api.PreflightReport
	refuse   []api.ErrorDetail
	puts     []fakePut
	computes map[string]*api.Compute
}

type fakePut struct {
	query string
	body  map[string]any // properties.properties of the body
	top   map[string]any // properties of the body
}

const computesPath = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1/computes/"

func (f *fakeML) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	name, isCompute := strings.CutPrefix(r.URL.Path, computesPath)
	switch {
	case isCompute && r.Method == http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		var raw struct {
			Properties map[string]any `json:"properties"`
		}
		var c api.Compute
		if json.Unmarshal(b, &raw) != nil || json.Unmarshal(b, &c) != nil {
			w.WriteHeader(400)
			return
		}
		inner, _ := raw.Properties["properties"].(map[string]any)
		f.puts = append(f.puts, fakePut{query: r.URL.RawQuery, body: inner, top: raw.Properties})
		switch {
		case r.URL.Query().Get("dryRun") == "true":
			json.NewEncoder(w).Encode(f.report)
		case f.refuse != nil:
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorDetail{Code: "PreflightFailed", Message: "the cluster failed preflight", Details: f.refuse}})
		default:
			c.ID, c.Name, c.Type = computesPath+name, name, api.TypeCompute
			c.Properties.ProvisioningState, c.Properties.IsAttachedCompute = api.StateCreating, true
			c.Properties.Properties.Kubeconfig = "" // write-only
			f.computes[name] = &c
			w.Header().Set("Azure-AsyncOperation", "/ops/"+name)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(c)
		}
	case strings.HasPrefix(r.URL.Path, "/ops/") && f.computes[strings.TrimPrefix(r.URL.Path, "/ops/")] != nil:
		c := f.computes[strings.TrimPrefix(r.URL.Path, "/ops/")]
		op := api.Operation{Status: api.StatusInProgress}
		if c.Properties.ProvisioningState == api.StateCreating {
			c.Properties.ProvisioningState = "" // one poll in progress
		} else {
			c.Properties.ProvisioningState, op.Status = api.StateSucceeded, api.StatusSucceeded
		}
		w.Header().Set("Retry-After", "0")
		json.NewEncoder(w).Encode(op)
	case isCompute && r.Method == http.MethodGet && f.computes[name] != nil:
		json.NewEncoder(w).Encode(f.computes[name])
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorDetail{Code: "NotFound", Message: r.Method + " " + r.URL.Path}})
	}
}

// attachEnv is a fake server, a kubeconfig file and a runner of
// `kubeml ml computetarget ARGS -g rg1 -w ws1` with stdin.
func attachEnv(t *testing.T) (*fakeML, string, func(stdin string, args ...string) (string, string, error)) {
	f := &fakeML{computes: map[string]*api.Compute{}}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(strings.ReplaceAll(testKubeconfig, "SERVER", "k8s.example")), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		s := app.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}
		args = append(append([]string{"--data-dir", dir, "ml", "computetarget"}, args...), "-g", "rg1", "-w", "ws1", "--server", hs.URL, "--token", "t")
		err := app.Run(context.Background(), s, app.Config{}, args)
		return out.String(), errb.String(), err
	}
	return f, kc, run
}

func TestCLIAttachKubernetes(t *testing.T) {
	f, kc, run := attachEnv(t)
	text, _ := os.ReadFile(kc)
	out, errOut, err := run("", "attach", "kubernetes", "-n", "k1", "--kubeconfig", kc, "--context", "internal", "--namespace", "ml",
		"--scoped-credentials=false", "--cluster-purpose", "DevTest", "--description", "mine")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if want := "Creating\nSucceeded\nProvisioning operation finished, operation \"Succeeded\"\n"; errOut != want {
		t.Errorf("progress %q, want %q", errOut, want)
	}
	var shown api.Compute
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Name != "k1" || shown.Properties.ProvisioningState != "Succeeded" ||
		shown.Properties.ComputeType != "Kubernetes" || strings.Contains(out, "k8s.example") {
		t.Errorf("stdout (%v): %s", err, out)
	}
	p := f.puts[0]
	if p.query != "api-version=2024-04-01" || p.top["computeType"] != "Kubernetes" || p.top["resourceId"] != nil || p.top["description"] != "mine" {
		t.Errorf("PUT ?%s %v", p.query, p.top)
	}
	if p.body["kubeconfig"] != string(text) || p.body["context"] != "internal" || p.body["namespace"] != "ml" ||
		p.body["scopedCredentials"] != false || p.body["clusterPurpose"] != "DevTest" {
		t.Errorf("body %v", p.body)
	}

	// From stdin, with the server's defaults, without waiting.
	out, errOut, err = run(string(text), "attach", "kubernetes", "-n", "k2", "--kubeconfig", "-", "--no-wait", "--query", "properties.provisioningState", "-o", "tsv")
	if err != nil || out != "Creating\n" || errOut != "" {
		t.Fatalf("--kubeconfig - --no-wait: %q %q %v", out, errOut, err)
	}
	p = f.puts[1]
	if _, set := p.body["scopedCredentials"]; set || p.body["kubeconfig"] != string(text) || p.body["context"] != nil || p.body["namespace"] != nil {
		t.Errorf("stdin body %v", p.body)
	}

	// A failing preflight refuses the attach, naming every failed check.
	f.refuse = []api.ErrorDetail{{Code: "MissingRBAC", Message: "cannot create clusterroles"}, {Code: "TooOld", Message: "Kubernetes 1.20 < 1.28"}}
	out, _, err = run("", "attach", "kubernetes", "-n", "k3", "--kubeconfig", kc)
	if err == nil || out != "" || !strings.HasPrefix(err.Error(), "PreflightFailed: ") ||
		!strings.Contains(err.Error(), "\n  - MissingRBAC: cannot create clusterroles\n  - TooOld: ") {
		t.Errorf("refused attach: %q %v", out, err)
	}
}

func TestCLIAttachKubernetesKubeconfigErrors(t *testing.T) {
	f, kc, run := attachEnv(t)
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	notKube := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(notKube, []byte("- just\n- a list\n"), 0o600)
	tests := map[string]struct {
		args []string
		want string
	}{
		"a missing file is named":      {[]string{"--kubeconfig", missing}, "--kubeconfig: no such file " + missing},
		"no --kubeconfig":              {nil, `required flag(s) "kubeconfig" not set`},
		"a file that is no kubeconfig": {[]string{"--kubeconfig", notKube}, notKube + " is not a kubeconfig"},
		"an unknown context":           {[]string{"--kubeconfig", kc, "--context", "prod"}, `--context "prod" is not in ` + kc + "; its contexts: internal"},
		"an empty stdin":               {[]string{"--kubeconfig", "-"}, "--kubeconfig: (stdin) is empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, cmd := range [][]string{{"attach", "kubernetes"}, {"preflight", "kubernetes"}} {
				_, _, err := run("", append(append(cmd, "-n", "k1"), tc.args...)...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want %q", cmd[0], err, tc.want)
				}
			}
		})
	}
	if len(f.puts) != 0 {
		t.Errorf("sent %v", f.puts)
	}
}

func TestCLIPreflight(t *testing.T) {
	f, kc, run := attachEnv(t)
	f.report = api.PreflightReport{KubernetesVersion: "1.33.1", Nodes: 3, VCPUs: 12, Checks: []api.PreflightCheck{
		{Name: "APIServer", Status: "Pass", Reason: "Reachable", Message: "the API server answered"},
		{Name: "Capacity", Status: "Warn", Reason: "NoGPUs", Message: "no GPU nodes"},
	}}
	out, _, err := run("", "preflight", "kubernetes", "-n", "k1", "--kubeconfig", kc, "--cluster-purpose", "DevTest", "-o", "table")
	want := "Check      Status    Reason     Message\n" +
		"---------  --------  ---------  -----------------------\n" +
		"APIServer  Pass      Reachable  the API server answered\n" +
		"Capacity   Warn      NoGPUs     no GPU nodes\n"
	if err != nil || out != want {
		t.Errorf("passing preflight: %v\n%s\nwant\n%s", err, out, want)
	}
	if p := f.puts[0]; !strings.Contains(p.query, "dryRun=true") || p.top["computeType"] != "Kubernetes" || p.body["clusterPurpose"] != "DevTest" {
		t.Errorf("PUT ?%s %v %v", p.query, p.top, p.body)
	}
	if len(f.computes) != 0 {
		t.Errorf("a preflight attached %v", f.computes)
	}

	// A failed check fails the command, after the report is printed.
	f.report.Checks = append(f.report.Checks, api.PreflightCheck{Name: "Permissions", Status: "Fail", Reason: "MissingRBAC", Message: "cannot create clusterroles"})
	out, _, err = run("", "preflight", "aks", "-n", "a1", "--cluster-name", "mc", "--cluster-resource-group", "aksrg")
	if err == nil || err.Error() != "preflight failed: 1 check(s) failed" {
		t.Errorf("failing preflight: %v", err)
	}
	var rep api.PreflightReport
	if json.Unmarshal([]byte(out), &rep) != nil || len(rep.Checks) != 3 || rep.Nodes != 3 {
		t.Errorf("JSON report: %s", out)
	}
	p := f.puts[1]
	if wantID := api.ManagedClusterID("00000000-0000-0000-0000-000000000000", "aksrg", "mc").String(); !strings.Contains(p.query, "dryRun=true") ||
		p.top["computeType"] != "AKS" || p.top["resourceId"] != wantID {
		t.Errorf("PUT ?%s %v", p.query, p.top)
	}
	out, _, err = run("", "preflight", "aks", "-n", "a1", "-i", "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerService/managedClusters/c", "--query", "checks[?status=='Fail'].reason", "-o", "tsv")
	if err == nil || out != "MissingRBAC\n" || f.puts[2].top["resourceId"] != "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerService/managedClusters/c" {
		t.Errorf("preflight aks -i: %q %v", out, err)
	}
	if _, _, err := run("", "preflight", "aks", "-n", "a1"); err == nil || !strings.Contains(err.Error(), "--compute-resource-id") || len(f.puts) != 3 {
		t.Errorf("preflight naming no cluster: %v", err)
	}
}
