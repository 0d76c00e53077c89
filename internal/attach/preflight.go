package attach

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
)

// Status is a check's outcome.
type Status string

// Statuses.
const (
	StatusPass Status = "Pass"
	StatusWarn Status = "Warn"
	StatusFail Status = "Fail"
)

// Check is one named check's result. Reason is a stable PascalCase code;
// Message is for people.
type Check struct {
	Name, Reason, Message string
	Status                Status
}

// Report is the result of a preflight: every check that ran and what was
// learnt about the cluster.
type Report struct {
	Checks             []Check
	KubernetesVersion  string
	Nodes, VCPUs, GPUs int
}

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return true
		}
	}
	return false
}

// The supported minor versions of Kubernetes (inclusive), unless the
// server is configured otherwise, and the timeout of a preflight.
const (
	DefaultMinVersion       = "1.30"
	DefaultMaxVersion       = "1.37"
	DefaultPreflightTimeout = 5 * time.Second
)

// PreflightOptions say what the cluster is checked for.
type PreflightOptions struct {
	// Purpose is one of api.Purposes (default FastProd).
	Purpose string
	// MinVersion and MaxVersion bound the supported minor versions,
	// inclusive ("1.30", "1.37"); empty means the defaults.
	MinVersion, MaxVersion string
	// Namespace is the workload namespace; default "default".
	Namespace string
	// Scoped says kubeml will make an account of its own from the
	// credentials: they must also hold the rights to make it.
	Scoped bool
	// Attachment is who is attaching: a record naming the same workspace
	// and compute is not a conflict.
	Attachment Attachment
	// Timeout bounds the whole run; default 5s.
	Timeout time.Duration
}

func (o *PreflightOptions) defaults() {
	if o.Purpose == "" {
		o.Purpose = api.PurposeFastProd
	}
	if o.MinVersion == "" {
		o.MinVersion = DefaultMinVersion
	}
	if o.MaxVersion == "" {
		o.MaxVersion = DefaultMaxVersion
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultPreflightTimeout
	}
}

// probe is what the checks share: the client, the options, the report
// being filled and what earlier checks learnt.
type probe struct {
	cs         kubernetes.Interface
	o          PreflightOptions
	r          *Report
	reachable  bool
	gitVersion string
	nodes      []corev1.Node // nil until listed
}

// check is one named preflight check. needsAPI checks are skipped (left
// out of the report) when the API server is unreachable.
type check struct {
	name     string
	needsAPI bool
	run      func(ctx context.Context, p *probe) []Check
}

// checks is the preflight chain, in order.
func checks() []check {
	return []check{
		{"api", false, checkAPI},
		{"version", true, checkVersion},
		{"capacity", true, checkCapacity},
		{"gpus", true, checkGPUs},
		{"rbac", true, checkRBAC},
		{"attachment", true, checkAttachment},
		{"namespace", false, checkNamespace},
	}
}

// Preflight runs every check against the live cluster and returns the full
// report; it never stops at the first failure.
func Preflight(ctx context.Context, cs kubernetes.Interface, o PreflightOptions) Report {
	o.defaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	r := Report{}
	p := &probe{cs: cs, o: o, r: &r}
	for _, c := range checks() {
		if c.needsAPI && !p.reachable {
			continue
		}
		for _, res := range c.run(ctx, p) {
			if res.Name == "" {
				res.Name = c.name
			}
			r.Checks = append(r.Checks, res)
		}
	}
	return r
}

func pass(reason, msg string) Check { return Check{Reason: reason, Message: msg, Status: StatusPass} }
func warn(reason, msg string) Check { return Check{Reason: reason, Message: msg, Status: StatusWarn} }
func fail(reason, msg string) Check { return Check{Reason: reason, Message: msg, Status: StatusFail} }
