package router

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan string, 1)
	r := New(Config{Listen: "127.0.0.1:0", Ready: func(addr string) { addrs <- addr }})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("Run returned before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run never became ready")
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %d, want 200", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop after its context was cancelled")
	}
	if w := do(front(t, r), "GET", "/readyz"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz after Run = %d, want 503", w.Code)
	}
}

// Run stops however soon after its start the context is cancelled, even
// before its server has begun to serve.
func TestRunStopsWhenCancelledAtOnce(t *testing.T) {
	for i := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- New(Config{Listen: "127.0.0.1:0"}).Run(ctx) }()
		if i%2 == 1 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatalf("run %d: Run did not stop after its context was cancelled", i)
		}
	}
}

func TestRunReportsListenErrors(t *testing.T) {
	err := New(Config{Listen: "127.0.0.1:not-a-port"}).Run(context.Background())
	if err == nil {
		t.Fatal("Run on a bad address succeeded")
	}
}

// FuzzHandler checks that no method or path makes the handler panic or
// answer with a malformed JSON body. Its seeds run with go test.
func FuzzHandler(f *testing.F) {
	for _, seed := range []string{
		"", "/", "//", "*", "healthz", "/api", "/api/v1/service", "/api/v1/service/",
		"/api/v1/service//score", "/api/v1/service/%zz/score", "/api/v1/service/a%2Fb/score",
		"/v2/models", "/v2/models/", "/v2/models//infer", "/v2/models/%00/infer",
		"/v2/models/" + strings.Repeat("x", 5000), "/\xff\xfe", "/api/v1/service/\xff/score",
	} {
		f.Add("POST", seed)
		f.Add("", seed)
	}
	r := newTestRouter()
	f.Fuzz(func(t *testing.T, method, path string) {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		var rc fasthttp.RequestCtx
		rc.Init(&req, nil, nil)
		r.serve(&rc)
		code, ctype, body := rc.Response.StatusCode(), string(rc.Response.Header.ContentType()), rc.Response.Body()
		if code < 200 || code > 599 {
			t.Fatalf("%q %q: status %d", method, path, code)
		}
		if ctype == "application/json" && !json.Valid(body) {
			t.Fatalf("%q %q: invalid JSON %q", method, path, body)
		}
	})
}
