// Package server is kubeml's workspace control plane: an ARM-compatible
// REST API for workspaces, compute targets and managed clusters over the
// store and the compute manager, behind bearer-token authentication and
// TLS, with health, readiness and Prometheus metrics.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubeml/kubeml/internal/blob"
	"github.com/kubeml/kubeml/internal/compute"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/managedcluster"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/registry"
	"github.com/kubeml/kubeml/internal/serving/runtimes"
	"github.com/kubeml/kubeml/internal/store"
	"github.com/kubeml/kubeml/internal/webservice"
	"github.com/kubeml/kubeml/internal/workspace"
)

// Server serves the API.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	// external is the base of the URLs the server hands out (operations,
	// next pages); set before serving.
	external   string
	ops        *operation.Engine
	workspaces *workspace.Manager
	clusters   *managedcluster.Manager
	mgr        *compute.Manager
	tokenHash  []byte
	ready      atomic.Bool
	metrics    *metrics
	unlock     func()
	registry   *registry.Registry
	services   *webservice.Manager
}

// lockDataDir makes sure one server at a time works on a data dir: two
// would both resume the same operations.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "server.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another kubeml server is using %s", dir)
	}
	return func() { f.Close() }, nil
}

// New opens the data dir (database, key, token) and makes the server.
// Close releases it.
func New(cfg Config, providers provider.Registry, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(providers.Names()); err != nil {
		return nil, fmt.Errorf("invalid server configuration: %w", err)
	}
	// The data dir holds the admin token, the keys and the database: an
	// existing one is made private too, unless it is the user's home (its
	// files are private on their own).
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create data dir: %w", err)
	}
	if home, _ := os.UserHomeDir(); home == "" || filepath.Clean(home) != filepath.Clean(cfg.DataDir) {
		if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("failed to make data dir %s private: %w", cfg.DataDir, err)
		}
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	key, err := storeKey(cfg.DataDir)
	if err != nil {
		unlock()
		return nil, err
	}
	st, err := store.OpenSQLite(filepath.Join(cfg.DataDir, "kubeml.db"), key)
	if err != nil {
		unlock()
		return nil, err
	}
	hash, err := ensureAdminToken(cfg.DataDir, func(b []byte) { _, _ = rand.Read(b) })
	if err != nil {
		st.Close()
		unlock()
		return nil, fmt.Errorf("failed to make the admin token: %w", err)
	}
	serverID, err := ensureServerID(cfg.DataDir)
	if err != nil {
		st.Close()
		unlock()
		return nil, err
	}
	if cfg.RouterImage == "" {
		cfg.RouterImage = RouterImageOf("")
	}
	s := &Server{cfg: cfg, log: log, store: st, tokenHash: hash, unlock: unlock, external: externalURL(cfg, cfg.Addr)}
	if err := s.compose(providers, serverID); err != nil {
		s.Close()
		return nil, err
	}
	s.metrics = newMetrics()
	return s, nil
}

// compose makes the domain managers, each registering its operation
// kinds on one engine.
func (s *Server) compose(providers provider.Registry, serverID string) error {
	st, log := s.store, s.log
	s.ops = operation.New(operation.Config{Store: st, Log: log, Describe: fault.Detail})
	s.registry = &registry.Registry{Store: st, Blobs: blob.Dir{Root: filepath.Join(s.cfg.DataDir, "blobs")}, Runtimes: runtimes.All(),
		InUse: webservice.ModelInUse}
	var err error
	s.clusters, err = managedcluster.New(managedcluster.Config{Store: st, Operations: s.ops, Providers: providers,
		Locations: s.cfg.Locations, Log: log, InUse: compute.ComputesUsing})
	if err != nil {
		return err
	}
	s.workspaces = &workspace.Manager{Store: st, Now: time.Now, Rand: func(b []byte) { _, _ = rand.Read(b) }, Locations: s.clusters.Locations,
		CheckLocation: func(l string) error { _, err := s.clusters.ProviderFor(l); return err }}
	s.mgr, err = compute.NewManager(compute.Config{Store: st, Operations: s.ops, Clusters: s.clusters, Providers: providers, Log: log,
		ServerID: serverID, MinVersion: s.cfg.MinKubernetesVersion, MaxVersion: s.cfg.MaxKubernetesVersion, RouterImage: s.cfg.RouterImage})
	if err != nil {
		return err
	}
	s.services, err = webservice.New(s.ops, s.mgr, st, s.registry)
	return err
}

// Resume starts the operations a previous run left unfinished and
// restarts stopped clusters; the engine runs new operations under ctx.
// Run calls it; call it once.
func (s *Server) Resume(ctx context.Context) error {
	ops, err := s.ops.Resume(ctx)
	if err != nil {
		return err
	}
	return s.clusters.RestartStopped(ctx, ops)
}

// Drain waits for running operations (after the Resume context is done).
func (s *Server) Drain() { s.ops.Drain() }

