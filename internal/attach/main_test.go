package attach_test

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/provider"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "simulated", Spec: provider.Spec{Name: "attach", VMSize: "Standard_D3_v2", AgentCount: 3}}, &env))
}

// ctxFor returns a context that ends with the test or after d.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// detachAll leaves the cluster as the harness made it: whatever attachment
// there is, uninstalled.
func detachAll(t *testing.T) {
	t.Helper()
	// Not t.Context(): this also runs in t.Cleanup, after that ends.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cur, err := attach.ReadAttachment(ctx, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	a := attach.Attachment{}
	if cur != nil {
		a = *cur
	}
	if err := attach.Uninstall(ctx, env.Client, a); err != nil {
		t.Fatal(err)
	}
}

// fastClient is a separate client (a second "server") without client-go's
// default 5 QPS limit.
func fastClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func find(r attach.Report, reason string) *attach.Check {
	for i := range r.Checks {
		if r.Checks[i].Reason == reason {
			return &r.Checks[i]
		}
	}
	return nil
}
