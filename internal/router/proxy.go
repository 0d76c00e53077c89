package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// maxBuffered is the largest request body the router reads before
// forwarding it; such requests may be retried on another pod when the
// connection to the first fails. Larger or chunked bodies are streamed.
const maxBuffered = 1 << 20

// maxAnswer is the largest answer the router passes on from a pod; a
// larger one gets the client a 502. Answers are read whole before the
// router answers, so this bounds the memory one request can take.
const maxAnswer = 64 << 20

// pooledBody is the capacity of the pooled request body buffers.
const pooledBody = 32 << 10

// errAnswerTooLarge is a pod's answer of more than maxAnswer bytes.
var errAnswerTooLarge = fmt.Errorf("the answer is larger than %d bytes", maxAnswer)

// proxy forwards requests to model pods. Buffered requests (all scoring
// requests of up to maxBuffered bytes) go through fasthttp's client,
// which writes the request and reads the answer on the calling goroutine
// over pooled keep-alive connections, straight into the router's own
// answer. Streamed bodies go through net/http's Transport.
type proxy struct {
	fast      *fasthttp.Client
	transport *http.Transport
	bufs      sync.Pool // *[]byte of pooledBody bytes
}

func newProxy() *proxy {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	p := &proxy{fast: &fasthttp.Client{
		// Within the request's deadline (fasthttp passes the time left).
		DialTimeout: func(addr string, left time.Duration) (net.Conn, error) {
			d := *dialer
			d.Timeout = min(left, dialer.Timeout)
			return d.Dial("tcp", addr)
		},
		// A request that met a closed connection (most often a kept-alive
		// one the pod closed as the request went out) is sent once more,
		// on a new connection to the same pod: scoring is a pure function
		// of the request. Timeouts and malformed answers are not retried.
		RetryIfErr: func(_ *fasthttp.Request, attempts int, err error) (bool, bool) {
			return false, attempts == 1 && closedConn(err)
		},
		MaxIdemponentCallAttempts:     2,
		MaxConnsPerHost:               1024,
		MaxIdleConnDuration:           90 * time.Second,
		MaxResponseBodySize:           maxAnswer,
		ReadBufferSize:                16 << 10,
		WriteBufferSize:               16 << 10,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
	}, transport: &http.Transport{
		Proxy:                 nil, // never through an HTTP proxy: pods are dialled directly
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}}
	p.bufs.New = func() any { b := make([]byte, pooledBody); return &b }
	return p
}

// body is a request body: buffered (replayable, possibly empty) or the
// client's stream.
type body struct {
	p      *proxy
	stream io.Reader // nil when buffered
	length int64     // -1 for a chunked stream
	buf    *[]byte   // pooled, or nil
	data   []byte
}

// readBody buffers the request's body when its length is known and at
// most maxBuffered; the server (with StreamRequestBody) has read at most
// a few KiB of it yet.
func (p *proxy) readBody(rc *fasthttp.RequestCtx) (*body, error) {
	n := rc.Request.Header.ContentLength()
	b := &body{p: p, length: int64(n)}
	stream := rc.RequestBodyStream()
	switch {
	case n == -1 || n > maxBuffered:
		if stream == nil {
			return nil, errors.New("the body is neither buffered nor streamed")
		}
		b.stream = stream
	case n <= 0:
		b.length = 0
	case stream == nil:
		b.data = rc.Request.Body()
	default:
		if n <= pooledBody {
			b.buf = p.bufs.Get().(*[]byte)
			b.data = (*b.buf)[:n]
		} else {
			b.data = make([]byte, n)
		}
		if _, err := io.ReadFull(stream, b.data); err != nil {
			b.done()
			return nil, err
		}
	}
	return b, nil
}

func (b *body) replayable() bool { return b.stream == nil }

// done returns the buffer to the pool.
func (b *body) done() {
	if b.buf != nil {
		b.p.bufs.Put(b.buf)
		b.buf, b.data = nil, nil
	}
}

