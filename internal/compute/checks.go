package compute

import (
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/vmsize"
)

// Severity of a check result.
type Severity string

// Severities.
const (
	SeverityError   Severity = "Error"
	SeverityWarning Severity = "Warning"
)

// Problem is one check's finding: a stable PascalCase code, a message for
// people, the JSON target of the field at fault and the severity.
type Problem struct {
	Code, Message, Target string
	Severity              Severity
}

// Request is what the checks see.
type Request struct {
	Name     string       // compute name
	Compute  *api.Compute // the request body (defaults not yet applied)
	Existing *api.Compute // the stored compute when this is an update, else nil
	// Taken reports whether another compute of the workspace has this name
	// (case-insensitive).
	Taken     func(name string) bool
	Locations []string // configured locations
	// VMSizes returns the sizes the location's provider accepts, keyed by
	// lower-case name; an error if the location is unknown.
	VMSizes func(location string) (map[string]vmsize.Size, error)
}

// Check is one named rule. It returns the problems it finds (nil if none).
// A check that depends on a field another check refuses skips quietly.
type Check func(r *Request) []Problem

// Chain runs checks in order and returns every problem.
type Chain []Check

// CreateChecks is the chain for a new compute.
func CreateChecks() Chain {
	return Chain{
		checkName, checkReservedName, checkNameUnique, checkLocation,
		checkComputeType, checkPurpose, checkAgentCount, checkVMSize,
		checkVCPUs, checkNodeCount, checkNetworking, checkSSL, checkLoadBalancer,
	}
}

// AttachChecks is the chain for attaching an existing cluster: the
// compute's own rules (the cluster's are checked against the cluster).
func AttachChecks() Chain {
	return Chain{checkName, checkReservedName, checkNameUnique, checkOneClusterSource, checkSSL}
}

// UpdateChecks is the chain for an update (scale) of an existing compute.
func UpdateChecks() Chain {
	return Chain{
		checkUpdateOnlyScales, checkVMSizeUnchanged, checkAgentCount,
		checkVCPUs, checkNodeCount,
	}
}

// checkOneClusterSource refuses an attach that names its cluster two
// ways: a Kubernetes compute is attached by its kubeconfig, a cluster by
// id as an AKS compute.
func checkOneClusterSource(r *Request) []Problem {
	if strings.EqualFold(r.Compute.Properties.ComputeType, api.ComputeKubernetes) && r.Compute.Properties.ResourceID != "" {
		return []Problem{problem("AmbiguousClusterSource", "properties.resourceId",
			"a Kubernetes compute is attached by its kubeconfig: leave properties.resourceId empty, or attach the cluster by id with computeType AKS")}
	}
	return nil
}

// Run runs every check, never stopping at the first problem. It does not
// modify r; VMSizes is called at most once per location.
func (c Chain) Run(r *Request) []Problem {
	rr := *r
	if rr.Compute == nil {
		rr.Compute = &api.Compute{}
	}
	rr.VMSizes = memoSizes(r.VMSizes)
	var out []Problem
	for _, check := range c {
		out = append(out, check(&rr)...)
	}
	return out
}

// Errors returns only the Error-severity problems.
func Errors(ps []Problem) []Problem { return bySeverity(ps, true) }

// Warnings returns the problems that are not errors.
func Warnings(ps []Problem) []Problem { return bySeverity(ps, false) }

func bySeverity(ps []Problem, errs bool) []Problem {
	var out []Problem
	for _, p := range ps {
		if (p.Severity == SeverityError) == errs {
			out = append(out, p)
		}
	}
	return out
}

// ApplyDefaults fills defaults into a create request, in place. sizes are
// the location's provider's sizes.
func ApplyDefaults(c *api.Compute, sizes map[string]vmsize.Size) {
	if c.Properties.Properties == nil {
		c.Properties.Properties = &api.AKSProperties{}
	}
	p := c.Properties.Properties
	if p.ClusterPurpose == "" {
		p.ClusterPurpose = api.PurposeFastProd
	}
	if p.AgentCount == nil {
		n := defaultCount(p.ClusterPurpose)
		p.AgentCount = &n
	}
	if p.AgentVMSize == "" {
		p.AgentVMSize = defaultVMSize(sizes)
	}
	if p.LoadBalancerType == "" {
		p.LoadBalancerType = api.LoadBalancerPublicIP
	}
	if p.LoadBalancerType == api.LoadBalancerInternal && p.LoadBalancerSubnet == "" {
		p.LoadBalancerSubnet = "aks-subnet"
	}
	if p.SSLConfiguration == nil {
		p.SSLConfiguration = &api.SSLConfiguration{}
	}
	if p.SSLConfiguration.Status == "" {
		p.SSLConfiguration.Status = api.SSLDisabled
	}
}

