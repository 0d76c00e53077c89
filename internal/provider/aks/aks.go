// Package aks provides clusters on Azure Kubernetes Service through the
// Azure SDK for Go: kubeml creates, scales, deletes and attaches real AKS
// clusters in one subscription and resource group, against a configurable
// Azure Resource Manager endpoint. Long calls keep their ARM poller's
// resume token in the kubeml operation, so a restart resumes them.
package aks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/vmsize"
)

// Kind is the provider kind; a provider serves one Azure region and is
// registered as ProviderName(region).
const Kind = "aks"

// ProviderName is the registry key of the provider of an Azure region:
// "aks-<region>", the region in lower case.
func ProviderName(region string) string { return Kind + "-" + strings.ToLower(region) }

// Config is where and how kubeml reaches Azure.
type Config struct {
	// SubscriptionID and ResourceGroup hold the clusters kubeml creates;
	// attach takes clusters of any resource group of the subscription.
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup"`
	// Region is the Azure region clusters are created in, e.g. "westus2".
	Region string `json:"region"`
	// Cloud is AzurePublic (default), AzureChina or AzureGovernment.
	Cloud string `json:"cloud,omitempty"`
	// Endpoint overrides the cloud's Resource Manager endpoint.
	Endpoint string `json:"endpoint,omitempty"`
	// PollInterval is how often a long call is polled (default 10s).
	PollInterval time.Duration `json:"-"`
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if !guidRE.MatchString(c.SubscriptionID) {
		errs = append(errs, fmt.Errorf("azure subscriptionId %q must be a GUID", c.SubscriptionID))
	}
	if c.ResourceGroup == "" {
		errs = append(errs, errors.New("azure resourceGroup is required"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("azure region is required"))
	}
	if _, err := c.cloud(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) cloud() (cloud.Configuration, error) {
	var cc cloud.Configuration
	switch strings.ToLower(c.Cloud) {
	case "", "azurepublic", "azurecloud":
		cc = cloud.AzurePublic
	case "azurechina", "azurechinacloud":
		cc = cloud.AzureChina
	case "azuregovernment", "azureusgovernment":
		cc = cloud.AzureGovernment
	default:
		return cc, fmt.Errorf("azure cloud %q: want AzurePublic, AzureChina or AzureGovernment", c.Cloud)
	}
	if c.Endpoint != "" {
		svc := cc.Services[cloud.ResourceManager]
		svc.Endpoint = c.Endpoint
		cc.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: svc}
	}
	return cc, nil
}

// Provider is the aks provider for one region.
type Provider struct {
	cfg      Config
	clusters *armcontainerservice.ManagedClustersClient
	pools    *armcontainerservice.AgentPoolsClient
	sizes    *vmsize.Catalog
	sleep    func(context.Context, time.Duration) error
	// journal keeps the resume tokens of one operation's calls (see
	// WithJournal); a provider bound to none keeps nothing.
	journal provider.Journal
}

// WithJournal returns the provider bound to one operation's journal, so
// that a resumed operation resumes its Azure calls.
func (p *Provider) WithJournal(j provider.Journal) provider.Provider {
	cp := *p
	cp.journal = j
	return &cp
}

// journaled returns the bound journal, or one that keeps nothing.
func (p *Provider) journaled() provider.Journal {
	if p.journal == nil {
		return provider.NopJournal{}
	}
	return p.journal
}

// New returns the provider. A nil cred means DefaultAzureCredential
// (environment, workload identity, managed identity, Azure CLI); transport
// replaces the HTTP client (tests pass the SDK's fake server transport).
func New(cfg Config, cred azcore.TokenCredential, transport policy.Transporter) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cc, _ := cfg.cloud()
	if cred == nil {
		c, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: cc}})
		if err != nil {
			return nil, fmt.Errorf("failed to set up Azure credentials: %w", err)
		}
		cred = c
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Second
	}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cc, Transport: transport,
		// 429 (honouring Retry-After) and transient 5xx are retried.
		Retry:     policy.RetryOptions{MaxRetries: 6, RetryDelay: 2 * time.Second, MaxRetryDelay: 60 * time.Second},
		Telemetry: policy.TelemetryOptions{ApplicationID: "kubeml"},
	}}
	f, err := armcontainerservice.NewClientFactory(cfg.SubscriptionID, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to make the AKS client: %w", err)
	}
	return &Provider{cfg: cfg, clusters: f.NewManagedClustersClient(), pools: f.NewAgentPoolsClient(), sizes: vmsize.Azure(), sleep: sleepCtx}, nil
}

// Name is the registry key: ProviderName of the region.
func (p *Provider) Name() string { return ProviderName(p.cfg.Region) }

// Remote marks AKS clusters as running in Azure: kubeml never starts one
// a user stopped.
func (p *Provider) Remote() bool { return true }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// azureError turns an Azure response error into a CodedError carrying
// Azure's code and message; NotFound wraps provider.ErrNotFound.
func azureError(what string, err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("failed to %s: %w", what, err)
	}
	if re.StatusCode == http.StatusNotFound {
		return fmt.Errorf("failed to %s: %w", what, errors.Join(provider.ErrNotFound, err))
	}
	return &provider.CodedError{Code: re.ErrorCode, Message: fmt.Sprintf("failed to %s: %s", what, responseMessage(re)), Err: err}
}

// str and i32 read the SDK's optional fields.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
