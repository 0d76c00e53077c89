package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/kubeml/kubeml/api"
)

// KubernetesAttachConfiguration describes any Kubernetes cluster to
// attach by its kubeconfig (compute type Kubernetes), like the Python
// SDK's KubernetesCompute.attach_configuration. Zero fields take the
// server's defaults: the kubeconfig's current context, namespace
// "default", purpose FastProd, scoped credentials.
type KubernetesAttachConfiguration struct {
	// Kubeconfig is the kubeconfig file's text. The server keeps it
	// encrypted and never returns it.
	Kubeconfig []byte
	// Context picks one of the kubeconfig's contexts.
	Context string
	// Namespace is where kubeml deploys in the cluster.
	Namespace      string
	ClusterPurpose string // api.PurposeFastProd, PurposeDenseProd or PurposeDevTest
	Description    string
	// ScopedCredentials, when true (the server's default), makes kubeml
	// replace the kubeconfig's credentials with a service account of its
	// own that has only the rights kubeml needs.
	ScopedCredentials *bool
}

// Validate reports a configuration without a kubeconfig.
func (k KubernetesAttachConfiguration) Validate() error {
	if len(bytes.TrimSpace(k.Kubeconfig)) == 0 {
		return errors.New("attach: a kubeconfig is required")
	}
	return nil
}

// Compute is the PUT body attaching the cluster.
func (k KubernetesAttachConfiguration) Compute() api.Compute {
	var scoped *bool
	if k.ScopedCredentials != nil {
		v := *k.ScopedCredentials
		scoped = &v
	}
	return api.Compute{Properties: api.ComputeProperties{
		ComputeType: api.ComputeKubernetes,
		Description: k.Description,
		Properties: &api.AKSProperties{
			Kubeconfig:        string(k.Kubeconfig),
			Context:           k.Context,
			Namespace:         k.Namespace,
			ClusterPurpose:    k.ClusterPurpose,
			ScopedCredentials: scoped,
		},
	}}
}

// AttachKubernetesComputeTarget starts attaching a Kubernetes cluster, by
// its kubeconfig, to the workspace ws (a workspace id). The server first
// checks the cluster: a failing check refuses the attach with a 400
// PreflightFailed *Error, one detail per failed check; a cluster attached
// elsewhere gives a 409 AlreadyAttached. Call WaitForCompletion to wait.
func (c *Client) AttachKubernetesComputeTarget(ctx context.Context, ws api.ResourceID, name string, cfg KubernetesAttachConfiguration) (*ComputeTarget, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return c.putTarget(ctx, ws, name, cfg.Compute())
}

// PreflightCompute runs the attach checks of body (an AKS attach body,
// with properties.resourceId, or a Kubernetes one, with a kubeconfig)
// against its cluster without attaching anything: a PUT of compute id
// with dryRun=true. The report lists every check, passed or not; failed
// checks are not an error here.
func (c *Client) PreflightCompute(ctx context.Context, id api.ResourceID, body api.Compute) (*api.PreflightReport, error) {
	p, err := computePath(id)
	if err != nil {
		return nil, err
	}
	var out api.PreflightReport
	if _, err := c.Do(ctx, http.MethodPut, p, url.Values{"dryRun": {"true"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FailedChecks returns the checks of r whose status is Fail.
func FailedChecks(r *api.PreflightReport) []api.PreflightCheck {
	var failed []api.PreflightCheck
	if r != nil {
		for _, ch := range r.Checks {
			if ch.Status == PreflightFail {
				failed = append(failed, ch)
			}
		}
	}
	return failed
}

// Preflight check statuses.
const (
	PreflightPass = "Pass"
	PreflightWarn = "Warn"
	PreflightFail = "Fail"
)
