package router

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Values of the metrics' service label. Requests are labelled with these,
// never with a name taken from the request, so the label set stays bounded
// whatever clients send. Deployed services will add their own names later.
const (
	labelRouter  = "router"  // the router's own endpoints (probes, metrics, /v2 metadata)
	labelUnknown = "unknown" // a service or model that is not deployed
	labelNone    = "none"    // a path that names no endpoint at all
)

// metrics are the router's Prometheus collectors and its own registry.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kubeml", Subsystem: "router", Name: "requests_total",
			Help: "Requests the router answered, by service and HTTP status code.",
		}, []string{"service", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kubeml", Subsystem: "router", Name: "request_duration_seconds",
			Help:    "Time the router took to answer a request, by service.",
			Buckets: prometheus.DefBuckets,
		}, []string{"service"}),
	}
	m.registry.MustRegister(m.requests, m.duration, collectors.NewGoCollector())
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// observe records one answered request.
func (m *metrics) observe(service string, code int, d time.Duration) {
	m.requests.WithLabelValues(service, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(service).Observe(d.Seconds())
}
