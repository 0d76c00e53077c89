package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// maxBuffered is the largest request body the router reads before
// forwarding it; such requests may be retried on another pod when the
// connection to the first fails. Larger or chunked bodies are streamed.
const maxBuffered = 1 << 20

// pooledBody is the capacity of the pooled body and copy buffers.
const pooledBody = 32 << 10

// proxy forwards requests to model pods. Buffered requests (all scoring
// requests of up to maxBuffered bytes) go through fasthttp's client, which
// writes the request and reads the answer on the calling goroutine over
// pooled keep-alive connections; net/http's Transport hands every request
// to two goroutines per connection, which on a small scoring request cost
// the router more CPU than everything else it does. Streamed bodies go
// through the Transport.
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
// client's stream. A buffered body is shared by the attempts that send it
// and returns to the pool once the handler and every attempt are done
// with it (the transport may close a body after RoundTrip returns).
type body struct {
	p      *proxy
	stream io.ReadCloser // nil when buffered
	length int64
	buf    *[]byte // pooled, or nil
	data   []byte
	refs   atomic.Int32
}

// readBody buffers req's body when its length is known and at most
// maxBuffered.
func (p *proxy) readBody(req *http.Request) (*body, error) {
	b := &body{p: p, length: req.ContentLength}
	b.refs.Store(1)
	switch n := req.ContentLength; {
	case req.Body == nil || req.Body == http.NoBody || n == 0:
		b.length = 0
	case n < 0 || n > maxBuffered:
		b.stream = req.Body
	default:
		if n <= pooledBody {
			b.buf = p.bufs.Get().(*[]byte)
			b.data = (*b.buf)[:n]
		} else {
			b.data = make([]byte, n)
		}
		if _, err := io.ReadFull(req.Body, b.data); err != nil {
			b.done()
			return nil, err
		}
	}
	return b, nil
}

func (b *body) replayable() bool { return b.stream == nil }

// reader returns a new reader of the body for one attempt.
func (b *body) reader() io.ReadCloser {
	switch {
	case b.stream != nil:
		return b.stream
	case b.length == 0:
		return nil
	}
	b.refs.Add(1)
	return &bodyReader{b: b, data: b.data}
}

// done drops one reference; the last returns the buffer to the pool.
func (b *body) done() {
	if b.refs.Add(-1) == 0 && b.buf != nil {
		b.p.bufs.Put(b.buf)
		b.buf, b.data = nil, nil
	}
}

// bodyReader reads a buffered body once.
type bodyReader struct {
	b      *body
	data   []byte
	closed atomic.Bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func (r *bodyReader) Close() error {
	if !r.closed.Swap(true) {
		r.b.done()
	}
	return nil
}

// forward makes one attempt at forwarding req to the pod at addr and, if
// the pod answered, copies the answer to w (then the error is nil).
func (p *proxy) forward(ctx context.Context, w http.ResponseWriter, req *http.Request, addr string, c call, v *version, b *body) error {
	if !b.replayable() {
		resp, err := p.send(ctx, req, addr, c, v, b)
		if err != nil {
			return err
		}
		p.copyResponse(w, resp, v)
		return nil
	}
	out := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(out)
	defer fasthttp.ReleaseResponse(resp)
	path := c.path
	if c.raw != "" {
		path = c.raw
	}
	uri := "http://" + addr + path
	if req.URL.RawQuery != "" {
		uri += "?" + req.URL.RawQuery
	}
	out.SetRequestURI(uri)
	out.Header.SetMethod(req.Method)
	conn := req.Header["Connection"]
	for k, vv := range req.Header {
		// The body is read already: Content-Length is set from it, and an
		// Expect: 100-continue was answered by the router's server.
		if hopByHop(k) || k == "Authorization" || k == "Content-Length" || k == "Expect" || k == VersionHeader ||
			(len(conn) > 0 && namedIn(conn, k)) {
			continue
		}
		for _, x := range vv {
			out.Header.Add(k, x)
		}
	}
	out.Header.Set(VersionHeader, v.hdr[0])
	out.SetBodyRaw(b.data)
	resp.Header.SetNoDefaultContentType(true) // pass on only what the pod sent
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultScoringTimeout)
	}
	if err := p.fast.DoDeadline(out, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return fmt.Errorf("failed to forward to %s: %w", addr, err)
	}
	dst := w.Header()
	for k, x := range resp.Header.All() {
		name := http.CanonicalHeaderKey(string(k))
		if !hopByHop(name) {
			dst[name] = append(dst[name], string(x))
		}
	}
	dst[VersionHeader] = v.header()
	if _, ok := dst["Content-Type"]; !ok {
		dst["Content-Type"] = nil // the pod sent none: net/http must not sniff one
	}
	w.WriteHeader(resp.StatusCode())
	// An error here (the client went away) cannot be reported any more.
	_, _ = w.Write(resp.Body())
	return nil
}

// namedIn reports whether a Connection header's values name the
// (canonical) header k.
func namedIn(conn []string, k string) bool {
	for _, v := range conn {
		for name := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(name)) == k {
				return true
			}
		}
	}
	return false
}

// send makes one attempt at forwarding req to the pod at addr.
func (p *proxy) send(ctx context.Context, req *http.Request, addr string, c call, v *version, b *body) (*http.Response, error) {
	h := make(http.Header, len(req.Header)+1)
	for k, vv := range req.Header {
		if !hopByHop(k) && k != "Authorization" {
			h[k] = vv
		}
	}
	if conn := req.Header["Connection"]; len(conn) > 0 {
		removeConnectionHeaders(h, conn)
	}
	h[VersionHeader] = v.header()
	out := &http.Request{
		Method:        req.Method,
		URL:           &url.URL{Scheme: "http", Host: addr, Path: c.path, RawPath: c.raw, RawQuery: req.URL.RawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          b.reader(),
		ContentLength: b.length,
		Host:          addr,
	}
	resp, err := p.transport.RoundTrip(out.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("failed to forward to %s: %w", addr, err)
	}
	return resp, nil
}

// copyResponse writes the pod's answer to w.
func (p *proxy) copyResponse(w http.ResponseWriter, resp *http.Response, v *version) {
	defer resp.Body.Close()
	dst := w.Header()
	for k, vv := range resp.Header {
		if !hopByHop(k) {
			dst[k] = vv
		}
	}
	dst[VersionHeader] = v.header()
	w.WriteHeader(resp.StatusCode)
	buf := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(buf)
	// An error here (the client or the pod went away mid-answer) cannot be
	// reported any more: the status line is sent.
	_, _ = io.CopyBuffer(w, resp.Body, *buf)
}

// hopByHop reports whether a (canonical) header belongs to one connection
// and must not be forwarded.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// removeConnectionHeaders drops the headers a Connection header names.
func removeConnectionHeaders(h http.Header, conn []string) {
	for _, v := range conn {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
}

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
