package aks_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	cs "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/aks"
	"github.com/kubeml/kubeml/internal/provider/aks/akstest"
)

const rg = "kubeml-rg"

func newProvider(t *testing.T, az *akstest.Azure) *aks.Provider {
	t.Helper()
	p, err := aks.New(aks.Config{SubscriptionID: akstest.Subscription, ResourceGroup: rg, Region: "westus2", PollInterval: time.Millisecond},
		akstest.Credential(), az.Transport())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// journal is an in-memory provider.Journal.
type journal struct {
	mu sync.Mutex
	m  map[string]string
}

func (j *journal) Load(k string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v, ok := j.m[k]
	return v, ok
}
func (j *journal) Save(k, v string) error { j.mu.Lock(); defer j.mu.Unlock(); j.m[k] = v; return nil }

func spec() provider.Spec {
	return provider.Spec{Name: "myaks-1a2b3c", VMSize: "Standard_D3_v2", AgentCount: 3, Location: "westus2",
		Tags: map[string]string{"kubeml.io/resource-id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/myaks",
			"kubeml.io/workspace": "ws", "kubeml.io/compute": "myaks"},
		Network: &provider.Network{SubnetID: "/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks",
			ServiceCIDR: "10.0.0.0/16", DNSServiceIP: "10.0.0.10", DockerBridgeCIDR: "172.17.0.1/16", AuthorizedIPRanges: []string{"203.0.113.0/24"}}}
}

func TestCreateSendsTheClusterAzureMLWouldAndReportsProgress(t *testing.T) {
	az := akstest.New()
	p := newProvider(t, az)
	var steps []string
	j := &journal{m: map[string]string{}}
	c, err := p.WithJournal(j).Create(context.Background(), spec(), func(s string) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(az.Puts) != 1 {
		t.Fatalf("PUTs = %d, want 1", len(az.Puts))
	}
	got := az.Puts[0]
	pool := got.Properties.AgentPoolProfiles[0]
	checks := map[string][2]any{
		"location":        {*got.Location, "westus2"},
		"version":         {*got.Properties.KubernetesVersion, "1.33.2"}, // newest patch of the default minor
		"pool count":      {*pool.Count, int32(3)},
		"pool size":       {*pool.VMSize, "Standard_D3_v2"},
		"pool mode":       {*pool.Mode, cs.AgentPoolModeSystem},
		"subnet":          {*pool.VnetSubnetID, spec().Network.SubnetID},
		"plugin":          {*got.Properties.NetworkProfile.NetworkPlugin, cs.NetworkPluginAzure},
		"service cidr":    {*got.Properties.NetworkProfile.ServiceCidr, "10.0.0.0/16"},
		"dns ip":          {*got.Properties.NetworkProfile.DNSServiceIP, "10.0.0.10"},
		"lb sku":          {*got.Properties.NetworkProfile.LoadBalancerSKU, cs.LoadBalancerSKUStandard},
		"identity":        {*got.Identity.Type, cs.ResourceIdentityTypeSystemAssigned},
		"dns prefix":      {*got.Properties.DNSPrefix, "myaks-1a2b3c"},
		"tag compute":     {*got.Tags["kubeml.io/compute"], "myaks"},
		"tag workspace":   {*got.Tags["kubeml.io/workspace"], "ws"},
		"authorized ips":  {*got.Properties.APIServerAccessProfile.AuthorizedIPRanges[0], "203.0.113.0/24"},
		"cluster state":   {c.State, provider.StateRunning},
		"cluster version": {c.KubernetesVersion, "1.33.2"},
		"cluster nodes":   {c.AgentCount, 3},
	}
	for what, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %v, want %v", what, v[0], v[1])
		}
	}
	if !strings.HasPrefix(c.Server, "https://myaks-1a2b3c-") {
		t.Errorf("server = %q", c.Server)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "dockerBridgeCidr") {
		t.Errorf("warnings = %q, want the ignored dockerBridgeCidr", c.Warnings)
	}
	if _, ok := j.Load("aks.create"); !ok {
		t.Error("the create's resume token was not journaled")
	}
	if len(steps) < 2 || !strings.Contains(steps[0], "3 x Standard_D3_v2") {
		t.Errorf("progress = %q", steps)
	}
}

func TestCreateFailureKeepsAzuresMessageAndCleansUp(t *testing.T) {
	for _, f := range []akstest.Failure{
		{Status: 409, Code: "QuotaExceeded", Message: "Operation could not be completed as it results in exceeding approved standardDv2Family Cores quota. Current Limit: 10, Current Usage: 8, Additional Required: 12."},
		{Status: 409, Code: "Canceled", Message: "The operation was canceled by a user."},
	} {
		t.Run(f.Code, func(t *testing.T) {
			az := akstest.New()
			az.FailCreate = &f
			p := newProvider(t, az)
			_, err := p.Create(context.Background(), spec(), nil)
			var ce *provider.CodedError
			if !errors.As(err, &ce) || ce.Code != f.Code || !strings.Contains(ce.Message, f.Message) {
				t.Fatalf("err = %v, want code %s with Azure's message", err, f.Code)
			}
			if len(az.Deletes) != 1 || az.Cluster(rg, spec().Name) != nil {
				t.Errorf("deletes = %v: the failed cluster should be deleted", az.Deletes)
			}
		})
	}
}

