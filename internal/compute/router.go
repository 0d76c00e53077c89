package compute

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// Defaults of the attach settings.
const (
	DefaultRouterImage = "kubeml.local/kubeml:latest"
	routerReadyTimeout = 3 * time.Minute
)

// attachment is the record a compute leaves in its cluster.
func (m *Manager) attachment(id api.ResourceID) attach.Attachment {
	ws := api.WorkspaceID(id.Subscription, id.ResourceGroup, id.Name)
	return attach.Attachment{WorkspaceID: ws.String(), WorkspaceName: id.Name, ComputeName: id.ChildName, ServerID: m.cfg.ServerID, Time: m.cfg.Now().UTC()}
}

// preflight runs the attach checks against the live cluster.
func (m *Manager) preflight(ctx context.Context, cs kubernetes.Interface, id api.ResourceID, o attach.PreflightOptions) *api.PreflightReport {
	o.MinVersion, o.MaxVersion, o.Attachment = m.cfg.MinVersion, m.cfg.MaxVersion, m.attachment(id)
	rep := attach.Preflight(ctx, cs, o)
	now := m.cfg.Now().UTC()
	out := &api.PreflightReport{KubernetesVersion: rep.KubernetesVersion, Nodes: rep.Nodes, VCPUs: rep.VCPUs, GPUs: rep.GPUs, Time: &now}
	for _, c := range rep.Checks {
		out.Checks = append(out.Checks, api.PreflightCheck{Name: c.Name, Status: string(c.Status), Reason: c.Reason, Message: c.Message})
	}
	return out
}

// preflightError is the 400 of a failed preflight: every failing check
// is a detail, and the whole report is attached as the error's target.
func preflightError(rep *api.PreflightReport) error {
	var details []api.ErrorDetail
	for _, c := range rep.Checks {
		if c.Status == string(attach.StatusFail) {
			details = append(details, api.ErrorDetail{Code: c.Reason, Message: c.Message, Target: c.Name})
		}
	}
	if len(details) == 0 {
		return nil
	}
	msg := fmt.Sprintf("the cluster failed %d of %d preflight checks; nothing was written to it:", len(details), len(rep.Checks))
	for _, c := range rep.Checks {
		msg += fmt.Sprintf("\n  %-4s %-20s %s", c.Status, c.Name, c.Message)
	}
	// Attached elsewhere, and nothing else wrong: that is a conflict.
	kind, code := fault.Conflict, "AlreadyAttached"
	for _, d := range details {
		if d.Code != "AlreadyAttached" {
			kind, code = fault.Invalid, "PreflightFailed"
		}
	}
	return &fault.Error{Kind: kind, ErrorDetail: api.ErrorDetail{Code: code, Message: msg, Details: details}}
}

// computeCluster returns a client for a compute's cluster and the image
// its router runs: a managed cluster's comes from its provider, a
// Kubernetes compute's from its stored (encrypted) kubeconfig.
func (m *Manager) computeCluster(ctx context.Context, c *api.Compute) (kubernetes.Interface, string, error) {
	if kc, ok, err := m.storedKubeconfig(ctx, c); err != nil {
		return nil, "", err
	} else if ok {
		rc, err := restConfig(kc)
		if err != nil {
			return nil, "", err
		}
		cs, err := kubernetes.NewForConfig(rc)
		return cs, m.cfg.RouterImage, err
	}
	cid, err := api.ParseResourceID(c.Properties.ResourceID)
	if err != nil {
		return nil, "", err
	}
	cs, pc, err := m.clusters.Client(ctx, cid)
	if err != nil {
		return nil, "", err
	}
	if pc.KubemlImage != "" {
		return cs, pc.KubemlImage, nil
	}
	return cs, m.cfg.RouterImage, nil
}

// storedKubeconfig returns the credentials a compute reaches its cluster
// with when they are kept in the store (Kubernetes computes and AKS
// clusters attached from Azure), read once; ok is false for computes
// whose provider hands them out.
func (m *Manager) storedKubeconfig(ctx context.Context, c *api.Compute) (kc []byte, ok bool, err error) {
	kc, err = m.cfg.Store.GetSecret(ctx, kubeconfigSecret(c.ID))
	switch {
	case err == nil:
		return kc, true, nil
	case errors.Is(err, store.ErrNotFound) && c.Properties.ComputeType != api.ComputeKubernetes:
		return nil, false, nil
	}
	return nil, false, err
}

