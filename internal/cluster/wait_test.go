package cluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/cluster"
	"github.com/kubeml/kubeml/internal/clustertest"
)

func TestWaitReadyExplainsMissingRouter(t *testing.T) {
	clustertest.Require(t, env)
	detachAll(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := cluster.WaitReady(ctx, env.Client)
	if err == nil {
		t.Fatal("WaitReady succeeded without a router")
	}
	if !strings.Contains(err.Error(), cluster.RouterName) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error does not explain: %v", err)
	}
	t.Log(err)
}
