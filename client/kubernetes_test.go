package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
)

// fakeReport is the fake's preflight of c: its cluster is unreachable when
// the kubeconfig or resource id says "unreachable".
func fakeReport(c api.Compute) api.PreflightReport {
	target := c.Properties.ResourceID
	if kp := c.Properties.Properties; kp != nil {
		target += kp.Kubeconfig
	}
	rep := api.PreflightReport{KubernetesVersion: "1.33.1", Nodes: 1, VCPUs: 4, Checks: []api.PreflightCheck{
		{Name: "APIServer", Status: PreflightPass, Reason: "Reachable", Message: "the API server answered"},
		{Name: "Capacity", Status: PreflightWarn, Reason: "FewNodes", Message: "1 node: no redundancy"},
	}}
	if strings.Contains(target, "unreachable") {
		rep.Checks[0] = api.PreflightCheck{Name: "APIServer", Status: PreflightFail, Reason: "APIServerUnreachable", Message: "dial tcp: connection refused"}
	}
	return rep
}

// preflight answers a dry run with the report of c, refuses a Kubernetes
// attach whose checks fail (PreflightFailed) or whose kubeconfig says
// "taken" (AlreadyAttached), and reports whether it answered. It drops
// the write-only kubeconfig from what is kept.
func (f *fake) preflight(w http.ResponseWriter, r *http.Request, c *api.Compute) bool {
	rep := fakeReport(*c)
	if r.URL.Query().Get("dryRun") == "true" {
		reply(w, 200, rep)
		return true
	}
	kp := c.Properties.Properties
	if c.Properties.ComputeType != api.ComputeKubernetes || kp == nil {
		return false
	}
	if failed := FailedChecks(&rep); len(failed) > 0 {
		var ds []api.ErrorDetail
		for _, ch := range failed {
			ds = append(ds, api.ErrorDetail{Code: ch.Reason, Message: ch.Message, Target: ch.Name})
		}
		replyErr(w, 400, "PreflightFailed", "the cluster failed 1 preflight check", ds...)
		return true
	}
	if strings.Contains(kp.Kubeconfig, "taken") {
		replyErr(w, 409, "AlreadyAttached", "the cluster is attached to compute other")
		return true
	}
	kept := *kp // f.puts keeps what was sent
	kept.Kubeconfig, kept.Preflight = "", &rep
	c.Properties.Properties = &kept
	return false
}

func TestClientAttachKubernetes(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	no := false
	cfg := KubernetesAttachConfiguration{Kubeconfig: []byte("apiVersion: v1\nkind: Config\n"), Context: "prod", Namespace: "ml",
		ClusterPurpose: api.PurposeDevTest, Description: "mine", ScopedCredentials: &no}
	target, err := c.AttachKubernetesComputeTarget(ctx, testWorkspace, "k8s", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := target.WaitForCompletion(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p := target.Compute.Properties
	if p.ComputeType != api.ComputeKubernetes || !p.IsAttachedCompute || p.ProvisioningState != api.StateSucceeded ||
		p.Properties.Kubeconfig != "" || p.Properties.Preflight == nil || p.Description != "mine" {
		t.Errorf("attached compute %+v / %+v", p, p.Properties)
	}
	sent := f.puts[0].Properties
	if sent.ResourceID != "" || sent.Properties.Kubeconfig != string(cfg.Kubeconfig) || sent.Properties.Context != "prod" ||
		sent.Properties.Namespace != "ml" || sent.Properties.ClusterPurpose != api.PurposeDevTest || *sent.Properties.ScopedCredentials {
		t.Errorf("sent %+v / %+v", sent, sent.Properties)
	}
	// No choice leaves scopedCredentials to the server's default.
	b, _ := json.Marshal(KubernetesAttachConfiguration{Kubeconfig: []byte("x")}.Compute())
	if strings.Contains(string(b), "scopedCredentials") || !strings.Contains(string(b), `"computeType":"Kubernetes"`) {
		t.Errorf("default body %s", b)
	}
	n := len(f.reqs())
	if _, err := c.AttachKubernetesComputeTarget(ctx, testWorkspace, "none", KubernetesAttachConfiguration{Kubeconfig: []byte(" \n")}); err == nil ||
		!strings.Contains(err.Error(), "kubeconfig is required") || len(f.reqs()) != n {
		t.Errorf("an attach without a kubeconfig: %v (%d requests)", err, len(f.reqs())-n)
	}
}

func TestClientAttachKubernetesRefusals(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	_, err := c.AttachKubernetesComputeTarget(ctx, testWorkspace, "k1", KubernetesAttachConfiguration{Kubeconfig: []byte("server: unreachable")})
	var e *Error
	if !IsBadRequest(err) || !errors.As(err, &e) || e.Code != "PreflightFailed" || len(e.Details) != 1 || e.Details[0].Code != "APIServerUnreachable" {
		t.Errorf("failing preflight: %v", err)
	}
	if _, err := c.AttachKubernetesComputeTarget(ctx, testWorkspace, "k2", KubernetesAttachConfiguration{Kubeconfig: []byte("taken")}); !IsConflict(err) {
		t.Errorf("a cluster attached elsewhere: %v", err)
	}
	if len(f.computes) != 0 {
		t.Errorf("refused attaches left %v", sortedKeys(f.computes))
	}
}

func TestClientPreflightCompute(t *testing.T) {
	f := newFake(t)
	c := f.client(t, nil)
	ctx := context.Background()
	id := api.ComputeID(testSub, testRG, testWS, "pre")
	aks := AttachConfiguration{ResourceGroup: "aksrg", ClusterName: "aks"}.Compute(testSub)
	rep, err := c.PreflightCompute(ctx, id, aks)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 2 || rep.KubernetesVersion != "1.33.1" || len(FailedChecks(rep)) != 0 {
		t.Errorf("report %+v", rep)
	}
	if !slices.ContainsFunc(f.reqs(), func(r string) bool { return strings.HasPrefix(r, "PUT ") && strings.Contains(r, "dryRun=true") }) {
		t.Errorf("no dry run in %v", f.reqs())
	}
	if f.puts[0].Properties.ResourceID != api.ManagedClusterID(testSub, "aksrg", "aks").String() {
		t.Errorf("sent %+v", f.puts[0].Properties)
	}
	kube := KubernetesAttachConfiguration{Kubeconfig: []byte("server: unreachable")}.Compute()
	rep, err = c.PreflightCompute(ctx, id, kube)
	if err != nil {
		t.Fatalf("a failing check is a report, not an error: %v", err)
	}
	if failed := FailedChecks(rep); len(failed) != 1 || failed[0].Reason != "APIServerUnreachable" {
		t.Errorf("failed checks %+v", failed)
	}
	if _, err := c.GetCompute(ctx, id); !IsNotFound(err) {
		t.Errorf("a dry run attached something: %v", err)
	}
	if _, err := c.PreflightCompute(ctx, testWorkspace, kube); err == nil {
		t.Error("a workspace id was taken for a compute id")
	}
}
