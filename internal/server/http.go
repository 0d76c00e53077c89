package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// writeError maps err to an ARM error response with a stable code. Only
// errors no check anticipated become 500s, and they are logged.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	var ae *fault.Error
	switch {
	case errors.As(err, &ae):
		writeJSON(w, statusOf(ae.Kind), api.ErrorResponse{Error: ae.ErrorDetail})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errBody("ResourceNotFound", "the resource was not found"))
	case errors.Is(err, store.ErrConflict):
		writeJSON(w, http.StatusConflict, errBody("Conflict", "the resource was changed by another request; retry"))
	default:
		log.Error("internal error", "err", err)
		writeJSON(w, http.StatusInternalServerError, errBody("InternalError", "internal error: %v", err))
	}
}

// statusOf is the HTTP status of a kind of problem.
func statusOf(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.Unavailable:
		return http.StatusBadGateway
	case fault.NotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

func errBody(code, format string, args ...any) api.ErrorResponse {
	return api.ErrorResponse{Error: api.ErrorDetail{Code: code, Message: fmt.Sprintf(format, args...)}}
}

func badRequest(code, format string, args ...any) error {
	return &fault.Error{Kind: fault.Invalid, ErrorDetail: errBody(code, format, args...).Error}
}

// decode reads a JSON body into v, refusing unknown shapes clearly.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return &fault.Error{Kind: fault.TooLarge, ErrorDetail: errBody("RequestTooLarge", "request body over %d bytes", maxBody).Error}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return badRequest("InvalidRequestContent", "the request has no body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("InvalidRequestContent", "the request body is not valid JSON for this resource: %v", err)
	}
	return nil
}

// checkAPIVersion refuses a missing or unknown api-version.
func checkAPIVersion(r *http.Request) error {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return badRequest("MissingApiVersionParameter", "the api-version query parameter is required; supported: %s", strings.Join(api.APIVersions, ", "))
	}
	if !api.SupportedAPIVersion(v) {
		return badRequest("InvalidApiVersionParameter", "api-version %q is not supported; supported: %s", v, strings.Join(api.APIVersions, ", "))
	}
	return nil
}

// badPath is the 404 of a path that names no kubeml resource.
func badPath(r *http.Request) error {
	return &fault.Error{Kind: fault.NotFound, ErrorDetail: errBody("InvalidResourceType", "no kubeml resource at %s", r.URL.Path).Error}
}
