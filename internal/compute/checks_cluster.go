package compute

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/vmsize"
)

// reservedNames are compute names Azure ML keeps for itself.
var reservedNames = []string{"amlcompute", "local", "containerinstance"}

// maxListedSizes is how many sizes an unknown-size message lists in full.
const maxListedSizes = 10

// checkName: 3-24 letters, digits and '-', starting with a letter and ending with a letter or digit.
func checkName(r *Request) []Problem {
	if why := nameFault(r.Name); why != "" {
		return []Problem{problem("InvalidComputeName", "name", fmt.Sprintf(
			"Compute name %q is invalid: %s. A name has 3-24 letters, digits and '-', starts with a letter and ends with a letter or digit", r.Name, why))}
	}
	return nil
}

// nameFault says what is wrong with name, or "" if nothing.
func nameFault(name string) string {
	letter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	switch {
	case len(name) < 3 || len(name) > 24:
		return fmt.Sprintf("it has %d characters", len(name))
	case !letter(name[0]):
		return "it does not start with a letter"
	case !letter(name[len(name)-1]) && !digit(name[len(name)-1]):
		return "it does not end with a letter or digit"
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !letter(c) && !digit(c) && c != '-' {
			return fmt.Sprintf("%q is not allowed", rune(c))
		}
	}
	return ""
}

// checkReservedName refuses the names Azure ML reserves, in any case.
func checkReservedName(r *Request) []Problem {
	for _, n := range reservedNames {
		if strings.EqualFold(r.Name, n) {
			return []Problem{problem("ReservedComputeName", "name", fmt.Sprintf(
				"Compute name %q is reserved; choose a name other than %s", r.Name, strings.Join(reservedNames, ", ")))}
		}
	}
	return nil
}

// checkNameUnique refuses a name another compute of the workspace has.
func checkNameUnique(r *Request) []Problem {
	if r.Taken == nil || nameFault(r.Name) != "" || !r.Taken(r.Name) {
		return nil
	}
	return []Problem{problem("ComputeNameTaken", "name", fmt.Sprintf(
		"A compute named %q already exists in the workspace; names are unique, ignoring case", r.Name))}
}

// checkLocation requires a configured location whose provider answers.
func checkLocation(r *Request) []Problem {
	target := targetLocation
	if r.Compute.Properties.ComputeLocation == "" && r.Compute.Location != "" {
		target = "location"
	}
	l := r.location()
	known := "none are configured"
	if len(r.Locations) > 0 {
		known = "the configured locations are " + strings.Join(r.Locations, ", ")
	}
	switch {
	case l == "":
		return []Problem{problem("UnknownLocation", target, "A location is required: "+known)}
	case !r.knownLocation(l):
		return []Problem{problem("UnknownLocation", target, fmt.Sprintf("Unknown location %q: %s", l, known))}
	case r.VMSizes == nil:
		return nil
	}
	if _, err := r.VMSizes(l); err != nil {
		return []Problem{problem("UnknownLocation", target, fmt.Sprintf("Location %q cannot host clusters: %v", l, err))}
	}
	return nil
}

// checkComputeType requires AKS or Kubernetes.
func checkComputeType(r *Request) []Problem {
	switch t := r.Compute.Properties.ComputeType; t {
	case api.ComputeAKS, api.ComputeKubernetes:
		return nil
	case "":
		return []Problem{problem("InvalidComputeType", targetType, fmt.Sprintf(
			"computeType is required: use %s or %s", api.ComputeAKS, api.ComputeKubernetes))}
	default:
		return []Problem{problem("InvalidComputeType", targetType, fmt.Sprintf(
			"Compute type %q is not supported: use %s or %s", t, api.ComputeAKS, api.ComputeKubernetes))}
	}
}

