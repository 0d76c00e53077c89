// Package deploy runs model web services on an attached cluster: it checks
// that their pods fit (CheckCapacity), delivers models as ConfigMap parts,
// applies per version a Deployment, Service and PodDisruptionBudget and the
// service's routing Secret (the routing contract), waits for the pods and
// says why they are not ready (DeployError), reads their logs, updates the
// routing alone and deletes a service with what only it used. Attaching
// the cluster and installing the router is package attach.
package deploy

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
	"github.com/kubeml/kubeml/internal/serving"
)

// WebService is a model deployed as an HTTP scoring endpoint: per version
// a Deployment of model pods with its Service and PodDisruptionBudget in
// Namespace, and the routing Secret the router reads in kubeml-system.
type WebService struct {
	// Name is the service's name (a DNS label), unique in the cluster.
	Name, Namespace string
	// Image is kubeml's own image; its pods run `kubeml serve-model`.
	Image           string
	ImagePullPolicy corev1.PullPolicy // default kubeobj.PullPolicy(Image)
	// Versions are the endpoint's versions (1 to 6).
	Versions []Version
	// PodTokens, when set, make the service's pods answer only requests
	// that carry one of them, which the router adds.
	PodTokens *PodTokens
	// Routing is how the router serves the service. Its versions are
	// matched to Versions by name; their Deployment, Service and Port are
	// filled in, and versions it lacks are added.
	Routing routing.Service
}

// Version is one version of a web service.
type Version struct {
	Name  string
	Model ModelFile
	// CPU and Memory are each pod's requests (default 0.1 CPU and
	// 0.5 GiB); CPULimit and MemoryLimit its limits, if any.
	CPU, Memory           resource.Quantity
	CPULimit, MemoryLimit *resource.Quantity
	// Replicas is the replica count; 0 means the autoscaler's minimum, or
	// 1. With autoscaling on, an existing Deployment's count is left to
	// the router.
	Replicas            int32
	Liveness, Readiness Probe
}

// ModelFile is a model's bytes and what is known of them.
type ModelFile struct {
	// Name is the file's name, for messages.
	Name string
	// Framework is onnx, xgboost or lightgbm; empty lets the pod detect it.
	Framework string
	// SHA256 (lower-case hex) and Size describe the bytes Open returns.
	SHA256 string
	Size   int64
	Open   func() (io.ReadCloser, error)
}

// Probe configures a pod's health probe; zero fields take the defaults
// (liveness: period 10 s, initial delay 310 s, timeout 2 s, failure
// threshold 3; readiness: period 2 s, no delay, timeout 2 s, failure
// threshold 3; success threshold 1).
type Probe struct {
	PeriodSeconds, InitialDelaySeconds, TimeoutSeconds, FailureThreshold, SuccessThreshold int32
}

// Limits and fixed names of web services.
const (
	// MaxVersions is how many versions one endpoint may have.
	MaxVersions = 6
	// MaxModelSize bounds a model delivered through the API server.
	MaxModelSize = 256 << 20
	// ModelDir is where model pods find the model's parts.
	ModelDir = "/var/lib/kubeml/model"
	// ModelLoadFailedText starts serve-model's error when the model's
	// bytes are wrong or fail to load; WaitWebService looks for it.
	ModelLoadFailedText = serving.ModelLoadFailedText
	// ModelContainer names the container of model pods.
	ModelContainer = "model"
	// drainSeconds is how long a stopping model pod keeps serving.
	drainSeconds = 5
)

var (
	sha256Hex      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	defaultCPU     = resource.MustParse("100m")
	defaultMemory  = resource.MustParse("512Mi")
	liveDefaults   = Probe{PeriodSeconds: 10, InitialDelaySeconds: 310, TimeoutSeconds: 2, FailureThreshold: 3, SuccessThreshold: 1}
	readyDefaults  = Probe{PeriodSeconds: 2, TimeoutSeconds: 2, FailureThreshold: 3, SuccessThreshold: 1}
	knownFramework = []string{"", "onnx", "xgboost", "lightgbm"}
)

