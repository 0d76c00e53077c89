package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeml/kubeml/internal/routing"
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

// maxRequest is the largest request body the router forwards: serve-
// model's own limit, so that a larger one gets the 413 the pod would give
// rather than a connection the pod closed while it was being sent.
const maxRequest = 64 << 20

// errRequestTooLarge is a request body of more than maxRequest bytes.
var errRequestTooLarge = fmt.Errorf("the request body is larger than %d bytes", maxRequest)

// errAnswerTooLarge is a pod's answer of more than maxAnswer bytes.
var errAnswerTooLarge = fmt.Errorf("the answer is larger than %d bytes", maxAnswer)

// proxy forwards requests to model pods through fasthttp's client, which
// writes the request and reads the answer on the calling goroutine over
// pooled keep-alive connections, straight into the router's own answer.
// (net/http's Transport hands every request to two goroutines per
// connection, which on a small scoring request cost the router more CPU
// than everything else it does.) A streamed body is read from the
// client's connection as it is written to the pod's, and never after the
// attempt returns.
type proxy struct {
	fast *fasthttp.Client
	bufs sync.Pool // *[]byte of pooledBody bytes
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
		// of the request. Timeouts and malformed answers are not retried,
		// nor are streamed bodies (fasthttp never retries those).
		RetryIfErr: func(_ *fasthttp.Request, attempts int, err error) (bool, bool) {
			return false, attempts == 1 && closedConn(err)
		},
		MaxIdemponentCallAttempts: 2,
		MaxConnsPerHost:           1024,
		MaxIdleConnDuration:       90 * time.Second,
		MaxResponseBodySize:       maxAnswer,
		ReadBufferSize:            16 << 10,
		WriteBufferSize:           16 << 10,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
	}}
	p.bufs.New = func() any { b := make([]byte, pooledBody); return &b }
	return p
}

// body is a request body: buffered (possibly empty) or the client's
// stream.
type body struct {
	p      *proxy
	stream *countingReader // nil when buffered
	length int64           // -1 for a chunked stream
	buf    *[]byte         // pooled, or nil
	data   []byte
}

// countingReader reads a streamed body and counts what it read. It hides
// the stream's Close: the server, not the outgoing request, owns it.
type countingReader struct {
	r        io.Reader
	n        int64
	eof      bool
	tooLarge bool // more than maxRequest bytes came
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.tooLarge {
		return 0, errRequestTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.eof = c.eof || err == io.EOF
	if c.n > maxRequest {
		// Pass on what is within the limit; the next read fails (a
		// reader's error alongside bytes may be ignored by the caller).
		c.tooLarge = true
		return n - int(c.n-maxRequest), nil
	}
	return n, err
}

// unread reports whether part of a streamed body may still be on the
// client's connection.
func (b *body) unread() bool {
	return b.stream != nil && !b.stream.eof && (b.length < 0 || b.stream.n < b.length)
}

// discardBody deals with the body of a request the router did not
// forward (a refused one): it is read off when it is no larger than a
// buffered one, so that a client still sending it gets the answer rather
// than a reset and the connection stays open; a larger or chunked one
// closes the connection after the answer.
func discardBody(rc *fasthttp.RequestCtx) {
	stream := rc.RequestBodyStream()
	if stream == nil {
		return
	}
	switch n := rc.Request.Header.ContentLength(); {
	case n == 0:
	case n > 0 && n <= maxBuffered:
		_, _ = io.Copy(io.Discard, stream)
	default:
		rc.SetConnectionClose()
	}
}

// readBody buffers the request's body when its length is known and at
// most maxBuffered; the server (with StreamRequestBody) has read at most
// a few KiB of it yet.
func (p *proxy) readBody(rc *fasthttp.RequestCtx) (*body, error) {
	n := rc.Request.Header.ContentLength()
	b := &body{p: p, length: int64(n)}
	stream := rc.RequestBodyStream()
	switch {
	case n > maxRequest:
		return nil, errRequestTooLarge
	case n == -1 || n > maxBuffered:
		if stream == nil {
			return nil, errors.New("the body is neither buffered nor streamed")
		}
		b.stream = &countingReader{r: stream}
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

// replayable reports whether the body can be sent again: it is buffered,
// or no byte of the stream has been read yet.
func (b *body) replayable() bool { return b.stream == nil || b.stream.n == 0 }

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
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	uri := "http://" + addr + c.path
	if q := rc.URI().QueryString(); len(q) > 0 {
		uri += "?" + string(q)
	}
	out.SetRequestURI(uri)
	out.Header.SetMethodBytes(rc.Method())
	conn := connectionHeader(&rc.Request.Header)
	for k, x := range rc.Request.Header.All() {
		// The body is read already or streamed: Content-Length is set from
		// it, and an Expect: 100-continue was answered by the router's
		// server.
		if name := string(k); !dropRequestHeader(name) && (conn == "" || !namedIn(conn, name)) {
			out.Header.AddBytesKV(k, x)
		}
	}
	out.Header.Set(VersionHeader, v.cfg.Name)
	if v.podToken != "" {
		out.Header.Set(routing.PodTokenHeader, v.podToken)
	}
	if b.stream != nil {
		out.SetBodyStream(b.stream, int(b.length))
	} else {
		out.SetBodyRaw(b.data)
	}
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

// connectionHeader joins the values of every Connection header line.
func connectionHeader(h *fasthttp.RequestHeader) string {
	all := h.PeekAll("Connection")
	switch len(all) {
	case 0:
		return ""
	case 1:
		return string(all[0])
	}
	parts := make([]string, len(all))
	for i, x := range all {
		parts[i] = string(x)
	}
	return strings.Join(parts, ",")
}

// dropRequestHeader reports whether a client's (canonical) header stays
// out of the request to the pod.
func dropRequestHeader(k string) bool {
	switch k {
	case "Host", "Content-Length", "Authorization", "Expect", VersionHeader, routing.PodTokenHeader:
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
