package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// targetFlags are the settings `computetarget create aks` and `attach
// aks` share: purpose, load balancer, TLS, description, --no-wait.
type targetFlags struct {
	purpose, lbType, lbSubnet, description string
	sslCname, sslCertFile, sslKeyFile      string
	sslLeaf                                string
	sslOverwrite, noWait                   bool
}

func (t *targetFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	purposeFlag(cmd, &t.purpose)
	f.StringVar(&t.lbType, "load-balancer-type", "", "PublicIp (default) or InternalLoadBalancer")
	f.StringVar(&t.lbSubnet, "load-balancer-subnet", "", "subnet of an InternalLoadBalancer (default aks-subnet)")
	f.StringVar(&t.sslCname, "ssl-cname", "", "CNAME of the scoring endpoint's TLS certificate (with --ssl-cert-file and --ssl-key-file)")
	f.StringVar(&t.sslCertFile, "ssl-cert-file", "", "PEM file of the TLS certificate")
	f.StringVar(&t.sslKeyFile, "ssl-key-file", "", "PEM file of the TLS certificate's key")
	f.StringVar(&t.sslLeaf, "ssl-leaf-domain-label", "", "leaf domain label of a certificate the server makes (TLS Auto)")
	f.BoolVar(&t.sslOverwrite, "ssl-overwrite-domain", false, "overwrite an existing domain with the same leaf domain label")
	f.StringVar(&t.description, "description", "", "description of the compute target")
	f.BoolVar(&t.noWait, "no-wait", false, "do not wait for the operation to finish")
}

// purposeFlag adds --cluster-purpose.
func purposeFlag(cmd *cobra.Command, purpose *string) {
	cmd.Flags().StringVar(purpose, "cluster-purpose", "", "FastProd (default; >= 3 nodes and 12 vCPUs), DenseProd or DevTest")
}