// checkPurpose requires FastProd, DenseProd or DevTest when a purpose is given.
func checkPurpose(r *Request) []Problem {
	if p := props(r.Compute).ClusterPurpose; p != "" && !api.ValidPurpose(p) {
		return []Problem{problem("InvalidClusterPurpose", targetPurpose, fmt.Sprintf(
			"Cluster purpose %q is not supported: use %s (the default), %s or %s",
			p, api.PurposeFastProd, api.PurposeDenseProd, api.PurposeDevTest))}
	}
	return nil
}

// checkAgentCount requires 1 to 100 nodes when a count is given.
func checkAgentCount(r *Request) []Problem {
	if n := props(r.Compute).AgentCount; n != nil && (*n < 1 || *n > maxAgentCount) {
		return []Problem{problem("InvalidAgentCount", targetCount, fmt.Sprintf(
			"Agent count %d is out of range: a cluster has 1 to %d nodes", *n, maxAgentCount))}
	}
	return nil
}

// checkVMSize requires a size the location's provider accepts.
func checkVMSize(r *Request) []Problem {
	sizes, ok := r.sizes()
	if !ok || len(sizes) == 0 {
		return nil
	}
	if _, ok := r.size(); ok {
		return nil
	}
	name := props(r.Compute).AgentVMSize
	// A small provider's sizes are all listed; a large one's Lookup error
	// suggests close matches or some examples.
	why := "it accepts " + strings.Join(sortedNames(sizes), ", ")
	if len(sizes) > maxListedSizes {
		all := make([]vmsize.Size, 0, len(sizes))
		for _, s := range sizes {
			all = append(all, s)
		}
		_, err := vmsize.New(all...).Lookup(name)
		why = err.Error()
	}
	msg := fmt.Sprintf("VM size %q is not available in location %q: %s", name, r.location(), why)
	if name == "" {
		msg = fmt.Sprintf("The default VM size %s is not available in location %q; set agentVmSize: %s",
			vmsize.DefaultName, r.location(), why)
	}
	return []Problem{problem("UnknownVMSize", targetVMSize, msg)}
}

// checkVCPUs: production needs nodes x cores >= 12; DevTest is warned under 2.
func checkVCPUs(r *Request) []Problem {
	purpose, okP := r.purpose()
	n, okN := r.count()
	s, okS := r.size()
	if !okP || !okN || !okS {
		return nil
	}
	total := n * s.Cores
	actual := fmt.Sprintf(" (%d x %d = %d vCPUs with %s)", n, s.Cores, total, s.Name)
	switch {
	case api.ProductionPurpose(purpose) && total < api.ProductionVCPUs:
		return []Problem{problem("InsufficientVCPUs", targetCount,
			"The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to 12"+actual)}
	case purpose == api.PurposeDevTest && total < api.DevTestVCPUs:
		return []Problem{warning("LowVCPUs", targetCount, fmt.Sprintf(
			"A DevTest cluster should have at least %d vCPUs%s; the model server may not fit", api.DevTestVCPUs, actual))}
	}
	return nil
}

// checkNodeCount: production purposes need at least 3 nodes.
func checkNodeCount(r *Request) []Problem {
	purpose, okP := r.purpose()
	n, okN := r.count()
	if !okP || !okN || !api.ProductionPurpose(purpose) || n >= api.ProductionNodes {
		return nil
	}
	return []Problem{problem("InsufficientNodes", targetCount, fmt.Sprintf(
		"At least %d machine(s) are required for cluster with purpose '%s'. Available machine(s) : %d", api.ProductionNodes, purpose, n))}
}

// checkVMSizeUnchanged refuses an update that changes the VM size.
func checkVMSizeUnchanged(r *Request) []Problem {
	was, now := props(r.Existing).AgentVMSize, props(r.Compute).AgentVMSize
	if r.Existing == nil || now == "" || was == "" || strings.EqualFold(strings.TrimSpace(now), was) {
		return nil
	}
	return []Problem{problem("VMSizeChange", targetVMSize,
		"Changing the VM size of a cluster is not supported: scale changes the node count only; create a new compute for another VM size")}
}

