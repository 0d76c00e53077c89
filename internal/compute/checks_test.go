// Tests for the compute checks follow what a user sends: each table case
// is a request and the problem codes it must get, all at once.
package compute

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/vmsize"
)

// sizesOf serves westus with the Azure catalog and local with a 2-core host.
func sizesOf(l string) (map[string]vmsize.Size, error) {
	switch l {
	case "westus":
		m := map[string]vmsize.Size{}
		for _, s := range vmsize.Azure().All() {
			m[strings.ToLower(s.Name)] = s
		}
		return m, nil
	case "local":
		return map[string]vmsize.Size{"host": {Name: "Host", Cores: 2}}, nil
	}
	return nil, errors.New("no provider for " + l)
}

type mod func(c *api.Compute)

func count(n int) mod   { return func(c *api.Compute) { c.Properties.Properties.AgentCount = &n } }
func size(s string) mod { return func(c *api.Compute) { c.Properties.Properties.AgentVMSize = s } }
func purpose(p string) mod {
	return func(c *api.Compute) { c.Properties.Properties.ClusterPurpose = p }
}
func resourceID(id string) mod { return func(c *api.Compute) { c.Properties.ResourceID = id } }

const (
	clusterA = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/a"
	clusterB = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/b"
)

func location(l string) mod    { return func(c *api.Compute) { c.Location = l } }
func computeType(t string) mod { return func(c *api.Compute) { c.Properties.ComputeType = t } }

// compute is an AKS create request in westus with mods applied.
func compute(mods ...mod) *api.Compute {
	c := &api.Compute{Location: "westus", Properties: api.ComputeProperties{
		ComputeType: api.ComputeAKS, Properties: &api.AKSProperties{}}}
	for _, m := range mods {
		m(c)
	}
	return c
}

// request is a create request named name; "existing" is taken.
func request(name string, mods ...mod) *Request {
	return &Request{
		Name: name, Compute: compute(mods...), Locations: []string{"westus", "local"}, VMSizes: sizesOf,
		Taken: func(n string) bool { return strings.EqualFold(n, "existing") },
	}
}

// update is a request to change stored into a compute with mods.
func update(stored *api.Compute, mods ...mod) *Request {
	r := request("myaks", append([]mod{computeType(""), location("")}, mods...)...)
	r.Existing = stored
	return r
}

// stored is a created 3 x Standard_D3_v2 FastProd cluster, defaults applied.
func stored(mods ...mod) *api.Compute {
	c := compute(mods...)
	s, _ := sizesOf("westus")
	ApplyDefaults(c, s)
	return c
}

func codes(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	slices.Sort(out)
	return out
}

type chainCase struct {
	req              *Request
	errors, warnings []string
}

func runCases(t *testing.T, chain Chain, tests map[string]chainCase) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ps := chain.Run(tc.req)
			if got := codes(Errors(ps)); !slices.Equal(got, tc.errors) {
				t.Errorf("errors = %v, want %v\n%+v", got, tc.errors, ps)
			}
			if got := codes(Warnings(ps)); !slices.Equal(got, tc.warnings) {
				t.Errorf("warnings = %v, want %v\n%+v", got, tc.warnings, ps)
			}
		})
	}
}

