package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	cs "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/provider"
	aksprov "github.com/kubeml/kubeml/internal/provider/aks"
	"github.com/kubeml/kubeml/internal/provider/aks/akstest"
	"github.com/kubeml/kubeml/internal/server"
)

const azureRG = "kubeml-clusters"

// startAzureServer starts a server on dir whose location westus2 is AKS
// in the fake Azure; stop stops it the way a crash or restart would
// (operations stay in progress).
func startAzureServer(t *testing.T, dir string, az *akstest.Azure) (s *testServer, stop func()) {
	t.Helper()
	p, err := aksprov.New(aksprov.Config{SubscriptionID: akstest.Subscription, ResourceGroup: azureRG, Region: "westus2", PollInterval: 20 * time.Millisecond},
		akstest.Credential(), az.Transport())
	if err != nil {
		t.Fatal(err)
	}
	reg := provider.Registry{p.Name(): p}
	for n, q := range env.Registry {
		reg[n] = q
	}
	cfg := server.Defaults(dir)
	cfg.Azure = []aksprov.Config{{SubscriptionID: akstest.Subscription, ResourceGroup: azureRG, Region: "westus2"}}
	cfg.AzureLocations()
	ln := listen(t, &cfg)
	srv, err := server.New(cfg, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	hs := serveOn(ln, srv.Handler())
	tok, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			hs.Close()
			cancel()
			srv.Drain()
			srv.Close()
		}
	}
	t.Cleanup(stop)
	return &testServer{t: t, url: hs.URL, token: strings.TrimSpace(string(tok)), srv: srv}, stop
}

func azWorkspace(s *testServer, name string) string {
	s.t.Helper()
	ws := "/subscriptions/" + akstest.Subscription + "/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/" + name
	if code, _, body := s.call("PUT", ws+av, api.Workspace{Location: "westus2"}); code != 201 {
		s.t.Fatalf("workspace: %d %s", code, body)
	}
	return ws
}

// realKubeconfig makes a simulated cluster and returns its admin
// kubeconfig: the fake Azure hands it out as the AKS cluster's, so what
// kubeml installs on "AKS" lands on a real API server.
func realKubeconfig(s *testServer, name string) []byte {
	s.t.Helper()
	id := s.makeCluster(name, 2, "Standard_D4s_v3")
	code, _, body := s.call("POST", id+"/listClusterAdminCredential"+av, nil)
	var cr api.CredentialResults
	if code != 200 || json.Unmarshal(body, &cr) != nil {
		s.t.Fatalf("credentials: %d %s", code, body)
	}
	return cr.Kubeconfigs[0].Value
}

func (s *testServer) compute(path string) api.Compute {
	s.t.Helper()
	var c api.Compute
	if code, _, body := s.call("GET", path+av, nil); code != 200 || json.Unmarshal(body, &c) != nil {
		s.t.Fatalf("get compute: %d %s", code, body)
	}
	return c
}

