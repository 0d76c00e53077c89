package compute

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/vmsize"
)

func network(n api.AKSNetworkingConfig) mod {
	return func(c *api.Compute) { c.Properties.Properties.AKSNetworkingConfiguration = &n }
}

func ssl(s api.SSLConfiguration) mod {
	return func(c *api.Compute) { c.Properties.Properties.SSLConfiguration = &s }
}

func lb(typ, subnet string) mod {
	return func(c *api.Compute) {
		c.Properties.Properties.LoadBalancerType, c.Properties.Properties.LoadBalancerSubnet = typ, subnet
	}
}

var goodNetwork = api.AKSNetworkingConfig{
	SubnetID:    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/aks",
	ServiceCidr: "10.0.0.0/16", DNSServiceIP: "10.0.0.10", DockerBridgeCidr: "172.17.0.1/16",
}

// withNetwork is goodNetwork changed by f.
func withNetwork(f func(n *api.AKSNetworkingConfig)) mod {
	n := goodNetwork
	f(&n)
	return network(n)
}

// keyPair returns a self-signed PEM certificate and its PEM key.
func keyPair(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ml.example.com"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func TestNetworkTLSAndLoadBalancerChecks(t *testing.T) {
	cert, key := keyPair(t)
	_, otherKey := keyPair(t)
	enabled := func(cert, key string) mod {
		return ssl(api.SSLConfiguration{Status: "Enabled", Cname: "ml.example.com", Cert: cert, Key: key})
	}
	bad := []string{"InvalidSSLConfiguration"}
	runCases(t, CreateChecks(), map[string]chainCase{
		"complete networking passes": {req: request("myaks", network(goodNetwork))},
		"empty networking passes":    {req: request("myaks", network(api.AKSNetworkingConfig{}))},
		"networking without dockerBridgeCidr is incomplete": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.DockerBridgeCidr = "" })), errors: []string{"IncompleteNetworking"}},
		"a serviceCidr that does not parse is refused and dnsServiceIP is not judged": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.ServiceCidr = "10.0.0.0/33" })), errors: []string{"InvalidCIDR"}},
		"two bad CIDRs are both reported": {
			req:    request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.ServiceCidr, n.DockerBridgeCidr = "x", "y" })),
			errors: []string{"InvalidCIDR", "InvalidCIDR"}},
		"a dnsServiceIP outside serviceCidr is refused": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.DNSServiceIP = "10.1.0.10" })), errors: []string{"InvalidDNSServiceIP"}},
		"the first address of serviceCidr is refused as dnsServiceIP": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.DNSServiceIP = "10.0.0.1" })), errors: []string{"InvalidDNSServiceIP"}},
		"the network address is refused as dnsServiceIP": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.DNSServiceIP = "10.0.0.0" })), errors: []string{"InvalidDNSServiceIP"}},
		"a dnsServiceIP that is not an address is refused": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.DNSServiceIP = "dns" })), errors: []string{"InvalidDNSServiceIP"}},
		"a dockerBridgeCidr overlapping serviceCidr is refused": {
			req: request("myaks", withNetwork(func(n *api.AKSNetworkingConfig) { n.DockerBridgeCidr = "10.0.128.1/24" })), errors: []string{"OverlappingCIDR"}},

		"TLS Enabled with a matching cert and key passes":    {req: request("myaks", enabled(cert, key))},
		"TLS Enabled with a key of another cert is refused":  {req: request("myaks", enabled(cert, otherKey)), errors: bad},
		"TLS Enabled with a cert that is not PEM is refused": {req: request("myaks", enabled("cert", key)), errors: bad},
		"TLS Enabled without cname is refused": {
			req: request("myaks", ssl(api.SSLConfiguration{Status: "Enabled", Cert: cert, Key: key})), errors: bad},
		"TLS Auto with a leaf domain label passes": {
			req: request("myaks", ssl(api.SSLConfiguration{Status: "Auto", LeafDomainLabel: "myaks"}))},
		"TLS Auto without a label and with a cert reports both": {
			req: request("myaks", ssl(api.SSLConfiguration{Status: "Auto", Cert: cert})), errors: []string{"InvalidSSLConfiguration", "InvalidSSLConfiguration"}},
		"TLS Disabled with a cert is refused": {
			req: request("myaks", ssl(api.SSLConfiguration{Status: "Disabled", Cert: cert})), errors: bad},
		"TLS without a status is Disabled and passes": {req: request("myaks", ssl(api.SSLConfiguration{}))},
		"an unknown TLS status is refused":            {req: request("myaks", ssl(api.SSLConfiguration{Status: "On"})), errors: bad},

		"an internal load balancer with a subnet passes":    {req: request("myaks", lb("InternalLoadBalancer", "my-subnet"))},
		"an internal load balancer without a subnet passes": {req: request("myaks", lb("InternalLoadBalancer", ""))},
		"a subnet with a public IP is refused": {
			req: request("myaks", lb("PublicIp", "my-subnet")), errors: []string{"SubnetWithoutInternalLoadBalancer"}},
		"a subnet with the default load balancer is refused": {
			req: request("myaks", lb("", "my-subnet")), errors: []string{"SubnetWithoutInternalLoadBalancer"}},
		"an unknown load balancer type is refused": {
			req: request("myaks", lb("Private", "")), errors: []string{"InvalidLoadBalancerType"}},
	})
}

