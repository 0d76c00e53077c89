// Package router is the in-cluster scoring router that kubeml installs into
// every attached Kubernetes cluster. It will route scoring requests to model
// pods; for now it serves liveness and readiness probes, Prometheus metrics,
// and clear 404s for services and models that are not deployed.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
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
	// Now is the clock used to time requests (default time.Now).
	Now func() time.Time
	// Ready, if set, is called by Run with the bound address once it listens
	// and is marked ready (useful with Listen "127.0.0.1:0").
	Ready func(addr string)
}

// Router answers HTTP requests for the cluster. It owns its Prometheus
// registry, so several Routers can live in one process.
type Router struct {
	cfg     Config
	ready   atomic.Bool
	metrics *metrics
	fixed   map[string]fixedRoute
}

// New returns a Router that is not yet ready: /readyz answers 503 until Run
// listens, or until SetReady(true).
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
	r := &Router{cfg: c, metrics: newMetrics()}
	r.fixed = r.fixedRoutes()
	return r
}

// SetReady marks the router ready (or not) for /readyz and /v2/health/ready.
// Run sets it; tests that use Handler directly call it themselves.
func (r *Router) SetReady(ok bool) { r.ready.Store(ok) }

// Handler returns the router's HTTP handler, instrumented with metrics and
// request logging.
func (r *Router) Handler() http.Handler { return http.HandlerFunc(r.serveHTTP) }

// Run listens on Config.Listen, marks the router ready and serves until ctx
// is done, then stops accepting requests and waits up to 10 s for in-flight
// ones. It returns nil after a graceful stop.
func (r *Router) Run(ctx context.Context) error {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	srv := &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(r.cfg.Log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() {
		if r.cfg.TLSCertFile != "" {
			served <- srv.ServeTLS(ln, r.cfg.TLSCertFile, r.cfg.TLSKeyFile)
			return
		}
		served <- srv.Serve(ln)
	}()

	addr := ln.Addr().String()
	r.SetReady(true)
	r.cfg.Log.Info("router listening", "addr", addr, "version", r.cfg.Version)
	if r.cfg.Ready != nil {
		r.cfg.Ready(addr)
	}

	select {
	case err := <-served:
		r.SetReady(false)
		return fmt.Errorf("router: serve: %w", err)
	case <-ctx.Done():
	}
	r.SetReady(false)
	r.cfg.Log.Info("router shutting down", "addr", addr)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	if shutErr != nil {
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("router: serve: %w", err)
	}
	if shutErr != nil {
		return fmt.Errorf("router: shutdown: %w", shutErr)
	}
	return nil
}

// serveHTTP routes one request, then records its metrics and logs it.
func (r *Router) serveHTTP(w http.ResponseWriter, req *http.Request) {
	start := r.cfg.Now()
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	service := r.route(rec, req)
	elapsed := r.cfg.Now().Sub(start)
	r.metrics.observe(service, rec.code, elapsed)

	path := ""
	if req.URL != nil {
		path = req.URL.Path
	}
	r.cfg.Log.LogAttrs(req.Context(), slog.LevelDebug, "request",
		slog.String("method", clip(req.Method)),
		slog.String("path", clip(path)),
		slog.Int("status", rec.code),
		slog.String("service", service),
		slog.Duration("duration", elapsed),
		slog.String("remote", req.RemoteAddr))
}

// recorder remembers the status code a handler wrote.
type recorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clip bounds a client-supplied string before it goes into a log or message.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return s[:max] + "...(" + strconv.Itoa(len(s)-max) + " more bytes)"
}