func TestAKSComputeCreateResumesAfterRestartScalesAndDeletes(t *testing.T) {
	az := akstest.New()
	dir := t.TempDir()
	az.Kubeconfig = realKubeconfig(newTestServer(t), "aks-backing")
	s, stop := startAzureServer(t, dir, az)
	path := azWorkspace(s, "azws") + "/computes/myaks"
	body := aks("FastProd", "westus2", 3, "Standard_D3_v2")
	body.Properties.Properties.AKSNetworkingConfiguration = &api.AKSNetworkingConfig{
		SubnetID:    "/subscriptions/" + akstest.Subscription + "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks",
		ServiceCidr: "10.0.0.0/16", DNSServiceIP: "10.0.0.10", DockerBridgeCidr: "172.17.0.1/16"}
	az.Polls = 100 // about 2 s of polling: long enough to restart in the middle
	code, h, out := s.call("PUT", path+av, body)
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for az.PutCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few polls
	stop()
	s, _ = startAzureServer(t, dir, az)
	h.Set("Azure-AsyncOperation", strings.TrimPrefix(h.Get("Azure-AsyncOperation"), strings.Split(h.Get("Azure-AsyncOperation"), "/kubeml/")[0]))
	if op := s.wait(h); op.Status != api.StatusSucceeded {
		t.Fatalf("create after restart: %+v", op)
	}
	if len(az.Puts) != 1 {
		t.Fatalf("Azure got %d cluster PUTs; the restart should resume the first one's poller", len(az.Puts))
	}
	put := az.Puts[0]
	pool, netp := put.Properties.AgentPoolProfiles[0], put.Properties.NetworkProfile
	if *pool.Count != 3 || *pool.VMSize != "Standard_D3_v2" || *netp.ServiceCidr != "10.0.0.0/16" || *netp.DNSServiceIP != "10.0.0.10" ||
		*pool.VnetSubnetID != body.Properties.Properties.AKSNetworkingConfiguration.SubnetID || *put.Tags["kubeml.io/compute"] != "myaks" ||
		!strings.HasSuffix(*put.Tags["kubeml.io/workspace"], "/workspaces/azws") || *put.Properties.KubernetesVersion != "1.33.2" {
		t.Errorf("the PUT Azure got: %+v / %+v / %+v", put.Properties, *pool.Count, put.Tags)
	}
	c := s.compute(path)
	if c.Properties.ProvisioningState != api.StateSucceeded || *c.Properties.Properties.AgentCount != 3 ||
		!strings.Contains(c.Properties.Properties.ClusterFqdn, ".hcp.westus2.azmk8s.io") {
		t.Fatalf("compute: %+v", c.Properties)
	}

	three := 5
	c.Properties.Properties.AgentCount = &three
	code, h, out = s.call("PUT", path+av, api.Compute{Properties: api.ComputeProperties{ComputeType: "AKS", Properties: &api.AKSProperties{AgentCount: &three}}})
	if code != 200 && code != 201 {
		t.Fatalf("scale: %d %s", code, out)
	}
	if op := s.wait(h); op.Status != api.StatusSucceeded || len(az.PoolPuts) != 1 || *az.PoolPuts[0].Properties.Count != 5 {
		t.Fatalf("scale: %+v, pool PUTs %d", op, len(az.PoolPuts))
	}

	code, h, out = s.call("DELETE", path+av+"&underlyingResourceAction=Delete", nil)
	if code != 202 {
		t.Fatalf("delete: %d %s", code, out)
	}
	if op := s.wait(h); op.Status != api.StatusSucceeded || len(az.Deletes) != 1 || len(az.Names(azureRG)) != 0 {
		t.Fatalf("delete: %+v, Azure deletes %v", op, az.Deletes)
	}
}

func TestAKSCreateFailureShowsAzuresError(t *testing.T) {
	az := akstest.New()
	s, _ := startAzureServer(t, t.TempDir(), az)
	msg := "Operation could not be completed as it results in exceeding approved standardDv2Family Cores quota. Current Limit: 10, Current Usage: 8, Additional Required: 12."
	az.FailCreate = &akstest.Failure{Status: 409, Code: "QuotaExceeded", Message: msg}
	path := azWorkspace(s, "quotaws") + "/computes/big"
	code, h, out := s.call("PUT", path+av, aks("FastProd", "westus2", 3, "Standard_D4_v2"))
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	op := s.wait(h)
	if op.Status != api.StatusFailed || op.Error == nil || op.Error.Code != "QuotaExceeded" {
		t.Fatalf("operation: %+v", op)
	}
	c := s.compute(path)
	errs := c.Properties.ProvisioningErrors
	if c.Properties.ProvisioningState != api.StateFailed || len(errs) != 1 || errs[0].Error.Code != "QuotaExceeded" || !strings.Contains(errs[0].Error.Message, msg) {
		t.Fatalf("compute: %s %+v", c.Properties.ProvisioningState, errs)
	}
	if names := az.Names(azureRG); len(names) != 0 {
		t.Errorf("the failed cluster was left in Azure: %v", names)
	}
}

