package router

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/routing"
)

func TestAuth(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r := newProxyRouter(t, func() time.Time { return now })
	tokenKey := []byte("0123456789abcdef0123456789abcdef")
	add := func(name string, keys, tokens bool) {
		v := testVersion(name, "blue", 0, true)
		sr := testRouting(name, v)
		sr.AuthEnabled, sr.TokenAuthEnabled = keys, tokens
		sr.KeyHashes = []string{routing.HashKey("primary-key"), strings.ToUpper(routing.HashKey("secondary-key"))}
		sr.TokenKey = base64.StdEncoding.EncodeToString(tokenKey)
		r.table.setRouting(name, sr)
		a, _ := recordingBackend(t, name)
		setBackends(t, r, v, a)
	}
	add("keyed", true, false)
	add("tokened", false, true)
	add("both", true, true)
	add("open", false, false)
	token := func(svc string, exp time.Time) string {
		return "Bearer " + routing.SignToken(tokenKey, testNS, svc, exp)
	}
	later := now.Add(time.Hour)

	const (
		missing = `{"error":{"code":"Unauthorized","message":"this service requires authentication: send Authorization: Bearer \u003ckey or token\u003e"}}`
		invalid = `{"error":{"code":"Unauthorized","message":"the key or token is not valid for this service"}}`
	)
	tests := map[string]struct {
		target, auth string
		code         int
		body         string
	}{
		"no key is refused":                   {"/api/v1/service/keyed/score", "", 401, missing},
		"a wrong key is refused":              {"/api/v1/service/keyed/score", "Bearer nope", 401, invalid},
		"a key without the Bearer scheme":     {"/api/v1/service/keyed/score", "primary-key", 401, missing},
		"an empty bearer is refused":          {"/api/v1/service/keyed/score", "Bearer   ", 401, missing},
		"the primary key is accepted":         {"/api/v1/service/keyed/score", "Bearer primary-key", 201, ""},
		"the secondary key is accepted":       {"/api/v1/service/keyed/score", "bearer secondary-key", 201, ""},
		"a token is not a key":                {"/api/v1/service/keyed/score", token("keyed", later), 401, invalid},
		"a valid token is accepted":           {"/api/v1/service/tokened/score", token("tokened", later), 201, ""},
		"a key is not a token":                {"/api/v1/service/tokened/score", "Bearer primary-key", 401, invalid},
		"another service's token is refused":  {"/api/v1/service/tokened/score", token("keyed", later), 401, invalid},
		"a token expiring now is refused":     {"/api/v1/service/tokened/score", token("tokened", now), 401, ""},
		"with both on a key is accepted":      {"/api/v1/service/both/score", "Bearer secondary-key", 201, ""},
		"with both on a token is accepted":    {"/api/v1/service/both/score", token("both", later), 201, ""},
		"an open service needs nothing":       {"/api/v1/service/open/score", "", 201, ""},
		"OIP refusals come in the OIP shape":  {"/v2/models/keyed/infer", "Bearer nope", 401, `{"error":"the key or token is not valid for this service"}`},
		"OIP accepts a key":                   {"/v2/models/keyed/infer", "Bearer primary-key", 201, ""},
		"swagger needs a key as scoring does": {"/api/v1/service/keyed/swagger.json", "", 401, missing},
	}
	h := front(t, r)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method := "POST"
			if strings.HasSuffix(tc.target, "swagger.json") {
				method = "GET"
			}
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			w := send(h, method, tc.target, "{}", hdr...)
			if w.Code != tc.code {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if got := strings.TrimSpace(w.Body.String()); tc.body != "" && got != tc.body {
				t.Errorf("body = %s\nwant   %s", got, tc.body)
			}
			if tc.code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// An expired token says so.
func TestExpiredToken(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r := newProxyRouter(t, func() time.Time { return now })
	key := []byte("k")
	v := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", v)
	sr.TokenAuthEnabled, sr.TokenKey = true, base64.StdEncoding.EncodeToString(key)
	r.table.setRouting("s", sr)
	tok := routing.SignToken(key, testNS, "iris", now.Add(-time.Second))
	w := send(front(t, r), "POST", "/api/v1/service/iris/score", "{}", "Authorization", "Bearer "+tok)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "token expired at 2026-05-01T11:59:59Z") {
		t.Fatalf("expired token = %d %s, want 401 saying it expired", w.Code, w.Body)
	}
}
