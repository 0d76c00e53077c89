// Package webservice deploys registered models to attached computes as
// web services: Azure ML's AKS web services with versions behind one
// scoring URI, key or token auth and autoscaling. Deploys run as durable
// operations of the operation engine; the cluster side is
// internal/deploy, the routing the contract of internal/routing.
package webservice

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/routing"
)

// Defaults of a web service, as Azure ML has them.
const (
	DefaultCPU               = 0.1
	DefaultMemoryGB          = 0.5
	DefaultMinReplicas       = 1
	DefaultMaxReplicas       = 10
	DefaultTargetUtilization = 70
	DefaultScoringTimeoutMs  = 60000
	DefaultMaxConcurrent     = 1
	DefaultMaxQueueWaitMs    = 500
	DefaultNamespace         = "default"
	DefaultVersion           = "default"
	MaxVersions              = 6
)

// probe is a probe with its defaults applied.
type probe struct{ Period, InitialDelay, Timeout, Failure, Success int }

// version is one version of a service with every default applied.
type version struct {
	Name                    string
	Model                   api.ModelRef
	CPU, MemoryGB           float64
	CPULimit, MemoryLimitGB float64 // 0: none
	Autoscale               bool
	Replicas, Min, Max      int
	Target                  int
	Liveness, Readiness     probe
	Traffic                 float64
	IsDefault               bool
}

// plan is a service request validated, with every default applied.
type plan struct {
	Namespace                string
	Auth, Token              bool
	TimeoutMs, MaxConcurrent int
	QueueWaitMs              int
	Versions                 []version // sorted by name
}

var (
	serviceNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{1,30}[a-z0-9])$`)
	labelRE       = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	versionNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$`)
)

// problems collects every problem of a request.
type problems []api.ErrorDetail

func (p *problems) add(code, target, format string, args ...any) {
	*p = append(*p, api.ErrorDetail{Code: code, Target: target, Message: fmt.Sprintf(format, args...)})
}

func or[T any](p *T, def T) T {
	if p != nil {
		return *p
	}
	return def
}

// makePlan validates a service request and applies the defaults,
// reporting every problem at once.
func makePlan(name string, s *api.ServiceProperties) (plan, problems) {
	var ps problems
	if !serviceNameRE.MatchString(name) {
		ps.add("InvalidServiceName", "name", "service name %q must be 3-32 lowercase letters, digits or '-', starting with a letter and ending with a letter or digit", name)
	}
	if s.ComputeName == "" {
		ps.add("MissingCompute", "properties.computeName", "computeName is required: the attached compute to deploy to")
	}
	p := plan{Namespace: s.Namespace, Auth: or(s.AuthEnabled, true), Token: or(s.TokenAuthEnabled, false),
		TimeoutMs: or(s.ScoringTimeoutMs, DefaultScoringTimeoutMs), MaxConcurrent: or(s.MaxConcurrentRequestsPerContainer, DefaultMaxConcurrent),
		QueueWaitMs: or(s.MaxQueueWaitMs, DefaultMaxQueueWaitMs)}
	if s.AuthEnabled == nil && p.Token {
		p.Auth = false // token auth asked for: keys off unless also asked
	}
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	if !labelRE.MatchString(p.Namespace) {
		ps.add("InvalidNamespace", "properties.namespace", "namespace %q must be a DNS label: lowercase letters, digits and '-', at most 63", p.Namespace)
	} else if p.Namespace == routing.Namespace {
		ps.add("InvalidNamespace", "properties.namespace", "namespace %s is kubeml's own: model services go to another", p.Namespace)
	}
	if p.Auth && p.Token {
		ps.add("AuthConflict", "properties.tokenAuthEnabled", "key auth and token auth cannot both be enabled: set authEnabled false to use tokens")
	}
	if p.TimeoutMs < 1 || p.TimeoutMs > 300000 {
		ps.add("InvalidScoringTimeout", "properties.scoringTimeoutMs", "scoringTimeoutMs %d must be between 1 and 300000", p.TimeoutMs)
	}
	if p.MaxConcurrent < 1 || p.MaxConcurrent > 1000 {
		ps.add("InvalidMaxConcurrentRequests", "properties.maxConcurrentRequestsPerContainer", "maxConcurrentRequestsPerContainer %d must be between 1 and 1000", p.MaxConcurrent)
	}
	if p.QueueWaitMs < 0 || p.QueueWaitMs > 300000 {
		ps.add("InvalidMaxQueueWait", "properties.maxQueueWaitMs", "maxQueueWaitMs %d must be between 0 and 300000", p.QueueWaitMs)
	}
	versions := s.Versions
	if len(versions) == 0 {
		versions = map[string]*api.ServiceVersion{DefaultVersion: {IsDefault: ptr(true)}}
	}
	if len(versions) > MaxVersions {
		ps.add("TooManyVersions", "properties.versions", "an endpoint has at most %d versions; got %d", MaxVersions, len(versions))
	}
	names := make([]string, 0, len(versions))
	for n := range versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := versionOf(n, &s.ServiceVersion, versions[n], &ps, len(versions) == 1)
		if len(name)+1+len(n) > 63 {
			ps.add("NameTooLong", "properties.versions."+n, "service and version names %q together must fit 62 characters", name+"-"+n)
		}
		p.Versions = append(p.Versions, v)
	}
	checkTraffic(p.Versions, &ps)
	return p, ps
}

