package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/kubeml/kubeml/api"
)

// tokenCredential hands azcore kubeml's admin token, as a credential of a
// real Azure client would hand it an Entra token.
type tokenCredential string

func (t tokenCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// An ARM client built the way the Azure SDK for Go builds its own
// (arm.NewClient, its pipeline, runtime.NewPoller) drives kubeml's API.
func TestAzureSDKClientDrivesComputeLROs(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("armws")
	client, err := arm.NewClient("kubeml.test", "v0.0.1", tokenCredential(s.token), &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: s.url, Audience: "https://management.core.windows.net/"},
			}},
			InsecureAllowCredentialWithHTTP: true,
		},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pl := client.Pipeline()
	path := ws + "/computes/armaks"
	newReq := func(method, path string, body any) *policy.Request {
		req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(client.Endpoint(), path))
		if err != nil {
			t.Fatal(err)
		}
		q := req.Raw().URL.Query()
		q.Set("api-version", "2024-04-01")
		req.Raw().URL.RawQuery = q.Encode()
		if body != nil {
			if err := runtime.MarshalAsJSON(req, body); err != nil {
				t.Fatal(err)
			}
		}
		return req
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: 200 * time.Millisecond}

	// PUT: a long-running create.
	resp, err := pl.Do(newReq(http.MethodPut, path, aks("DevTest", "simulated", 2, "Standard_DS2_v2")))
	if err != nil || !runtime.HasStatusCode(resp, http.StatusCreated) {
		t.Fatalf("PUT: %v %v", resp.Status, err)
	}
	poller, err := runtime.NewPoller[api.Compute](resp, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := poller.PollUntilDone(ctx, poll)
	if err != nil || created.Properties.ProvisioningState != "Succeeded" || created.Name != "armaks" {
		t.Fatalf("PollUntilDone: %+v %v", created, err)
	}

	// GET and list.
	resp, err = pl.Do(newReq(http.MethodGet, path, nil))
	var got api.Compute
	if err != nil || !runtime.HasStatusCode(resp, http.StatusOK) || runtime.UnmarshalAsJSON(resp, &got) != nil || got.ID != created.ID {
		t.Fatalf("GET: %v %v %+v", resp.Status, err, got)
	}
	resp, err = pl.Do(newReq(http.MethodGet, ws+"/computes", nil))
	var list api.ComputeList
	if err != nil || runtime.UnmarshalAsJSON(resp, &list) != nil || len(list.Value) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}

	// DELETE: a long-running delete.
	req := newReq(http.MethodDelete, path, nil)
	q := req.Raw().URL.Query()
	q.Set("underlyingResourceAction", "Delete")
	req.Raw().URL.RawQuery = q.Encode()
	resp, err = pl.Do(req)
	if err != nil || !runtime.HasStatusCode(resp, http.StatusAccepted) {
		t.Fatalf("DELETE: %v %v", resp.Status, err)
	}
	dpoller, err := runtime.NewPoller[struct{}](resp, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dpoller.PollUntilDone(ctx, poll); err != nil {
		t.Fatalf("delete poll: %v", err)
	}
	resp, _ = pl.Do(newReq(http.MethodGet, path, nil))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after delete: %s", resp.Status)
	}
}