// withDefaults returns p with its zero fields from d.
func (p Probe) withDefaults(d Probe) Probe {
	for _, f := range []struct{ v, d *int32 }{{&p.PeriodSeconds, &d.PeriodSeconds}, {&p.InitialDelaySeconds, &d.InitialDelaySeconds},
		{&p.TimeoutSeconds, &d.TimeoutSeconds}, {&p.FailureThreshold, &d.FailureThreshold}, {&p.SuccessThreshold, &d.SuccessThreshold}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return p
}

// prepare checks ws, reporting every problem at once, and returns a copy
// with the defaults and the routing filled in.
func prepare(ws WebService) (WebService, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, s := range validation.IsDNS1123Label(ws.Name) {
		bad("service name %q: %s", ws.Name, s)
	}
	for _, s := range validation.IsDNS1123Label(ws.Namespace) {
		bad("namespace %q: %s", ws.Namespace, s)
	}
	if ws.Image == "" {
		bad("no image for the model pods")
	}
	if ws.ImagePullPolicy == "" {
		ws.ImagePullPolicy = kubeobj.PullPolicy(ws.Image)
	}
	if len(ws.Versions) == 0 || len(ws.Versions) > MaxVersions {
		bad("a service has 1 to %d versions, not %d", MaxVersions, len(ws.Versions))
	}
	ws.Versions = slices.Clone(ws.Versions)
	seen := map[string]bool{}
	for i := range ws.Versions {
		v := &ws.Versions[i]
		if seen[v.Name] {
			bad("version %q is given twice", v.Name)
		}
		seen[v.Name] = true
		for _, s := range validation.IsDNS1123Label(ws.Name + "-" + v.Name) {
			bad("version %q: its object name %q: %s", v.Name, ws.Name+"-"+v.Name, s)
		}
		v.Model.Framework = strings.ToLower(v.Model.Framework)
		m := v.Model
		if !sha256Hex.MatchString(m.SHA256) {
			bad("version %q: model SHA-256 %q is not 64 lower-case hex digits", v.Name, m.SHA256)
		}
		if m.Size <= 0 || m.Size > MaxModelSize {
			bad("version %q: model %s is %d bytes; models delivered to a cluster must be 1 byte to %d MiB", v.Name, m.Name, m.Size, MaxModelSize>>20)
		}
		if m.Open == nil {
			bad("version %q: model %s cannot be read (no Open)", v.Name, m.Name)
		}
		if !slices.Contains(knownFramework, m.Framework) {
			bad("version %q: unknown framework %q; want onnx, xgboost or lightgbm", v.Name, m.Framework)
		}
		if v.Replicas < 0 {
			bad("version %q: %d replicas", v.Name, v.Replicas)
		}
		if v.CPU.IsZero() {
			v.CPU = defaultCPU
		}
		if v.Memory.IsZero() {
			v.Memory = defaultMemory
		}
		v.Liveness, v.Readiness = v.Liveness.withDefaults(liveDefaults), v.Readiness.withDefaults(readyDefaults)
	}
	r, err := fillRouting(ws.Routing, ws.Name, ws.Namespace, ws.Versions)
	if err != nil {
		errs = append(errs, err)
	}
	ws.Routing = r
	if err := errors.Join(errs...); err != nil {
		return ws, fmt.Errorf("invalid web service %s: %w", ws.Name, err)
	}
	for i := range ws.Versions {
		v := &ws.Versions[i]
		if v.Replicas == 0 {
			v.Replicas = int32(max(1, routingOf(ws.Routing, v.Name).Autoscale.MinReplicas))
		}
	}
	return ws, nil
}

// fillRouting returns r with its name, namespace and each version's
// Deployment, Service and Port set; versions named in vs but not in r are
// added. Without vs (nil), r's own versions are filled.
func fillRouting(r routing.Service, name, namespace string, vs []Version) (routing.Service, error) {
	r.Name, r.Namespace = name, namespace
	r.Versions = slices.Clone(r.Versions)
	for _, v := range vs {
		if !slices.ContainsFunc(r.Versions, func(rv routing.Version) bool { return rv.Name == v.Name }) {
			r.Versions = append(r.Versions, routing.Version{Name: v.Name})
		}
	}
	var errs []error
	for i := range r.Versions {
		rv := &r.Versions[i]
		if vs != nil && !slices.ContainsFunc(vs, func(v Version) bool { return v.Name == rv.Name }) {
			errs = append(errs, fmt.Errorf("routing names version %q, which the service does not have", rv.Name))
		}
		rv.Deployment, rv.Service, rv.Port = name+"-"+rv.Name, name+"-"+rv.Name, routing.ModelPort
	}
	if len(r.Versions) == 1 { // a lone version takes all traffic
		r.Versions[0].IsDefault = true
	}
	return r, errors.Join(errs...)
}

// routingOf returns the routing of the named version (zero if absent).
func routingOf(r routing.Service, version string) routing.Version {
	for _, rv := range r.Versions {
		if rv.Name == version {
			return rv
		}
	}
	return routing.Version{}
}

// report calls progress when it is set.
func report(progress func(string), format string, a ...any) {
	if progress != nil {
		progress(fmt.Sprintf(format, a...))
	}
}
