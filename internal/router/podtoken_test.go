package router

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/routing"
)

// The router sends the service's pod token to its pods, in place of any
// a client sent.
func TestTheRouterSendsItsPodToken(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", v)
	sr.PodToken = "pod-secret"
	r.table.setRouting("s", sr)
	pod := backend(t, "pod", func(w http.ResponseWriter, req *http.Request) {
		_, _ = w.Write([]byte(strings.Join(req.Header.Values(routing.PodTokenHeader), ",")))
	})
	setBackends(t, r, v, addr(pod))
	h := front(t, r)
	for _, forged := range []string{"", "forged"} {
		w := send(h, "POST", "/api/v1/service/iris/score", "{}", routing.PodTokenHeader, forged)
		if w.Code != http.StatusOK || w.Body.String() != "pod-secret" {
			t.Errorf("client token %q: the pod got %q (%d), want exactly the service's", forged, w.Body, w.Code)
		}
	}
}

// The router's /metrics, which name every service, want its token.
func TestMetricsWantTheirToken(t *testing.T) {
	r := New(Config{Log: testLog(t), MetricsToken: "m-token"})
	r.SetReady(true)
	h := front(t, r)
	for hdr, want := range map[string]int{"": 401, "Bearer nope": 401, "Bearer m-token": 200} {
		if w := send(h, "GET", "/metrics", "", "Authorization", hdr); w.Code != want {
			t.Errorf("GET /metrics with %q = %d, want %d", hdr, w.Code, want)
		}
	}
}
