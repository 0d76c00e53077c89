package aks_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	cs "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/aks/akstest"
)

const userKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://their-aks.hcp.westus2.azmk8s.io:443"}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

func existing(name string, mut func(*cs.ManagedClusterProperties)) cs.ManagedCluster {
	p := &cs.ManagedClusterProperties{ProvisioningState: to.Ptr("Succeeded"), PowerState: &cs.PowerState{Code: to.Ptr(cs.CodeRunning)},
		KubernetesVersion: to.Ptr("1.33"), CurrentKubernetesVersion: to.Ptr("1.33.2"), Fqdn: to.Ptr("their-aks.hcp.westus2.azmk8s.io"),
		AgentPoolProfiles: []*cs.ManagedClusterAgentPoolProfile{
			{Name: to.Ptr("system"), Count: to.Ptr[int32](3), VMSize: to.Ptr("Standard_D4s_v3"), Mode: to.Ptr(cs.AgentPoolModeSystem)},
			{Name: to.Ptr("gpu"), Count: to.Ptr[int32](2), VMSize: to.Ptr("Standard_NC6s_v3"), Mode: to.Ptr(cs.AgentPoolModeUser)}}}
	if mut != nil {
		mut(p)
	}
	return cs.ManagedCluster{Name: to.Ptr(name), Location: to.Ptr("westus2"), Properties: p}
}

func TestImportReadsTheClusterAndUserCredentials(t *testing.T) {
	az := akstest.New()
	az.Kubeconfig = []byte(userKubeconfig)
	az.Put("theirs-rg", existing("their-aks", func(p *cs.ManagedClusterProperties) {
		p.APIServerAccessProfile = &cs.ManagedClusterAPIServerAccessProfile{AuthorizedIPRanges: []*string{to.Ptr("198.51.100.0/24")}}
	}))
	p := newProvider(t, az)
	id := akstest.ID("theirs-rg", "their-aks")
	if !p.Owns(id) || p.Owns(strings.Replace(id, akstest.Subscription, "00000000-0000-0000-0000-000000000000", 1)) {
		t.Fatal("Owns should accept exactly the provider's subscription")
	}
	got, err := p.Import(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.ProvisioningState != "Succeeded" || got.Cluster.State != provider.StateRunning || got.Cluster.KubernetesVersion != "1.33.2" ||
		got.Cluster.Server != "https://their-aks.hcp.westus2.azmk8s.io:443" || string(got.Kubeconfig) != userKubeconfig {
		t.Errorf("imported %+v", got)
	}
	if len(got.Pools) != 2 || got.Pools[1].VMSize != "Standard_NC6s_v3" || got.Pools[1].Count != 2 {
		t.Errorf("pools %+v", got.Pools)
	}
	if strings.Join(got.Cluster.AuthorizedIPRanges, ",") != "198.51.100.0/24" {
		t.Errorf("authorized ranges %v", got.Cluster.AuthorizedIPRanges)
	}
}

func TestImportRefusesWhatAServerCannotUse(t *testing.T) {
	aad := strings.Replace(userKubeconfig, "{token: abc}", "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [get-token]}}", 1)
	for name, tc := range map[string]struct {
		mut   func(*cs.ManagedClusterProperties)
		kc    string
		admin bool
		want  string
	}{
		"aad only":       {kc: aad, want: "kubelogin"},
		"admin disabled": {mut: func(p *cs.ManagedClusterProperties) { p.DisableLocalAccounts = to.Ptr(true) }, kc: userKubeconfig, admin: true, want: "local accounts disabled"},
	} {
		t.Run(name, func(t *testing.T) {
			az := akstest.New()
			az.Kubeconfig = []byte(tc.kc)
			az.Put("theirs-rg", existing("their-aks", tc.mut))
			_, err := newProvider(t, az).Import(context.Background(), akstest.ID("theirs-rg", "their-aks"), tc.admin)
			if !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	az := akstest.New()
	az.Put("theirs-rg", existing("stopped", func(p *cs.ManagedClusterProperties) { p.PowerState.Code = to.Ptr(cs.CodeStopped) }))
	got, err := newProvider(t, az).Import(context.Background(), akstest.ID("theirs-rg", "stopped"), false)
	if err != nil || got.Cluster.State != provider.StateStopped || got.Kubeconfig != nil {
		t.Errorf("a stopped cluster: %+v, %v (want its state, no credentials)", got, err)
	}
	if _, err := newProvider(t, az).Import(context.Background(), akstest.ID("theirs-rg", "nope"), false); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a missing cluster: %v", err)
	}
}
