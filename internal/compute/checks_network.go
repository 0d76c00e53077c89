package compute

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"

	"github.com/kubeml/kubeml/api"
)

// checkNetworking: subnetId, serviceCidr, dnsServiceIP and dockerBridgeCidr come all together, and fit each other.
func checkNetworking(r *Request) []Problem {
	n := props(r.Compute).AKSNetworkingConfiguration
	if n == nil || *n == (api.AKSNetworkingConfig{}) {
		return nil
	}
	fields := []struct{ name, value string }{
		{"subnetId", n.SubnetID}, {"serviceCidr", n.ServiceCidr},
		{"dnsServiceIP", n.DNSServiceIP}, {"dockerBridgeCidr", n.DockerBridgeCidr},
	}
	var missing []string
	for _, f := range fields {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return []Problem{problem("IncompleteNetworking", targetNetwork, fmt.Sprintf(
			"aksNetworkingConfiguration needs subnetId, serviceCidr, dnsServiceIP and dockerBridgeCidr together, or none of them; missing: %s",
			strings.Join(missing, ", ")))}
	}
	var out []Problem
	service, errS := netip.ParsePrefix(strings.TrimSpace(n.ServiceCidr))
	if errS != nil {
		out = append(out, problem("InvalidCIDR", targetNetwork+".serviceCidr", fmt.Sprintf(
			"serviceCidr %q is not a CIDR such as 10.0.0.0/16", n.ServiceCidr)))
	}
	bridge, errB := netip.ParsePrefix(strings.TrimSpace(n.DockerBridgeCidr))
	if errB != nil {
		out = append(out, problem("InvalidCIDR", targetNetwork+".dockerBridgeCidr", fmt.Sprintf(
			"dockerBridgeCidr %q is not a CIDR such as 172.17.0.1/16", n.DockerBridgeCidr)))
	}
	if errS == nil {
		out = append(out, checkDNSServiceIP(n.DNSServiceIP, service.Masked())...)
	}
	if errS == nil && errB == nil && service.Masked().Overlaps(bridge.Masked()) {
		out = append(out, problem("OverlappingCIDR", targetNetwork+".dockerBridgeCidr", fmt.Sprintf(
			"dockerBridgeCidr %s overlaps serviceCidr %s; choose ranges that do not overlap", n.DockerBridgeCidr, n.ServiceCidr)))
	}
	return out
}

// checkDNSServiceIP requires an address of service other than its first
// two: the network address and the Kubernetes API service's.
func checkDNSServiceIP(ip string, service netip.Prefix) []Problem {
	target := targetNetwork + ".dnsServiceIP"
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	switch {
	case err != nil:
		return []Problem{problem("InvalidDNSServiceIP", target, fmt.Sprintf("dnsServiceIP %q is not an IP address", ip))}
	case !service.Contains(a):
		return []Problem{problem("InvalidDNSServiceIP", target, fmt.Sprintf(
			"dnsServiceIP %s is outside serviceCidr %s; pick an address inside it, such as %s", a, service, suggestDNS(service)))}
	case a == service.Addr() || a == service.Addr().Next():
		return []Problem{problem("InvalidDNSServiceIP", target, fmt.Sprintf(
			"dnsServiceIP %s is reserved in serviceCidr %s: the network and the Kubernetes API service use its first addresses; use another, such as %s",
			a, service, suggestDNS(service)))}
	}
	return nil
}

// suggestDNS is the customary DNS address of service: its tenth.
func suggestDNS(service netip.Prefix) netip.Addr {
	a := service.Addr()
	for range 10 {
		if n := a.Next(); service.Contains(n) {
			a = n
		}
	}
	return a
}

// checkSSL: Disabled sets nothing else; Enabled needs cname, cert and key; Auto needs leafDomainLabel and no cert or key.
func checkSSL(r *Request) []Problem {
	s := props(r.Compute).SSLConfiguration
	if s == nil {
		return nil
	}
	bad := func(field, msg string) Problem {
		t := targetSSL
		if field != "" {
			t += "." + field
		}
		return problem("InvalidSSLConfiguration", t, msg)
	}
	var out []Problem
	switch status := orDefault(s.Status, api.SSLDisabled); status {
	case api.SSLDisabled:
		var set []string
		for _, f := range []struct{ name, value string }{
			{"cname", s.Cname}, {"cert", s.Cert}, {"key", s.Key}, {"leafDomainLabel", s.LeafDomainLabel},
		} {
			if f.value != "" {
				set = append(set, f.name)
			}
		}
		if len(set) > 0 {
			out = append(out, bad("status", fmt.Sprintf(
				"TLS is Disabled but %s %s set; set status to Enabled (your cname, cert and key) or Auto (leafDomainLabel), or remove them",
				strings.Join(set, ", "), plural(len(set), "is", "are"))))
		}
	case api.SSLEnabled:
		var missing []string
		for _, f := range []struct{ name, value string }{{"cname", s.Cname}, {"cert", s.Cert}, {"key", s.Key}} {
			if strings.TrimSpace(f.value) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			out = append(out, bad("", "TLS status Enabled needs cname, cert and key together; missing: "+strings.Join(missing, ", ")))
		} else if _, err := tls.X509KeyPair([]byte(s.Cert), []byte(s.Key)); err != nil {
			out = append(out, bad("cert", fmt.Sprintf("cert and key are not a matching PEM certificate and private key: %v", err)))
		}
		if s.LeafDomainLabel != "" {
			out = append(out, bad("leafDomainLabel", "leafDomainLabel is for status Auto; with Enabled the endpoint uses your cname"))
		}
	case api.SSLAuto:
		if strings.TrimSpace(s.LeafDomainLabel) == "" {
			out = append(out, bad("leafDomainLabel", "TLS status Auto needs leafDomainLabel, the label of the generated domain name"))
		}
		if s.Cert != "" || s.Key != "" {
			out = append(out, bad("", "TLS status Auto makes its own certificate: remove cert and key, or use status Enabled"))
		}
	default:
		out = append(out, bad("status", fmt.Sprintf("TLS status %q is not supported: use %s, %s or %s",
			status, api.SSLDisabled, api.SSLEnabled, api.SSLAuto)))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkLoadBalancer: PublicIp or InternalLoadBalancer, and a subnet only with the internal one.
func checkLoadBalancer(r *Request) []Problem {
	p := props(r.Compute)
	switch t := orDefault(p.LoadBalancerType, api.LoadBalancerPublicIP); t {
	case api.LoadBalancerInternal:
		return nil
	case api.LoadBalancerPublicIP:
		if p.LoadBalancerSubnet != "" {
			return []Problem{problem("SubnetWithoutInternalLoadBalancer", targetLBSubnet, fmt.Sprintf(
				"loadBalancerSubnet %q needs loadBalancerType %s; a %s load balancer has no subnet",
				p.LoadBalancerSubnet, api.LoadBalancerInternal, api.LoadBalancerPublicIP))}
		}
		return nil
	default:
		return []Problem{problem("InvalidLoadBalancerType", targetLBType, fmt.Sprintf(
			"Load balancer type %q is not supported: use %s (the default) or %s", t, api.LoadBalancerPublicIP, api.LoadBalancerInternal))}
	}
}