func TestCreateChecks(t *testing.T) {
	runCases(t, CreateChecks(), map[string]chainCase{
		"an empty request passes with its defaults (3 x Standard_D3_v2 FastProd)": {req: request("myaks")},
		"3 x Standard_D3_v2 FastProd passes": {
			req: request("myaks", purpose("FastProd"), count(3), size("Standard_D3_v2"))},
		"FastProd with 1 node of a 2-core size lacks both vCPUs and nodes": {
			req: request("myaks", count(1), size("Standard_D2_v2")), errors: []string{"InsufficientNodes", "InsufficientVCPUs"}},
		"DenseProd with 3 nodes of 2 cores lacks vCPUs only": {
			req: request("myaks", purpose("DenseProd"), count(3), size("Standard_F2")), errors: []string{"InsufficientVCPUs"}},
		"DevTest with 1 node of 1 core warns only": {
			req: request("myaks", purpose("DevTest"), count(1), size("Standard_D1_v2")), warnings: []string{"LowVCPUs"}},
		"DevTest with its default single node of 4 cores is quiet": {req: request("myaks", purpose("DevTest"))},
		"DevTest on the local host takes the host's only size":     {req: request("myaks", purpose("DevTest"), location("local"))},
		"a bad name, unknown location, partial networking and TLS without key report all four at once": {
			req: request("9-lives", location("mars"),
				network(api.AKSNetworkingConfig{SubnetID: "/subscriptions/s/subnets/a"}),
				ssl(api.SSLConfiguration{Status: "Enabled", Cname: "ml.example.com", Cert: "x"})),
			errors: []string{"IncompleteNetworking", "InvalidComputeName", "InvalidSSLConfiguration", "UnknownLocation"}},
		"a name of 2 characters is invalid":           {req: request("ab"), errors: []string{"InvalidComputeName"}},
		"a name of 25 characters is invalid":          {req: request(strings.Repeat("a", 25)), errors: []string{"InvalidComputeName"}},
		"a name ending with '-' is invalid":           {req: request("myaks-"), errors: []string{"InvalidComputeName"}},
		"a name with '_' is invalid":                  {req: request("my_aks"), errors: []string{"InvalidComputeName"}},
		"a name of 24 letters, digits and '-' passes": {req: request("a-" + strings.Repeat("1", 22))},
		"a reserved name is refused in any case":      {req: request("AmlCompute"), errors: []string{"ReservedComputeName"}},
		"'local' is reserved":                         {req: request("local"), errors: []string{"ReservedComputeName"}},
		"a name another compute has is refused in any case": {
			req: request("EXISTING"), errors: []string{"ComputeNameTaken"}},
		"an empty location uses the first configured one": {req: request("myaks", location(""))},
		"computeLocation wins over the resource location": {
			req: request("myaks", location("mars"), func(c *api.Compute) { c.Properties.ComputeLocation = "westus" })},
		"a compute type other than AKS or Kubernetes is refused": {
			req: request("myaks", computeType("AmlCompute")), errors: []string{"InvalidComputeType"}},
		"a Kubernetes compute passes": {req: request("myaks", computeType("Kubernetes"))},
		"an unknown purpose is refused without production verdicts": {
			req: request("myaks", purpose("Prod"), count(1)), errors: []string{"InvalidClusterPurpose"}},
		"101 nodes are refused without other verdicts": {req: request("myaks", count(101)), errors: []string{"InvalidAgentCount"}},
		"0 nodes are refused without other verdicts":   {req: request("myaks", count(0)), errors: []string{"InvalidAgentCount"}},
		"an unknown VM size is reported once, without a vCPU verdict": {
			req: request("myaks", count(1), size("Standard_D3_v9")), errors: []string{"InsufficientNodes", "UnknownVMSize"}},
		"a VM size is matched ignoring case": {req: request("myaks", size("standard_d3_V2"))},
		"an Azure size on the local host is unknown": {
			req: request("myaks", location("local"), size("Standard_D3_v2")), errors: []string{"UnknownVMSize"}},
	})
}

func TestUpdateChecks(t *testing.T) {
	tlsOn := stored(ssl(api.SSLConfiguration{Status: "Enabled", Cname: "ml.example.com", Cert: "c", Key: "k"}))
	runCases(t, UpdateChecks(), map[string]chainCase{
		"scaling 3 to 5 nodes passes":         {req: update(stored(), count(5))},
		"resending the stored VM size passes": {req: update(stored(), count(5), size("standard_d3_v2"))},
		"scaling FastProd to 2 nodes lacks nodes and vCPUs": {
			req: update(stored(), count(2)), errors: []string{"InsufficientNodes", "InsufficientVCPUs"}},
		"scaling to 101 nodes is refused":  {req: update(stored(), count(101)), errors: []string{"InvalidAgentCount"}},
		"changing the VM size is refused":  {req: update(stored(), size("Standard_D4_v2")), errors: []string{"VMSizeChange"}},
		"changing the purpose is refused":  {req: update(stored(), purpose("DevTest")), errors: []string{"ClusterPurposeChange"}},
		"changing the location is refused": {req: update(stored(), location("local")), errors: []string{"LocationChange"}},
		"changing the cluster is refused": {
			req: update(stored(resourceID(clusterA)), resourceID(clusterB)), errors: []string{"ResourceIdChange"}},
		"resending the cluster id in another case passes": {
			req: update(stored(resourceID(clusterA)), count(5), resourceID(strings.ToUpper(clusterA)))},
		"changing the compute type is refused": {
			req: update(stored(), computeType("Kubernetes")), errors: []string{"ComputeTypeChange"}},
		"adding networking is refused": {
			req: update(stored(), network(goodNetwork)), errors: []string{"NetworkingChange"}},
		"turning TLS on is refused": {
			req: update(stored(), ssl(api.SSLConfiguration{Status: "Auto", LeafDomainLabel: "x"})), errors: []string{"SSLConfigurationChange"}},
		"resending TLS settings without the secrets passes": {
			req: update(tlsOn, count(4), ssl(api.SSLConfiguration{Status: "Enabled", Cname: "ml.example.com"}))},
		"switching to an internal load balancer is refused": {
			req: update(stored(), lb("InternalLoadBalancer", "")), errors: []string{"LoadBalancerChange"}},
		"scaling DevTest to 1 node of 1 core warns only": {
			req: update(stored(purpose("DevTest"), size("Standard_D1_v2"), count(2)), count(1)), warnings: []string{"LowVCPUs"}},
		"the GET body with a new count passes": {
			req: func() *Request { r := update(stored()); c := *stored(count(5)); r.Compute = &c; return r }()},
	})
}

