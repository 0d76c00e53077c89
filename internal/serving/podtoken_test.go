package serving

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/routing"
)

func writeTokens(t *testing.T, dir, current, next string) {
	t.Helper()
	for name, v := range map[string]string{"current": current, "next": next} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Only requests carrying the router's pod token are scored; the kubelet's
// probes need none; a rotation makes the old next token the current one
// and the old current one worthless.
func TestModelPodsAnswerOnlyTheRouter(t *testing.T) {
	dir := t.TempDir()
	writeTokens(t, dir, "tok-1", "tok-2")
	tokens, err := LoadPodTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(newLinear(false), Options{PodTokens: tokens})
	do := func(method, path, token string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"data":[[1,2,3,4]]}`))
		if token != "" {
			req.Header.Set(routing.PodTokenHeader, token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	cases := []struct {
		method, path, token string
		want                int
	}{
		{"POST", "/score", "", http.StatusUnauthorized},
		{"POST", "/score", "tok-0", http.StatusUnauthorized},
		{"GET", "/swagger.json", "", http.StatusUnauthorized},
		{"POST", "/v2/models/model/infer", "", http.StatusUnauthorized},
		{"POST", "/score", "tok-1", http.StatusOK},
		{"POST", "/score", "tok-2", http.StatusOK},
		{"GET", "/", "", http.StatusOK},
		{"GET", "/v2/health/ready", "", http.StatusOK},
	}
	for _, c := range cases {
		if got := do(c.method, c.path, c.token); got != c.want {
			t.Errorf("%s %s with token %q = %d, want %d", c.method, c.path, c.token, got, c.want)
		}
	}
	writeTokens(t, dir, "tok-2", "tok-3") // a rotation, as the kubelet updates the Secret
	if err := tokens.load(); err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]int{"tok-1": 401, "tok-2": 200, "tok-3": 200} {
		if got := do("POST", "/score", token); got != want {
			t.Errorf("after the rotation, token %s = %d, want %d", token, got, want)
		}
	}
	writeTokens(t, dir, "", "")
	if err := tokens.load(); err == nil || !tokens.Allow("tok-2") {
		t.Errorf("an empty Secret must keep the tokens the pod had: %v", err)
	}
}
