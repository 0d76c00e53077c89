package router

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// fixedRoute is an endpoint at a fixed path.
type fixedRoute struct {
	methods []string // GET also allows HEAD
	oip     bool     // errors in the Open Inference Protocol shape
	serve   fasthttp.RequestHandler
}

func (r *Router) fixedRoutes() map[string]fixedRoute {
	get := []string{http.MethodGet}
	return map[string]fixedRoute{
		"/healthz": {methods: get, serve: func(rc *fasthttp.RequestCtx) {
			writeText(rc, http.StatusOK, "ok")
		}},
		"/readyz": {methods: get, serve: func(rc *fasthttp.RequestCtx) {
			if !r.ready.Load() {
				writeText(rc, http.StatusServiceUnavailable, "not ready")
				return
			}
			writeText(rc, http.StatusOK, "ok")
		}},
		"/metrics": {methods: get, serve: r.metricsAuthorized(fasthttpadaptor.NewFastHTTPHandler(r.metrics.handler))},
		"/v2": {methods: get, oip: true, serve: func(rc *fasthttp.RequestCtx) {
			writeJSON(rc, http.StatusOK, map[string]any{
				"name": "kubeml-router", "version": r.cfg.Version, "extensions": []string{},
			})
		}},
		"/v2/health/live": {methods: get, oip: true, serve: func(rc *fasthttp.RequestCtx) {
			writeJSON(rc, http.StatusOK, map[string]bool{"live": true})
		}},
		"/v2/health/ready": {methods: get, oip: true, serve: func(rc *fasthttp.RequestCtx) {
			ready := r.ready.Load()
			code := http.StatusOK
			if !ready {
				code = http.StatusServiceUnavailable
			}
			writeJSON(rc, code, map[string]bool{"ready": ready})
		}},
	}
}

// route answers a request and says what to record about it.
func (r *Router) route(rc *fasthttp.RequestCtx) outcome {
	escaped := string(rc.URI().PathOriginal())
	path, err := url.PathUnescape(escaped)
	if err != nil {
		path = escaped
	}
	method := string(rc.Method())
	if fr, ok := r.fixed[path]; ok {
		if allowed(rc, method, fr.methods, fr.oip) {
			fr.serve(rc)
		}
		return outcome{service: labelRouter}
	}
	segs := segments(escaped)
	switch {
	case len(segs) == 5 && segs[0] == "api" && segs[1] == "v1" && segs[2] == "service" &&
		(segs[4] == "score" || segs[4] == "swagger.json"):
		methods, podPath := []string{http.MethodPost, http.MethodGet}, "/score"
		if segs[4] == "swagger.json" {
			methods, podPath = []string{http.MethodGet}, "/swagger.json"
		}
		if !allowed(rc, method, methods, false) {
			return outcome{service: labelUnknown}
		}
		s := r.findService(rc, segs[3])
		if s == nil {
			return outcome{service: labelUnknown}
		}
		return r.serveService(rc, s, call{path: podPath})
	case len(segs) >= 3 && segs[0] == "v2" && segs[1] == "models" && segs[2] != "":
		name, _ := url.PathUnescape(segs[2])
		s := r.table.lookup(name)
		if s == nil {
			oipError(rc, http.StatusNotFound, fmt.Sprintf("model %q not found", clip(name)))
			return outcome{service: labelUnknown}
		}
		pin, want, ok := oipModelPath(segs[3:])
		if !ok {
			oipError(rc, http.StatusNotFound, fmt.Sprintf("no Open Inference Protocol endpoint at %q", clip(path)))
			return outcome{service: s.cfg.Name}
		}
		if !allowed(rc, method, []string{want}, true) {
			return outcome{service: s.cfg.Name}
		}
		return r.serveService(rc, s, call{oip: true, path: escaped, pin: pin})
	case len(segs) >= 1 && segs[0] == "v2":
		oipError(rc, http.StatusNotFound, fmt.Sprintf("no Open Inference Protocol endpoint at %q", clip(path)))
		return outcome{service: labelNone}
	}
	apiError(rc, http.StatusNotFound, "NotFound", fmt.Sprintf("no endpoint at %q", clip(path)))
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
func (r *Router) findService(rc *fasthttp.RequestCtx, escaped string) *service {
	name, err := url.PathUnescape(escaped)
	switch {
	case err != nil || name == "":
		apiError(rc, http.StatusBadRequest, "InvalidServiceName", "the service name is empty or malformed")
	case !isDNS1123Label(name):
		apiError(rc, http.StatusBadRequest, "InvalidServiceName", fmt.Sprintf(
			"service name %q is invalid: it must be at most 63 lowercase letters, digits or '-', "+
				"starting and ending with a letter or digit", clip(name)))
	default:
		if s := r.table.lookup(name); s != nil {
			return s
		}
		apiError(rc, http.StatusNotFound, "ServiceNotFound",
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

// allowed reports whether method is one of methods (GET implies HEAD);
// if not it answers 405.
func allowed(rc *fasthttp.RequestCtx, method string, methods []string, oip bool) bool {
	if slices.Contains(methods, method) ||
		method == http.MethodHead && slices.Contains(methods, http.MethodGet) {
		return true
	}
	rc.Response.Header.Set("Allow", strings.Join(methods, ", "))
	msg := fmt.Sprintf("method %q is not allowed here; use %s", clip(method), strings.Join(methods, " or "))
	if oip {
		oipError(rc, http.StatusMethodNotAllowed, msg)
	} else {
		apiError(rc, http.StatusMethodNotAllowed, "MethodNotAllowed", msg)
	}
	return false
}

// apiError writes kubeml's error shape: {"error":{"code":..,"message":..}}.
func apiError(rc *fasthttp.RequestCtx, status int, code, message string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(rc, status, map[string]body{"error": {Code: code, Message: message}})
}

// oipError writes the Open Inference Protocol's error shape: {"error":".."}.
func oipError(rc *fasthttp.RequestCtx, status int, message string) {
	writeJSON(rc, status, map[string]string{"error": message})
}

// writeJSON answers v as JSON, replacing whatever answer was begun.
func writeJSON(rc *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only plain maps and strings come here
		b = []byte(`{"error":"failed to encode the answer"}`)
	}
	answer(rc, status, "application/json", append(b, '\n'))
}

func writeText(rc *fasthttp.RequestCtx, status int, s string) {
	answer(rc, status, "text/plain; charset=utf-8", []byte(s))
}

// answer sets the whole answer: status, type and body. Headers set before
// (Allow, WWW-Authenticate, the version) stay.
func answer(rc *fasthttp.RequestCtx, status int, ctype string, body []byte) {
	rc.Response.Header.SetContentType(ctype)
	rc.Response.Header.Set("X-Content-Type-Options", "nosniff")
	rc.Response.SetStatusCode(status)
	rc.Response.SetBody(body)
}

// metricsAuthorized guards the metrics with the configured token.
func (r *Router) metricsAuthorized(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if r.cfg.MetricsToken == "" {
		return next
	}
	want := []byte("Bearer " + r.cfg.MetricsToken)
	return func(rc *fasthttp.RequestCtx) {
		if subtle.ConstantTimeCompare(rc.Request.Header.Peek("Authorization"), want) != 1 {
			rc.Response.Header.Set("WWW-Authenticate", `Bearer realm="kubeml-router-metrics"`)
			writeText(rc, http.StatusUnauthorized, "the router's metrics need its metrics token: Authorization: Bearer <token>")
			return
		}
		next(rc)
	}
}
