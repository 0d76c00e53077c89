// Package akstest is a stateful Azure Resource Manager for AKS built on
// the Azure SDK's own fake servers (armcontainerservice/v6/fake): kubeml's
// real aks provider code runs against it, and tests read back exactly
// which requests it received.
package akstest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	cs "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6/fake"
)

// Subscription is the fake's subscription id.
const Subscription = "6b0d2f1e-5c3a-4e8b-9d7f-1a2b3c4d5e6f"

// Failure makes the next create fail the way Azure does: the PUT is
// accepted and the long operation ends Failed with this code and message.
type Failure struct {
	Status  int
	Code    string
	Message string
}

// Azure is the fake. Its zero value is not usable: call New.
type Azure struct {
	mu        sync.Mutex
	clusters  map[string]*cs.ManagedCluster // by lower "rg/name"
	done      map[string]*cs.ManagedCluster // what a create turns into when its poller ends
	transport policy.Transporter

	// Requests received, for assertions.
	Puts     []cs.ManagedCluster
	PoolPuts []cs.AgentPool
	Deletes  []string
	Starts   []string
	Requests int

	// Knobs.
	Polls       int      // non-terminal polls a long operation takes
	FailCreate  *Failure // the next create fails
	Throttle    int      // the next n requests get 429 with Retry-After: 1
	Unavailable int      // the next n requests get 503
	Kubeconfig  []byte   // what the credentials calls return
	Versions    []*cs.KubernetesVersion
}

// New returns a fake with a version list like Azure's: 1.32 and 1.33
// (default), and 1.34 in preview.
func New() *Azure {
	patch := func(ups ...string) *cs.KubernetesPatchVersion {
		p := &cs.KubernetesPatchVersion{}
		for _, u := range ups {
			p.Upgrades = append(p.Upgrades, to.Ptr(u))
		}
		return p
	}
	return &Azure{clusters: map[string]*cs.ManagedCluster{}, done: map[string]*cs.ManagedCluster{}, Polls: 2,
		Versions: []*cs.KubernetesVersion{
			{Version: to.Ptr("1.32"), PatchVersions: map[string]*cs.KubernetesPatchVersion{"1.32.5": patch("1.32.7", "1.33.2"), "1.32.7": patch("1.33.2")}},
			{Version: to.Ptr("1.33"), IsDefault: to.Ptr(true), PatchVersions: map[string]*cs.KubernetesPatchVersion{"1.33.1": patch("1.33.2"), "1.33.2": patch("1.34.0")}},
			{Version: to.Ptr("1.34"), IsPreview: to.Ptr(true), PatchVersions: map[string]*cs.KubernetesPatchVersion{"1.34.0": patch()}},
		}}
}

// Credential is a token credential the fake accepts.
func Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

func key(rg, name string) string { return strings.ToLower(rg + "/" + name) }

// ID is the ARM id of a cluster of the fake's subscription.
func ID(rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s", Subscription, rg, name)
}

// Put stores a cluster as if someone had made it in Azure.
func (a *Azure) Put(rg string, mc cs.ManagedCluster) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mc.ID = to.Ptr(ID(rg, *mc.Name))
	a.clusters[key(rg, *mc.Name)] = &mc
}

// Cluster returns a stored cluster, or nil.
func (a *Azure) Cluster(rg, name string) *cs.ManagedCluster {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mc := a.clusters[key(rg, name)]; mc != nil {
		cp := *mc
		return &cp
	}
	return nil
}

// Transport is the HTTP transport kubeml's provider uses to reach the
// fake. It is one transport for the fake's life: its long operations
// outlive the kubeml that started them, as Azure's do.
func (a *Azure) Transport() policy.Transporter {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.transport == nil {
		a.transport = a.newTransport()
	}
	return a.transport
}

func (a *Azure) newTransport() policy.Transporter {
	return &observer{a: a, next: fake.NewServerFactoryTransport(&fake.ServerFactory{
		ManagedClustersServer: fake.ManagedClustersServer{
			BeginCreateOrUpdate:         a.create,
			Get:                         a.get,
			BeginDelete:                 a.delete,
			BeginStart:                  a.start,
			NewListByResourceGroupPager: a.list,
			ListKubernetesVersions:      a.versions,
			ListClusterUserCredentials:  a.userCredentials,
			ListClusterAdminCredentials: a.adminCredentials,
		},
		AgentPoolsServer: fake.AgentPoolsServer{NewListPager: a.listPools, BeginCreateOrUpdate: a.putPool},
	})}
}