// Targets of the fields the checks look at.
const (
	targetProps      = "properties.properties."
	targetCount      = targetProps + "agentCount"
	targetVMSize     = targetProps + "agentVmSize"
	targetPurpose    = targetProps + "clusterPurpose"
	targetNetwork    = targetProps + "aksNetworkingConfiguration"
	targetSSL        = targetProps + "sslConfiguration"
	targetLBType     = targetProps + "loadBalancerType"
	targetLBSubnet   = targetProps + "loadBalancerSubnet"
	targetType       = "properties.computeType"
	targetLocation   = "properties.computeLocation"
	targetResourceID = "properties.resourceId"
)

// maxAgentCount is the most nodes a cluster has.
const maxAgentCount = 100

func problem(code, target, msg string) Problem {
	return Problem{Code: code, Message: msg, Target: target, Severity: SeverityError}
}

func warning(code, target, msg string) Problem {
	return Problem{Code: code, Message: msg, Target: target, Severity: SeverityWarning}
}

// props returns c's AKS properties, empty ones if c or they are nil.
func props(c *api.Compute) *api.AKSProperties {
	if c == nil || c.Properties.Properties == nil {
		return &api.AKSProperties{}
	}
	return c.Properties.Properties
}

// computeLocation is computeLocation, else the resource's location.
func computeLocation(c *api.Compute) string {
	if c == nil {
		return ""
	}
	if c.Properties.ComputeLocation != "" {
		return c.Properties.ComputeLocation
	}
	return c.Location
}

// location is where the cluster is: the request's, else the stored
// compute's, else the first configured location (the workspace's default).
func (r *Request) location() string {
	if l := computeLocation(r.Compute); l != "" {
		return l
	}
	if l := computeLocation(r.Existing); l != "" {
		return l
	}
	if len(r.Locations) > 0 {
		return r.Locations[0]
	}
	return ""
}

// sizes returns the location's sizes, false if the location is unknown.
func (r *Request) sizes() (map[string]vmsize.Size, bool) {
	if r.VMSizes == nil || !r.knownLocation(r.location()) {
		return nil, false
	}
	s, err := r.VMSizes(r.location())
	return s, err == nil
}

func (r *Request) knownLocation(l string) bool {
	for _, k := range r.Locations {
		if strings.EqualFold(k, l) {
			return true
		}
	}
	return false
}

// purpose is the cluster's purpose: the stored one on update (changing it
// is refused), else the request's, else FastProd; false if it is invalid.
func (r *Request) purpose() (string, bool) {
	p := props(r.Existing).ClusterPurpose
	if p == "" {
		p = props(r.Compute).ClusterPurpose
	}
	if p == "" {
		p = api.PurposeFastProd
	}
	return p, api.ValidPurpose(p)
}

// count is the requested node count, else the stored one, else the
// purpose's default; false if it is out of range.
func (r *Request) count() (int, bool) {
	n := props(r.Compute).AgentCount
	if n == nil {
		n = props(r.Existing).AgentCount
	}
	if n == nil {
		p, _ := r.purpose()
		return defaultCount(p), true
	}
	return *n, *n >= 1 && *n <= maxAgentCount
}

// size is the cluster's VM size: the stored one on update (changing it is
// refused), else the request's, else the default; false if unknown.
func (r *Request) size() (vmsize.Size, bool) {
	sizes, ok := r.sizes()
	if !ok {
		return vmsize.Size{}, false
	}
	name := props(r.Existing).AgentVMSize
	if name == "" {
		name = props(r.Compute).AgentVMSize
	}
	if name == "" {
		name = defaultVMSize(sizes)
	}
	s, ok := sizes[strings.ToLower(strings.TrimSpace(name))]
	return s, ok
}

func defaultCount(purpose string) int {
	if purpose == api.PurposeDevTest {
		return 1
	}
	return api.ProductionNodes
}

// defaultVMSize is Standard_D3_v2, or the provider's only size.
func defaultVMSize(sizes map[string]vmsize.Size) string {
	if len(sizes) == 1 {
		for _, s := range sizes {
			return s.Name
		}
	}
	return vmsize.DefaultName
}

// memoSizes caches f's answer per location for one run.
func memoSizes(f func(string) (map[string]vmsize.Size, error)) func(string) (map[string]vmsize.Size, error) {
	if f == nil {
		return nil
	}
	type answer struct {
		sizes map[string]vmsize.Size
		err   error
	}
	seen := map[string]answer{}
	return func(l string) (map[string]vmsize.Size, error) {
		k := strings.ToLower(l)
		a, ok := seen[k]
		if !ok {
			a.sizes, a.err = f(l)
			seen[k] = a
		}
		return a.sizes, a.err
	}
}
