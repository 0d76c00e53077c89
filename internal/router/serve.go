package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/valyala/fasthttp"
)

// VersionHeader pins a request to a version (optional) and, on every
// answer routed to a version, names the version that served it.
const VersionHeader = "X-Kubeml-Version"

// call is one request for a deployed service.
type call struct {
	oip  bool   // Open Inference Protocol: errors in its shape
	path string // escaped path on the pod
	pin  string // version named by the path ("" for none)
}

// outcome is what the metrics need to know about an answered request.
type outcome struct {
	service     string
	version     *version // nil when no version was chosen
	routerError bool     // the router answered 502, 503 or 504 itself
	bodyTaken   bool     // the request's body was read to be forwarded
}

// serveService authenticates a request for s, chooses its version and
// forwards it.
func (r *Router) serveService(rc *fasthttp.RequestCtx, s *service, c call) outcome {
	out := outcome{service: s.cfg.Name}
	if err := s.authenticate(string(rc.Request.Header.Peek("Authorization")), r.cfg.Now()); err != nil {
		rc.Response.Header.Set("WWW-Authenticate", "Bearer")
		c.fail(rc, http.StatusUnauthorized, "Unauthorized", err.Error())
		return out
	}
	pin := string(rc.Request.Header.Peek(VersionHeader))
	if c.pin != "" {
		if pin != "" && pin != c.pin {
			c.fail(rc, http.StatusBadRequest, "VersionConflict", fmt.Sprintf(
				"the path names version %q but the %s header names %q", clip(c.pin), VersionHeader, clip(pin)))
			return out
		}
		pin = c.pin
	}
	var v *version
	if pin != "" {
		if v = s.version(pin); v == nil {
			c.fail(rc, http.StatusNotFound, "VersionNotFound",
				fmt.Sprintf("service %q has no version %q", s.cfg.Name, clip(pin)))
			return out
		}
	} else {
		var err error
		if v, err = s.pick(r.random); err != nil {
			c.fail(rc, http.StatusInternalServerError, "InvalidRouting",
				fmt.Sprintf("service %q cannot be routed: %v", s.cfg.Name, err))
			return out
		}
	}
	out.version, out.bodyTaken = v, true
	out.routerError = r.forward(rc, s, v, c)
	rc.Response.Header.Set(VersionHeader, v.cfg.Name)
	return out
}

// forward sends the request to a pod of v within the service's scoring
// timeout and puts the pod's answer in rc's response. It reports whether
// the router answered an error itself.
func (r *Router) forward(rc *fasthttp.RequestCtx, s *service, v *version, c call) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	body, err := r.proxy.readBody(rc)
	if errors.Is(err, errRequestTooLarge) {
		var rest io.Reader
		if rc.Request.Header.ContentLength() <= maxDrain {
			rest = rc.RequestBodyStream()
		}
		tooLarge(rc, c, rest)
		return false
	}
	if err != nil {
		c.fail(rc, http.StatusBadRequest, "BadRequest", fmt.Sprintf("failed to read the request body: %v", err))
		return false
	}
	defer body.done()
	defer func() {
		if body.unread() { // the pod failed or answered early
			rc.SetConnectionClose()
		}
	}()

	e, err := v.pool.acquire(ctx, s.queueWait)
	if err != nil {
		return r.failCall(ctx, rc, c, s, err)
	}
	for retried := false; ; retried = true {
		err := r.proxy.forward(ctx, rc, e.addr, c, v, body)
		if err == nil {
			v.pool.release(e)
			return false
		}
		v.pool.release(e)
		if body.stream != nil && body.stream.tooLarge { // a stream grew past the limit
			rc.Response.Reset()
			body.stream.eof = tooLarge(rc, c, body.stream.r)
			return false
		}
		if retried || !body.replayable() || !isDialError(err) || ctx.Err() != nil {
			return r.failCall(ctx, rc, c, s, err)
		}
		r.cfg.Log.Warn("model pod unreachable; retrying on another", "service", s.cfg.Name,
			"version", v.cfg.Name, "addr", e.addr, "err", err)
		if e = v.pool.tryAcquireOther(e); e == nil {
			return r.failCall(ctx, rc, c, s, err)
		}
	}
}

// failCall answers a request that could not be forwarded: 503 when the
// version is busy, 504 when the scoring timeout passed, 502 when the pod
// failed. Whatever part of the pod's answer was read is dropped.
func (r *Router) failCall(ctx context.Context, rc *fasthttp.RequestCtx, c call, s *service, err error) bool {
	rc.Response.Reset()
	switch {
	case errors.Is(err, errBusy):
		rc.Response.Header.Set("Retry-After", "1")
		c.fail(rc, http.StatusServiceUnavailable, "ServiceBusy", fmt.Sprintf(
			"service %q is busy: every replica is at its concurrency limit; retry later", s.cfg.Name))
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		c.fail(rc, http.StatusGatewayTimeout, "GatewayTimeout", fmt.Sprintf(
			"service %q did not answer within its scoring timeout of %s", s.cfg.Name, s.timeout))
	case errors.Is(err, errAnswerTooLarge):
		r.cfg.Log.Warn("model pod answer too large", "service", s.cfg.Name, "err", err)
		c.fail(rc, http.StatusBadGateway, "AnswerTooLarge", fmt.Sprintf(
			"service %q answered more than the router passes on (%d MiB)", s.cfg.Name, maxAnswer>>20))
	default:
		r.cfg.Log.Warn("model pod failed", "service", s.cfg.Name, "err", err)
		c.fail(rc, http.StatusBadGateway, "BadGateway", fmt.Sprintf(
			"service %q: the model pod could not be reached or failed to answer", s.cfg.Name))
	}
	return true
}

// maxDrain bounds what the router reads off a request it refuses as too
// large, so that a client still sending the body gets the 413 instead of
// a reset; the connection of a larger body is closed after the answer.
const maxDrain = 2 * maxRequest

// tooLarge answers 413 to a request whose body is over maxRequest, after
// reading off rest (what is left of the body, nil to read nothing). It
// reports whether the whole body was read, so the connection can stay.
func tooLarge(rc *fasthttp.RequestCtx, c call, rest io.Reader) bool {
	read := false
	if rest != nil {
		n, err := io.Copy(io.Discard, io.LimitReader(rest, maxDrain))
		read = err == nil && n < maxDrain
	}
	if !read {
		rc.SetConnectionClose()
	}
	c.fail(rc, http.StatusRequestEntityTooLarge, "RequestTooLarge", fmt.Sprintf(
		"the request body is over the %d MiB a scoring request may have", maxRequest>>20))
	return read
}

// fail answers an error in the call's protocol shape.
func (c call) fail(rc *fasthttp.RequestCtx, status int, code, message string) {
	if c.oip {
		oipError(rc, status, message)
		return
	}
	apiError(rc, status, code, message)
}
