package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// fixedRoute is an endpoint at a fixed path.
type fixedRoute struct {
	methods []string // GET also allows HEAD
	oip     bool     // errors in the Open Inference Protocol shape
	serve   http.HandlerFunc
}

func (r *Router) fixedRoutes() map[string]fixedRoute {
	get := []string{http.MethodGet}
	return map[string]fixedRoute{
		"/healthz": {methods: get, serve: func(w http.ResponseWriter, _ *http.Request) {
			writeText(w, http.StatusOK, "ok")
		}},
		"/readyz": {methods: get, serve: func(w http.ResponseWriter, _ *http.Request) {
			if !r.ready.Load() {
				writeText(w, http.StatusServiceUnavailable, "not ready")
				return
			}
			writeText(w, http.StatusOK, "ok")
		}},
		"/metrics": {methods: get, serve: r.metrics.handler.ServeHTTP},
		"/v2": {methods: get, oip: true, serve: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{
				"name": "kubeml-router", "version": r.cfg.Version, "extensions": []string{},
			})
		}},
		"/v2/health/live": {methods: get, oip: true, serve: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]bool{"live": true})
		}},
		"/v2/health/ready": {methods: get, oip: true, serve: func(w http.ResponseWriter, _ *http.Request) {
			ready := r.ready.Load()
			code := http.StatusOK
			if !ready {
				code = http.StatusServiceUnavailable
			}
			writeJSON(w, code, map[string]bool{"ready": ready})
		}},
	}
}

// route answers req and says what to record about it.
func (r *Router) route(w http.ResponseWriter, req *http.Request) outcome {
	if req.URL == nil {
		apiError(w, http.StatusNotFound, "NotFound", "request has no path")
		return outcome{service: labelNone}
	}
	if fr, ok := r.fixed[req.URL.Path]; ok {
		if allowed(w, req, fr.methods, fr.oip) {
			fr.serve(w, req)
		}
		return outcome{service: labelRouter}
	}
	segs := segments(req.URL.EscapedPath())
	switch {
	case len(segs) == 5 && segs[0] == "api" && segs[1] == "v1" && segs[2] == "service" &&
		(segs[4] == "score" || segs[4] == "swagger.json"):
		methods, path := []string{http.MethodPost, http.MethodGet}, "/score"
		if segs[4] == "swagger.json" {
			methods, path = []string{http.MethodGet}, "/swagger.json"
		}
		if !allowed(w, req, methods, false) {
			return outcome{service: labelUnknown}
		}
		s := r.findService(w, segs[3])
		if s == nil {
			return outcome{service: labelUnknown}
		}
		return r.serveService(w, req, s, call{path: path})
	case len(segs) >= 3 && segs[0] == "v2" && segs[1] == "models" && segs[2] != "":
		name, _ := url.PathUnescape(segs[2])
		s := r.table.lookup(name)
		if s == nil {
			oipError(w, http.StatusNotFound, fmt.Sprintf("model %q not found", clip(name)))
			return outcome{service: labelUnknown}
		}
		pin, method, ok := oipModelPath(segs[3:])
		if !ok {
			oipError(w, http.StatusNotFound, fmt.Sprintf("no Open Inference Protocol endpoint at %q", clip(req.URL.Path)))
			return outcome{service: s.cfg.Name}
		}
		if !allowed(w, req, []string{method}, true) {
			return outcome{service: s.cfg.Name}
		}
		return r.serveService(w, req, s, call{oip: true, path: req.URL.Path, raw: req.URL.RawPath, pin: pin})
	case len(segs) >= 1 && segs[0] == "v2":
		oipError(w, http.StatusNotFound, fmt.Sprintf("no Open Inference Protocol endpoint at %q", clip(req.URL.Path)))
		return outcome{service: labelNone}
	}
	apiError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no endpoint at %q", clip(req.URL.Path)))
	return outcome{service: labelNone}
}

// oipModelPath parses what follows /v2/models/{name}: "", "ready",
// "infer", optionally after "versions/{v}". It returns the pinned version,
// the method the endpoint takes and whether the path is one of these.
func oipModelPath(rest []string) (pin, method string, ok bool) {
	if len(rest) >= 2 && rest[0] == "versions" {
		v, err := url.PathUnescape(rest[1])
		if err != nil || v == "" {
			return "", "", false
		}
		pin, rest = v, rest[2:]
	}
	switch {
	case len(rest) == 0:
		return pin, http.MethodGet, true
	case len(rest) == 1 && rest[0] == "ready":
		return pin, http.MethodGet, true
	case len(rest) == 1 && rest[0] == "infer":
		return pin, http.MethodPost, true
	}
	return "", "", false
}

// findService returns the deployed service named by the (still escaped)
// path segment, or answers 400 or 404 and returns nil.
func (r *Router) findService(w http.ResponseWriter, escaped string) *service {
	name, err := url.PathUnescape(escaped)
	switch {
	case err != nil || name == "":
		apiError(w, http.StatusBadRequest, "InvalidServiceName", "the service name is empty or malformed")
	case !isDNS1123Label(name):
		apiError(w, http.StatusBadRequest, "InvalidServiceName", fmt.Sprintf(
			"service name %q is invalid: it must be at most 63 lowercase letters, digits or '-', "+
				"starting and ending with a letter or digit", clip(name)))
	default:
		if s := r.table.lookup(name); s != nil {
			return s
		}
		apiError(w, http.StatusNotFound, "ServiceNotFound",
			fmt.Sprintf("no service named %q is deployed on this cluster", name))
	}
	return nil
}

// segments splits an escaped path into its segments ("/a/b" -> [a b]); a
// path without a leading slash has none.
func segments(escaped string) []string {
	rest, ok := strings.CutPrefix(escaped, "/")
	if !ok {
		return nil
	}
	return strings.Split(rest, "/")
}

// isDNS1123Label reports whether s is a DNS-1123 label, as Kubernetes
// requires of service names.
func isDNS1123Label(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

// allowed reports whether req's method is one of methods (GET implies
// HEAD); if not it answers 405.
func allowed(w http.ResponseWriter, req *http.Request, methods []string, oip bool) bool {
	if slices.Contains(methods, req.Method) ||
		req.Method == http.MethodHead && slices.Contains(methods, http.MethodGet) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	msg := fmt.Sprintf("method %q is not allowed here; use %s", clip(req.Method), strings.Join(methods, " or "))
	if oip {
		oipError(w, http.StatusMethodNotAllowed, msg)
	} else {
		apiError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", msg)
	}
	return false
}

// apiError writes kubeml's error shape: {"error":{"code":..,"message":..}}.
func apiError(w http.ResponseWriter, status int, code, message string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, status, map[string]body{"error": {Code: code, Message: message}})
}

// oipError writes the Open Inference Protocol's error shape: {"error":".."}.
func oipError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a failed write means the client left
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}
