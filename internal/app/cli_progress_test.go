package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
)

// fakeARM answers a managed cluster's PUT with an operation that runs for
// polls polls and then ends with final; it hands out kubeconfig.
type fakeARM struct {
	mu         sync.Mutex
	polls      int
	final      api.Operation
	kubeconfig string
}

const fakeCluster = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"

func (f *fakeARM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	mc := func(state string) api.ManagedCluster {
		n := 1
		return api.ManagedCluster{ID: fakeCluster, Name: "c1", Location: "simulated", Type: api.TypeManagedCluster,
			Properties: api.ManagedClusterProperties{ProvisioningState: state, KubernetesVersion: "1.37.2",
				AgentPoolProfiles: []api.AgentPoolProfile{{Name: "nodepool1", Count: &n}}}}
	}
	switch {
	case r.Method == http.MethodPut && r.URL.Path == fakeCluster:
		w.Header().Set("Azure-AsyncOperation", "/ops/1")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(mc(api.StateCreating))
	case r.URL.Path == "/ops/1":
		op := f.final
		if f.polls > 0 {
			f.polls--
			op = api.Operation{Status: api.StatusInProgress}
		}
		w.Header().Set("Retry-After", "0")
		json.NewEncoder(w).Encode(op)
	case r.Method == http.MethodGet && r.URL.Path == fakeCluster:
		json.NewEncoder(w).Encode(mc(api.StateSucceeded))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, fakeCluster+"/listCluster"):
		json.NewEncoder(w).Encode(api.CredentialResults{Kubeconfigs: []api.CredentialResult{{Name: "clusterUser", Value: []byte(f.kubeconfig)}}})
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorDetail{Code: "NotFound", Message: r.Method + " " + r.URL.Path}})
	}
}

func fakeServer(t *testing.T, f *fakeARM) []string {
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return []string{"--server", hs.URL, "--token", "t"}
}

// Without a terminal, progress is one clean line per state on stderr and
// the result on stdout stays parseable; a failed operation prints its
// verdict and returns its error with every detail.
func TestCLIProgressWithoutTerminal(t *testing.T) {
	dir := t.TempDir()
	f := &fakeARM{polls: 2, final: api.Operation{Status: api.StatusSucceeded}}
	args := append([]string{"aks", "create", "-n", "c1", "-g", "rg1", "-l", "simulated"}, fakeServer(t, f)...)
	out, errOut, err := cli(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Creating\nSucceeded\nProvisioning operation finished, operation \"Succeeded\"\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	var mc map[string]any
	if err := json.Unmarshal([]byte(out), &mc); err != nil || mc["provisioningState"] != "Succeeded" || mc["resourceGroup"] != "rg1" {
		t.Errorf("stdout (%v): %s", err, out)
	}
	if got := mustCLI(t, dir, append(args, "--no-wait", "--query", "id", "-o", "tsv")...); got != fakeCluster+"\n" {
		t.Errorf("--no-wait: %q", got)
	}

	f.polls, f.final = 1, api.Operation{Status: api.StatusFailed, Error: &api.ErrorDetail{Code: "ProvisioningFailed", Message: "boom",
		Details: []api.ErrorDetail{{Code: "NodeFailed", Message: "node 2 did not start"}}}}
	out, errOut, err = cli(t, dir, args...)
	if err == nil || err.Error() != "ProvisioningFailed: boom\n  - NodeFailed: node 2 did not start" {
		t.Errorf("error: %v", err)
	}
	if want := "Creating\nFailed\nProvisioning operation finished, operation \"Failed\"\n"; errOut != want || out != "" {
		t.Errorf("failed: stderr %q (want %q), stdout %q", errOut, want, out)
	}
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: internal
  cluster: {server: "https://SERVER:6443"}
users:
- name: admin
  user: {token: abc}
contexts:
- name: internal
  context: {cluster: internal, user: admin}
current-context: internal
`

func TestCLIGetCredentialsMerges(t *testing.T) {
	dir := t.TempDir()
	f := &fakeARM{kubeconfig: strings.ReplaceAll(testKubeconfig, "SERVER", "one")}
	c := fakeServer(t, f)
	path := filepath.Join(dir, "kube", "config")
	get := func(args ...string) (string, error) {
		_, errOut, err := cli(t, dir, append(append([]string{"aks", "get-credentials", "-n", "c1", "-g", "rg1", "--file", path}, args...), c...)...)
		return errOut, err
	}
	if errOut, err := get(); err != nil || errOut != "Merged \"c1\" as current context in "+path+"\n" {
		t.Fatalf("first merge: %q %v", errOut, err)
	}
	if errOut, err := get("--admin"); err != nil || !strings.Contains(errOut, `"c1-admin"`) {
		t.Fatalf("admin merge: %q %v", errOut, err)
	}
	f.kubeconfig = strings.ReplaceAll(testKubeconfig, "SERVER", "two")
	if _, err := get(); err == nil || !strings.Contains(err.Error(), "--overwrite-existing") {
		t.Fatalf("a different cluster c1 was overwritten: %v", err)
	}
	if _, err := get("--overwrite-existing"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "c1" || cfg.Clusters["c1"].Server != "https://two:6443" || cfg.Contexts["c1-admin"] == nil ||
		cfg.AuthInfos["clusterUser_rg1_c1"] == nil || cfg.AuthInfos["clusterAdmin_rg1_c1"] == nil || cfg.Contexts["c1"].AuthInfo != "clusterUser_rg1_c1" {
		t.Errorf("merged config: %+v", cfg)
	}
	out := mustCLI(t, dir, append([]string{"aks", "get-credentials", "-n", "c1", "-g", "rg1", "--file", "-"}, c...)...)
	if !strings.Contains(out, "current-context: c1\n") || !strings.Contains(out, "https://two:6443") {
		t.Errorf("--file -: %s", out)
	}
}
