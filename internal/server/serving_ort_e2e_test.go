//go:build ort

package server_test

import (
	"context"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion/fashiontest"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/server"
	"github.com/kubeml/kubeml/internal/serving"
)

// TestDeployOnONNXRuntimeOnALocalCluster builds kubeml with the ort tag,
// makes a local cluster whose image carries that binary with ONNX
// Runtime's library and the shared libraries both need, deploys the
// fashion model and scores it through the router: the pod's log says
// ONNX Runtime served it and the predictions match the model's own.
func TestDeployOnONNXRuntimeOnALocalCluster(t *testing.T) {
	clustertest.RequireLocal(t, env)
	if os.Getenv(serving.ORTLibraryEnv) == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set (.ci/fetch-ort prints a path for it)", serving.ORTLibraryEnv)
		}
		t.Skipf("%s is not set (.ci/fetch-ort prints a path for it)", serving.ORTLibraryEnv)
	}
	fx := fashiontest.Fixture(t)
	root := clustertest.TempRoot(t)
	bin, err := clustertest.BuildKubemlTags(root, "ort")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := local.ImageRef(bin)
	if err != nil {
		t.Fatal(err)
	}
	reg := clustertest.Registry(root, bin)
	t.Cleanup(func() {
		if err := clustertest.DeleteAll(reg); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	s := newTestServerOn(t, reg, func(c *server.Config) { c.RouterImage = ref })
	wsPath, ws, _ := s.fashionOnLocalCompute("ortws", "ortcl", fx.ModelPath, 1)
	cl := s.client()
	ctx := context.Background()
	start := time.Now()
	p, err := cl.BeginDeployService(ctx, ws, "fashion", api.Service{Properties: api.ServiceProperties{ComputeName: "dev",
		ServiceVersion: api.ServiceVersion{Models: []api.ModelRef{{Name: "fashion", Version: 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := p.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	t.Logf("deployed on the ort image in %s", time.Since(start).Round(time.Millisecond))
	keys, err := cl.ServiceKeys(ctx, ws, "fashion")
	if err != nil {
		t.Fatal(err)
	}
	sc := scorer{uri: deployed.Properties.ScoringURI, key: keys.PrimaryKey, hc: &http.Client{Timeout: 30 * time.Second}}
	imgs := fx.Images(200)
	bad := 0
	for i, img := range imgs {
		_, _, probs, err := sc.score(img)
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		want := fx.Expected[i]
		if fashion.Argmax(probs) != want.Predicted || math.Abs(float64(probs[want.Predicted]-want.Probabilities[want.Predicted])) > 1e-4 {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d images scored differently from the model's own predictions", bad, len(imgs))
	}
	logs, err := cl.ServiceLogs(ctx, ws, "fashion", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "onnx_engine=onnxruntime") {
		t.Errorf("the model pod's log does not say ONNX Runtime serves the model:\n%s", logs)
	}
	if _, h, _ := s.call("DELETE", wsPath+"/services/fashion"+av, nil); h.Get("Azure-AsyncOperation") != "" {
		s.wait(h)
	}
}
