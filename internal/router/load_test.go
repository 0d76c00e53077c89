package router

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// split sends n requests (4 at a time) and returns the share each version
// served, in percent.
func split(t *testing.T, h http.Handler, n int) map[string]float64 {
	t.Helper()
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for range work {
				w := send(h, "POST", "/api/v1/service/iris/score", `{"data":[[1,2]]}`)
				mu.Lock()
				if w.Code != http.StatusOK {
					t.Errorf("status %d: %s", w.Code, w.Body)
				}
				counts[w.Header().Get(VersionHeader)]++
				mu.Unlock()
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	out := map[string]float64{}
	for v, c := range counts {
		out[v] = 100 * float64(c) / float64(n)
	}
	return out
}

func TestTrafficSplit(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue, green := testVersion("iris", "blue", 0, true), testVersion("iris", "green", 20, false)
	r.table.setRouting("s", testRouting("iris", blue, green))
	setBackends(t, r, blue, addr(backend(t, "blue", nil)))
	setBackends(t, r, green, addr(backend(t, "green", nil)))
	h := front(t, r)
	near := func(got map[string]float64, v string, want, tol float64) {
		t.Helper()
		if math.Abs(got[v]-want) > tol {
			t.Errorf("%s served %.2f%%, want %v%% ± %v: %v", v, got[v], want, tol, got)
		}
	}

	got := split(t, h, 10000)
	near(got, "blue", 80, 2)
	near(got, "green", 20, 2)

	// A new routing applies to the very next request.
	green.TrafficPercentile = 70
	r.table.setRouting("s", testRouting("iris", blue, green))
	got = split(t, h, 2000)
	near(got, "blue", 30, 4)
	near(got, "green", 70, 4)

	// A version without ready endpoints is skipped.
	setBackends(t, r, green)
	got = split(t, h, 200)
	near(got, "blue", 100, 0)
}

// With one pod at concurrency 1, a second request queues; it is served
// when the first ends, or gets 503 with Retry-After when the wait passes.
func TestQueue(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", blue)
	sr.MaxConcurrentRequestsPerContainer, sr.MaxQueueWaitMs = 1, 300
	r.table.setRouting("s", sr)
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	slow := backend(t, "slow", func(w http.ResponseWriter, req *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "done")
	})
	setBackends(t, r, blue, addr(slow))
	h := front(t, r)
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- send(h, "POST", "/api/v1/service/iris/score", "{}") }()
	<-entered

	start := time.Now()
	w := send(h, "POST", "/api/v1/service/iris/score", "{}")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" ||
		!strings.Contains(w.Body.String(), `"code":"ServiceBusy"`) || !strings.Contains(w.Body.String(), "is busy") {
		t.Fatalf("queued request = %d %v %s, want 503 busy with Retry-After: 1", w.Code, w.Header(), w.Body)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("503 after %s, before the queue wait of 300ms", d)
	}

	second := make(chan *httptest.ResponseRecorder, 1)
	go func() { second <- send(h, "POST", "/api/v1/service/iris/score", "{}") }()
	eventually(t, 5*time.Second, "the second request queues", func() bool {
		_, q := r.table.lookup("iris").versions[0].pool.load()
		return q == 1
	})
	release <- struct{}{} // the first ends; its slot goes to the queued one
	<-entered
	release <- struct{}{}
	for _, ch := range []chan *httptest.ResponseRecorder{first, second} {
		if w := <-ch; w.Code != http.StatusOK || w.Body.String() != "done" {
			t.Errorf("request = %d %s, want 200 done", w.Code, w.Body)
		}
	}
	close(release)

	metrics := send(h, "GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`kubeml_router_errors_total{code="503",service="iris",version="blue"} 1`,
		`kubeml_router_version_requests_total{code="200",service="iris",version="blue"} 2`,
		`kubeml_router_requests_total{code="503",service="iris"} 1`,
		`kubeml_router_inflight_requests{service="iris",version="blue"} 0`,
		`kubeml_router_queued_requests{service="iris",version="blue"} 0`,
		`kubeml_router_version_request_duration_seconds_count{service="iris",version="blue"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A request for a version without endpoints waits for one (a cold start)
// up to the scoring timeout.
func TestColdStart(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", blue))
	h := front(t, r)
	done := make(chan *httptest.ResponseRecorder, 1)
	start := time.Now()
	go func() { done <- send(h, "POST", "/api/v1/service/iris/score", "{}") }()
	eventually(t, 5*time.Second, "the request waits", func() bool {
		_, q := r.table.lookup("iris").versions[0].pool.load()
		return q == 1
	})
	time.Sleep(100 * time.Millisecond)
	setBackends(t, r, blue, addr(backend(t, "blue", nil)))
	w := <-done
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "blue") {
		t.Fatalf("held request = %d %s, want 200 from blue", w.Code, w.Body)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("answered after %s, before any endpoint existed", d)
	}

	// Without endpoints for the whole scoring timeout: 504.
	sr := testRouting("iris", blue)
	sr.ScoringTimeoutMs = 200
	r.table.setRouting("s", sr)
	setBackends(t, r, blue)
	if w := send(h, "POST", "/v2/models/iris/infer", "{}"); w.Code != http.StatusGatewayTimeout ||
		!strings.HasPrefix(w.Body.String(), `{"error":"service \"iris\" did not answer`) {
		t.Fatalf("request without endpoints = %d %s, want 504 in the OIP shape", w.Code, w.Body)
	}
}
