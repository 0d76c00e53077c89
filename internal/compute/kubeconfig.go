package compute

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/fault"
)

// kubeconfigSecret names where a Kubernetes compute's credentials are kept
// (encrypted; deleted with the compute).
func kubeconfigSecret(computeID string) string { return computeID + "/kubeconfig" }

// parseKubeconfig reads a kubeconfig that attaches a cluster: the chosen
// context only, with its credentials embedded (files on the user's
// machine mean nothing here).
func parseKubeconfig(text, context string) ([]byte, *rest.Config, error) {
	bad := func(format string, args ...any) error {
		return fault.New(fault.Invalid, "InvalidKubeconfig", format, args...)
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil, bad("properties.properties.kubeconfig is required to attach a Kubernetes compute")
	}
	cfg, err := clientcmd.Load([]byte(text))
	if err != nil {
		return nil, nil, bad("the kubeconfig does not parse: %v", err)
	}
	if context != "" {
		if _, ok := cfg.Contexts[context]; !ok {
			return nil, nil, bad("the kubeconfig has no context %q", context)
		}
		cfg.CurrentContext = context
	}
	if err := clientcmdapi.MinifyConfig(cfg); err != nil {
		return nil, nil, bad("the kubeconfig has no usable current context: %v", err)
	}
	for _, c := range cfg.Clusters {
		if c.CertificateAuthority != "" {
			return nil, nil, bad("the kubeconfig names files (certificate-authority %s): embed them with `kubectl config view --flatten --minify`", c.CertificateAuthority)
		}
	}
	for _, u := range cfg.AuthInfos {
		if u.ClientCertificate != "" || u.ClientKey != "" || u.TokenFile != "" || u.Exec != nil || u.AuthProvider != nil {
			return nil, nil, bad("the kubeconfig's user needs files or a plugin on your machine: embed its credentials with `kubectl config view --flatten --minify`, or use a token")
		}
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, nil, err
	}
	rc, err := restConfig(out)
	return out, rc, err
}

func restConfig(kubeconfig []byte) (*rest.Config, error) {
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fault.New(fault.Invalid, "InvalidKubeconfig", "the kubeconfig cannot be used: %v", err)
	}
	rc.Timeout = 15 * time.Second
	rc.QPS, rc.Burst = 50, 100
	return rc, nil
}

// kubeconfigSource attaches any cluster by a kubeconfig in the request.
type kubeconfigSource struct{}

// resolve reads the kubeconfig (its chosen context, credentials
// embedded) and the compute's settings.
func (kubeconfigSource) resolve(ctx context.Context, m *Manager, id api.ResourceID, c api.Compute) (*attachPlan, error) {
	if err := m.checkAttachRequest(ctx, id, &c); err != nil {
		return nil, err
	}
	in := c.Properties.Properties
	if in == nil {
		in = &api.AKSProperties{}
	}
	kc, rc, err := parseKubeconfig(in.Kubeconfig, in.Context)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now().UTC()
	props := &api.AKSProperties{ClusterPurpose: in.ClusterPurpose, Namespace: in.Namespace, ScopedCredentials: in.ScopedCredentials,
		SSLConfiguration: in.SSLConfiguration}
	if props.ClusterPurpose == "" {
		props.ClusterPurpose = api.PurposeFastProd
	}
	if props.Namespace == "" {
		props.Namespace = "default"
	}
	if u, err := url.Parse(rc.Host); err == nil {
		props.ClusterFqdn = u.Host
	}
	out := &api.Compute{ID: id.String(), Name: id.ChildName, Type: api.TypeCompute, Tags: c.Tags,
		SystemData: &api.SystemData{CreatedAt: &now, LastModifiedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"},
		Properties: api.ComputeProperties{ComputeType: api.ComputeKubernetes, Description: c.Properties.Description,
			ProvisioningState: api.StateCreating, CreatedOn: &now, ModifiedOn: &now, IsAttachedCompute: true, Properties: props}}
	return &attachPlan{compute: out, cs: cs, kubeconfig: kc, input: scopedInput(id, props)}, nil
}

// scopedInput is the attach operation's input for a cluster reached by
// kubeconfig, whose credentials kubeml scopes unless told not to.
func scopedInput(id api.ResourceID, p *api.AKSProperties) input {
	return input{ComputeID: id.String(), Purpose: p.ClusterPurpose, Scoped: p.ScopedCredentials == nil || *p.ScopedCredentials}
}

// scopeCredentials swaps a Kubernetes compute's stored credentials for
// kubeml's own service account's.
func (m *Manager) scopeCredentials(ctx context.Context, computeID string) error {
	kc, err := m.cfg.Store.GetSecret(ctx, kubeconfigSecret(computeID))
	if err != nil {
		return err
	}
	if cfg, err := clientcmd.Load(kc); err == nil {
		if u := cfg.AuthInfos[attach.AgentName]; u != nil {
			return nil // scoped already (a resumed operation)
		}
	}
	_, c, err := m.computeAt(ctx, computeID)
	if err != nil {
		return err
	}
	rc, err := restConfig(kc)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	scoped, err := attach.ScopedKubeconfig(ctx, cs, WorkloadNamespace(c), rc.Host, rc.CAData, rc.ServerName, rc.Insecure)
	if err != nil {
		return fmt.Errorf("failed to make scoped credentials: %w", err)
	}
	return m.cfg.Store.PutSecret(ctx, kubeconfigSecret(computeID), scoped)
}

// WorkloadNamespace is where a compute's model services go unless they
// name another: the namespace given at attach, or "default".
func WorkloadNamespace(c *api.Compute) string {
	if p := c.Properties.Properties; p != nil && p.Namespace != "" {
		return p.Namespace
	}
	return "default"
}

// ScopedNamespace reports the one namespace a compute's stored
// credentials may deploy to: a cluster whose credentials kubeml scoped at
// attach (by kubeconfig, or imported from AKS) keeps only kubeml's own
// account, whose rights are that namespace's (and kubeml-system's).
func (m *Manager) ScopedNamespace(ctx context.Context, c *api.Compute) (string, bool, error) {
	kc, ok, err := m.storedKubeconfig(ctx, c)
	if err != nil || !ok {
		return "", false, err
	}
	cfg, err := clientcmd.Load(kc)
	if err != nil || cfg.AuthInfos[attach.AgentName] == nil {
		return "", false, nil
	}
	return WorkloadNamespace(c), true, nil
}
