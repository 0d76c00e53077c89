package compute

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/cluster"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
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

// attachKubernetes attaches any cluster by kubeconfig: preflight and the
// claim first, then the compute and its (encrypted) credentials are
// recorded with the operation that installs the router.
func (m *Manager) attachKubernetes(ctx context.Context, id api.ResourceID, c api.Compute) (*api.Compute, string, error) {
	out, kc, cs, err := m.kubernetesAttachable(ctx, id, c)
	if err != nil {
		return nil, "", err
	}
	p := out.Properties.Properties
	n := 0
	p.AgentCount = &n
	return m.attachByKubeconfig(ctx, id, out, kc, cs, nil)
}

// attachByKubeconfig runs the preflight, claims the cluster and records
// the compute with its (encrypted) credentials and the operation that
// installs the router. extra checks join the preflight report.
func (m *Manager) attachByKubeconfig(ctx context.Context, id api.ResourceID, out *api.Compute, kc []byte, cs kubernetes.Interface, extra []api.PreflightCheck) (*api.Compute, string, error) {
	p := out.Properties.Properties
	p.Preflight = m.preflight(ctx, cs, id, p.ClusterPurpose, p.Namespace)
	p.Preflight.Checks = append(p.Preflight.Checks, extra...)
	if err := preflightError(p.Preflight); err != nil {
		return nil, "", err
	}
	if p.AgentCount == nil || *p.AgentCount == 0 {
		n := p.Preflight.Nodes
		p.AgentCount = &n
	}
	att := m.attachment(id)
	claimed, err := cluster.ClaimNew(ctx, cs, att)
	if err != nil {
		if errors.Is(err, cluster.ErrAttached) {
			return nil, "", fault.New(fault.Conflict, "AlreadyAttached", "%v", err)
		}
		return nil, "", err
	}
	in := clusterInput{ComputeID: id.String(), Purpose: p.ClusterPurpose, Scoped: p.ScopedCredentials == nil || *p.ScopedCredentials}
	pem := takeSSL(p)
	opID, err := m.record(ctx, kindComputeAttach, id.String(), in, func(tx store.Tx) error {
		if err := requireWorkspace(ctx, tx, id); err != nil {
			return err
		}
		if err := createJSON(ctx, tx, id.String(), api.TypeCompute, workspaceKey(id), out); err != nil {
			return err
		}
		if pem != nil {
			if err := tx.PutSecret(ctx, sslSecret(id.String()), pem); err != nil {
				return err
			}
		}
		return tx.PutSecret(ctx, kubeconfigSecret(id.String()), kc)
	})
	if err != nil {
		if claimed { // a concurrent request for this compute may own the record otherwise
			_ = cluster.Release(context.WithoutCancel(ctx), cs, att)
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, "", fault.New(fault.Conflict, "Conflict", "compute %s exists already", id.ChildName)
		}
		return nil, "", err
	}
	return out, opID, nil
}

// kubernetesAttachable validates a Kubernetes attach and returns the
// compute to record, the minified kubeconfig and a client.
func (m *Manager) kubernetesAttachable(ctx context.Context, id api.ResourceID, c api.Compute) (*api.Compute, []byte, kubernetes.Interface, error) {
	taken, err := m.computeNames(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := validation(AttachChecks.Run(&Request{Name: id.ChildName, Compute: &c, Taken: func(n string) bool { return taken[strings.ToLower(n)] },
		Locations: m.Locations(), VMSizes: memoSizes(m.sizes(ctx))})); err != nil {
		return nil, nil, nil, err
	}
	in := c.Properties.Properties
	if in == nil {
		in = &api.AKSProperties{}
	}
	kc, rc, err := parseKubeconfig(in.Kubeconfig, in.Context)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, nil, err
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
	return &api.Compute{ID: id.String(), Name: id.ChildName, Type: api.TypeCompute, Tags: c.Tags,
		SystemData: &api.SystemData{CreatedAt: &now, LastModifiedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"},
		Properties: api.ComputeProperties{ComputeType: api.ComputeKubernetes, Description: c.Properties.Description,
			ProvisioningState: api.StateCreating, CreatedOn: &now, ModifiedOn: &now, IsAttachedCompute: true, Properties: props}}, kc, cs, nil
}

// scopeCredentials swaps a Kubernetes compute's stored credentials for
// kubeml's own service account's.
func (m *Manager) scopeCredentials(ctx context.Context, computeID string) error {
	kc, err := m.cfg.Store.GetSecret(ctx, kubeconfigSecret(computeID))
	if err != nil {
		return err
	}
	if cfg, err := clientcmd.Load(kc); err == nil {
		if u := cfg.AuthInfos[cluster.AgentName]; u != nil {
			return nil // scoped already (a resumed operation)
		}
	}
	rc, err := restConfig(kc)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	scoped, err := cluster.ScopedKubeconfig(ctx, cs, rc.Host, rc.CAData, rc.ServerName, rc.Insecure)
	if err != nil {
		return fmt.Errorf("failed to make scoped credentials: %w", err)
	}
	return m.cfg.Store.PutSecret(ctx, kubeconfigSecret(computeID), scoped)
}
