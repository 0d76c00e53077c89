package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kubeml/kubeml/internal/fault"
)

func TestEveryKindOfFaultAnswersItsOwnStatus(t *testing.T) {
	want := map[fault.Kind]int{
		fault.Invalid:     http.StatusBadRequest,
		fault.NotFound:    http.StatusNotFound,
		fault.Conflict:    http.StatusConflict,
		fault.TooLarge:    http.StatusRequestEntityTooLarge,
		fault.Unavailable: http.StatusBadGateway,
		fault.NotAllowed:  http.StatusMethodNotAllowed,
	}
	for k := fault.Kind(1); k <= fault.NotAllowed; k++ {
		w := httptest.NewRecorder()
		writeError(w, nil, fault.New(k, "SomeCode", "kind %d", k))
		if w.Code != want[k] {
			t.Errorf("kind %d answered %d, want %d", k, w.Code, want[k])
		}
	}
}
