package client

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/kubeml/kubeml/api"
)

// ComputeTarget is a workspace's compute target, as the Python SDK's
// ComputeTarget: made by CreateComputeTarget, AttachComputeTarget or
// GetComputeTarget, then waited for, detached or deleted.
type ComputeTarget struct {
	client *Client
	ID     api.ResourceID
	poller *Poller[api.Compute]
	// Compute is the compute as last read: the PUT's answer, then the
	// result of WaitForCompletion.
	Compute *api.Compute
}

// CreateComputeTarget starts creating a cluster for the workspace ws
// (a workspace id). Call WaitForCompletion to wait for it.
func (c *Client) CreateComputeTarget(ctx context.Context, ws api.ResourceID, name string, cfg ProvisioningConfiguration) (*ComputeTarget, error) {
	return c.putTarget(ctx, ws, name, cfg.Compute())
}

// AttachComputeTarget starts attaching an existing managed cluster to the
// workspace ws. Call WaitForCompletion to wait for it.
func (c *Client) AttachComputeTarget(ctx context.Context, ws api.ResourceID, name string, cfg AttachConfiguration) (*ComputeTarget, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return c.putTarget(ctx, ws, name, cfg.Compute(ws.Subscription))
}

func (c *Client) putTarget(ctx context.Context, ws api.ResourceID, name string, body api.Compute) (*ComputeTarget, error) {
	if err := checkID(ws, api.NamespaceML, "workspaces", ""); err != nil {
		return nil, err
	}
	id := api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name)
	p, err := c.BeginCreateOrUpdateCompute(ctx, id, body)
	if err != nil {
		return nil, err
	}
	return &ComputeTarget{client: c, ID: id, poller: p, Compute: p.initial}, nil
}

// GetComputeTarget reads an existing compute target of the workspace ws.
func (c *Client) GetComputeTarget(ctx context.Context, ws api.ResourceID, name string) (*ComputeTarget, error) {
	if err := checkID(ws, api.NamespaceML, "workspaces", ""); err != nil {
		return nil, err
	}
	id := api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name)
	comp, err := c.GetCompute(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ComputeTarget{client: c, ID: id, Compute: comp}, nil
}

// Poller is the poller of the operation that made t, or nil (for
// OperationURL, to resume waiting later).
func (t *ComputeTarget) Poller() *Poller[api.Compute] { return t.poller }

// WaitForCompletion waits until the operation that made t ends (for a
// target from GetComputeTarget: until its provisioning state settles),
// then holds the compute in t.Compute. With a non-nil showOutput it
// prints as the Python SDK does (a terminal ProgressSink): the state, a
// "." per poll, each new state on its own line, then `Provisioning
// operation finished, operation "Succeeded"` (or "Failed" followed by the
// errors). It returns the provisioning error, if any.
func (t *ComputeTarget) WaitForCompletion(ctx context.Context, showOutput io.Writer) error {
	pr := ProgressSink{W: showOutput, Terminal: true}.start(t.state())
	err := t.wait(ctx, pr.poll)
	if err == nil && t.Compute != nil && t.Compute.Properties.ProvisioningState == api.StateFailed {
		err = provisioningError(t.Compute)
	}
	status := ""
	if t.poller != nil {
		status = t.poller.Status()
	}
	if pr.finish(status, err) && err != nil {
		fmt.Fprintf(pr.w, "Provisioning errors:\n  %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return err
}

// state is the state to show first.
func (t *ComputeTarget) state() string {
	if t.Compute != nil && t.Compute.Properties.ProvisioningState != "" {
		return t.Compute.Properties.ProvisioningState
	}
	if t.poller != nil && !t.poller.Done() {
		return api.StatusInProgress
	}
	return api.StatusSucceeded
}

// wait polls the operation, or without one the compute, until it ends.
func (t *ComputeTarget) wait(ctx context.Context, onStatus func(string)) error {
	if t.poller != nil {
		res, err := t.poller.PollUntilDone(ctx, onStatus)
		if res != nil {
			t.Compute = res
		}
		return err
	}
	for t.Compute != nil && busy(t.Compute.Properties.ProvisioningState) {
		if err := t.client.sleep(ctx, t.client.pollWait(-1)); err != nil {
			return err
		}
		comp, err := t.client.GetCompute(ctx, t.ID)
		if err != nil {
			return err
		}
		t.Compute = comp
		onStatus(comp.Properties.ProvisioningState)
	}
	return nil
}

func busy(state string) bool {
	return state == api.StateCreating || state == api.StateUpdating || state == api.StateDeleting
}

// provisioningError is the *Error of a compute whose provisioning failed.
func provisioningError(c *api.Compute) *Error {
	errs := c.Properties.ProvisioningErrors
	if len(errs) == 1 {
		return fromDetail(0, errs[0].Error)
	}
	e := &Error{Code: "ProvisioningFailed", Message: fmt.Sprintf("compute %s failed to provision", c.Name)}
	for _, pe := range errs {
		e.Details = append(e.Details, pe.Error)
	}
	return e
}

// Detach removes the target from the workspace and what the workspace
// installed in the cluster, keeping the cluster, and waits.
func (t *ComputeTarget) Detach(ctx context.Context) error { return t.remove(ctx, api.ActionDetach) }

// Delete removes the target and deletes the cluster the workspace
// created, and waits. The server refuses it for an attached cluster.
func (t *ComputeTarget) Delete(ctx context.Context) error { return t.remove(ctx, api.ActionDelete) }

func (t *ComputeTarget) remove(ctx context.Context, action string) error {
	p, err := t.client.BeginDeleteCompute(ctx, t.ID, action)
	if err != nil {
		return err
	}
	_, err = p.PollUntilDone(ctx, nil)
	return err
}
