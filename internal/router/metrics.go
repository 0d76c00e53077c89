package router

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Values of the metrics' service label besides the names of deployed
// services (which come from routing Secrets, never from requests, so the
// label set stays bounded whatever clients send).
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
	// Per service and version, for requests routed to a version.
	versionRequests *prometheus.CounterVec
	versionDuration *prometheus.HistogramVec
	errors          *prometheus.CounterVec
	desired         *prometheus.GaugeVec
	handler         http.Handler
}

func newMetrics(loads func(yield func(service, version string, inflight, queued int))) *metrics {
	sv := []string{"service", "version"}
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
		versionRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kubeml", Subsystem: "router", Name: "version_requests_total",
			Help: "Requests routed to a service version, by HTTP status code.",
		}, []string{"service", "version", "code"}),
		versionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kubeml", Subsystem: "router", Name: "version_request_duration_seconds",
			Help:    "Time to answer a request routed to a service version, queueing included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, sv),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kubeml", Subsystem: "router", Name: "errors_total",
			Help: "Errors the router itself answered for a version: 502 upstream failed, 503 busy, 504 timed out.",
		}, []string{"service", "version", "code"}),
		desired: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "kubeml", Subsystem: "router", Name: "replicas_desired",
			Help: "Replicas the autoscaler wants for a version (set by the leading router).",
		}, sv),
	}
	m.registry.MustRegister(m.requests, m.duration, m.versionRequests, m.versionDuration,
		m.errors, m.desired, collectors.NewGoCollector(), loadCollector(loads))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// observe records one answered request.
func (m *metrics) observe(service string, code int, d time.Duration) {
	m.requests.WithLabelValues(service, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(service).Observe(d.Seconds())
}

// forget drops every series of a service that is no longer deployed.
func (m *metrics) forget(service string) {
	l := prometheus.Labels{"service": service}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.versionRequests.DeletePartialMatch(l)
	m.versionDuration.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.desired.DeletePartialMatch(l)
}

// forgetVersion drops the series of a version that is no longer routed.
func (m *metrics) forgetVersion(service, version string) {
	l := prometheus.Labels{"service": service, "version": version}
	m.versionRequests.DeletePartialMatch(l)
	m.versionDuration.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.desired.DeletePartialMatch(l)
}

// versionMetrics are one version's collectors, resolved once per routing
// change so that the request path does no label lookups for answers 200.
type versionMetrics struct {
	m                *metrics
	service, version string
	ok               prometheus.Counter
	duration         prometheus.Observer
}

func (m *metrics) forVersion(service, version string) *versionMetrics {
	return &versionMetrics{
		m: m, service: service, version: version,
		ok:       m.versionRequests.WithLabelValues(service, version, "200"),
		duration: m.versionDuration.WithLabelValues(service, version),
	}
}

// observe records one request answered by (or on behalf of) the version.
func (v *versionMetrics) observe(code int, d time.Duration, routerError bool) {
	if code == http.StatusOK {
		v.ok.Inc()
	} else {
		c := strconv.Itoa(code)
		v.m.versionRequests.WithLabelValues(v.service, v.version, c).Inc()
		if routerError {
			v.m.errors.WithLabelValues(v.service, v.version, c).Inc()
		}
	}
	v.duration.Observe(d.Seconds())
}

// loadCollector reports the in-flight and queued requests of every
// version when scraped, so the request path never touches a gauge.
type loadCollector func(yield func(service, version string, inflight, queued int))

var (
	inflightDesc = prometheus.NewDesc("kubeml_router_inflight_requests",
		"Requests being answered by a version's pods through this router.", []string{"service", "version"}, nil)
	queuedDesc = prometheus.NewDesc("kubeml_router_queued_requests",
		"Requests waiting for a free pod (or for the first pod) of a version.", []string{"service", "version"}, nil)
)

func (c loadCollector) Describe(ch chan<- *prometheus.Desc) { ch <- inflightDesc; ch <- queuedDesc }

func (c loadCollector) Collect(ch chan<- prometheus.Metric) {
	if c == nil {
		return
	}
	c(func(service, version string, inflight, queued int) {
		for d, v := range map[*prometheus.Desc]int{inflightDesc: inflight, queuedDesc: queued} {
			if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(v), service, version); err == nil {
				ch <- m
			}
		}
	})
}