// installRouter claims the cluster for the compute (if not yet),
// installs the router and waits for it; the compute then lists what runs.
func (m *Manager) installRouter(ctx context.Context, computeID, purpose string) error {
	id, c, err := m.computeAt(ctx, computeID)
	if err != nil {
		return err
	}
	cs, image, err := m.computeCluster(ctx, c)
	if err != nil {
		return err
	}
	if err := attach.Claim(ctx, cs, m.attachment(id)); err != nil {
		if errors.Is(err, attach.ErrAttached) {
			return fault.New(fault.Conflict, "AlreadyAttached", "%v", err)
		}
		return err
	}
	rt := attach.Router{Image: image, Purpose: purpose}
	if kc, err := m.computeKubeconfig(ctx, id); err == nil {
		// An API server on loopback runs on this host (a local cluster):
		// only the host's network reaches it, and no ClusterIP routes.
		// Its nodes are all this host, which has one address per node
		// port: one router replica.
		if host := loopbackServer(kc); host != "" {
			rt.HostNetwork, rt.APIServer, rt.Replicas = true, host, 1
		}
	}
	if pem, err := m.cfg.Store.GetSecret(ctx, sslSecret(computeID)); err == nil {
		rt.TLSCert, rt.TLSKey = splitCertKey(pem)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := attach.InstallRouter(ctx, cs, rt); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, routerReadyTimeout)
	defer cancel()
	if err := attach.WaitRouterReady(wctx, cs); err != nil {
		return fault.New(fault.Conflict, "RouterNotReady", "the scoring router did not become ready: %v", err)
	}
	version, addr, _, err := attach.RouterStatus(ctx, cs)
	if err != nil {
		return err
	}
	return m.updateComputeJSON(ctx, computeID, func(c *api.Compute) {
		c.Properties.Properties.SystemServices = []api.SystemService{{SystemServiceType: "ScoringFrontEnd", PublicIPAddress: addr, Version: version}}
	})
}

// computeAt reads the compute of an operation's input.
func (m *Manager) computeAt(ctx context.Context, computeID string) (api.ResourceID, *api.Compute, error) {
	id, err := api.ParseResourceID(computeID)
	if err != nil {
		return id, nil, err
	}
	c, err := m.GetCompute(ctx, id)
	return id, c, err
}

// removeRouter removes what kubeml installed in the compute's cluster
// and its attachment record. A cluster that is gone has nothing left.
func (m *Manager) removeRouter(ctx context.Context, computeID string) error {
	id, c, err := m.computeAt(ctx, computeID)
	if err != nil {
		return err
	}
	cs, _, err := m.computeCluster(ctx, c)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	err = attach.Uninstall(ctx, cs, m.attachment(id))
	if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
		// kubeml's own account went with kubeml-system (a failed attach's
		// clean-up): nothing of kubeml's is left that it could remove.
		m.cfg.Log.Warn("the cluster refuses kubeml's credentials; nothing left to remove", "compute", computeID, "err", err)
		return nil
	}
	if errors.Is(err, attach.ErrAttached) {
		// Someone else holds the cluster now: forget the compute, touch nothing.
		m.cfg.Log.Warn("detaching a compute whose cluster another attachment holds", "compute", computeID, "err", err)
		return nil
	} else if err != nil {
		return err
	}
	return nil
}

// sslSecret names where a compute's TLS certificate and key are kept.
func sslSecret(computeID string) string { return computeID + "/ssl" }

// joinCertKey and splitCertKey keep a certificate and key in one secret.
func joinCertKey(cert, key string) []byte { return []byte(cert + "\x00" + key) }

func splitCertKey(b []byte) (cert, key []byte) {
	c, k, _ := bytes.Cut(b, []byte{0})
	return c, k
}

// takeSSL moves a request's TLS certificate and key out of the compute
// (to be kept as a secret) and returns them; nil when there are none.
func takeSSL(p *api.AKSProperties) []byte {
	if p == nil || p.SSLConfiguration == nil || p.SSLConfiguration.Cert == "" {
		return nil
	}
	ssl := *p.SSLConfiguration
	pem := joinCertKey(ssl.Cert, ssl.Key)
	ssl.Cert, ssl.Key = "", ""
	p.SSLConfiguration = &ssl
	return pem
}

// loopbackServer is the host:port of a kubeconfig's API server when it
// is a loopback address, else "".
func loopbackServer(kubeconfig []byte) string {
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return ""
	}
	u, err := url.Parse(rc.Host)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
