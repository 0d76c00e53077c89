package attach_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/kubeobj"
)

func TestClaimConcurrentExactlyOneWins(t *testing.T) {
	clustertest.Require(t, env)
	detachAll(t)
	t.Cleanup(func() { detachAll(t) })
	// Two "servers", each with its own client, ten attempts each.
	clients := []kubernetes.Interface{fastClient(t), fastClient(t)}
	ctx := ctxFor(t, time.Minute)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			a := attach.Attachment{WorkspaceID: "ws", WorkspaceName: "ws", ComputeName: fmt.Sprintf("aks%02d", i),
				ServerID: "server-" + strconv.Itoa(i%2), Time: time.Now()}
			errs[i] = attach.Claim(ctx, clients[i%2], a)
		})
	}
	wg.Wait()
	wins, conflicts := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, attach.ErrAttached):
			conflicts++
		default:
			t.Errorf("claim %d: %v", i, err)
		}
	}
	if wins != 1 || conflicts != 19 {
		t.Fatalf("%d won, %d conflicts; want 1 and 19", wins, conflicts)
	}
	cur, err := attach.ReadAttachment(ctx, env.Client)
	if err != nil || cur == nil {
		t.Fatalf("record %v, %v", cur, err)
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(cur.ComputeName, "aks"))
	if errs[n] != nil {
		t.Errorf("the record names %s, whose claim failed: %v", cur.ComputeName, errs[n])
	}
	for _, err := range errs {
		if err != nil && !strings.Contains(err.Error(), "kubeml ml computetarget detach -n "+cur.ComputeName+" -w ws") {
			t.Errorf("conflict does not say how to detach: %v", err)
			break
		}
	}
}

func TestAttachInstallDetachReattach(t *testing.T) {
	clustertest.Require(t, env)
	detachAll(t)
	t.Cleanup(func() { detachAll(t) })
	ctx := ctxFor(t, 3*time.Minute)
	cs := env.Client
	a := attach.Attachment{WorkspaceID: "ws-1", WorkspaceName: "ws1", ComputeName: "aks-one", ServerID: "s1", Time: time.Now()}
	other := attach.Attachment{WorkspaceID: "ws-2", WorkspaceName: "ws2", ComputeName: "aks-two", ServerID: "s2"}

	for range 2 { // the second is a retry and succeeds
		if err := attach.Claim(ctx, cs, a); err != nil {
			t.Fatal(err)
		}
	}
	r := attach.Preflight(ctx, cs, attach.PreflightOptions{Attachment: other})
	c := find(r, "AlreadyAttached")
	if c == nil || c.Status != attach.StatusFail || !strings.Contains(c.Message, `"aks-one"`) ||
		!strings.Contains(c.Message, "kubeml ml computetarget detach -n aks-one -w ws1") {
		t.Errorf("preflight for another compute: %+v", r.Checks)
	}
	if r := attach.Preflight(ctx, cs, attach.PreflightOptions{Attachment: a}); r.Failed() || find(r, "SameAttachment") == nil {
		t.Errorf("preflight for the same attachment: %+v", r.Checks)
	}

	s := attach.Router{Image: "registry.example/kubeml/kubeml:v0.4.1", Purpose: api.PurposeFastProd}
	start := time.Now()
	objs, err := attach.InstallRouter(ctx, cs, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attach.InstallRouter(ctx, cs, s); err != nil { // idempotent
		t.Fatalf("second install: %v", err)
	}
	if err := attach.WaitRouterReady(ctxFor(t, time.Minute), cs); err != nil {
		t.Fatal(err)
	}
	t.Logf("install + ready in %v", time.Since(start))
	checkSpread(t, cs)
	version, addr, ready, err := attach.RouterStatus(ctx, cs)
	if err != nil || version != "v0.4.1" || !strings.HasSuffix(addr, ":80") || !ready {
		t.Errorf("RouterStatus = %q, %q, %v, %v", version, addr, ready, err)
	}
	managed, err := kubeobj.List(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("managed: %v", managed)
	want := append(objs, kubeobj.Object{Kind: "ConfigMap", Namespace: attach.Namespace, Name: attach.AttachmentName})
	for _, o := range want {
		if !slices.Contains(managed, o) {
			t.Errorf("Managed lacks %v", o)
		}
	}
	if len(managed) != len(want) {
		t.Errorf("Managed lists %d objects, want %d", len(managed), len(want))
	}

	if err := attach.Uninstall(ctx, cs, other); !errors.Is(err, attach.ErrAttached) {
		t.Errorf("Uninstall by another attachment: %v", err)
	}
	start = time.Now()
	if err := attach.Uninstall(ctx, cs, a); err != nil {
		t.Fatal(err)
	}
	t.Logf("uninstall in %v", time.Since(start))
	if managed, err := kubeobj.List(ctx, cs); err != nil || len(managed) != 0 {
		t.Errorf("after detach Managed = %v, %v", managed, err)
	}
	if cur, err := attach.ReadAttachment(ctx, cs); cur != nil || err != nil {
		t.Errorf("after detach ReadAttachment = %v, %v", cur, err)
	}
	if r := attach.Preflight(ctx, cs, attach.PreflightOptions{}); r.Nodes != 3 {
		t.Errorf("the cluster lost nodes: %+v", r)
	}
	if err := attach.Claim(ctx, cs, other); err != nil {
		t.Fatalf("re-attach after detach: %v", err)
	}
}

// checkSpread: three production replicas land on three nodes.
func checkSpread(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	pods, err := cs.CoreV1().Pods(attach.Namespace).List(t.Context(), metav1.ListOptions{LabelSelector: attach.RouterSelector})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	for _, p := range pods.Items {
		nodes[p.Spec.NodeName] = true
	}
	if len(pods.Items) != 3 || len(nodes) != 3 {
		t.Errorf("%d router pods on nodes %v, want 3 on 3 nodes", len(pods.Items), nodes)
	}
}