// storeKey is the secrets key: KUBEML_STORE_KEY, or a key file made on
// first start.
func storeKey(dataDir string) ([]byte, error) {
	if v := os.Getenv("KUBEML_STORE_KEY"); v != "" {
		return store.KeyFromEnv(v)
	}
	return store.LoadOrCreateKey(filepath.Join(dataDir, "store.key"))
}

// Close closes the store and releases the data dir.
func (s *Server) Close() error {
	err := s.store.Close()
	s.unlock()
	return err
}

// Manager returns the compute manager (for tests and embedding).
func (s *Server) Manager() *compute.Manager { return s.mgr }

// HealthConfig is how the server probes attached clusters.
func (s *Server) HealthConfig() compute.HealthConfig {
	return compute.HealthConfig{Interval: time.Duration(s.cfg.HealthInterval), FailureThreshold: s.cfg.HealthFailureThreshold,
		Observe: func(id string, ok bool) {
			v := 0.0
			if ok {
				v = 1
			}
			s.metrics.healthy.WithLabelValues(id).Set(v)
		}}
}

// RouterImageOf is the image the local provider makes of the kubeml
// binary bin (the running one if empty): of kubeml-node when it lies
// beside it from the same build, with the files a dynamic build needs.
// It is the server's default router image, so a local cluster attached
// by kubeconfig finds its router image preloaded; "" if bin is unreadable.
func RouterImageOf(bin string) string {
	ref, err := local.ImageRef(bin)
	if err != nil {
		return ""
	}
	return ref
}

// ensureServerID names this server (in attachment records) for good.
func ensureServerID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "server-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := fmt.Sprintf("%x", b)
	return id, os.WriteFile(path, []byte(id+"\n"), 0o600)
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "resuming operations\n", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", s.authenticated(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	mux.Handle("/kubeml/", s.authenticated(http.HandlerFunc(s.operation)))
	mux.Handle("/subscriptions/", s.authenticated(http.HandlerFunc(s.serveARM)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errBody("NotFound", "no kubeml resource at %s", r.URL.Path))
	})
	return s.metrics.instrument(recoverer(s.log, mux))
}

func (s *Server) authenticated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, s.tokenHash) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kubeml"`)
			writeJSON(w, http.StatusUnauthorized, errBody("AuthenticationFailed", "a valid bearer token is required (Authorization: Bearer <token>)"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged 500 instead of a dropped
// connection; a panic is a bug, never a way to answer bad input.
func recoverer(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic serving request", "path", r.URL.Path, "panic", v)
				writeJSON(w, http.StatusInternalServerError, errBody("InternalError", "internal error"))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends: it resumes unfinished operations, listens,
// and shuts down gracefully. ready, if not nil, gets the listen address.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", s.cfg.Addr, err)
	}
	s.external = externalURL(s.cfg, ln.Addr().String()) // the port, when Addr asked for any
	if err := s.Resume(ctx); err != nil {
		ln.Close()
		return err
	}
	go s.mgr.RunHealth(ctx, s.HealthConfig())
	s.ready.Store(true)
	ln = limitPerClient(ln, s.cfg.MaxConnsPerClient)
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Duration(s.cfg.ReadTimeout),
		IdleTimeout: time.Duration(s.cfg.IdleTimeout), ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	var certFile, keyFile string
	if !s.cfg.Insecure {
		if certFile, keyFile, err = ensureServingCert(s.cfg); err != nil {
			ln.Close()
			return err
		}
	}
	scheme := map[bool]string{true: "http", false: "https"}[s.cfg.Insecure]
	s.log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "dataDir", s.cfg.DataDir)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.Insecure {
			errc <- srv.Serve(ln)
		} else {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	s.Drain()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// metrics are the server's Prometheus metrics.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	healthy  *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubeml_http_requests_total", Help: "HTTP requests by method, resource kind and status code."}, []string{"method", "kind", "code"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kubeml_http_request_duration_seconds", Help: "HTTP request latency.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"method", "kind"}),
	}
	m.healthy = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubeml_cluster_healthy", Help: "1 when the last probes of a compute's cluster succeeded."}, []string{"compute"})
	m.reg.MustRegister(m.requests, m.latency, m.healthy, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		kind := kindOf(r.URL.Path)
		m.requests.WithLabelValues(r.Method, kind, fmt.Sprint(sw.code)).Inc()
		m.latency.WithLabelValues(r.Method, kind).Observe(time.Since(start).Seconds())
	})
}

// kindOf names a path's resource kind with bounded cardinality.
func kindOf(path string) string {
	p := strings.ToLower(path)
	for _, k := range []string{"computes", "managedclusters", "kubernetesversions", "orchestrators", "workspaces", "operations", "operationresults", "healthz", "readyz", "metrics"} {
		if strings.Contains(p, "/"+k) {
			return k
		}
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
