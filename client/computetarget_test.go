package client

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
)

var testWorkspace = api.WorkspaceID(testSub, testRG, testWS)

func TestWaitForCompletionPrintsLikeThePythonSDK(t *testing.T) {
	tests := map[string]struct {
		name    string
		want    string
		wantErr string
	}{
		"a created cluster shows its state, a dot per poll and the verdict": {
			name: "aks1",
			want: "Creating...\nSucceeded\nProvisioning operation finished, operation \"Succeeded\"\n",
		},
		"a failed creation shows the failure and its errors": {
			name: "doomed",
			want: "Creating...\nFailed\nProvisioning operation finished, operation \"Failed\"\n" +
				"Provisioning errors:\n  NotEnoughCores: The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to 12\n",
			wantErr: "NotEnoughCores",
		},
		"an answer without an operation finishes at once": {
			name: "instant",
			want: "Succeeded\nProvisioning operation finished, operation \"Succeeded\"\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			f.polls = 3
			c := f.client(t, nil)
			ctx := context.Background()
			target, err := c.CreateComputeTarget(ctx, testWorkspace, tc.name, ProvisioningConfiguration{ClusterPurpose: api.PurposeDevTest, AgentCount: 1})
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err = target.WaitForCompletion(ctx, &out)
			if out.String() != tc.want {
				t.Errorf("output\n%q\nwant\n%q", out.String(), tc.want)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if err == nil && (target.Compute.Properties.ProvisioningState != api.StateSucceeded || target.ID.ChildName != tc.name) {
				t.Errorf("target %+v", target)
			}
		})
	}
}

func TestProvisioningConfigurationBody(t *testing.T) {
	c := ProvisioningConfiguration{AgentCount: 3, VMSize: "Standard_D3_v2", Location: "westus", LoadBalancerType: api.LoadBalancerInternal,
		LoadBalancerSubnet: "aks-subnet", Description: "d"}.Compute()
	p := c.Properties
	if p.ComputeType != api.ComputeAKS || p.ComputeLocation != "westus" || p.ResourceID != "" || p.Description != "d" ||
		*p.Properties.AgentCount != 3 || p.Properties.AgentVMSize != "Standard_D3_v2" || p.Properties.LoadBalancerSubnet != "aks-subnet" {
		t.Errorf("body %+v / %+v", p, p.Properties)
	}
	if (ProvisioningConfiguration{}).Compute().Properties.Properties.AgentCount != nil {
		t.Error("a zero agent count was sent instead of the server's default")
	}
}

func TestAttachConfigurationNamesExactlyOneCluster(t *testing.T) {
	mcID := api.ManagedClusterID(testSub, "aksrg", "aks").String()
	tests := map[string]struct {
		cfg     AttachConfiguration
		wantErr string
	}{
		"a resource group and a cluster name are enough":    {cfg: AttachConfiguration{ResourceGroup: "aksrg", ClusterName: "aks"}},
		"a resource id is enough":                           {cfg: AttachConfiguration{ResourceID: mcID}},
		"nothing is refused rather than creating a cluster": {cfg: AttachConfiguration{ClusterPurpose: api.PurposeDevTest}, wantErr: "give the cluster's resource id"},
		"a name without its group is refused":               {cfg: AttachConfiguration{ClusterName: "aks"}, wantErr: "give the cluster's resource id"},
		"an id and a name together are refused":             {cfg: AttachConfiguration{ResourceID: mcID, ClusterName: "aks"}, wantErr: "not both"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if err == nil && tc.cfg.Compute(testSub).Properties.ResourceID != mcID {
				t.Errorf("resourceId %q, want %q", tc.cfg.Compute(testSub).Properties.ResourceID, mcID)
			}
		})
	}
}

func TestAttachThenDetach(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	target, err := c.AttachComputeTarget(ctx, testWorkspace, "myaks", AttachConfiguration{ResourceGroup: "aksrg", ClusterName: "aks", ClusterPurpose: api.PurposeDevTest})
	if err != nil {
		t.Fatal(err)
	}
	if err := target.WaitForCompletion(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p := target.Compute.Properties
	if !p.IsAttachedCompute || p.ResourceID != api.ManagedClusterID(testSub, "aksrg", "aks").String() || p.Properties.ClusterPurpose != api.PurposeDevTest {
		t.Errorf("attached compute %+v", p)
	}
	if _, err := c.AttachComputeTarget(ctx, testWorkspace, "other", AttachConfiguration{}); err == nil {
		t.Error("an attach naming no cluster was sent")
	}
	if err := target.Detach(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(f.reqs(), func(r string) bool {
		return strings.HasPrefix(r, "DELETE ") && strings.Contains(r, "underlyingResourceAction=Detach")
	}) {
		t.Errorf("no detach in %v", f.reqs())
	}
	if _, err := c.GetComputeTarget(ctx, testWorkspace, "myaks"); !IsNotFound(err) {
		t.Errorf("after detach: %v", err)
	}
}

func TestWaitForCompletionOfAnExistingTargetPollsItsState(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	if _, err := c.CreateComputeTarget(ctx, testWorkspace, "aks1", ProvisioningConfiguration{}); err != nil {
		t.Fatal(err)
	}
	target, err := c.GetComputeTarget(ctx, testWorkspace, "aks1")
	if err != nil {
		t.Fatal(err)
	}
	sleeps := 0
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if sleeps++; sleeps == 2 {
			f.mu.Lock()
			f.computes["aks1"].Properties.ProvisioningState = api.StateSucceeded
			f.mu.Unlock()
		}
		return nil
	}
	var out strings.Builder
	if err := target.WaitForCompletion(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if want := "Creating..\nSucceeded\nProvisioning operation finished, operation \"Succeeded\"\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if err := target.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}
