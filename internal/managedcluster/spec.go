package managedcluster

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/provider"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)

// clusterNetwork is a request's networking for the provider, nil when
// the request sets none.
func clusterNetwork(mc api.ManagedCluster) *provider.Network {
	var n provider.Network
	if np := mc.Properties.NetworkProfile; np != nil {
		n.ServiceCIDR, n.DNSServiceIP, n.DockerBridgeCIDR, n.LoadBalancerSKU = np.ServiceCidr, np.DNSServiceIP, np.DockerBridgeCidr, np.LoadBalancerSku
	}
	if a := mc.Properties.APIServerAccessProfile; a != nil {
		n.PrivateCluster, n.AuthorizedIPRanges = a.EnablePrivateCluster, a.AuthorizedIPRanges
	}
	if pools := mc.Properties.AgentPoolProfiles; len(pools) > 0 {
		n.SubnetID = pools[0].VnetSubnetID
	}
	if n.ServiceCIDR == "" && n.DNSServiceIP == "" && n.DockerBridgeCIDR == "" && n.LoadBalancerSKU == "" && !n.PrivateCluster && len(n.AuthorizedIPRanges) == 0 && n.SubnetID == "" {
		return nil
	}
	return &n
}

func poolName(mc api.ManagedCluster) string {
	if len(mc.Properties.AgentPoolProfiles) > 0 && mc.Properties.AgentPoolProfiles[0].Name != "" {
		return mc.Properties.AgentPoolProfiles[0].Name
	}
	return "nodepool1"
}

// Spec validates a managed cluster request into a provider spec,
// reporting every problem at once.
func (m *Manager) Spec(id api.ResourceID, mc api.ManagedCluster) (provider.Spec, provider.Provider, error) {
	var details []api.ErrorDetail
	bad := func(code, target, format string, args ...any) {
		details = append(details, api.ErrorDetail{Code: code, Target: target, Message: fmt.Sprintf(format, args...)})
	}
	if !nameRE.MatchString(id.Name) {
		bad("InvalidResourceName", "name", "managed cluster name %q must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit", id.Name)
	}
	p, err := m.ProviderFor(mc.Location)
	if ae := (*fault.Error)(nil); errors.As(err, &ae) {
		bad(ae.Code, "location", "%s", ae.Message)
	} else if err != nil {
		bad("UnknownProvider", "location", "%v", err)
	}
	spec := provider.Spec{Name: ProviderName(id), KubernetesVersion: mc.Properties.KubernetesVersion, AgentCount: 1,
		Tags: map[string]string{"kubeml.io/resource-id": id.String()}, Location: strings.ToLower(mc.Location),
		DNSPrefix: mc.Properties.DNSPrefix, Network: clusterNetwork(mc)}
	for k, v := range mc.Tags {
		if _, ok := spec.Tags[k]; !ok {
			spec.Tags[k] = v
		}
	}
	switch pools := mc.Properties.AgentPoolProfiles; {
	case len(pools) > 1:
		bad("MultipleAgentPools", "properties.agentPoolProfiles", "only one agent pool is supported; got %d", len(pools))
	case len(pools) == 1:
		if pools[0].Count != nil {
			spec.AgentCount = *pools[0].Count
		}
		spec.VMSize = pools[0].VMSize
	}
	if p != nil {
		if v, ok := p.(provider.SpecValidator); ok {
			if err := v.ValidateSpec(spec); err != nil {
				for _, e := range splitJoined(err) {
					bad("InvalidClusterSpec", "properties", "%s", strings.TrimPrefix(e.Error(), provider.ErrInvalid.Error()+": "))
				}
			}
		}
	}
	if len(details) > 0 {
		return spec, nil, &fault.Error{Kind: fault.Invalid, ErrorDetail: api.ErrorDetail{
			Code: "InvalidRequestContent", Message: fmt.Sprintf("the managed cluster request has %d problem(s)", len(details)), Details: details}}
	}
	return spec, p, nil
}

// splitJoined flattens an errors.Join tree into its leaves.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

// ValidateScale asks the provider whether it can have the new count, so
// that a scale it cannot do is refused before anything is recorded.
func ValidateScale(p provider.Provider, spec provider.Spec) error {
	v, ok := p.(provider.SpecValidator)
	if !ok {
		return nil
	}
	if err := v.ValidateSpec(spec); err != nil {
		return fault.New(fault.Invalid, "InvalidAgentCount", "%s", strings.TrimPrefix(err.Error(), provider.ErrInvalid.Error()+": "))
	}
	return nil
}