// versionOf merges a version's settings over the service's.
func versionOf(name string, base, v *api.ServiceVersion, ps *problems, only bool) version {
	if v == nil {
		v = &api.ServiceVersion{}
	}
	t := "properties.versions." + name
	if !versionNameRE.MatchString(name) {
		ps.add("InvalidVersionName", t, "version name %q must be 1-20 lowercase letters, digits or '-'", name)
	}
	models := v.Models
	if len(models) == 0 {
		models = base.Models
	}
	out := version{Name: name, Traffic: or(v.TrafficPercentile, 0), IsDefault: or(v.IsDefault, only)}
	switch {
	case len(models) == 0:
		ps.add("MissingModel", t+".models", "version %s deploys no model: give models [{name, version}]", name)
	case len(models) > 1:
		ps.add("MultipleModels", t+".models", "version %s deploys %d models; kubeml serves one model per version: deploy each as its own version or service", name, len(models))
	default:
		out.Model = models[0]
	}
	res := pick(v.ContainerResourceRequirements, base.ContainerResourceRequirements)
	out.CPU, out.MemoryGB = or(res.CPU, DefaultCPU), or(res.MemoryInGB, DefaultMemoryGB)
	out.CPULimit, out.MemoryLimitGB = or(res.CPULimit, 0), or(res.MemoryInGBLim, 0)
	if out.CPU <= 0 || out.MemoryGB <= 0 {
		ps.add("InvalidResources", t+".containerResourceRequirements", "cpu (%g) and memoryInGB (%g) must be positive", out.CPU, out.MemoryGB)
	}
	if out.CPULimit != 0 && out.CPULimit < out.CPU || out.MemoryLimitGB != 0 && out.MemoryLimitGB < out.MemoryGB {
		ps.add("InvalidResources", t+".containerResourceRequirements", "limits must be at least the requests (cpu %g/%g, memory %g/%g GB)", out.CPU, out.CPULimit, out.MemoryGB, out.MemoryLimitGB)
	}
	as := pick(v.AutoScaler, base.AutoScaler)
	replicas := v.NumReplicas
	if replicas == nil {
		replicas = base.NumReplicas
	}
	out.Autoscale = or(as.AutoscaleEnabled, replicas == nil)
	out.Min, out.Max, out.Target = or(as.MinReplicas, DefaultMinReplicas), or(as.MaxReplicas, DefaultMaxReplicas), or(as.TargetUtilization, DefaultTargetUtilization)
	switch {
	case out.Autoscale && replicas != nil:
		ps.add("ReplicasConflict", t+".numReplicas", "numReplicas fixes the replica count, which autoscale (enabled) sets: give one of them")
	case out.Autoscale:
		if out.Min < 1 || out.Max < out.Min || out.Max > 100 {
			ps.add("InvalidAutoscale", t+".autoScaler", "autoscale needs 1 <= minReplicas (%d) <= maxReplicas (%d) <= 100", out.Min, out.Max)
		}
		if out.Target < 1 || out.Target > 100 {
			ps.add("InvalidAutoscale", t+".autoScaler.targetUtilization", "targetUtilization %d must be between 1 and 100", out.Target)
		}
		out.Replicas = out.Min
	default:
		out.Replicas = or(replicas, 1)
		out.Min, out.Max = out.Replicas, out.Replicas
		if out.Replicas < 1 || out.Replicas > 100 {
			ps.add("InvalidReplicas", t+".numReplicas", "numReplicas %d must be between 1 and 100", out.Replicas)
		}
	}
	out.Liveness = probeOf(pick(v.LivenessProbeRequirements, base.LivenessProbeRequirements), probe{10, 310, 2, 3, 1}, t+".livenessProbeRequirements", ps)
	out.Readiness = probeOf(pick(v.ReadinessProbeRequirements, base.ReadinessProbeRequirements), probe{1, 0, 2, 3, 1}, t+".readinessProbeRequirements", ps)
	return out
}

func probeOf(r *api.ProbeRequirements, def probe, target string, ps *problems) probe {
	p := probe{or(r.PeriodSeconds, def.Period), or(r.InitialDelaySeconds, def.InitialDelay), or(r.TimeoutSeconds, def.Timeout),
		or(r.FailureThreshold, def.Failure), or(r.SuccessThreshold, def.Success)}
	if p.Period < 1 || p.InitialDelay < 0 || p.Timeout < 1 || p.Failure < 1 || p.Success < 1 {
		ps.add("InvalidProbe", target, "probe periodSeconds, timeoutSeconds, failureThreshold and successThreshold must be at least 1, initialDelaySeconds at least 0")
	}
	return p
}

// checkTraffic: percentiles in 0..100, one default version, and the
// others' sum at most 100 (the default version takes the remainder).
func checkTraffic(vs []version, ps *problems) {
	sum, defaults := 0.0, []string{}
	for _, v := range vs {
		if v.Traffic < 0 || v.Traffic > 100 {
			ps.add("InvalidTrafficPercentile", "properties.versions."+v.Name+".trafficPercentile", "trafficPercentile %g must be between 0 and 100", v.Traffic)
		}
		if v.IsDefault {
			defaults = append(defaults, v.Name)
		} else {
			sum += v.Traffic
		}
	}
	if len(defaults) != 1 {
		ps.add("DefaultVersion", "properties.versions", "exactly one version must be the default (isDefault), which takes the traffic the others leave; got %d (%s)", len(defaults), strings.Join(defaults, ", "))
	}
	if sum > 100 {
		ps.add("TrafficOver100", "properties.versions", "the non-default versions' trafficPercentile add up to %g, over 100", sum)
	}
}

// pick returns a if set, else b, else an empty value.
func pick[T any](a, b *T) *T {
	switch {
	case a != nil:
		return a
	case b != nil:
		return b
	}
	return new(T)
}

func ptr[T any](v T) *T { return &v }
