package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kubeml/kubeml/internal/provider"
)

var (
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	dnsPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9]([-a-zA-Z0-9]{0,52}[a-zA-Z0-9])?$`)
)

// Journal keys of the long calls.
const (
	journalCreate = "aks.create"
	journalScale  = "aks.scale"
	journalDelete = "aks.delete"
	journalStart  = "aks.start"
)

// poolName is the system pool of the clusters kubeml creates.
const poolName = "agentpool"

// ValidateSpec checks what Azure would refuse, so a request fails before
// it is recorded.
func (p *Provider) ValidateSpec(spec provider.Spec) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{provider.ErrInvalid}, args...)...))
	}
	if spec.AgentCount < 1 || spec.AgentCount > 1000 {
		bad("agent count %d must be between 1 and 1000", spec.AgentCount)
	}
	if spec.VMSize != "" {
		if _, err := p.sizes.Lookup(spec.VMSize); err != nil {
			bad("%v", err)
		}
	}
	if spec.DNSPrefix != "" && !dnsPrefixRE.MatchString(spec.DNSPrefix) {
		bad("dnsPrefix %q must be 1-54 letters, digits or '-', starting and ending with a letter or digit", spec.DNSPrefix)
	}
	if n := spec.Network; n != nil {
		switch strings.ToLower(n.LoadBalancerSKU) {
		case "", "standard":
		case "basic":
			bad("load balancer SKU basic was retired by Azure on 30 September 2025 and AKS no longer creates it: use standard")
		default:
			bad("load balancer SKU %q: want standard", n.LoadBalancerSKU)
		}
		if n.SubnetID != "" && !strings.Contains(strings.ToLower(n.SubnetID), "/providers/microsoft.network/virtualnetworks/") {
			bad("subnetId %q is not a virtual network subnet id", n.SubnetID)
		}
	}
	return errors.Join(errs...)
}

// managedCluster is the ARM body kubeml sends to create a cluster.
func (p *Provider) managedCluster(spec provider.Spec, version string) armcontainerservice.ManagedCluster {
	tags := map[string]*string{}
	for k, v := range spec.Tags {
		tags[k] = to.Ptr(v)
	}
	dns := spec.DNSPrefix
	if dns == "" {
		dns = strings.Trim(spec.Name, "-")
	}
	pool := &armcontainerservice.ManagedClusterAgentPoolProfile{
		Name: to.Ptr(poolName), Count: to.Ptr(int32(spec.AgentCount)), VMSize: to.Ptr(spec.VMSize),
		Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem), OSType: to.Ptr(armcontainerservice.OSTypeLinux),
		Type: to.Ptr(armcontainerservice.AgentPoolTypeVirtualMachineScaleSets),
	}
	netp := &armcontainerservice.NetworkProfile{LoadBalancerSKU: to.Ptr(armcontainerservice.LoadBalancerSKUStandard)}
	var access *armcontainerservice.ManagedClusterAPIServerAccessProfile
	if n := spec.Network; n != nil {
		if n.SubnetID != "" {
			pool.VnetSubnetID = to.Ptr(n.SubnetID)
			netp.NetworkPlugin = to.Ptr(armcontainerservice.NetworkPluginAzure)
		}
		if n.ServiceCIDR != "" {
			netp.ServiceCidr = to.Ptr(n.ServiceCIDR)
		}
		if n.DNSServiceIP != "" {
			netp.DNSServiceIP = to.Ptr(n.DNSServiceIP)
		}
		if n.PrivateCluster || len(n.AuthorizedIPRanges) > 0 {
			access = &armcontainerservice.ManagedClusterAPIServerAccessProfile{}
			if n.PrivateCluster {
				access.EnablePrivateCluster = to.Ptr(true)
			}
			for _, r := range n.AuthorizedIPRanges {
				access.AuthorizedIPRanges = append(access.AuthorizedIPRanges, to.Ptr(r))
			}
		}
	}
	return armcontainerservice.ManagedCluster{
		Location: to.Ptr(p.region(spec)), Tags: tags,
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			KubernetesVersion: to.Ptr(version), DNSPrefix: to.Ptr(dns), EnableRBAC: to.Ptr(true),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{pool},
			NetworkProfile:    netp, APIServerAccessProfile: access,
		},
	}
}

func (p *Provider) region(spec provider.Spec) string {
	if spec.Location != "" {
		return strings.ToLower(spec.Location)
	}
	return strings.ToLower(p.cfg.Region)
}

// Create creates the cluster and waits for it. The poller's resume token
// is kept in the operation's journal first, so Resume can finish the
// same call after a restart. A failed create is deleted when Azure left a
// cluster behind.
func (p *Provider) Create(ctx context.Context, spec provider.Spec, progress provider.Progress) (*provider.Cluster, error) {
	if err := p.ValidateSpec(spec); err != nil {
		return nil, err
	}
	version, err := p.pickVersion(ctx, spec.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	body := p.managedCluster(spec, version)
	progress.Report("creating AKS cluster %s (%d x %s, Kubernetes %s) in %s/%s", spec.Name, spec.AgentCount, spec.VMSize, version, p.cfg.ResourceGroup, p.region(spec))
	poller, err := p.clusters.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, spec.Name, body, nil)
	if err != nil {
		return nil, azureError(fmt.Sprintf("create AKS cluster %q", spec.Name), err)
	}
	c, err := p.finishCreate(ctx, spec.Name, poller, progress)
	if n := spec.Network; c != nil && n != nil && n.DockerBridgeCIDR != "" {
		c.Warnings = append(c.Warnings, fmt.Sprintf("dockerBridgeCidr %s was ignored: current AKS clusters have no docker bridge", n.DockerBridgeCIDR))
	}
	return c, err
}

// finishCreate polls a create to its end, journaling the resume token.
func (p *Provider) finishCreate(ctx context.Context, name string, poller *runtime.Poller[armcontainerservice.ManagedClustersClientCreateOrUpdateResponse], progress provider.Progress) (*provider.Cluster, error) {
	if err := journal(p.journaled(), journalCreate, poller); err != nil {
		return nil, err
	}
	res, err := poll(ctx, p, poller, progress, "creating "+name)
	if err != nil {
		err = azureError(fmt.Sprintf("create AKS cluster %q", name), err)
		if ctx.Err() == nil {
			p.cleanupFailed(context.WithoutCancel(ctx), name, progress)
		}
		return nil, err
	}
	return p.cluster(&res.ManagedCluster), nil
}

// cleanupFailed deletes what a failed create left, when Azure has it.
func (p *Provider) cleanupFailed(ctx context.Context, name string, progress provider.Progress) {
	if _, err := p.clusters.Get(ctx, p.cfg.ResourceGroup, name, nil); err != nil {
		return
	}
	progress.Report("deleting the cluster the failed create left behind")
	if poller, err := p.clusters.BeginDelete(ctx, p.cfg.ResourceGroup, name, nil); err == nil {
		_, _ = poll(ctx, p, poller, progress, "deleting "+name)
	}
}

// journal keeps a poller's resume token before it is polled.
func journal[T any](j provider.Journal, key string, poller *runtime.Poller[T]) error {
	tok, err := poller.ResumeToken()
	if err != nil {
		return nil // done already: nothing to resume
	}
	if err := j.Save(key, tok); err != nil {
		return fmt.Errorf("failed to record the Azure operation: %w", err)
	}
	return nil
}

// poll polls until done, reporting the elapsed time.
func poll[T any](ctx context.Context, p *Provider, poller *runtime.Poller[T], progress provider.Progress, what string) (T, error) {
	start := time.Now()
	for !poller.Done() {
		if _, err := poller.Poll(ctx); err != nil {
			var zero T
			return zero, err
		}
		if poller.Done() {
			break
		}
		progress.Report("%s: %s", what, time.Since(start).Round(time.Second))
		if err := p.sleep(ctx, p.cfg.PollInterval); err != nil {
			var zero T
			return zero, err
		}
	}
	return poller.Result(ctx)
}

// pickVersion returns the version to create: the region's default (the
// newest patch of the default minor) or the requested one, if offered.
func (p *Provider) pickVersion(ctx context.Context, want string) (string, error) {
	vs, err := p.Versions(ctx)
	if err != nil {
		return "", err
	}
	var offered []string
	for _, v := range vs {
		if want == "" && v.IsDefault {
			return v.Version, nil
		}
		if want != "" && (v.Version == want || strings.HasPrefix(v.Version, want+".")) {
			return v.Version, nil
		}
		offered = append(offered, v.Version)
	}
	if want == "" {
		return "", fmt.Errorf("Azure lists no default Kubernetes version in %s", p.cfg.Region)
	}
	return "", fmt.Errorf("%w: Kubernetes version %s is not offered in %s; offered: %s", provider.ErrInvalid, want, p.cfg.Region, strings.Join(offered, ", "))
}

// responseMessage reads Azure's error message from a response error.
func responseMessage(re *azcore.ResponseError) string {
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		b, _ := io.ReadAll(re.RawResponse.Body)
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
			return body.Error.Message
		}
	}
	return re.ErrorCode
}
