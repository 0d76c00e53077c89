package attach

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	kversion "k8s.io/apimachinery/pkg/version"

	"github.com/kubeml/kubeml/api"
)

// GPUResource is the extended resource GPU nodes advertise.
const GPUResource = "nvidia.com/gpu"

// checkAPI: the API server answers /version and accepts the credentials.
func checkAPI(ctx context.Context, p *probe) []Check {
	info, err := serverVersion(ctx, p)
	if err != nil {
		return []Check{apiFailure(err)}
	}
	p.reachable = true
	p.gitVersion = info.GitVersion
	p.r.KubernetesVersion = info.GitVersion
	who := ""
	ssr, err := p.cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case err == nil:
		who = fmt.Sprintf(", authenticated as %q", ssr.Status.UserInfo.Username)
	case apierrors.IsUnauthorized(err):
		p.reachable = false
		return []Check{apiFailure(err)}
	}
	return []Check{pass("APIReachable", "The Kubernetes API server answered (version "+info.GitVersion+")"+who+".")}
}

// serverVersion reads /version honouring ctx (discovery's ServerVersion
// does not take one).
func serverVersion(ctx context.Context, p *probe) (*kversion.Info, error) {
	rc := p.cs.Discovery().RESTClient()
	if rc == nil {
		return p.cs.Discovery().ServerVersion()
	}
	raw, err := rc.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var info kversion.Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("failed to decode the server version: %w", err)
	}
	return &info, nil
}

func apiFailure(err error) Check {
	if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
		return fail("CredentialsInvalid", "The Kubernetes API server refused the credentials: "+err.Error())
	}
	return fail("APIUnreachable", "The Kubernetes API server cannot be reached: "+err.Error())
}

// checkVersion: the server's minor version is inside the supported window;
// pre-release versions warn.
func checkVersion(_ context.Context, p *probe) []Check {
	o := p.o
	window := fmt.Sprintf("[%s - %s]", o.MinVersion, o.MaxVersion)
	lo, err1 := version.ParseGeneric(o.MinVersion)
	hi, err2 := version.ParseGeneric(o.MaxVersion)
	if err1 != nil || err2 != nil {
		return []Check{fail("VersionWindowInvalid", "The supported version window "+window+" is not a pair of Kubernetes versions.")}
	}
	v, err := version.ParseGeneric(p.gitVersion)
	if err != nil {
		return []Check{fail("VersionUnknown", fmt.Sprintf("The Kubernetes version %q cannot be parsed.", p.gitVersion))}
	}
	shown := fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch())
	mm := version.MajorMinor(v.Major(), v.Minor())
	var out []Check
	if mm.LessThan(version.MajorMinor(lo.Major(), lo.Minor())) || mm.GreaterThan(version.MajorMinor(hi.Major(), hi.Minor())) {
		out = append(out, fail("VersionUnsupported", fmt.Sprintf("Kubernetes version %s is not supported. Supported versions are between %s.", shown, window)))
	} else {
		out = append(out, pass("VersionSupported", fmt.Sprintf("Kubernetes version %s is supported (window %s).", shown, window)))
	}
	for _, tag := range []string{"-alpha", "-beta", "-rc"} {
		if strings.Contains(p.gitVersion, tag) {
			out = append(out, warn("PreviewVersion", fmt.Sprintf("Kubernetes version %s is a preview release; it can be attached but is not recommended for production.", p.gitVersion)))
			break
		}
	}
	return out
}

// checkCapacity: the nodes' allocatable vCPUs and the node count meet the
// cluster purpose (production: >= 12 vCPUs and >= 3 nodes; DevTest: >= 1
// node, 2 vCPUs recommended).
func checkCapacity(ctx context.Context, p *probe) []Check {
	list, err := p.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return []Check{{Name: "nodes", Reason: "NodesUnavailable", Status: StatusFail, Message: "Cannot list the cluster's nodes: " + err.Error()}}
	}
	p.nodes = list.Items
	milli := int64(0)
	for _, n := range list.Items {
		milli += n.Status.Allocatable.Cpu().MilliValue()
	}
	p.r.Nodes, p.r.VCPUs = len(list.Items), int(milli/1000)
	nodes, vcpus, purpose := p.r.Nodes, p.r.VCPUs, p.o.Purpose
	var cpu, count Check
	switch {
	case api.ProductionPurpose(purpose):
		cpu = pass("EnoughVCPUs", fmt.Sprintf("%d vCPUs available across %d node(s); purpose '%s' needs at least %d.", vcpus, nodes, purpose, api.ProductionVCPUs))
		if vcpus < api.ProductionVCPUs {
			cpu = fail("InsufficientVCPUs", fmt.Sprintf("The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to %d. Available vCPUs : %d", api.ProductionVCPUs, vcpus))
		}
		count = minNodes(purpose, nodes, api.ProductionNodes)
	case purpose == api.PurposeDevTest:
		cpu = pass("EnoughVCPUs", fmt.Sprintf("%d vCPUs available across %d node(s).", vcpus, nodes))
		if vcpus < api.DevTestVCPUs {
			cpu = warn("LowVCPUs", fmt.Sprintf("%d vCPUs available; at least %d are recommended for purpose 'DevTest'.", vcpus, api.DevTestVCPUs))
		}
		count = minNodes(purpose, nodes, 1)
	default:
		return []Check{{Name: "purpose", Reason: "InvalidPurpose", Status: StatusFail,
			Message: fmt.Sprintf("Cluster purpose '%s' is not one of %s.", purpose, strings.Join(api.Purposes(), ", "))}}
	}
	cpu.Name, count.Name = "vcpus", "nodes"
	return []Check{cpu, count}
}

func minNodes(purpose string, have, need int) Check {
	if have < need {
		return fail("InsufficientNodes", fmt.Sprintf("At least %d machine(s) are required for cluster with purpose '%s'. Available machine(s) : %d", need, purpose, have))
	}
	return pass("EnoughNodes", fmt.Sprintf("%d machine(s) available; purpose '%s' needs at least %d.", have, purpose, need))
}

// checkGPUs: report the nodes offering nvidia.com/gpu (never fails).
func checkGPUs(_ context.Context, p *probe) []Check {
	if p.nodes == nil {
		return nil // capacity already failed to list them
	}
	var names []string
	for _, n := range p.nodes {
		if q, ok := n.Status.Allocatable[GPUResource]; ok && q.Value() > 0 {
			p.r.GPUs += int(q.Value())
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return []Check{pass("NoGPUNodes", "No node offers "+GPUResource+"; models will run on CPU.")}
	}
	return []Check{pass("GPUNodes", fmt.Sprintf("%d GPU(s) (%s) on %d node(s): %s.", p.r.GPUs, GPUResource, len(names), strings.Join(names, ", ")))}
}