// forward makes one attempt at forwarding the request to the pod at addr
// and, if the pod answered, puts its answer in rc's response (then the
// error is nil).
func (p *proxy) forward(ctx context.Context, rc *fasthttp.RequestCtx, addr string, c call, v *version, b *body) error {
	if !b.replayable() {
		return p.stream(ctx, rc, addr, c, v, b)
	}
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	uri := "http://" + addr + c.path
	if q := rc.URI().QueryString(); len(q) > 0 {
		uri += "?" + string(q)
	}
	out.SetRequestURI(uri)
	out.Header.SetMethodBytes(rc.Method())
	conn := rc.Request.Header.Peek("Connection")
	for k, x := range rc.Request.Header.All() {
		// The body is read already: Content-Length is set from it, and an
		// Expect: 100-continue was answered by the router's server.
		if name := string(k); !dropRequestHeader(name) && (len(conn) == 0 || !namedIn(string(conn), name)) {
			out.Header.AddBytesKV(k, x)
		}
	}
	out.Header.Set(VersionHeader, v.cfg.Name)
	out.SetBodyRaw(b.data)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultScoringTimeout)
	}
	resp := &rc.Response
	resp.Header.SetNoDefaultContentType(true) // pass on only what the pod sent
	if err := p.fast.DoDeadline(out, resp, deadline); err != nil {
		switch {
		case errors.Is(err, fasthttp.ErrTimeout):
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			err = errAnswerTooLarge
		}
		return fmt.Errorf("failed to forward to %s: %w", addr, err)
	}
	resp.Header.ResetConnectionClose()
	for _, k := range hopByHopHeaders {
		resp.Header.Del(k)
	}
	return nil
}

// dropRequestHeader reports whether a client's (canonical) header stays
// out of the request to the pod.
func dropRequestHeader(k string) bool {
	switch k {
	case "Host", "Content-Length", "Authorization", "Expect", VersionHeader:
		return true
	}
	return hopByHop(k)
}

// namedIn reports whether a Connection header's value names the
// (canonical) header k.
func namedIn(conn, k string) bool {
	for name := range strings.SplitSeq(conn, ",") {
		if http.CanonicalHeaderKey(strings.TrimSpace(name)) == k {
			return true
		}
	}
	return false
}

// stream makes one attempt at forwarding a streamed request to the pod at
// addr through the Transport, and reads the pod's answer into rc's
// response.
func (p *proxy) stream(ctx context.Context, rc *fasthttp.RequestCtx, addr string, c call, v *version, b *body) error {
	h := make(http.Header)
	conn := string(rc.Request.Header.Peek("Connection"))
	for k, x := range rc.Request.Header.All() {
		if name := string(k); !dropRequestHeader(name) && (conn == "" || !namedIn(conn, name)) {
			h[name] = append(h[name], string(x))
		}
	}
	h[VersionHeader] = []string{v.cfg.Name}
	path, err := url.PathUnescape(c.path)
	if err != nil {
		path = c.path
	}
	out := &http.Request{
		Method:        string(rc.Method()),
		URL:           &url.URL{Scheme: "http", Host: addr, Path: path, RawPath: c.path, RawQuery: string(rc.URI().QueryString())},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(b.stream),
		ContentLength: b.length,
		Host:          addr,
	}
	resp, err := p.transport.RoundTrip(out.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("failed to forward to %s: %w", addr, err)
	}
	defer resp.Body.Close()
	dst := &rc.Response
	dst.Reset()
	dst.Header.SetNoDefaultContentType(true)
	for k, vv := range resp.Header {
		if !hopByHop(k) && k != "Content-Length" {
			for _, x := range vv {
				dst.Header.Add(k, x)
			}
		}
	}
	dst.SetStatusCode(resp.StatusCode)
	n, err := io.Copy(dst.BodyWriter(), io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return fmt.Errorf("failed to read the answer of %s: %w", addr, err)
	case n > maxAnswer:
		return fmt.Errorf("failed to forward to %s: %w", addr, errAnswerTooLarge)
	}
	return nil
}

// hopByHopHeaders belong to one connection and are never forwarded.
var hopByHopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// hopByHop reports whether a (canonical) header belongs to one connection
// and must not be forwarded.
func hopByHop(k string) bool { return slices.Contains(hopByHopHeaders, k) }

// isDialError reports whether err is a failure that a replayable
// request may be retried on elsewhere: a failure to connect, or a kept-
// alive connection the pod closed as the request went out (a draining pod
// turns keep-alives off). Scoring is a pure function of the request, so
// sending it again is safe.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if errors.Is(err, fasthttp.ErrDialTimeout) {
		return true
	}
	return closedConn(err) || strings.Contains(err.Error(), "server closed idle connection")
}

// closedConn reports whether err says the connection was closed under the
// request: EOF, a reset or a broken pipe.
func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, fasthttp.ErrConnectionClosed)
}
