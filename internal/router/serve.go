package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// VersionHeader pins a request to a version (optional) and, on every
// answer routed to a version, names the version that served it.
const VersionHeader = "X-Kubeml-Version"

// statusClientClosed is recorded (never seen by anyone) when the client
// went away before it got an answer.
const statusClientClosed = 499

// call is one request for a deployed service.
type call struct {
	oip  bool   // Open Inference Protocol: errors in its shape
	path string // path on the pod
	raw  string // escaped form of path, if it differs
	pin  string // version named by the path ("" for none)
}

// outcome is what the metrics need to know about an answered request.
type outcome struct {
	service     string
	version     *version // nil when no version was chosen
	routerError bool     // the router answered 502, 503 or 504 itself
}

// serveService authenticates a request for s, chooses its version and
// forwards it.
func (r *Router) serveService(w http.ResponseWriter, req *http.Request, s *service, c call) outcome {
	out := outcome{service: s.cfg.Name}
	if err := s.authenticate(req, r.cfg.Now()); err != nil {
		w.Header().Set("WWW-Authenticate", "Bearer")
		c.fail(w, http.StatusUnauthorized, "Unauthorized", err.Error())
		return out
	}
	pin := req.Header.Get(VersionHeader)
	if c.pin != "" {
		if pin != "" && pin != c.pin {
			c.fail(w, http.StatusBadRequest, "VersionConflict", fmt.Sprintf(
				"the path names version %q but the %s header names %q", clip(c.pin), VersionHeader, clip(pin)))
			return out
		}
		pin = c.pin
	}
	var v *version
	if pin != "" {
		if v = s.version(pin); v == nil {
			c.fail(w, http.StatusNotFound, "VersionNotFound",
				fmt.Sprintf("service %q has no version %q", s.cfg.Name, clip(pin)))
			return out
		}
	} else {
		var err error
		if v, err = s.pick(r.random); err != nil {
			c.fail(w, http.StatusInternalServerError, "InvalidRouting",
				fmt.Sprintf("service %q cannot be routed: %v", s.cfg.Name, err))
			return out
		}
	}
	out.version = v
	out.routerError = r.forward(w, req, s, v, c)
	return out
}

// forward sends the request to a pod of v within the service's scoring
// timeout and copies the answer back. It reports whether the router
// answered an error itself.
func (r *Router) forward(w http.ResponseWriter, req *http.Request, s *service, v *version, c call) bool {
	w.Header()[VersionHeader] = v.header()
	ctx, cancel := context.WithTimeout(req.Context(), s.timeout)
	defer cancel()
	body, err := r.proxy.readBody(req)
	if err != nil {
		c.fail(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("failed to read the request body: %v", err))
		return false
	}
	defer body.done()

	e, err := v.pool.acquire(ctx, s.queueWait)
	if err != nil {
		return r.failCall(ctx, w, c, s, err)
	}
	for retried := false; ; retried = true {
		err := r.proxy.forward(ctx, w, req, e.addr, c, v, body)
		if err == nil {
			v.pool.release(e)
			return false
		}
		v.pool.release(e)
		if retried || !body.replayable() || !isDialError(err) || ctx.Err() != nil {
			return r.failCall(ctx, w, c, s, err)
		}
		r.cfg.Log.Warn("model pod unreachable; retrying on another", "service", s.cfg.Name,
			"version", v.cfg.Name, "addr", e.addr, "err", err)
		if e = v.pool.tryAcquireOther(e); e == nil {
			return r.failCall(ctx, w, c, s, err)
		}
	}
}

// failCall answers a request that could not be forwarded: 503 when the
// version is busy, 504 when the scoring timeout passed, 502 when the pod
// failed.
func (r *Router) failCall(ctx context.Context, w http.ResponseWriter, c call, s *service, err error) bool {
	switch {
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "1")
		c.fail(w, http.StatusServiceUnavailable, "ServiceBusy", fmt.Sprintf(
			"service %q is busy: every replica is at its concurrency limit; retry later", s.cfg.Name))
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		c.fail(w, http.StatusGatewayTimeout, "GatewayTimeout", fmt.Sprintf(
			"service %q did not answer within its scoring timeout of %s", s.cfg.Name, s.timeout))
	case ctx.Err() != nil: // the client left
		w.WriteHeader(statusClientClosed)
		return false
	default:
		r.cfg.Log.Warn("model pod failed", "service", s.cfg.Name, "err", err)
		c.fail(w, http.StatusBadGateway, "BadGateway", fmt.Sprintf(
			"service %q: the model pod could not be reached or failed to answer", s.cfg.Name))
	}
	return true
}

// fail answers an error in the call's protocol shape.
func (c call) fail(w http.ResponseWriter, status int, code, message string) {
	if c.oip {
		oipError(w, status, message)
		return
	}
	apiError(w, status, code, message)
}