func TestAttachAKSClusterByAzureResourceID(t *testing.T) {
	az := akstest.New()
	az.Kubeconfig = realKubeconfig(newTestServer(t), "their-backing")
	existing := func(name, version string, power cs.Code) cs.ManagedCluster {
		return cs.ManagedCluster{Name: to.Ptr(name), Location: to.Ptr("westus2"), Properties: &cs.ManagedClusterProperties{
			ProvisioningState: to.Ptr("Succeeded"), PowerState: &cs.PowerState{Code: to.Ptr(power)},
			CurrentKubernetesVersion: to.Ptr(version), Fqdn: to.Ptr(name + ".hcp.westus2.azmk8s.io"),
			APIServerAccessProfile: &cs.ManagedClusterAPIServerAccessProfile{AuthorizedIPRanges: []*string{to.Ptr("198.51.100.0/24")}},
			AgentPoolProfiles: []*cs.ManagedClusterAgentPoolProfile{{Name: to.Ptr("sys"), Count: to.Ptr[int32](2), VMSize: to.Ptr("Standard_D4s_v3"),
				Mode: to.Ptr(cs.AgentPoolModeSystem)}}}}
	}
	az.Put("theirs", existing("good", "1.33.2", cs.CodeRunning))
	az.Put("theirs", existing("stopped", "1.33.2", cs.CodeStopped))
	az.Put("theirs", existing("old", "1.27.9", cs.CodeRunning))
	s, _ := startAzureServer(t, t.TempDir(), az)
	ws := azWorkspace(s, "attachws")
	attach := func(name, clusterID string) (int, []byte) {
		code, h, out := s.call("PUT", ws+"/computes/"+name+av, attachBody(clusterID, "DevTest"))
		if code == 201 {
			if op := s.wait(h); op.Status != api.StatusSucceeded {
				t.Fatalf("attach %s: %+v", name, op)
			}
		}
		return code, out
	}
	for _, tc := range []struct{ name, id, code string }{
		{"wrongsub", strings.Replace(akstest.ID("theirs", "good"), akstest.Subscription, "11111111-2222-3333-4444-555555555555", 1), "SubscriptionMismatch"},
		{"stopped", akstest.ID("theirs", "stopped"), "ClusterStopped"},
		{"old", akstest.ID("theirs", "old"), "VersionUnsupported"},
		{"missing", akstest.ID("theirs", "missing"), "ResourceNotFound"},
	} {
		if code, out := attach(tc.name, tc.id); code < 400 || code >= 500 || !strings.Contains(string(out), tc.code) {
			t.Errorf("attach %s: %d %s, want %s", tc.name, code, out, tc.code)
		}
	}
	if code, out := attach("good", akstest.ID("theirs", "good")); code != 201 {
		t.Fatalf("attach: %d %s", code, out)
	}
	c := s.compute(ws + "/computes/good")
	p := c.Properties.Properties
	if !c.Properties.IsAttachedCompute || c.Properties.ComputeType != "AKS" || !strings.EqualFold(c.Properties.ResourceID, akstest.ID("theirs", "good")) ||
		p.ClusterFqdn != "good.hcp.westus2.azmk8s.io:443" || *p.AgentCount != 2 || p.AgentVMSize != "Standard_D4s_v3" || p.Kubeconfig != "" {
		t.Errorf("attached compute: %+v / %+v", c.Properties, p)
	}
	warned := false
	for _, ch := range p.Preflight.Checks {
		warned = warned || ch.Reason == "AuthorizedIPRanges" && ch.Status == "Warn"
	}
	if !warned {
		t.Errorf("no warning that the API server accepts only some addresses: %+v", p.Preflight.Checks)
	}
	code, h, out := s.call("DELETE", ws+"/computes/good"+av+"&underlyingResourceAction=Detach", nil)
	if code != 202 {
		t.Fatalf("detach: %d %s", code, out)
	}
	if op := s.wait(h); op.Status != api.StatusSucceeded {
		t.Fatalf("detach: %+v", op)
	}
	if len(az.Deletes) != 0 || az.Cluster("theirs", "good") == nil {
		t.Errorf("detach deleted the user's cluster: %v", az.Deletes)
	}
	_, kc, err := clustertest.ConnectKubeconfig(az.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if objs, err := kubeobj.List(context.Background(), kc); err != nil || len(objs) != 0 {
		t.Errorf("left in the cluster after detach: %v %v", objs, err)
	}
}

func TestAKSVersionsThroughTheAPI(t *testing.T) {
	s, _ := startAzureServer(t, t.TempDir(), akstest.New())
	code, _, body := s.call("GET", "/subscriptions/"+akstest.Subscription+"/providers/Microsoft.ContainerService/locations/westus2/kubernetesVersions"+av, nil)
	var kv api.KubernetesVersionList
	if code != 200 || json.Unmarshal(body, &kv) != nil {
		t.Fatalf("versions: %d %s", code, body)
	}
	var got []string
	for _, v := range kv.Values {
		got = append(got, v.Version)
		if v.Version == "1.33" && !v.IsDefault || v.Version == "1.34" && !v.IsPreview {
			t.Errorf("version %+v", v)
		}
	}
	if strings.Join(got, " ") != "1.32 1.33 1.34" {
		t.Errorf("versions %v (%s)", got, body)
	}
}