// observer counts requests, injects throttling and outages, and settles
// a cluster's state when its create poller ends.
type observer struct {
	a    *Azure
	next policy.Transporter
}

func (o *observer) Do(req *http.Request) (*http.Response, error) {
	a := o.a
	a.mu.Lock()
	a.Requests++
	status := 0
	switch {
	case a.Throttle > 0:
		a.Throttle--
		status = http.StatusTooManyRequests
	case a.Unavailable > 0:
		a.Unavailable--
		status = http.StatusServiceUnavailable
	}
	a.mu.Unlock()
	if status != 0 {
		h := http.Header{"Retry-After": {"1"}, "Content-Type": {"application/json"}, "x-ms-error-code": {http.StatusText(status)}}
		return &http.Response{StatusCode: status, Header: h, Request: req, Body: http.NoBody}, nil
	}
	resp, err := o.next.Do(req)
	if err == nil && resp.Header.Get("Fake-Poller-Status") == "Succeeded" {
		a.settle(req.URL.Path)
	}
	return resp, err
}

// settle makes a finished create visible to GETs.
func (a *Azure) settle(path string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, mc := range a.done {
		if strings.Contains(strings.ToLower(path), "/managedclusters/"+strings.ToLower(*mc.Name)) {
			a.clusters[k] = mc
			delete(a.done, k)
		}
	}
}

// finished is what a cluster looks like once Azure made it.
func finished(rg, name string, mc cs.ManagedCluster) *cs.ManagedCluster {
	out := mc
	out.Name, out.ID = to.Ptr(name), to.Ptr(ID(rg, name))
	p := *mc.Properties
	p.ProvisioningState = to.Ptr("Succeeded")
	p.PowerState = &cs.PowerState{Code: to.Ptr(cs.CodeRunning)}
	p.CurrentKubernetesVersion = p.KubernetesVersion
	if p.APIServerAccessProfile != nil && p.APIServerAccessProfile.EnablePrivateCluster != nil && *p.APIServerAccessProfile.EnablePrivateCluster {
		p.PrivateFQDN = to.Ptr(*p.DNSPrefix + ".privatelink.westus2.azmk8s.io")
	} else {
		p.Fqdn = to.Ptr(*p.DNSPrefix + "-abc123.hcp.westus2.azmk8s.io")
	}
	out.Properties = &p
	return &out
}

func (a *Azure) create(_ context.Context, rg, name string, body cs.ManagedCluster, _ *cs.ManagedClustersClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[cs.ManagedClustersClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if body.Properties == nil {
		errResp.SetResponseError(http.StatusBadRequest, "InvalidParameter")
		return resp, errResp
	}
	a.Puts = append(a.Puts, body)
	creating := body
	creating.Name, creating.ID = to.Ptr(name), to.Ptr(ID(rg, name))
	p := *body.Properties
	p.ProvisioningState = to.Ptr("Creating")
	creating.Properties = &p
	a.clusters[key(rg, name)] = &creating
	for i := 0; i < a.Polls; i++ {
		resp.AddNonTerminalResponse(http.StatusOK, nil)
	}
	if f := a.FailCreate; f != nil {
		a.FailCreate = nil
		resp.AddPollingError(responseError(f))
		failed := creating
		fp := p
		fp.ProvisioningState = to.Ptr("Failed")
		failed.Properties = &fp
		a.clusters[key(rg, name)] = &failed
		return resp, errResp
	}
	done := finished(rg, name, body)
	a.done[key(rg, name)] = done
	resp.SetTerminalResponse(http.StatusOK, cs.ManagedClustersClientCreateOrUpdateResponse{ManagedCluster: *done}, nil)
	return resp, errResp
}

// responseError is Azure's failure of a long operation, message and all.
func responseError(f *Failure) error {
	body := fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, f.Code, f.Message)
	req, _ := http.NewRequest(http.MethodGet, "https://management.azure.com/fake", nil)
	return &azcore.ResponseError{ErrorCode: f.Code, StatusCode: f.Status,
		RawResponse: &http.Response{StatusCode: f.Status, Request: req, Header: http.Header{}, Body: readCloser(body)}}
}
