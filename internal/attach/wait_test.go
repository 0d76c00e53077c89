package attach_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/clustertest"
)

func TestWaitRouterReadyExplainsMissingRouter(t *testing.T) {
	clustertest.Require(t, env)
	detachAll(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := attach.WaitRouterReady(ctx, env.Client)
	if err == nil {
		t.Fatal("WaitRouterReady succeeded without a router")
	}
	if !strings.Contains(err.Error(), attach.RouterName) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error does not explain: %v", err)
	}
	t.Log(err)
}