func TestCreateResumesThePollerAfterARestart(t *testing.T) {
	az := akstest.New()
	az.Polls = 5
	j := &journal{m: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	_, err := newProvider(t, az).WithJournal(j).Create(ctx, spec(), func(string) {
		if polls++; polls == 2 {
			cancel() // kubeml stops in the middle of the create
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the create interrupted", err)
	}
	if c := az.Cluster(rg, spec().Name); c == nil || *c.Properties.ProvisioningState != "Creating" {
		t.Fatal("the cluster should still be creating at Azure")
	}
	// A new kubeml process: a new provider, the operation's journal.
	again := newProvider(t, az)
	c, err := again.WithJournal(j).(provider.Resumer).Resume(context.Background(), spec().Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != provider.StateRunning || len(az.Puts) != 1 {
		t.Errorf("state %s after %d PUTs, want Running after 1", c.State, len(az.Puts))
	}
}

func TestValidateSpecExplainsRetiredBasicLoadBalancer(t *testing.T) {
	p := newProvider(t, akstest.New())
	s := spec()
	s.Network.LoadBalancerSKU = "basic"
	s.AgentCount = 0
	err := p.ValidateSpec(s)
	if err == nil || !strings.Contains(err.Error(), "retired") || !strings.Contains(err.Error(), "agent count 0") {
		t.Fatalf("err = %v, want both problems", err)
	}
}

func TestScaleChangesOnlyThePoolCount(t *testing.T) {
	az := akstest.New()
	p := newProvider(t, az)
	if _, err := p.Create(context.Background(), spec(), nil); err != nil {
		t.Fatal(err)
	}
	c, err := p.Scale(context.Background(), spec().Name, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(az.PoolPuts) != 1 {
		t.Fatalf("pool PUTs = %d", len(az.PoolPuts))
	}
	put := az.PoolPuts[0].Properties
	if *put.Count != 5 || *put.VMSize != "Standard_D3_v2" || *put.Mode != cs.AgentPoolModeSystem || c.AgentCount != 5 {
		t.Errorf("pool PUT count=%d size=%s mode=%s; cluster has %d nodes", *put.Count, *put.VMSize, *put.Mode, c.AgentCount)
	}
}

func TestDeleteOnlyWhatKubemlCreated(t *testing.T) {
	az := akstest.New()
	p := newProvider(t, az)
	az.Put(rg, cs.ManagedCluster{Name: to.Ptr("theirs"), Properties: &cs.ManagedClusterProperties{ProvisioningState: to.Ptr("Succeeded")}})
	if err := p.Delete(context.Background(), "theirs", nil); !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), "not created by kubeml") {
		t.Errorf("deleting a cluster kubeml did not create: %v", err)
	}
	if _, err := p.Create(context.Background(), spec(), nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(context.Background(), spec().Name, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(context.Background(), spec().Name, nil); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second delete: %v, want not found", err)
	}
	if len(az.Deletes) != 1 || az.Cluster(rg, "theirs") == nil {
		t.Errorf("deletes = %v", az.Deletes)
	}
}

func TestVersionsMapAzuresList(t *testing.T) {
	vs, err := newProvider(t, akstest.New()).Versions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names, defaults, previews []string
	for _, v := range vs {
		names = append(names, v.Version)
		if v.IsDefault {
			defaults = append(defaults, v.Version)
		}
		if v.IsPreview {
			previews = append(previews, v.Version)
		}
		if v.Version == "1.32.5" && strings.Join(v.Upgrades, ",") != "1.32.7,1.33.2" {
			t.Errorf("1.32.5 upgrades = %v", v.Upgrades)
		}
	}
	if strings.Join(names, " ") != "1.32.5 1.32.7 1.33.1 1.33.2 1.34.0" || strings.Join(defaults, "") != "1.33.2" || strings.Join(previews, "") != "1.34.0" {
		t.Errorf("versions %v, default %v, preview %v", names, defaults, previews)
	}
	if _, err := newProvider(t, akstest.New()).Create(context.Background(), provider.Spec{Name: "x", AgentCount: 1, VMSize: "Standard_D3_v2", KubernetesVersion: "1.29"}, nil); !errors.Is(err, provider.ErrInvalid) ||
		!strings.Contains(err.Error(), "1.33.2") {
		t.Errorf("an unoffered version: %v, want the offered list", err)
	}
}

func TestThrottlingAndOutagesAreRetried(t *testing.T) {
	az := akstest.New()
	az.Throttle, az.Unavailable = 1, 1
	start := time.Now()
	if _, err := newProvider(t, az).Versions(context.Background()); err != nil {
		t.Fatalf("a 429 then a 503 should be retried: %v", err)
	}
	if az.Requests != 3 {
		t.Errorf("requests = %d, want 3", az.Requests)
	}
	if time.Since(start) < time.Second {
		t.Errorf("Retry-After: 1 was not honoured")
	}
}
