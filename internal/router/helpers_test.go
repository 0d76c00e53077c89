package router

import (
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/routing"
)

// testNS is the namespace of the model Services in tests.
const testNS = "models"

// newProxyRouter returns a ready router without a cluster, with a seeded
// random source, logging to the test at warning level.
func newProxyRouter(t testing.TB, now func() time.Time) *Router {
	t.Helper()
	r := New(Config{
		Log:  testLog(t),
		Now:  now,
		Rand: rand.NewPCG(1, 2),
	})
	r.SetReady(true)
	return r
}

// testLog logs warnings and errors to the test.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// version is a version whose pods sit behind the Service "<svc>-<name>".
func testVersion(svc, name string, pct float64, def bool) routing.Version {
	return routing.Version{
		Name: name, Deployment: svc + "-" + name, Service: svc + "-" + name,
		TrafficPercentile: pct, IsDefault: def, Port: routing.ModelPort,
	}
}

// testRouting is an open service with the given versions.
func testRouting(name string, versions ...routing.Version) routing.Service {
	return routing.Service{
		Name: name, Namespace: testNS, ScoringTimeoutMs: 5000,
		MaxConcurrentRequestsPerContainer: 8, MaxQueueWaitMs: 1000, Versions: versions,
	}
}

// setBackends makes the backends the ready endpoints of a version's
// Service, one fake EndpointSlice each (the way tests inject loopback
// endpoints).
func setBackends(t testing.TB, r *Router, v routing.Version, backends ...string) {
	t.Helper()
	setBackendsIn(t, r, testNS, v, backends...)
}

// setBackendsIn is setBackends for a version in namespace ns.
func setBackendsIn(t testing.TB, r *Router, ns string, v routing.Version, backends ...string) {
	t.Helper()
	key := ns + "/" + v.Service
	r.table.mu.Lock()
	delete(r.table.slices, key)
	r.table.mu.Unlock()
	for i, addr := range backends {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		r.table.setSlice(key, "test-"+strconv.Itoa(i), sliceInfo{addrs: []string{host}, ports: []int32{int32(p)}})
	}
	if len(backends) == 0 {
		r.table.deleteSlice(key, "none")
	}
}

// backend is a loopback model pod that answers with its name.
func backend(t testing.TB, name string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, req *http.Request) {
			_, _ = io.Copy(io.Discard, req.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"pod":"`+name+`"}`)
		}
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func addr(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// listen serves r on a loopback listener with the server Run uses and
// returns its base URL.
func listen(t testing.TB, r *Router) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := r.server()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// front serves r as listen does and returns a handler that sends each
// request it gets to that server over a real connection and records the
// answer, so tests can use httptest's requests and recorders.
func front(t testing.TB, r *Router) http.Handler {
	base := listen(t, r)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}}
	t.Cleanup(client.CloseIdleConnections)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		out, err := http.NewRequest(req.Method, base+req.URL.RequestURI(), req.Body)
		if err != nil {
			t.Error(err)
			return
		}
		out.Header = req.Header.Clone()
		out.ContentLength = req.ContentLength
		if req.Body == http.NoBody {
			out.Body, out.ContentLength = nil, 0
		}
		resp, err := client.Do(out)
		if err != nil {
			t.Errorf("%s %s: %v", req.Method, req.URL, err)
			return
		}
		defer resp.Body.Close()
		maps.Copy(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
}

// roundTrip sends req with http.DefaultClient and returns the answer and
// its whole body; a request that gets no answer fails the test.
func roundTrip(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

// send makes one request through the router.
func send(h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
	}
}