// ssl is the TLS configuration of the flags: nil when none is given,
// Enabled with cname, cert and key, Auto with a leaf domain label. The
// server checks the combination and reports every problem.
func (t *targetFlags) ssl() (*api.SSLConfiguration, error) {
	if t.sslCname == "" && t.sslCertFile == "" && t.sslKeyFile == "" && t.sslLeaf == "" {
		return nil, nil
	}
	s := &api.SSLConfiguration{Status: api.SSLEnabled, Cname: t.sslCname, LeafDomainLabel: t.sslLeaf, OverwriteExistingDomain: t.sslOverwrite}
	if t.sslLeaf != "" {
		s.Status = api.SSLAuto
	}
	var errs []error
	read := func(path, flag string) string {
		if path == "" {
			return ""
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
		return string(b)
	}
	s.Cert, s.Key = read(t.sslCertFile, "--ssl-cert-file"), read(t.sslKeyFile, "--ssl-key-file")
	return s, errors.Join(errs...)
}

// createFlags are `computetarget create aks`'s own flags.
type createFlags struct {
	targetFlags
	agentCount                                          int
	vmSize, location                                    string
	vnet, vnetGroup, subnet, serviceCidr, dnsIP, bridge string
}

func (c *createFlags) add(cmd *cobra.Command) {
	c.targetFlags.add(cmd)
	f := cmd.Flags()
	f.IntVar(&c.agentCount, "agent-count", 0, "number of nodes (default 3, DevTest 1)")
	f.StringVar(&c.vmSize, "vm-size", "", "VM size of the nodes (default Standard_D3_v2, or the provider's only size)")
	f.StringVarP(&c.location, "location", "l", "", "location (default: the server's first)")
	f.StringVar(&c.vnet, "vnet-name", "", "virtual network of the cluster's subnet")
	f.StringVar(&c.vnetGroup, "vnet-resourcegroup-name", "", "resource group of --vnet-name")
	f.StringVar(&c.subnet, "subnet-name", "", "subnet of --vnet-name for the cluster")
	f.StringVar(&c.serviceCidr, "service-cidr", "", "CIDR of the cluster's service IPs")
	f.StringVar(&c.dnsIP, "dns-service-ip", "", "cluster DNS service IP, inside --service-cidr")
	f.StringVar(&c.bridge, "docker-bridge-cidr", "", "CIDR of the container bridge")
}

// networking is the cluster network of the flags (nil when none is given);
// the subnet id is built in subscription sub.
func (c *createFlags) networking(sub string) (*api.AKSNetworkingConfig, error) {
	vnet := []string{c.vnet, c.vnetGroup, c.subnet}
	if strings.Join(vnet, "") == "" && c.serviceCidr == "" && c.dnsIP == "" && c.bridge == "" {
		return nil, nil
	}
	n := &api.AKSNetworkingConfig{ServiceCidr: c.serviceCidr, DNSServiceIP: c.dnsIP, DockerBridgeCidr: c.bridge}
	switch {
	case c.vnet != "" && c.vnetGroup != "" && c.subnet != "":
		n.SubnetID = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s/subnets/%s", sub, c.vnetGroup, c.vnet, c.subnet)
	case strings.Join(vnet, "") != "":
		return nil, errors.New("--vnet-name, --vnet-resourcegroup-name and --subnet-name go together")
	}
	return n, nil
}

// provisioning is the ProvisioningConfiguration of the flags.
func (c *createFlags) provisioning(sub string) (client.ProvisioningConfiguration, error) {
	ssl, errSSL := c.ssl()
	net, errNet := c.networking(sub)
	return client.ProvisioningConfiguration{
		AgentCount: c.agentCount, VMSize: c.vmSize, ClusterPurpose: c.purpose, Location: c.location,
		LoadBalancerType: c.lbType, LoadBalancerSubnet: c.lbSubnet, SSL: ssl, Networking: net, Description: c.description,
	}, errors.Join(errSSL, errNet)
}

// attachFlags are `computetarget attach aks`'s own flags.
type attachFlags struct {
	targetFlags
	cluster clusterFlags
	admin   bool
}

func (a *attachFlags) add(cmd *cobra.Command) {
	a.targetFlags.add(cmd)
	a.cluster.add(cmd)
	cmd.Flags().BoolVar(&a.admin, "admin", false, "attach an Azure AKS cluster with its admin credentials (needs local accounts) instead of the user's")
}

// attachment is the AttachConfiguration of the flags; rg is the
// workspace's resource group.
func (a *attachFlags) attachment(rg string) (client.AttachConfiguration, error) {
	ssl, err := a.ssl()
	cfg := client.AttachConfiguration{ClusterPurpose: a.purpose,
		LoadBalancerType: a.lbType, LoadBalancerSubnet: a.lbSubnet, SSL: ssl, Description: a.description, AdminCredentials: a.admin}
	if err != nil {
		return cfg, err
	}
	return a.cluster.attachment(cfg, rg)
}

// clusterFlags name the managed cluster of `attach aks` and `preflight
// aks`: -i, or --cluster-name and --cluster-resource-group.
type clusterFlags struct {
	resourceID, clusterName, clusterGroup string
}

func (k *clusterFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&k.resourceID, "compute-resource-id", "i", "", "resource id of the managed cluster to attach")
	f.StringVar(&k.clusterName, "cluster-name", "", "name of the managed cluster to attach (instead of -i)")
	f.StringVar(&k.clusterGroup, "cluster-resource-group", "", "resource group of --cluster-name (default: the workspace's)")
}

// attachment is cfg naming the cluster of the flags, checked; rg is the
// workspace's resource group.
func (k *clusterFlags) attachment(cfg client.AttachConfiguration, rg string) (client.AttachConfiguration, error) {
	cfg.ResourceID, cfg.ClusterName = k.resourceID, k.clusterName
	if k.clusterName != "" {
		cfg.ResourceGroup = k.clusterGroup
		if cfg.ResourceGroup == "" {
			cfg.ResourceGroup = rg
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: pass -i/--compute-resource-id, or --cluster-name (and --cluster-resource-group)", err)
	}
	return cfg, nil
}
