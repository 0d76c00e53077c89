package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/server"
)

// TestURLsTheServerHandsOutIgnoreTheHostHeader: a request sent with
// Host: evil.invalid gets operation and paging URLs on the server's own
// external URL, so no client is sent elsewhere with its token.
func TestURLsTheServerHandsOutIgnoreTheHostHeader(t *testing.T) {
	s := newTestServerWith(t, func(c *server.Config) { c.PageSize = 1 })
	ws := s.workspace("hostws")
	send := func(method, path string, body any) *http.Response {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(b))
		req.Host = "evil.invalid"
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(data))
		return resp
	}
	// Each URL is checked before anything follows it: nothing is ever
	// sent to the made-up host.
	mustBeOurs := func(urls ...string) {
		t.Helper()
		for _, u := range urls {
			if !strings.HasPrefix(u, s.url+"/") {
				t.Fatalf("handed out %q, want a URL under %s", u, s.url)
			}
		}
	}
	for _, name := range []string{"hostc1", "hostc2"} {
		resp := send("PUT", ws+"/computes/"+name+av, aks("DevTest", "simulated", 1, "Standard_D3_v2"))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d", name, resp.StatusCode)
		}
		mustBeOurs(resp.Header.Get("Azure-AsyncOperation"))
		s.wait(resp.Header)
	}
	var page api.ComputeList
	if err := json.NewDecoder(send("GET", ws+"/computes"+av, nil).Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	mustBeOurs(page.NextLink)
	for _, name := range []string{"hostc1", "hostc2"} { // the provider is shared: leave no cluster
		resp := send("DELETE", ws+"/computes/"+name+av+"&underlyingResourceAction=Delete", nil)
		mustBeOurs(resp.Header.Get("Azure-AsyncOperation"), resp.Header.Get("Location"))
		if op := s.wait(resp.Header); op.Status != api.StatusSucceeded {
			t.Fatalf("delete %s: %+v", name, op)
		}
	}
}
