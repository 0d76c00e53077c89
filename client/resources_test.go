package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kubeml/kubeml/api"
)

func TestListComputesFollowsNextLink(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("aks%d", i)
		want = append(want, name)
		if _, err := c.BeginCreateOrUpdateCompute(ctx, api.ComputeID(testSub, testRG, testWS, name), aksBody); err != nil {
			t.Fatal(err)
		}
	}
	before := len(f.reqs())
	list, err := c.ListComputes(ctx, testSub, testRG, testWS)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, comp := range list {
		got = append(got, comp.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	pages := f.reqs()[before:]
	if len(pages) != 3 || !strings.Contains(pages[2], "skip=4") {
		t.Errorf("page requests %v, want 3 with $skip", pages)
	}
}

func TestComputeKeysAndNodes(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	id := api.ComputeID(testSub, testRG, testWS, "instant")
	if _, err := c.BeginCreateOrUpdateCompute(ctx, id, aksBody); err != nil {
		t.Fatal(err)
	}
	keys, err := c.ListComputeKeys(ctx, id)
	if err != nil || keys.UserKubeConfig != "user-kubeconfig" {
		t.Errorf("keys %+v, %v", keys, err)
	}
	nodes, err := c.ListComputeNodes(ctx, id)
	if err != nil || len(nodes.Nodes) != 1 || nodes.Nodes[0].NodeID != "n1" {
		t.Errorf("nodes %+v, %v", nodes, err)
	}
	if _, err := c.ListComputeKeys(ctx, api.ComputeID(testSub, testRG, testWS, "absent")); !IsNotFound(err) {
		t.Errorf("keys of an absent compute: %v", err)
	}
}

func TestListManagedClustersByGroupOrSubscription(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	for _, id := range []api.ResourceID{api.ManagedClusterID(testSub, "rg1", "a"), api.ManagedClusterID(testSub, "rg2", "b")} {
		if _, err := c.BeginCreateOrUpdateManagedCluster(ctx, id, api.ManagedCluster{Location: "westus"}); err != nil {
			t.Fatal(err)
		}
	}
	for rg, want := range map[string]int{"rg1": 1, "rg2": 1, "": 2, "rg3": 0} {
		l, err := c.ListManagedClusters(ctx, testSub, rg)
		if err != nil || len(l) != want {
			t.Errorf("group %q: %d clusters, %v; want %d", rg, len(l), err, want)
		}
	}
}

func TestVersions(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	kv, err := c.KubernetesVersions(ctx, testSub, "westus")
	if err != nil || len(kv.Values) != 1 || !kv.Values[0].IsDefault {
		t.Errorf("kubernetesVersions %+v, %v", kv, err)
	}
	o, err := c.Orchestrators(ctx, testSub, "westus")
	if err != nil || len(o.Properties.Orchestrators) != 1 || o.Properties.Orchestrators[0].OrchestratorVersion != "1.33.1" {
		t.Errorf("orchestrators %+v, %v", o, err)
	}
}

func TestWorkspaces(t *testing.T) {
	var mu sync.Mutex
	store := map[string]api.Workspace{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		p := r.URL.Path
		name := p[strings.LastIndex(p, "/")+1:]
		switch {
		case name == "workspaces" && r.URL.Query().Get("page") == "":
			reply(w, 200, api.WorkspaceList{Value: []api.Workspace{store["ws1"]}, NextLink: p + "?page=2"})
		case name == "workspaces":
			reply(w, 200, api.WorkspaceList{Value: []api.Workspace{store["ws2"]}})
		case r.Method == http.MethodPut:
			store[name] = api.Workspace{Name: name, Location: "westus"}
			reply(w, 201, store[name])
		case r.Method == http.MethodDelete:
			delete(store, name)
			w.WriteHeader(200)
		case store[name].Name == "":
			replyErr(w, 404, "ResourceNotFound", "no workspace "+name)
		default:
			reply(w, 200, store[name])
		}
	}))
	defer srv.Close()
	c, _ := New(Config{Server: srv.URL})
	ctx := context.Background()
	for _, n := range []string{"ws1", "ws2"} {
		if ws, err := c.CreateOrUpdateWorkspace(ctx, testSub, testRG, n, api.Workspace{Location: "westus"}); err != nil || ws.Name != n {
			t.Fatalf("create %s: %+v, %v", n, ws, err)
		}
	}
	l, err := c.ListWorkspaces(ctx, testSub, testRG)
	if err != nil || len(l) != 2 || l[1].Name != "ws2" {
		t.Errorf("list %+v, %v", l, err)
	}
	if err := c.DeleteWorkspace(ctx, testSub, testRG, "ws1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWorkspace(ctx, testSub, testRG, "ws1"); !IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}