// checkUpdateOnlyScales refuses an update that changes anything set at creation.
func checkUpdateOnlyScales(r *Request) []Problem {
	if r.Existing == nil {
		return nil
	}
	was, now := props(r.Existing), props(r.Compute)
	var out []Problem
	refuse := func(code, target, what, from, to, how string) {
		out = append(out, problem(code, target, fmt.Sprintf(
			"Changing the %s of a cluster from %q to %q is not supported: scale changes the node count only; %s", what, from, to, how)))
	}
	const newCompute = "create a new compute instead"
	if t, w := r.Compute.Properties.ComputeType, r.Existing.Properties.ComputeType; t != "" && t != w {
		refuse("ComputeTypeChange", targetType, "compute type", w, t, newCompute)
	}
	if id, w := r.Compute.Properties.ResourceID, r.Existing.Properties.ResourceID; id != "" && !strings.EqualFold(id, w) {
		refuse("ResourceIdChange", targetResourceID, "cluster (resourceId)", w, id, "detach the compute and attach the other cluster as a compute of its own")
	}
	if l, w := computeLocation(r.Compute), computeLocation(r.Existing); l != "" && !strings.EqualFold(l, w) {
		refuse("LocationChange", targetLocation, "location", w, l, newCompute)
	}
	if p, w := now.ClusterPurpose, orDefault(was.ClusterPurpose, api.PurposeFastProd); p != "" && p != w {
		refuse("ClusterPurposeChange", targetPurpose, "purpose", w, p, newCompute)
	}
	if n := now.AKSNetworkingConfiguration; n != nil && *n != (api.AKSNetworkingConfig{}) && !sameNetwork(n, was.AKSNetworkingConfiguration) {
		out = append(out, problem("NetworkingChange", targetNetwork,
			"Changing the networking of a cluster is not supported: aksNetworkingConfiguration is set at creation only; create a new compute instead"))
	}
	if s := now.SSLConfiguration; s != nil && !sameSSL(s, was.SSLConfiguration) {
		out = append(out, problem("SSLConfigurationChange", targetSSL,
			"Changing the TLS settings of a cluster is not supported by an update: detach the cluster, then attach it again with the new sslConfiguration"))
	}
	if t, w := now.LoadBalancerType, orDefault(was.LoadBalancerType, api.LoadBalancerPublicIP); t != "" && t != w {
		refuse("LoadBalancerChange", targetLBType, "load balancer type", w, t, newCompute)
	}
	if s, w := now.LoadBalancerSubnet, was.LoadBalancerSubnet; s != "" && s != w {
		refuse("LoadBalancerChange", targetLBSubnet, "load balancer subnet", w, s, newCompute)
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sameNetwork(a, b *api.AKSNetworkingConfig) bool {
	if b == nil {
		b = &api.AKSNetworkingConfig{}
	}
	return strings.EqualFold(a.SubnetID, b.SubnetID) && a.ServiceCidr == b.ServiceCidr &&
		a.DNSServiceIP == b.DNSServiceIP && a.DockerBridgeCidr == b.DockerBridgeCidr
}

// sameSSL compares TLS settings. Cert and key are secrets a GET never
// returns, so a request without them keeps the stored ones.
func sameSSL(a, b *api.SSLConfiguration) bool {
	if b == nil {
		b = &api.SSLConfiguration{}
	}
	return orDefault(a.Status, api.SSLDisabled) == orDefault(b.Status, api.SSLDisabled) &&
		a.Cname == b.Cname && a.LeafDomainLabel == b.LeafDomainLabel &&
		// Stored configurations keep no cert or key (they are secrets).
		(a.Cert == "" || b.Cert == "" || a.Cert == b.Cert) && (a.Key == "" || b.Key == "" || a.Key == b.Key)
}

// sortedNames returns the sizes' names, sorted.
func sortedNames(sizes map[string]vmsize.Size) []string {
	out := make([]string, 0, len(sizes))
	for _, s := range sizes {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}
