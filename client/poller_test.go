package client

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
)

var aksBody = api.Compute{Properties: api.ComputeProperties{ComputeType: api.ComputeAKS}}

func TestPollerFollowsTheOperationAndGetsTheResource(t *testing.T) {
	tests := map[string]struct {
		retryAfter string
		interval   time.Duration
		want       []time.Duration
	}{
		"it waits the Retry-After the server sends":   {retryAfter: "3", want: []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second}},
		"it waits 2 s when there is no Retry-After":   {want: []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
		"a Retry-After of 0 means poll at once":       {retryAfter: "0", want: []time.Duration{0, 0, 0}},
		"a configured interval overrides Retry-After": {retryAfter: "9", interval: time.Millisecond, want: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			f.polls, f.retryAfter = 3, tc.retryAfter
			var waits []time.Duration
			c := f.client(t, &waits)
			c.interval = tc.interval
			ctx := context.Background()
			p, err := c.BeginCreateOrUpdateCompute(ctx, api.ComputeID(testSub, testRG, testWS, "aks1"), aksBody)
			if err != nil {
				t.Fatal(err)
			}
			if p.Done() || !strings.HasSuffix(p.OperationURL(), "/operations/1?api-version=2024-04-01") {
				t.Fatalf("done %v, operation %q", p.Done(), p.OperationURL())
			}
			var statuses []string
			comp, err := p.PollUntilDone(ctx, func(s string) { statuses = append(statuses, s) })
			if err != nil {
				t.Fatal(err)
			}
			if comp.Properties.ProvisioningState != api.StateSucceeded || comp.Name != "aks1" {
				t.Errorf("result %+v, want the compute as read after the operation", comp)
			}
			if want := []string{"InProgress", "InProgress", "Succeeded"}; !reflect.DeepEqual(statuses, want) {
				t.Errorf("statuses %v, want %v", statuses, want)
			}
			if !reflect.DeepEqual(waits, tc.want) {
				t.Errorf("waits %v, want %v", waits, tc.want)
			}
			if last := f.reqs()[len(f.reqs())-1]; !strings.HasPrefix(last, "GET /subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1/computes/aks1?") {
				t.Errorf("last request %q, want the final GET of the compute", last)
			}
		})
	}
}

func TestAFailedOperationSurfacesItsCodeAndMessage(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	p, err := c.BeginCreateOrUpdateCompute(ctx, api.ComputeID(testSub, testRG, testWS, "doomed"), aksBody)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := p.PollUntilDone(ctx, nil)
	var e *Error
	if comp != nil || !errors.As(err, &e) {
		t.Fatalf("got %v, %v; want an *Error", comp, err)
	}
	if e.Code != "NotEnoughCores" || !strings.Contains(e.Message, "must be greater than or equal to 12") || e.StatusCode != 0 {
		t.Errorf("error %#v", e)
	}
	if !strings.HasPrefix(err.Error(), "NotEnoughCores: The number of nodes") {
		t.Errorf("Error() = %q", err)
	}
	if status, again := p.Poll(ctx); !p.Done() || status != api.StatusFailed || again != err {
		t.Errorf("after the end Poll = %q, %v", status, again)
	}
}

func TestAnAnswerWithoutOperationIsDoneAtOnce(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	p, err := c.BeginCreateOrUpdateCompute(ctx, api.ComputeID(testSub, testRG, testWS, "instant"), aksBody)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.reqs())
	comp, err := p.PollUntilDone(ctx, nil)
	if !p.Done() || p.OperationURL() != "" || err != nil || comp.Properties.ProvisioningState != api.StateSucceeded {
		t.Fatalf("done %v, %+v, %v", p.Done(), comp, err)
	}
	if len(f.reqs()) != n {
		t.Errorf("a done poller sent %v", f.reqs()[n:])
	}
}

func TestDeletingWaitsAndReturnsNothing(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	id := api.ComputeID(testSub, testRG, testWS, "aks1")
	p, _ := c.BeginCreateOrUpdateCompute(ctx, id, aksBody)
	p.PollUntilDone(ctx, nil)

	d, err := c.BeginDeleteCompute(ctx, id, "detach")
	if err != nil || d.Done() {
		t.Fatalf("delete: done %v, %v", d.Done(), err)
	}
	if !slices.ContainsFunc(f.reqs(), func(r string) bool { return strings.Contains(r, "underlyingResourceAction=Detach") }) {
		t.Errorf("no Detach action in %v", f.reqs())
	}
	if res, err := d.PollUntilDone(ctx, nil); res != nil || err != nil {
		t.Fatalf("PollUntilDone = %v, %v", res, err)
	}
	if _, err := c.GetCompute(ctx, id); !IsNotFound(err) {
		t.Errorf("after delete GetCompute: %v", err)
	}
	if d, err := c.BeginDeleteCompute(ctx, id, api.ActionDelete); err != nil || !d.Done() {
		t.Errorf("deleting an absent compute: done %v, %v", d.Done(), err)
	}
	if _, err := c.BeginDeleteCompute(ctx, id, "Erase"); err == nil {
		t.Error("an unknown action was accepted")
	}
}

func TestResumePollerKeepsWaiting(t *testing.T) {
	f := newFake(t)
	var waits []time.Duration
	c := f.client(t, &waits)
	ctx := context.Background()
	first, err := c.BeginCreateOrUpdateCompute(ctx, api.ComputeID(testSub, testRG, testWS, "aks1"), aksBody)
	if err != nil {
		t.Fatal(err)
	}
	p := ResumePoller[api.Compute](c, first.OperationURL(), first.ResourcePath())
	comp, err := p.PollUntilDone(ctx, nil)
	if err != nil || comp.Properties.ProvisioningState != api.StateSucceeded {
		t.Fatalf("%+v, %v", comp, err)
	}
	if waits[0] != 0 {
		t.Errorf("a resumed poller first waited %v", waits[0])
	}
}

func TestManagedClusterLifecycle(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	id := api.ManagedClusterID(testSub, testRG, "mc1")
	three := 3
	p, err := c.BeginCreateOrUpdateManagedCluster(ctx, id, api.ManagedCluster{Location: "westus",
		Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{{Name: "nodepool1", Count: &three}}}})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := p.PollUntilDone(ctx, nil)
	if err != nil || mc.Properties.ProvisioningState != api.StateSucceeded || mc.ID != id.String() {
		t.Fatalf("%+v, %v", mc, err)
	}
	for admin, want := range map[bool]string{false: "listClusterUserCredential", true: "listClusterAdminCredential"} {
		cr, err := c.ListClusterCredentials(ctx, id, admin)
		if err != nil || len(cr.Kubeconfigs) != 1 || cr.Kubeconfigs[0].Name != want {
			t.Errorf("admin %v: %+v, %v", admin, cr, err)
		}
	}
	d, err := c.BeginDeleteManagedCluster(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetManagedCluster(ctx, id); !IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}

func TestPollUntilDoneStopsWithTheContext(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	c.sleep = sleepCtx
	ctx, cancel := context.WithCancel(context.Background())
	p, err := c.BeginCreateOrUpdateCompute(ctx, api.ComputeID(testSub, testRG, testWS, "aks1"), aksBody)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := p.PollUntilDone(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
}
