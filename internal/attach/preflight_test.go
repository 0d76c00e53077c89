package attach_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/clustertest"
)

func TestPreflightFastProdPasses(t *testing.T) {
	clustertest.Require(t, env)
	detachAll(t)
	start := time.Now()
	r := attach.Preflight(t.Context(), env.Client, attach.PreflightOptions{
		Purpose: api.PurposeFastProd, MinVersion: "1.30", MaxVersion: "1.37",
		Attachment: attach.Attachment{WorkspaceID: "ws1", ComputeName: "aks1"},
	})
	t.Logf("preflight took %v", time.Since(start))
	for _, c := range r.Checks {
		t.Logf("%-10s %-4s %-18s %s", c.Name, c.Status, c.Reason, c.Message)
	}
	if r.Failed() {
		t.Fatal("preflight failed on a 3 x 4-core cluster")
	}
	if r.VCPUs != 12 || r.Nodes != 3 || r.GPUs != 0 {
		t.Errorf("vCPUs %d nodes %d GPUs %d, want 12, 3, 0", r.VCPUs, r.Nodes, r.GPUs)
	}
	for _, want := range []string{"APIReachable", "VersionSupported", "EnoughVCPUs", "EnoughNodes", "NoGPUNodes", "RBACGranted", "NotAttached", "NamespaceValid"} {
		if find(r, want) == nil {
			t.Errorf("no %s check", want)
		}
	}
	if !strings.HasPrefix(r.KubernetesVersion, "v1.") {
		t.Errorf("version %q", r.KubernetesVersion)
	}
}

func TestPreflightReportsEveryProblem(t *testing.T) {
	clustertest.Require(t, env)
	r := attach.Preflight(t.Context(), env.Client, attach.PreflightOptions{
		MinVersion: "1.38", MaxVersion: "1.40", Namespace: "Not_A_Label",
	})
	c := find(r, "VersionUnsupported")
	if c == nil || c.Status != attach.StatusFail {
		t.Fatalf("no failing VersionUnsupported in %+v", r.Checks)
	}
	if !strings.Contains(c.Message, "is not supported. Supported versions are between [1.38 - 1.40].") {
		t.Errorf("message %q", c.Message)
	}
	if c := find(r, "InvalidNamespace"); c == nil || c.Status != attach.StatusFail {
		t.Errorf("no failing InvalidNamespace in %+v", r.Checks)
	}
	if find(r, "EnoughVCPUs") == nil || find(r, "RBACGranted") == nil {
		t.Errorf("preflight stopped at the first failure: %+v", r.Checks)
	}
}

func TestPreflightDevTestAndUnreachable(t *testing.T) {
	clustertest.Require(t, env)
	r := attach.Preflight(t.Context(), env.Client, attach.PreflightOptions{Purpose: api.PurposeDevTest})
	if c := find(r, "EnoughNodes"); c == nil || r.Failed() {
		t.Errorf("DevTest: %+v", r.Checks)
	}
	r = attach.Preflight(t.Context(), env.Client, attach.PreflightOptions{Purpose: "Huge"})
	if c := find(r, "InvalidPurpose"); c == nil || c.Status != attach.StatusFail {
		t.Errorf("bad purpose: %+v", r.Checks)
	}
	down, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	r = attach.Preflight(t.Context(), down, attach.PreflightOptions{Timeout: 2 * time.Second})
	if c := find(r, "APIUnreachable"); c == nil || c.Status != attach.StatusFail || len(r.Checks) != 2 || find(r, "NamespaceValid") == nil {
		t.Errorf("unreachable API: %+v", r.Checks)
	}
}
