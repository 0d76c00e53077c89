package router

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/routing"
)

// seen is what a backend saw of a request.
type seen struct {
	method, path, query, body, auth, version string
}

// recordingBackend answers 201 with a header and its name, and reports
// each request it gets.
func recordingBackend(t *testing.T, name string) (string, <-chan seen) {
	ch := make(chan seen, 16)
	s := backend(t, name, func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		ch <- seen{req.Method, req.URL.Path, req.URL.RawQuery, string(b), req.Header.Get("Authorization"), req.Header.Get(VersionHeader)}
		w.Header().Set("X-Model", name)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, name)
	})
	return addr(s), ch
}

func TestProxyRoutes(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue, green := testVersion("iris", "blue", 0, true), testVersion("iris", "green", 0, false)
	r.table.setRouting("s", testRouting("iris", blue, green))
	blueAddr, blueSeen := recordingBackend(t, "blue")
	greenAddr, greenSeen := recordingBackend(t, "green")
	setBackends(t, r, blue, blueAddr)
	setBackends(t, r, green, greenAddr)
	h := front(t, r)

	tests := map[string]struct {
		method, target, body string
		hdr                  []string
		want                 seen
		pod                  string
	}{
		"scoring goes to the pod's /score": {"POST", "/api/v1/service/iris/score?x=1", `{"data":[[1]]}`, nil,
			seen{"POST", "/score", "x=1", `{"data":[[1]]}`, "", "blue"}, "blue"},
		"scoring by GET is forwarded too": {"GET", "/api/v1/service/iris/score", "", nil,
			seen{method: "GET", path: "/score", version: "blue"}, "blue"},
		"swagger goes to the pod's /swagger.json": {"GET", "/api/v1/service/iris/swagger.json", "", nil,
			seen{method: "GET", path: "/swagger.json", version: "blue"}, "blue"},
		"the version header pins a version": {"POST", "/api/v1/service/iris/score", "{}", []string{VersionHeader, "green"},
			seen{"POST", "/score", "", "{}", "", "green"}, "green"},
		"OIP inference keeps its path": {"POST", "/v2/models/iris/infer", `{"inputs":[]}`, nil,
			seen{"POST", "/v2/models/iris/infer", "", `{"inputs":[]}`, "", "blue"}, "blue"},
		"OIP model metadata": {"GET", "/v2/models/iris", "", nil,
			seen{method: "GET", path: "/v2/models/iris", version: "blue"}, "blue"},
		"OIP model readiness": {"GET", "/v2/models/iris/ready", "", nil,
			seen{method: "GET", path: "/v2/models/iris/ready", version: "blue"}, "blue"},
		"an OIP version path pins that version": {"POST", "/v2/models/iris/versions/green/infer", "{}", nil,
			seen{"POST", "/v2/models/iris/versions/green/infer", "", "{}", "", "green"}, "green"},
		"an OIP version's readiness": {"GET", "/v2/models/iris/versions/green/ready", "", nil,
			seen{method: "GET", path: "/v2/models/iris/versions/green/ready", version: "green"}, "green"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := send(h, tc.method, tc.target, tc.body, tc.hdr...)
			if w.Code != http.StatusCreated || w.Body.String() != tc.pod {
				t.Fatalf("%s %s = %d %q, want 201 %q", tc.method, tc.target, w.Code, w.Body, tc.pod)
			}
			if got := w.Header().Get(VersionHeader); got != tc.pod {
				t.Errorf("%s = %q, want %q", VersionHeader, got, tc.pod)
			}
			if got := w.Header().Get("X-Model"); got != tc.pod {
				t.Errorf("the pod's header X-Model = %q, want %q", got, tc.pod)
			}
			ch := blueSeen
			if tc.pod == "green" {
				ch = greenSeen
			}
			if got := <-ch; got != tc.want {
				t.Errorf("pod saw %+v\nwant     %+v", got, tc.want)
			}
		})
	}
}

