package akstest

import (
	"context"
	"io"
	"net/http"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	cs "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

func (a *Azure) get(_ context.Context, rg, name string, _ *cs.ManagedClustersClientGetOptions) (resp azfake.Responder[cs.ManagedClustersClientGetResponse], errResp azfake.ErrorResponder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mc := a.clusters[key(rg, name)]
	if mc == nil {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, cs.ManagedClustersClientGetResponse{ManagedCluster: *mc}, nil)
	return
}

func (a *Azure) delete(_ context.Context, rg, name string, _ *cs.ManagedClustersClientBeginDeleteOptions) (resp azfake.PollerResponder[cs.ManagedClustersClientDeleteResponse], errResp azfake.ErrorResponder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clusters[key(rg, name)] == nil {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	a.Deletes = append(a.Deletes, name)
	delete(a.clusters, key(rg, name))
	delete(a.done, key(rg, name))
	for i := 0; i < a.Polls; i++ {
		resp.AddNonTerminalResponse(http.StatusAccepted, nil)
	}
	resp.SetTerminalResponse(http.StatusOK, cs.ManagedClustersClientDeleteResponse{}, nil)
	return
}

func (a *Azure) start(_ context.Context, rg, name string, _ *cs.ManagedClustersClientBeginStartOptions) (resp azfake.PollerResponder[cs.ManagedClustersClientStartResponse], errResp azfake.ErrorResponder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mc := a.clusters[key(rg, name)]
	if mc == nil {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	a.Starts = append(a.Starts, name)
	mc.Properties.PowerState = &cs.PowerState{Code: to.Ptr(cs.CodeRunning)}
	resp.SetTerminalResponse(http.StatusOK, cs.ManagedClustersClientStartResponse{}, nil)
	return
}

func (a *Azure) list(rg string, _ *cs.ManagedClustersClientListByResourceGroupOptions) (resp azfake.PagerResponder[cs.ManagedClustersClientListByResourceGroupResponse]) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var page cs.ManagedClusterListResult
	for k, mc := range a.clusters {
		if strings.HasPrefix(k, strings.ToLower(rg)+"/") {
			page.Value = append(page.Value, mc)
		}
	}
	resp.AddPage(http.StatusOK, cs.ManagedClustersClientListByResourceGroupResponse{ManagedClusterListResult: page}, nil)
	return
}

func (a *Azure) versions(_ context.Context, _ string, _ *cs.ManagedClustersClientListKubernetesVersionsOptions) (resp azfake.Responder[cs.ManagedClustersClientListKubernetesVersionsResponse], errResp azfake.ErrorResponder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	resp.SetResponse(http.StatusOK, cs.ManagedClustersClientListKubernetesVersionsResponse{KubernetesVersionListResult: cs.KubernetesVersionListResult{Values: a.Versions}}, nil)
	return
}

func (a *Azure) credentials(rg, name string) ([]*cs.CredentialResult, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clusters[key(rg, name)] == nil {
		return nil, false
	}
	return []*cs.CredentialResult{{Name: to.Ptr("clusterUser"), Value: a.Kubeconfig}}, true
}

func (a *Azure) userCredentials(_ context.Context, rg, name string, _ *cs.ManagedClustersClientListClusterUserCredentialsOptions) (resp azfake.Responder[cs.ManagedClustersClientListClusterUserCredentialsResponse], errResp azfake.ErrorResponder) {
	kcs, ok := a.credentials(rg, name)
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, cs.ManagedClustersClientListClusterUserCredentialsResponse{CredentialResults: cs.CredentialResults{Kubeconfigs: kcs}}, nil)
	return
}

func (a *Azure) adminCredentials(_ context.Context, rg, name string, _ *cs.ManagedClustersClientListClusterAdminCredentialsOptions) (resp azfake.Responder[cs.ManagedClustersClientListClusterAdminCredentialsResponse], errResp azfake.ErrorResponder) {
	kcs, ok := a.credentials(rg, name)
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, cs.ManagedClustersClientListClusterAdminCredentialsResponse{CredentialResults: cs.CredentialResults{Kubeconfigs: kcs}}, nil)
	return
}

func (a *Azure) listPools(rg, name string, _ *cs.AgentPoolsClientListOptions) (resp azfake.PagerResponder[cs.AgentPoolsClientListResponse]) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var page cs.AgentPoolListResult
	if mc := a.clusters[key(rg, name)]; mc != nil {
		for _, p := range mc.Properties.AgentPoolProfiles {
			page.Value = append(page.Value, &cs.AgentPool{Name: p.Name, Properties: &cs.ManagedClusterAgentPoolProfileProperties{
				Count: p.Count, VMSize: p.VMSize, Mode: p.Mode, OSType: p.OSType, VnetSubnetID: p.VnetSubnetID}})
		}
	}
	resp.AddPage(http.StatusOK, cs.AgentPoolsClientListResponse{AgentPoolListResult: page}, nil)
	return
}

func (a *Azure) putPool(_ context.Context, rg, name, pool string, body cs.AgentPool, _ *cs.AgentPoolsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[cs.AgentPoolsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mc := a.clusters[key(rg, name)]
	if mc == nil {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	a.PoolPuts = append(a.PoolPuts, body)
	for _, p := range mc.Properties.AgentPoolProfiles {
		if *p.Name == pool && body.Properties != nil {
			p.Count = body.Properties.Count
		}
	}
	for i := 0; i < a.Polls; i++ {
		resp.AddNonTerminalResponse(http.StatusOK, nil)
	}
	body.Name = to.Ptr(pool)
	resp.SetTerminalResponse(http.StatusOK, cs.AgentPoolsClientCreateOrUpdateResponse{AgentPool: body}, nil)
	return
}

// Names lists the clusters of a resource group.
func (a *Azure) Names(rg string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k, mc := range a.clusters {
		if strings.HasPrefix(k, strings.ToLower(rg)+"/") {
			out = append(out, *mc.Name)
		}
	}
	return out
}

// PutCount is how many cluster PUTs the fake received.
func (a *Azure) PutCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.Puts)
}
