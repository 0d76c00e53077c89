// Package router is the in-cluster scoring router that kubeml installs into
// every attached Kubernetes cluster. It watches the routing Secrets the
// workspace server writes (their format is package routing) and the
// EndpointSlices of model pods, and routes
// Azure ML scoring and Open Inference Protocol requests straight to ready
// pods: authenticated, split between versions by weight, bounded per pod
// with a queue, and autoscaled. It also serves probes and Prometheus
// metrics.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/routing"
)

// DefaultListen is the address Run listens on when Config.Listen is empty.
const DefaultListen = ":8080"

// shutdownTimeout bounds how long Run waits for in-flight requests.
const shutdownTimeout = 10 * time.Second

// Config configures a Router. The zero value is usable.
type Config struct {
	// Listen is the TCP address Run listens on (default DefaultListen).
	Listen string
	// TLSCertFile and TLSKeyFile, when set, make Run serve HTTPS (the
	// compute's SSL configuration).
	TLSCertFile, TLSKeyFile string
	// Version is kubeml's version, reported in the Open Inference Protocol
	// server metadata (GET /v2).
	Version string
	// Log receives one debug record per request (default: discarded).
	Log *slog.Logger
	// Now is the clock that times requests, checks token expiry and
	// times the autoscaler's down-delay (default time.Now).
	Now func() time.Time
	// MetricsToken, when set, is the bearer token GET /metrics wants (the
	// metrics name every service).
	MetricsToken string
	// Ready, if set, is called by Run with the bound address once it listens
	// and is marked ready (useful with Listen "127.0.0.1:0").
	Ready func(addr string)

	// Kube is the cluster the router watches (routing Secrets in
	// Namespace, EndpointSlices in Namespace and in the namespaces the
	// services run in) and whose Deployments it scales. Without it the router knows no services.
	Kube kubernetes.Interface
	// Namespace is the router's own namespace (default routing.Namespace).
	Namespace string
	// PeerService, if set, names the Kubernetes Service (in Namespace) of
	// the router's replicas: the autoscaler multiplies the load it sees by
	// their ready count, as the Service spreads requests evenly.
	PeerService string
	// Rand splits traffic between versions (default: math/rand/v2's
	// global source). Tests pass a seeded one.
	Rand rand.Source
	// Autoscale tunes the autoscaler.
	Autoscale AutoscaleConfig
}

// Router answers HTTP requests for the cluster. It owns its Prometheus
// registry, so several Routers can live in one process.
type Router struct {
	cfg     Config
	ready   atomic.Bool
	metrics *metrics
	fixed   map[string]fixedRoute
	table   *table
	proxy   *proxy
	random  func() float64
	slices  *sliceWatch // nil until Run watches the cluster
}

// New returns a Router that is not yet ready: /readyz answers 503 until Run
// listens and has filled its routing table, or until SetReady(true).
func New(c Config) *Router {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Namespace == "" {
		c.Namespace = routing.Namespace
	}
	c.Autoscale = c.Autoscale.withDefaults()
	r := &Router{cfg: c, proxy: newProxy(), random: rand.Float64}
	if c.Rand != nil {
		var mu sync.Mutex
		rnd := rand.New(c.Rand)
		r.random = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return rnd.Float64()
		}
	}
	r.metrics = newMetrics(r.loads)
	r.table = newTable(r.metrics, c.Log)
	r.fixed = r.fixedRoutes()
	return r
}

// loads reports the load of every version, for the metrics.
func (r *Router) loads(yield func(service, version string, inflight, queued int)) {
	for name, s := range r.table.all() {
		for _, v := range s.versions {
			in, q := v.pool.load()
			yield(name, v.cfg.Name, in, q)
		}
	}
}

// SetReady marks the router ready (or not) for /readyz and /v2/health/ready.
// Run sets it; tests that serve the router themselves call it.
func (r *Router) SetReady(ok bool) { r.ready.Store(ok) }

// server returns the router's HTTP server. Request bodies of up to
// maxBuffered bytes are read whole before the handler forwards them;
// larger and chunked ones are streamed through it.
func (r *Router) server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      r.serve,
		ErrorHandler:                 r.badRequest,
		Logger:                       printfLogger{r.cfg.Log},
		ReadTimeout:                  headerTimeout,
		HeaderReceived:               bodyTimeout,
		IdleTimeout:                  2 * time.Minute,
		ReadBufferSize:               16 << 10,
		WriteBufferSize:              16 << 10,
		MaxRequestBodySize:           maxBuffered,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
	}
}

// headerTimeout bounds the time from a request's first byte (or a new
// connection) to the end of its header.
const headerTimeout = 10 * time.Second