func TestProxyErrors(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", blue))
	a, _ := recordingBackend(t, "blue")
	setBackends(t, r, blue, a)
	bad := testRouting("bad", testVersion("bad", "a", 60, false), testVersion("bad", "b", 60, false))
	r.table.setRouting("bad", bad)
	h := front(t, r)

	tests := map[string]struct {
		method, target string
		hdr            []string
		code           int
		body           string
	}{
		"an unknown version is a 404": {"POST", "/api/v1/service/iris/score", []string{VersionHeader, "red"}, 404,
			`{"error":{"code":"VersionNotFound","message":"service \"iris\" has no version \"red\""}}`},
		"an unknown OIP version is a 404 in the OIP shape": {"POST", "/v2/models/iris/versions/red/infer", nil, 404,
			`{"error":"service \"iris\" has no version \"red\""}`},
		"an unknown OIP path of a known model is a 404": {"GET", "/v2/models/iris/nope", nil, 404,
			`{"error":"no Open Inference Protocol endpoint at \"/v2/models/iris/nope\""}`},
		"OIP inference by GET is not allowed": {"GET", "/v2/models/iris/infer", nil, 405, ""},
		"swagger by POST is not allowed":      {"POST", "/api/v1/service/iris/swagger.json", nil, 405, ""},
		"a header contradicting the path is refused": {"POST", "/v2/models/iris/versions/blue/infer", []string{VersionHeader, "green"}, 400,
			`{"error":"the path names version \"blue\" but the X-Kubeml-Version header names \"green\""}`},
		"bad weights are refused, not guessed": {"POST", "/api/v1/service/bad/score", nil, 500,
			`{"error":{"code":"InvalidRouting","message":"service \"bad\" cannot be routed: no version is the default"}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := send(h, tc.method, tc.target, "", tc.hdr...)
			if w.Code != tc.code {
				t.Errorf("status = %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if got := strings.TrimSpace(w.Body.String()); tc.body != "" && got != tc.body {
				t.Errorf("body = %s\nwant   %s", got, tc.body)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Errorf("body is not JSON: %q", w.Body)
			}
		})
	}
}

// A version with bad weights can still be reached by pinning it.
func TestPinnedVersionIgnoresBadWeights(t *testing.T) {
	r := newProxyRouter(t, nil)
	a := testVersion("bad", "a", 60, false)
	r.table.setRouting("bad", testRouting("bad", a, testVersion("bad", "b", 60, false)))
	addrA, _ := recordingBackend(t, "a")
	setBackends(t, r, a, addrA)
	if w := send(front(t, r), "POST", "/api/v1/service/bad/score", "{}", VersionHeader, "a"); w.Code != http.StatusCreated {
		t.Fatalf("pinned request = %d %s", w.Code, w.Body)
	}
}

// A failed connection is retried once on another pod when the body was
// buffered; a streamed body gets 502.
func TestRetryOnDialFailure(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", blue))
	dead := backend(t, "dead", nil)
	deadAddr := addr(dead)
	dead.Close()
	good, _ := recordingBackend(t, "good")
	setBackends(t, r, blue, deadAddr, good)
	var logged bytes.Buffer
	r.cfg.Log = slog.New(slog.NewTextHandler(&logged, nil))
	h := front(t, r)
	for i := range 6 {
		if w := send(h, "POST", "/api/v1/service/iris/score", `{"data":[]}`); w.Code != http.StatusCreated {
			t.Fatalf("request %d = %d %s, want 201 after a retry", i, w.Code, w.Body)
		}
	}
	if n := strings.Count(logged.String(), "retrying on another"); n < 2 {
		t.Errorf("%d retries in 6 requests over a dead and a live pod; want about 3:\n%s", n, logged.String())
	}

	setBackends(t, r, blue, deadAddr)
	req := strings.NewReader(`{"data":[]}`)
	w := sendReader(h, "POST", "/api/v1/service/iris/score", io.NopCloser(req), -1) // chunked: streamed
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), `"code":"BadGateway"`) {
		t.Fatalf("streamed request to a dead pod = %d %s, want 502 BadGateway", w.Code, w.Body)
	}
}

func sendReader(h http.Handler, method, target string, body io.Reader, length int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	req.ContentLength = length
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// Timeouts: a pod slower than the scoring timeout gets the client a 504.
func TestScoringTimeout(t *testing.T) {
	r := newProxyRouter(t, nil)
	blue := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", blue)
	sr.ScoringTimeoutMs = 150
	r.table.setRouting("s", sr)
	release := make(chan struct{})
	defer close(release)
	slow := backend(t, "slow", func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	})
	setBackends(t, r, blue, addr(slow))
	start := time.Now()
	w := send(front(t, r), "POST", "/api/v1/service/iris/score", "{}")
	if w.Code != http.StatusGatewayTimeout || !strings.Contains(w.Body.String(), "within its scoring timeout of 150ms") {
		t.Fatalf("slow pod = %d %s, want 504", w.Code, w.Body)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Errorf("the 504 came after %s, want about 150ms", d)
	}
	if got := w.Header().Get(VersionHeader); got != "blue" {
		t.Errorf("%s on the 504 = %q, want blue", VersionHeader, got)
	}
}

// TestProxyHeaders checks what crosses the router in both directions:
// end-to-end headers (repeated ones too) and the pod's own answer
// headers pass; the key, hop-by-hop headers, headers the Connection
// header names and Expect do not; no Content-Type is made up.
func TestProxyHeaders(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", v))
	got := make(chan http.Header, 1)
	pod := backend(t, "pod", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body)
		got <- req.Header.Clone()
		w.Header()["X-Multi"] = []string{"a", "b"}
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header()["Content-Type"] = nil // no Content-Type, and none sniffed
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok")
	})
	setBackends(t, r, v, addr(pod))
	req, _ := http.NewRequest("POST", listen(t, r)+"/api/v1/service/iris/score", strings.NewReader(`{"data":[[1]]}`))
	req.Header["X-Trace"] = []string{"1", "2"}
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Connection", "X-Secret")
	req.Header.Set("X-Secret", "s")
	req.Header.Set("Te", "trailers")
	resp, body := roundTrip(t, req)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("= %d %q, want 200 ok", resp.StatusCode, body)
	}
	w := struct{ hdr http.Header }{resp.Header}
	h := <-got
	if !slices.Equal(h["X-Trace"], []string{"1", "2"}) {
		t.Errorf("pod got X-Trace %q, want [1 2]", h["X-Trace"])
	}
	for _, k := range []string{"Authorization", "X-Secret", "Te", "Connection"} {
		if v, ok := h[k]; ok {
			t.Errorf("pod got %s: %q", k, v)
		}
	}
	if !slices.Equal(w.hdr["X-Multi"], []string{"a", "b"}) {
		t.Errorf("client got X-Multi %q, want [a b]", w.hdr["X-Multi"])
	}
	if v := w.hdr.Get("Keep-Alive"); v != "" {
		t.Errorf("client got Keep-Alive %q", v)
	}
	if v := w.hdr.Get("Content-Type"); v != "" {
		t.Errorf("client got Content-Type %q, the pod sent none", v)
	}
}

// TestProxyBodies sends bodies of every size class through the router:
// empty, pooled, buffered up to maxBuffered, and streamed beyond it or
// when chunked. The pod must get each body whole, with the query and the
// client's headers, and the client the pod's answer.
func TestProxyBodies(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", v))
	pod := backend(t, "pod", func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(b)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%d %x %s %s %s", len(b), sum[:4], req.URL.RawQuery, req.Header.Get("X-Trace"), req.Header.Get(VersionHeader))
	})
	setBackends(t, r, v, addr(pod))
	base := listen(t, r)
	tests := map[string]struct {
		size    int
		chunked bool
	}{
		"empty":                       {0, false},
		"small":                       {100, false},
		"larger than a pooled buffer": {pooledBody + 1, false},
		"the largest buffered":        {maxBuffered, false},
		"streamed for its length":     {maxBuffered + 1, false},
		"streamed when chunked":       {3 << 20, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			var body io.Reader = bytes.NewReader(data)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequest("POST", base+"/api/v1/service/iris/score?q=1", body)
			req.Header.Set("X-Trace", "t")
			resp, got := roundTrip(t, req)
			sum := sha256.Sum256(data)
			want := fmt.Sprintf("%d %x q=1 t blue", tc.size, sum[:4])
			if resp.StatusCode != http.StatusOK || got != want {
				t.Fatalf("= %d %q, want 200 %q", resp.StatusCode, got, want)
			}
			if resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get(VersionHeader) != "blue" {
				t.Errorf("answer headers %v", resp.Header)
			}
		})
	}
}

// An answer larger than maxAnswer is not passed on: the client gets a 502
// that says why.
func TestAnswerTooLarge(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", v))
	chunk := make([]byte, 1<<20)
	pod := backend(t, "pod", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		for range maxAnswer>>20 + 1 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	setBackends(t, r, v, addr(pod))
	h := front(t, r)
	for _, body := range []string{"{}", strings.Repeat("x", maxBuffered+1)} { // buffered, streamed
		w := send(h, "POST", "/api/v1/service/iris/score", body)
		if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), `"code":"AnswerTooLarge"`) {
			t.Errorf("%d-byte request: = %d %.200s, want 502 AnswerTooLarge", len(body), w.Code, w.Body)
		}
	}
}

// A request refused before its body was read (401 here) gets its answer
// and does not spoil its kept-alive connection: a body of up to
// maxBuffered bytes is read off first; a larger one may close the
// connection (the client may then see a reset instead of the 401), but is
// never read as the next request.
func TestRefusedBodyLeavesConnectionClean(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", v)
	sr.AuthEnabled, sr.KeyHashes = true, []string{routing.HashKey("k")}
	r.table.setRouting("s", sr)
	a, _ := recordingBackend(t, "blue")
	setBackends(t, r, v, a)
	base := listen(t, r)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	var conns []bool // per request: whether it reused a connection
	for i, tc := range []struct {
		key  string
		size int
		code int // 0: an answer or a reset
	}{
		{"nope", 100 << 10, 401},
		{"k", 10, 201},
		{"nope", maxBuffered, 401},
		{"k", 10, 201},
		{"nope", maxBuffered + 1, 0}, // streamed, unread
		{"k", 10, 201},
		{"nope", 3 << 20, 0},
		{"k", 10, 201},
	} {
		req, _ := http.NewRequest("POST", base+"/api/v1/service/iris/score", bytes.NewReader(bytes.Repeat([]byte("x"), tc.size)))
		req.Header.Set("Authorization", "Bearer "+tc.key)
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { conns = append(conns, info.Reused) }}
		resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		if err != nil {
			if tc.code == 0 {
				continue
			}
			t.Fatalf("request %d (%d bytes): %v", i, tc.size, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code && (tc.code != 0 || resp.StatusCode != http.StatusUnauthorized) {
			t.Fatalf("request %d (%d bytes) = %d, want %d", i, tc.size, resp.StatusCode, tc.code)
		}
	}
	// The requests after refused bodies of up to maxBuffered bytes kept
	// their connection.
	for _, i := range []int{1, 2, 3} {
		if !conns[i] {
			t.Errorf("request %d opened a new connection after a refused body it should have read off; reused per request: %v", i, conns)
		}
	}
}

// A pod that answers before reading a large streamed body (413 here) gets
// the client its answer or a 502, and the router lives on: the body is
// never read after the attempt ends, and the connection it was left on is
// closed rather than reused.
func TestPodAnswersBeforeTheBody(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", v))
	pod := backend(t, "pod", func(w http.ResponseWriter, req *http.Request) {
		if req.ContentLength != 0 {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	setBackends(t, r, v, addr(pod))
	base := listen(t, r)
	big := bytes.Repeat([]byte("x"), 8<<20)
	for i := range 4 { // the pod lingers 0.5 s on each
		var body io.Reader = bytes.NewReader(big)
		if i%2 == 1 {
			body = io.MultiReader(body) // chunked
		}
		resp, err := http.Post(base+"/api/v1/service/iris/score", "application/json", body)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("request %d = %d, want 413 or 502", i, resp.StatusCode)
			}
			if !resp.Close {
				t.Errorf("request %d: the answer left the connection open with the body unread", i)
			}
		}
		req, _ := http.NewRequest("POST", base+"/api/v1/service/iris/score", nil)
		resp, got := roundTrip(t, req)
		if resp.StatusCode != http.StatusOK || got != "ok" {
			t.Fatalf("after request %d: = %d %q, want 200 ok", i, resp.StatusCode, got)
		}
	}
}

// Header names are matched whatever their case: a pod that writes them in
// lower case (as Python servers do) gets no hop-by-hop header and no
// second Date through.
func TestLowerCasePodHeaders(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", v))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"+
						"keep-alive: timeout=5\r\nconnection: keep-alive\r\nx-model: lower\r\ncontent-length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	setBackends(t, r, v, ln.Addr().String())
	req, _ := http.NewRequest("POST", listen(t, r)+"/api/v1/service/iris/score", strings.NewReader("{}"))
	resp, got := roundTrip(t, req)
	if resp.StatusCode != http.StatusOK || got != "ok" {
		t.Fatalf("= %d %q, want 200 ok", resp.StatusCode, got)
	}
	h := resp.Header
	if len(h["Date"]) != 1 || h.Get("Keep-Alive") != "" || h.Get("X-Model") != "lower" || h.Get("Content-Type") != "text/plain" {
		t.Errorf("client got headers %v, want one Date, no Keep-Alive, the pod's X-Model and Content-Type", h)
	}
}

// A request body over serve-model's 64 MiB limit gets 413 from the router,
// fixed-length or chunked, rather than the 502 of a pod that answered 413
// and closed the connection while the router was still sending.
func TestRequestTooLarge(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	r.table.setRouting("s", testRouting("iris", v))
	var most atomic.Int64                                                     // the largest body a pod received
	pod := backend(t, "pod", func(w http.ResponseWriter, req *http.Request) { // reads all it gets, unlike serve-model
		n, _ := io.Copy(io.Discard, req.Body)
		if n > most.Load() {
			most.Store(n)
		}
		fmt.Fprint(w, "ok")
	})
	setBackends(t, r, v, addr(pod))
	base := listen(t, r)
	data := make([]byte, maxRequest+1)
	for name, chunked := range map[string]bool{"fixed length": false, "chunked": true} {
		t.Run(name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(data)
			if chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequest("POST", base+"/api/v1/service/iris/score", body)
			resp, got := roundTrip(t, req)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(got, `"code":"RequestTooLarge"`) {
				t.Errorf("= %d %.200s, want 413 RequestTooLarge", resp.StatusCode, got)
			}
		})
	}
	if m := most.Load(); m > maxRequest {
		t.Errorf("a pod received %d bytes of an oversized body, over the router's %d", m, maxRequest)
	}
	// The largest allowed body still goes through.
	req, _ := http.NewRequest("POST", base+"/api/v1/service/iris/score", bytes.NewReader(data[:maxRequest]))
	if resp, got := roundTrip(t, req); resp.StatusCode != http.StatusOK || got != "ok" {
		t.Errorf("a body of exactly %d bytes = %d %.200s", maxRequest, resp.StatusCode, got)
	}
}