func TestApplyDefaults(t *testing.T) {
	azure, _ := sizesOf("westus")
	host, _ := sizesOf("local")
	three, one := 3, 1
	disabled := &api.SSLConfiguration{Status: "Disabled"}
	tests := map[string]struct {
		props *api.AKSProperties
		sizes map[string]vmsize.Size
		want  api.AKSProperties
	}{
		"no properties get FastProd, 3 x Standard_D3_v2, PublicIp and TLS Disabled": {
			sizes: azure,
			want: api.AKSProperties{ClusterPurpose: "FastProd", AgentCount: &three, AgentVMSize: "Standard_D3_v2",
				LoadBalancerType: "PublicIp", SSLConfiguration: disabled}},
		"DevTest gets 1 node": {
			props: &api.AKSProperties{ClusterPurpose: "DevTest"}, sizes: azure,
			want: api.AKSProperties{ClusterPurpose: "DevTest", AgentCount: &one, AgentVMSize: "Standard_D3_v2",
				LoadBalancerType: "PublicIp", SSLConfiguration: disabled}},
		"a provider with one size gets that size": {
			props: &api.AKSProperties{}, sizes: host,
			want: api.AKSProperties{ClusterPurpose: "FastProd", AgentCount: &three, AgentVMSize: "Host",
				LoadBalancerType: "PublicIp", SSLConfiguration: disabled}},
		"an internal load balancer gets aks-subnet and TLS without status gets Disabled": {
			props: &api.AKSProperties{LoadBalancerType: "InternalLoadBalancer", SSLConfiguration: &api.SSLConfiguration{}}, sizes: azure,
			want: api.AKSProperties{ClusterPurpose: "FastProd", AgentCount: &three, AgentVMSize: "Standard_D3_v2",
				LoadBalancerType: "InternalLoadBalancer", LoadBalancerSubnet: "aks-subnet", SSLConfiguration: disabled}},
		"given values are kept": {
			props: &api.AKSProperties{ClusterPurpose: "DenseProd", AgentCount: &one, AgentVMSize: "Standard_F2",
				LoadBalancerType: "InternalLoadBalancer", LoadBalancerSubnet: "s", SSLConfiguration: &api.SSLConfiguration{Status: "Auto"}},
			sizes: azure,
			want: api.AKSProperties{ClusterPurpose: "DenseProd", AgentCount: &one, AgentVMSize: "Standard_F2",
				LoadBalancerType: "InternalLoadBalancer", LoadBalancerSubnet: "s", SSLConfiguration: &api.SSLConfiguration{Status: "Auto"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := &api.Compute{Properties: api.ComputeProperties{Properties: tc.props}}
			ApplyDefaults(c, tc.sizes)
			if got := *c.Properties.Properties; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