// bodyTimeout gives a request 2 minutes from the end of its header to
// send its body; a streamed body is also bounded by the scoring timeout,
// as it is sent on to the pod.
func bodyTimeout(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return fasthttp.RequestConfig{ReadTimeout: 2 * time.Minute}
}

// Run starts watching the cluster (with Config.Kube), listens on
// Config.Listen, marks the router ready once the routing table is filled,
// runs the autoscaler election and serves until ctx is done; then it stops
// accepting requests and waits up to 10 s for in-flight ones. It returns
// nil after a graceful stop.
func (r *Router) Run(ctx context.Context) error {
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }() // after the server has drained
	synced := make(<-chan struct{})
	if r.cfg.Kube != nil {
		synced = r.watch(bg, &wg)
	} else {
		ch := make(chan struct{})
		close(ch)
		synced = ch
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	srv := r.server()
	served := make(chan error, 1)
	go func() {
		if r.cfg.TLSCertFile != "" {
			served <- srv.ServeTLS(ln, r.cfg.TLSCertFile, r.cfg.TLSKeyFile)
			return
		}
		served <- srv.Serve(ln)
	}()
	addr := ln.Addr().String()
	r.cfg.Log.Info("router listening", "addr", addr, "version", r.cfg.Version, "namespace", r.cfg.Namespace)

	for done := false; !done; {
		select {
		case <-synced:
			synced = nil
			if r.cfg.Kube != nil && !r.cfg.Autoscale.Disabled {
				wg.Go(func() { r.lead(bg) })
			}
			r.SetReady(true)
			r.cfg.Log.Info("router ready", "addr", addr, "services", len(r.table.all()))
			if r.cfg.Ready != nil {
				r.cfg.Ready(addr)
			}
		case err := <-served:
			r.SetReady(false)
			return fmt.Errorf("router: serve: %w", err)
		case <-ctx.Done():
			done = true
		}
	}
	r.SetReady(false)
	r.cfg.Log.Info("router shutting down", "addr", addr)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutErr := srv.ShutdownWithContext(sctx)
	// Shutdown does nothing to a server that has not registered its
	// listener yet: closing it makes Serve return either way.
	_ = ln.Close()
	if err := <-served; err != nil {
		return fmt.Errorf("router: serve: %w", err)
	}
	if shutErr != nil {
		return fmt.Errorf("router: shutdown: %w", shutErr)
	}
	return nil
}

// serve routes one request, then records its metrics and logs it.
func (r *Router) serve(rc *fasthttp.RequestCtx) {
	start := r.cfg.Now()
	o := r.route(rc)
	if !o.bodyTaken {
		discardBody(rc)
	}
	elapsed := r.cfg.Now().Sub(start)
	code := rc.Response.StatusCode()
	r.metrics.observe(o.service, code, elapsed)
	version := ""
	if o.version != nil {
		o.version.metrics.observe(code, elapsed, o.routerError)
		version = o.version.cfg.Name
	}
	if !r.cfg.Log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	r.cfg.Log.LogAttrs(context.Background(), slog.LevelDebug, "request",
		slog.String("method", clip(string(rc.Method()))),
		slog.String("path", clip(string(rc.URI().PathOriginal()))),
		slog.Int("status", code),
		slog.String("service", o.service),
		slog.String("version", version),
		slog.Duration("duration", elapsed),
		slog.String("remote", rc.RemoteAddr().String()))
}

// badRequest answers a request the server could not read: 408 when it
// came too slowly (not counted when nothing came at all: an idle new
// connection is no request), 431 for a header too large, 400 otherwise.
func (r *Router) badRequest(rc *fasthttp.RequestCtx, err error) {
	var nothing fasthttp.ErrNothingRead
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &nothing):
		apiError(rc, http.StatusRequestTimeout, "RequestTimeout", "no request arrived in time")
		return
	case errors.As(err, &ne) && ne.Timeout():
		apiError(rc, http.StatusRequestTimeout, "RequestTimeout", "the request did not arrive in time")
	case errors.As(err, &small):
		apiError(rc, http.StatusRequestHeaderFieldsTooLarge, "HeaderTooLarge", "the request's header is too large")
	default:
		apiError(rc, http.StatusBadRequest, "BadRequest", fmt.Sprintf("failed to read the request: %v", err))
	}
	r.metrics.observe(labelNone, rc.Response.StatusCode(), 0)
}

// printfLogger sends the server's own messages to the router's log.
type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}

// clip bounds a client-supplied string before it goes into a log or message.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return s[:max] + "...(" + strconv.Itoa(len(s)-max) + " more bytes)"
}
