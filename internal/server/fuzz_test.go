package server_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/simulated"
	"github.com/kubeml/kubeml/internal/server"
)

// FuzzPutCompute sends arbitrary names and bodies: the answer is never a
// 5xx and the server never panics. The provider is the real simulated one
// without binaries, so an accepted create fails in its operation instead
// of making clusters.
func FuzzPutCompute(f *testing.F) {
	dir := f.TempDir()
	noBins := func() (kube.Bins, error) { return kube.Bins{}, errors.New("no binaries in the fuzz test") }
	reg := provider.NewRegistry(simulated.New(filepath.Join(dir, "clusters"), noBins))
	cfg := server.Defaults(dir)
	cfg.Locations = map[string]string{"simulated": "simulated"}
	srv, err := server.New(cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	tok, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	token := strings.TrimSpace(string(tok))
	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("PUT", wsPath("fuzzws")+av, []byte(`{"location":"simulated"}`)); rec.Code != 201 {
		f.Fatalf("workspace: %d %s", rec.Code, rec.Body)
	}
	for _, seed := range []struct{ name, body string }{
		{"abc", `{"properties":{"computeType":"AKS"}}`},
		{"abc", `{"properties":{"computeType":"AKS","computeLocation":"simulated","properties":{"agentCount":-1,"agentVmSize":"x"}}}`},
		{"abc", `{"properties":{"properties":{"sslConfiguration":{"status":"Enabled","cert":"x"},"aksNetworkingConfiguration":{"serviceCidr":"300.1.1.1/99"}}}}`},
		{"abc", `{"properties":{"resourceId":"/subscriptions/x/resourceGroups/y/providers/Microsoft.ContainerService/managedClusters/"}}`},
		{"abc", `null`}, {"abc", `[]`}, {"abc", `{"properties":null}`}, {"abc", `{"properties":{"properties":{"agentCount":1e99}}}`},
		{"a/../../b", `{}`}, {"%00", `{}`}, {"x", "\xff\xfe"}, {strings.Repeat("a", 300), `{}`},
	} {
		f.Add(seed.name, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		path := wsPath("fuzzws") + "/computes/" + url.PathEscape(name) + av
		for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodDelete} {
			rec := do(m, path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %q %q: %d %s", m, name, body, rec.Code, rec.Body)
			}
		}
	})
}
