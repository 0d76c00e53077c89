package server_test

import (
	"net/http/httptest"
	"testing"
)

func BenchmarkGetComputeHandler(b *testing.B) {
	s := newTestServer(b)
	ws := s.workspace("microws")
	seedCompute(b, s, ws)
	h := s.srv.Handler()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest("GET", ws+"/computes/attached"+av, nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
