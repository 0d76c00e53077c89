// Package serving serves one loaded model over HTTP, speaking both the
// Azure ML scoring protocol (GET /, POST /score, GET /swagger.json) and the
// Open Inference Protocol v2 (/v2/...), and finds and opens model files.
package serving

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/kubeml/kubeml/internal/routing"
	"github.com/kubeml/kubeml/internal/serving/model"
)

// Options configure the handler.
type Options struct {
	// Name is the model's name in Open Inference Protocol paths; default
	// "model".
	Name string
	// Version is the model's version; empty means the model has no
	// versioned paths.
	Version string
	// MaxBodyBytes bounds request bodies; default 64 MiB.
	MaxBodyBytes int64
	// Logger receives model failures; default discards.
	Logger *slog.Logger
	// ServerVersion is reported by GET /v2; default the binary's module
	// version, or "dev".
	ServerVersion string
	// PodTokens, when set, are required (in routing.PodTokenHeader) on
	// every request but the health probes: only the router may score.
	PodTokens *PodTokens
}

// Pooled buffers larger than this are dropped rather than kept.
const maxPooled = 4 << 20

// handler serves one model.
type handler struct {
	m       model.Model
	opts    Options
	inputs  []model.Spec
	outputs []model.Spec
	log     *slog.Logger

	swagger  []byte // GET /swagger.json
	metadata []byte // GET /v2/models/{name}
	server   []byte // GET /v2

	bodies  sync.Pool // *bytes.Buffer, request bodies
	replies sync.Pool // *[]byte, response bodies
}

// NewHandler returns an http.Handler serving m.
func NewHandler(m model.Model, opts Options) http.Handler {
	if opts.Name == "" {
		opts.Name = "model"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ServerVersion == "" {
		opts.ServerVersion = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			opts.ServerVersion = bi.Main.Version
		}
	}
	h := &handler{m: m, opts: opts, inputs: m.Inputs(), outputs: m.Outputs(), log: opts.Logger}
	h.bodies.New = func() any { return new(bytes.Buffer) }
	h.replies.New = func() any { b := make([]byte, 0, 4096); return &b }
	h.swagger = swagger(opts.Name, opts.Version, h.inputs, h.outputs)
	h.metadata = metadata(opts.Name, opts.Version, m.Framework(), h.inputs, h.outputs)
	h.server = toJSON(map[string]any{"name": "kubeml", "version": opts.ServerVersion, "extensions": []string{}})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if t := h.opts.PodTokens; t != nil && !probePath(r.URL.Path) && !t.Allow(r.Header.Get(routing.PodTokenHeader)) {
		writeError(w, http.StatusUnauthorized, "model pods answer only kubeml's router: score through the service's scoring URI")
		return
	}
	switch path := r.URL.Path; path {
	case "/":
		if allow(w, r, http.MethodGet) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("Healthy"))
		}
	case "/score":
		if allow(w, r, http.MethodPost) {
			h.score(w, r)
		}
	case "/swagger.json":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, h.swagger)
		}
	case "/v2":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, h.server)
		}
	case "/v2/health/live":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, []byte(`{"live":true}`))
		}
	case "/v2/health/ready":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, []byte(`{"ready":true}`))
		}
	default:
		if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v2/models/"); ok {
			h.model(w, r, rest)
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint at %q", clip(path)))
	}
}

// probePath reports whether path is a health probe's, which the kubelet
// calls without a token.
func probePath(path string) bool {
	return path == "/" || path == "/v2/health/live" || path == "/v2/health/ready"
}

// allow reports whether r's method is method (GET also allowing HEAD),
// answering 405 if not.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	allowed := method
	if method == http.MethodGet {
		allowed = "GET, HEAD"
	}
	w.Header().Set("Allow", allowed)
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; use %s", clip(r.Method), method))
	return false
}

// body reads the request body into a pooled buffer, which the caller
// hands back with h.release. On failure it has answered the request.
func (h *handler) body(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, bool) {
	limit := h.opts.MaxBodyBytes
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", limit))
		return nil, false
	}
	buf := h.bodies.Get().(*bytes.Buffer)
	buf.Reset()
	if r.ContentLength > 0 {
		// ReadFrom wants MinRead bytes free even at the end.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		h.release(buf)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", limit))
		} else {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("reading the request body: %v", err))
		}
		return nil, false
	}
	return buf, true
}

func (h *handler) release(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooled {
		h.bodies.Put(buf)
	}
}

// replyBuf returns a pooled buffer for a response body.
func (h *handler) replyBuf() *[]byte {
	p := h.replies.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// send writes the JSON response in p and pools p again.
func (h *handler) send(w http.ResponseWriter, p *[]byte) {
	writeJSON(w, http.StatusOK, *p)
	if cap(*p) <= maxPooled {
		h.replies.Put(p)
	}
}

// predict runs the model, answering the request itself on failure: 400
// for the caller's mistakes, 500 for the model's.
func (h *handler) predict(w http.ResponseWriter, r *http.Request, in []model.Tensor) ([]model.Tensor, bool) {
	out, err := h.m.Predict(r.Context(), in)
	switch {
	case err == nil:
	case errors.Is(err, model.ErrBadInput):
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	default:
		h.log.Error("prediction failed", "model", h.opts.Name, "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("prediction failed: %v", err))
		return nil, false
	}
	for i := range out {
		if out[i].Name == "" && i < len(h.outputs) {
			out[i].Name = h.outputs[i].Name
		}
	}
	return out, true
}

// writeJSON writes a JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	b := model.AppendString([]byte(`{"error":`), msg)
	writeJSON(w, status, append(b, '}'))
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