func TestMessages(t *testing.T) {
	tests := map[string]struct {
		req          *Request
		chain        Chain
		code, target string
		want         string // exact, or a prefix when it ends with "..."
	}{
		"2 nodes of the 2-core host lack vCPUs": {
			req: request("myaks", location("local"), count(2)), chain: CreateChecks(),
			code: "InsufficientVCPUs", target: "properties.properties.agentCount",
			want: "The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to 12 (2 x 2 = 4 vCPUs with Host)"},
		"2 FastProd nodes are too few": {
			req: request("myaks", location("local"), count(2)), chain: CreateChecks(),
			code: "InsufficientNodes", target: "properties.properties.agentCount",
			want: "At least 3 machine(s) are required for cluster with purpose 'FastProd'. Available machine(s) : 2"},
		"1 node of Standard_D2_v2 lacks vCPUs": {
			req: request("myaks", count(1), size("Standard_D2_v2")), chain: CreateChecks(), code: "InsufficientVCPUs",
			want: "The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to 12 (1 x 2 = 2 vCPUs with Standard_D2_v2)"},
		"the node message names the real purpose": {
			req: request("myaks", purpose("DenseProd"), count(1)), chain: CreateChecks(), code: "InsufficientNodes",
			want: "At least 3 machine(s) are required for cluster with purpose 'DenseProd'. Available machine(s) : 1"},
		"a near-miss VM size gets suggestions": {
			req: request("myaks", size("Standard_D3_v9")), chain: CreateChecks(), code: "UnknownVMSize",
			target: "properties.properties.agentVmSize",
			want:   `VM size "Standard_D3_v9" is not available in location "westus": unknown VM size "Standard_D3_v9"; did you mean Standard_D3_v2...`},
		"a small provider lists its sizes": {
			req: request("myaks", location("local"), size("Standard_D3_v2")), chain: CreateChecks(), code: "UnknownVMSize",
			want: `VM size "Standard_D3_v2" is not available in location "local": it accepts Host`},
		"an unknown location lists the configured ones": {
			req: request("myaks", location("mars")), chain: CreateChecks(), code: "UnknownLocation", target: "location",
			want: `Unknown location "mars": the configured locations are westus, local`},
		"a VM size change explains what scale does": {
			req: update(stored(), size("Standard_D4_v2")), chain: UpdateChecks(), code: "VMSizeChange",
			want: "Changing the VM size of a cluster is not supported: scale changes the node count only; create a new compute for another VM size"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ps := tc.chain.Run(tc.req)
			i := slices.IndexFunc(ps, func(p Problem) bool { return p.Code == tc.code })
			if i < 0 {
				t.Fatalf("no %s in %+v", tc.code, ps)
			}
			got := ps[i].Message
			if prefix, ok := strings.CutSuffix(tc.want, "..."); ok && !strings.HasPrefix(got, prefix) || !ok && got != tc.want {
				t.Errorf("message = %q, want %q", got, tc.want)
			}
			if tc.target != "" && ps[i].Target != tc.target {
				t.Errorf("target = %q, want %q", ps[i].Target, tc.target)
			}
		})
	}
}

func TestRunLeavesTheRequestAloneAndAsksForSizesOnce(t *testing.T) {
	calls := 0
	r := request("myaks", count(1), size("Standard_D2_v2"))
	r.VMSizes = func(l string) (map[string]vmsize.Size, error) { calls++; return sizesOf(l) }
	before := *r.Compute.Properties.Properties
	CreateChecks().Run(r)
	if calls != 1 {
		t.Errorf("VMSizes called %d times, want 1", calls)
	}
	if !reflect.DeepEqual(before, *r.Compute.Properties.Properties) {
		t.Errorf("Run changed the request: %+v", *r.Compute.Properties.Properties)
	}
}

func TestChainsSurviveMissingParts(t *testing.T) {
	r := &Request{Name: "myaks", Locations: []string{"westus"}}
	if got := codes(CreateChecks().Run(r)); !slices.Equal(got, []string{"InvalidComputeType"}) {
		t.Errorf("create without a body: %v, want [InvalidComputeType]", got)
	}
	r.Existing = &api.Compute{}
	if got := UpdateChecks().Run(r); len(got) != 0 {
		t.Errorf("update without a body: %+v", got)
	}
}

func TestAnAttachNamingItsClusterTwoWaysIsRefused(t *testing.T) {
	r := request("k8s", computeType(api.ComputeKubernetes))
	r.Compute.Properties.ResourceID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c"
	if got := codes(AttachChecks().Run(r)); !slices.Equal(got, []string{"AmbiguousClusterSource"}) {
		t.Errorf("Kubernetes compute with a resourceId: %v", got)
	}
	r.Compute.Properties.ComputeType = api.ComputeAKS
	if got := codes(AttachChecks().Run(r)); len(got) != 0 {
		t.Errorf("AKS compute by id: %v", got)
	}
}
