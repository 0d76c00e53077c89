package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/routing"
)

const xgbFixture = "../serving/xgboost/testdata/binary_logistic"

// xgbRows returns the fixture's first complete input rows and XGBoost's
// predictions for them.
func xgbRows(t *testing.T) (rows [][]float64, want []float64) {
	t.Helper()
	raw, err := os.ReadFile(xgbFixture + ".expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Inputs  [][]*float64 `json:"inputs"`
		Outputs []float64    `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
next:
	for i, in := range e.Inputs {
		var row []float64
		for _, v := range in {
			if v == nil {
				continue next
			}
			row = append(row, *v)
		}
		rows, want = append(rows, row), append(want, e.Outputs[i])
		if len(rows) == 4 {
			break
		}
	}
	return rows, want
}

// A real node runs the model pod: it loads the XGBoost fixture from its
// ConfigMap parts and answers /score on its pod IP with XGBoost's numbers;
// a model that does not load is reported with serve-model's own words.
func TestWebServiceServesOnALocalCluster(t *testing.T) {
	clustertest.RequireLocal(t, env)
	ctx := ctxFor(t, 5*time.Minute)
	p, err := env.Registry.Get("local")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Create(ctx, provider.Spec{Name: "models", AgentCount: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Delete(context.Background(), "models", nil) })
	_, cs, err := clustertest.Connect(ctx, p, "models")
	if err != nil {
		t.Fatal(err)
	}
	webServiceEnv(t, cs, "models")
	data, err := os.ReadFile(xgbFixture + ".json")
	if err != nil {
		t.Fatal(err)
	}
	service := func(name string, m deploy.ModelFile) deploy.WebService {
		return deploy.WebService{Name: name, Namespace: "models", Image: c.KubemlImage, ImagePullPolicy: corev1.PullNever,
			Versions: []deploy.Version{{Name: "v1", Model: m, Replicas: 1}}}
	}
	good := modelFile("binary_logistic.json", data, nil)
	good.Framework = "xgboost"
	ws, broken := service("cancer", good), service("broken", modelFile("notes.txt", []byte("not a model\n"), nil))
	ws.PodTokens = &deploy.PodTokens{Current: "tok-current", Next: "tok-next"}
	for _, s := range []deploy.WebService{ws, broken} {
		if err := deploy.ApplyWebService(ctx, cs, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := deploy.WaitWebService(ctxFor(t, 2*time.Minute), cs, ws, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("ready in %v", time.Since(start))

	pods, err := cs.CoreV1().Pods("models").List(ctx, metav1.ListOptions{LabelSelector: routing.ServiceLabel + "=cancer"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.PodIP == "" {
		t.Fatalf("pods of cancer: %v, %v", pods, err)
	}
	rows, want := xgbRows(t)
	body, _ := json.Marshal(map[string]any{"data": rows})
	url := "http://" + net.JoinHostPort(pods.Items[0].Status.PodIP, strconv.Itoa(routing.ModelPort)) + "/score"
	post := func(token string) *http.Response {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set(routing.PodTokenHeader, token)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Only the router, which has the service's pod token, may score.
	for token, code := range map[string]int{"": 401, "not-the-token": 401, "tok-next": 200} {
		if resp := post(token); resp.StatusCode != code {
			t.Errorf("POST %s with pod token %q: %d, want %d", url, token, resp.StatusCode, code)
		} else {
			resp.Body.Close()
		}
	}
	if sec, err := cs.CoreV1().Secrets(routing.Namespace).Get(ctx, routing.SecretName("cancer"), metav1.GetOptions{}); err != nil ||
		!strings.Contains(string(sec.Data[routing.SecretKey]), `"podToken":"tok-current"`) {
		t.Errorf("the routing Secret does not give the router the current pod token: %v", err)
	}
	resp := post("tok-current")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got [][]float64
	if resp.StatusCode != 200 || json.Unmarshal(raw, &got) != nil || len(got) != len(want) {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	for i := range want {
		if len(got[i]) != 1 || math.Abs(got[i][0]-want[i]) > 1e-5 {
			t.Errorf("row %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if logs, err := deploy.WebServiceLogs(ctx, cs, "models", "cancer", "v1", 20); err != nil || !strings.Contains(logs, "serving model") {
		t.Errorf("logs = %q, %v", logs, err)
	}

	err = deploy.WaitWebService(ctxFor(t, 2*time.Minute), cs, broken, nil)
	var de *deploy.DeployError
	if !errors.As(err, &de) || de.Reason != deploy.ReasonModelLoadFailed || !strings.HasPrefix(de.Message, "failed to load the model: cannot tell the format of model file notes.txt") {
		t.Errorf("broken model: %v, want ModelLoadFailed with serve-model's error", err)
	}
	t.Log(err)
	for _, s := range []string{"cancer", "broken"} {
		if err := deploy.DeleteWebService(ctx, cs, "models", s); err != nil {
			t.Error(err)
		}
	}
	if _, err := cs.CoreV1().Secrets("models").Get(ctx, "cancer-pod-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the pod token Secret after the delete: %v", err)
	}
}
