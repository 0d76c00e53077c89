package router

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestRouter returns a ready router that logs at debug level to nowhere,
// with a clock that advances 250 ms per reading.
func newTestRouter() *Router {
	now := time.Unix(0, 0)
	r := New(Config{
		Version: "v1.2.3",
		Log:     slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     func() time.Time { now = now.Add(250 * time.Millisecond); return now },
	})
	r.SetReady(true)
	return r
}

func do(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

const (
	textType = "text/plain; charset=utf-8"
	jsonType = "application/json"
)

func TestRoutes(t *testing.T) {
	tests := map[string]struct {
		method, path string
		code         int
		ctype, body  string
	}{
		"healthz answers ok":           {"GET", "/healthz", 200, textType, "ok"},
		"healthz answers HEAD":         {"HEAD", "/healthz", 200, textType, ""},
		"readyz answers ok once ready": {"GET", "/readyz", 200, textType, "ok"},
		"healthz refuses POST": {"POST", "/healthz", 405, jsonType,
			`{"error":{"code":"MethodNotAllowed","message":"method \"POST\" is not allowed here; use GET"}}`},
		"scoring an undeployed service by POST is a 404": {"POST", "/api/v1/service/iris/score", 404, jsonType,
			`{"error":{"code":"ServiceNotFound","message":"no service named \"iris\" is deployed on this cluster"}}`},
		"scoring an undeployed service by GET is a 404": {"GET", "/api/v1/service/my-model-2/score", 404, jsonType,
			`{"error":{"code":"ServiceNotFound","message":"no service named \"my-model-2\" is deployed on this cluster"}}`},
		"scoring by DELETE is not allowed": {"DELETE", "/api/v1/service/iris/score", 405, jsonType,
			`{"error":{"code":"MethodNotAllowed","message":"method \"DELETE\" is not allowed here; use POST or GET"}}`},
		"an empty service name is invalid": {"POST", "/api/v1/service//score", 400, jsonType,
			`{"error":{"code":"InvalidServiceName","message":"the service name is empty or malformed"}}`},
		"an upper-case service name is invalid": {"POST", "/api/v1/service/Iris/score", 400, jsonType,
			`{"error":{"code":"InvalidServiceName","message":"service name \"Iris\" is invalid: it must be at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit"}}`},
		"a service name with an escaped slash is invalid": {"POST", "/api/v1/service/a%2Fb/score", 400, jsonType,
			`{"error":{"code":"InvalidServiceName","message":"service name \"a/b\" is invalid: it must be at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit"}}`},
		"a service name ending in a dash is invalid": {"POST", "/api/v1/service/iris-/score", 400, jsonType, ""},
		"a 64-character service name is invalid":     {"POST", "/api/v1/service/" + strings.Repeat("a", 64) + "/score", 400, jsonType, ""},
		"OIP inference on an unknown model is a 404": {"POST", "/v2/models/iris/infer", 404, jsonType,
			`{"error":"model \"iris\" not found"}`},
		"OIP metadata of an unknown model is a 404": {"GET", "/v2/models/iris", 404, jsonType,
			`{"error":"model \"iris\" not found"}`},
		"OIP inference on an unknown model version is a 404": {"POST", "/v2/models/iris/versions/3/infer", 404, jsonType,
			`{"error":"model \"iris\" not found"}`},
		"OIP readiness of an unknown model version is a 404": {"GET", "/v2/models/iris/versions/3/ready", 404, jsonType,
			`{"error":"model \"iris\" not found"}`},
		"OIP liveness answers 200":             {"GET", "/v2/health/live", 200, jsonType, `{"live":true}`},
		"OIP readiness answers 200 once ready": {"GET", "/v2/health/ready", 200, jsonType, `{"ready":true}`},
		"OIP server metadata reports the version": {"GET", "/v2", 200, jsonType,
			`{"extensions":[],"name":"kubeml-router","version":"v1.2.3"}`},
		"an unknown OIP path is a 404 in the OIP shape": {"GET", "/v2/nope", 404, jsonType,
			`{"error":"no Open Inference Protocol endpoint at \"/v2/nope\""}`},
		"an unknown path is a 404": {"GET", "/nope", 404, jsonType,
			`{"error":{"code":"NotFound","message":"no endpoint at \"/nope\""}}`},
		"the root is a 404": {"GET", "/", 404, jsonType,
			`{"error":{"code":"NotFound","message":"no endpoint at \"/\""}}`},
		"a score path with extra segments is a 404": {"POST", "/api/v1/service/iris/score/x", 404, jsonType,
			`{"error":{"code":"NotFound","message":"no endpoint at \"/api/v1/service/iris/score/x\""}}`},
	}
	h := front(t, newTestRouter())
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := do(h, tc.method, tc.path)
			if w.Code != tc.code {
				t.Errorf("status = %d, want %d", w.Code, tc.code)
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if got := strings.TrimSuffix(w.Body.String(), "\n"); tc.body != "" && got != tc.body {
				t.Errorf("body = %s\nwant   %s", got, tc.body)
			}
		})
	}
}

func TestReadinessBeforeRun(t *testing.T) {
	tests := map[string]struct {
		path, body string
	}{
		"readyz is 503 until ready":        {"/readyz", "not ready"},
		"OIP readiness is 503 until ready": {"/v2/health/ready", `{"ready":false}` + "\n"},
	}
	h := front(t, New(Config{}))
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := do(h, "GET", tc.path)
			if w.Code != http.StatusServiceUnavailable || w.Body.String() != tc.body {
				t.Errorf("GET %s = %d %q, want 503 %q", tc.path, w.Code, w.Body, tc.body)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	r := newTestRouter()
	h := front(t, r)
	for _, p := range []string{"/api/v1/service/a/score", "/api/v1/service/b/score", "/v2/models/secret-name/infer", "/healthz", "/x"} {
		do(h, "POST", p)
	}
	w := do(h, "GET", "/metrics")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	tests := map[string]string{
		"unknown services share one bounded label":   `kubeml_router_requests_total{code="404",service="unknown"} 3`,
		"a wrong method on a probe counts as router": `kubeml_router_requests_total{code="405",service="router"} 1`,
		"paths that name nothing count as none":      `kubeml_router_requests_total{code="404",service="none"} 1`,
		"durations come from the configured clock":   `kubeml_router_request_duration_seconds_sum{service="unknown"} 0.75`,
		"the histogram counts each request":          `kubeml_router_request_duration_seconds_count{service="unknown"} 3`,
		"the Go collector is registered":             `go_goroutines `,
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q:\n%s", want, body)
			}
		})
	}
	for _, leaked := range []string{`service="a"`, `secret-name`} {
		if strings.Contains(body, leaked) {
			t.Errorf("metrics contain request-supplied name %s", leaked)
		}
	}
}
