package client

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubeml/kubeml/api"
)

func TestNewReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.crt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	tests := map[string]struct {
		cfg  Config
		want []string // substrings of the error; none: no error
	}{
		"an https server with no CA is fine":        {cfg: Config{Server: "https://example.com:8417"}},
		"an http server with a path prefix is fine": {cfg: Config{Server: "http://127.0.0.1:1/kubeml/"}},
		"no server is refused":                      {cfg: Config{}, want: []string{"no server given"}},
		"another scheme and a missing CA file are both reported": {
			cfg:  Config{Server: "ftp://x", CAFile: filepath.Join(dir, "missing.crt")},
			want: []string{"scheme must be http or https", "missing.crt"},
		},
		"a CA file and CA data without certificates are both reported": {
			cfg:  Config{Server: "https://x", CAFile: notPEM, CAData: []byte("junk")},
			want: []string{"holds no PEM certificate", "CA data holds no PEM certificate"},
		},
		"a URL without a host is refused":   {cfg: Config{Server: "https:///x"}, want: []string{"has no host"}},
		"a token with a newline is refused": {cfg: Config{Server: "https://x", Token: "a\nb"}, want: []string{"line break"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestHTTPSWithACAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Workspace{Name: "ws1"})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the system roots refuse
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemCert, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	c, err := New(Config{Server: srv.URL, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := c.GetWorkspace(ctx, testSub, testRG, "ws1")
	if err != nil || ws.Name != "ws1" {
		t.Fatalf("with the CA file: %v, %v", ws, err)
	}

	c, err = New(Config{Server: srv.URL, CAData: pemCert, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWorkspace(ctx, testSub, testRG, "ws1"); err != nil {
		t.Fatalf("with CA data on a given HTTP client: %v", err)
	}

	c, err = New(Config{Server: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWorkspace(ctx, testSub, testRG, "ws1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("with the system roots: err = %v, want a certificate error", err)
	}
}

func TestDoSendsTheTokenVersionAndJSONToTheServerOnly(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
		reply(w, 200, map[string]string{"ok": "yes"})
	}))
	defer srv.Close()
	c, err := New(Config{Server: srv.URL + "/prefix/", Token: "tok", UserAgent: "kubeml-test/1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out map[string]string
	if _, err := c.Do(ctx, "PUT", "/a b/c", url.Values{"x": {"1"}}, map[string]int{"n": 1}, &out); err != nil || out["ok"] != "yes" {
		t.Fatalf("Do: %v %v", out, err)
	}
	// An absolute URL of another host is sent to the configured server.
	if _, err := c.Do(ctx, "GET", "http://elsewhere.example/operations/1?api-version=2023-10-01", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "GET", "relative", nil, nil, nil); err == nil {
		t.Error("a path without a leading / was accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	r := got[0]
	checks := map[string][2]string{
		"path keeps the prefix and escapes": {r.URL.EscapedPath(), "/prefix/a%20b/c"},
		"api-version defaults":              {r.URL.Query().Get("api-version"), DefaultAPIVersion},
		"query is added":                    {r.URL.Query().Get("x"), "1"},
		"bearer token":                      {r.Header.Get("Authorization"), "Bearer tok"},
		"content type":                      {r.Header.Get("Content-Type"), "application/json"},
		"user agent":                        {r.Header.Get("User-Agent"), "kubeml-test/1"},
		"absolute URL path":                 {got[1].URL.Path, "/operations/1"},
		"absolute URL keeps its version":    {got[1].URL.Query().Get("api-version"), "2023-10-01"},
		"absolute URL goes to the server":   {got[1].Host, strings.TrimPrefix(srv.URL, "http://")},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q, want %q", name, c[0], c[1])
		}
	}
}

func TestMethodsRefuseIDsOfTheWrongKind(t *testing.T) {
	c, _ := New(Config{Server: "http://127.0.0.1:1"})
	ctx := context.Background()
	if _, err := c.GetCompute(ctx, api.WorkspaceID("s", "g", "w")); err == nil || !strings.Contains(err.Error(), "not a compute id") {
		t.Errorf("GetCompute with a workspace id: %v", err)
	}
	if _, err := c.GetManagedCluster(ctx, api.ComputeID("s", "g", "w", "c")); err == nil || !strings.Contains(err.Error(), "not a managed cluster id") {
		t.Errorf("GetManagedCluster with a compute id: %v", err)
	}
}
