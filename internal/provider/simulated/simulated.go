// Package simulated provides clusters with a real control plane on this
// host and kwok nodes of any VM size and count. Pods scheduled there are
// simulated (they run nothing), which makes production-size capacity and
// scheduling rules testable on a laptop.
package simulated

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/hostcluster"
	"github.com/kubeml/kubeml/internal/vmsize"
)

// Name is the provider's registry key.
const Name = "simulated"

// MaxAgents bounds the node count of one simulated cluster.
const MaxAgents = 1000

//go:embed stages/*.yaml
var stages embed.FS

const (
	fakeAnnotation = "kwok.x-k8s.io/node"
	poolLabel      = "kubernetes.azure.com/agentpool"
)

// New returns the simulated provider keeping state under root.
func New(root string, bins func() (kube.Bins, error)) *hostcluster.Provider {
	return &hostcluster.Provider{
		ProviderName: Name,
		Store:        hostcluster.Store{Root: root},
		Bins:         bins,
		Nodes:        &nodes{sizes: vmsize.Azure()},
	}
}

type nodes struct{ sizes *vmsize.Catalog }

// plan is the node part of a simulated cluster's record.
type plan struct {
	KwokPort int `json:"kwokPort"`
}

func (n *nodes) Validate(spec *provider.Spec) error {
	var errs []error
	if spec.VMSize == "" {
		spec.VMSize = vmsize.DefaultName
	}
	if s, err := n.sizes.Lookup(spec.VMSize); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", provider.ErrInvalid, err))
	} else {
		spec.VMSize = s.Name
	}
	if spec.AgentCount < 1 || spec.AgentCount > MaxAgents {
		errs = append(errs, fmt.Errorf("%w: agent count %d must be between 1 and %d", provider.ErrInvalid, spec.AgentCount, MaxAgents))
	}
	return errors.Join(errs...)
}

func (n *nodes) Plan(rec *hostcluster.Record, _ string) error {
	ports, err := hostcluster.FreePorts(1)
	if err != nil {
		return err
	}
	rec.Node, err = json.Marshal(plan{KwokPort: ports[0]})
	return err
}

func (n *nodes) ControlPlane(*hostcluster.ControlPlane) {}

func (n *nodes) Describe(*hostcluster.Record, *provider.Cluster) {}

func (n *nodes) Processes(*hostcluster.Record) []string { return []string{kube.Kwok} }

func (n *nodes) VMSizes() []provider.VMSize {
	var out []provider.VMSize
	for _, s := range n.sizes.All() {
		out = append(out, provider.VMSize{Name: s.Name, Cores: s.Cores, MemoryMB: s.MemoryMB, GPUs: s.GPUs})
	}
	return out
}

func (n *nodes) Prepare(context.Context, *hostcluster.ControlPlane, provider.Progress) error {
	return nil
}

func (n *nodes) Ensure(ctx context.Context, cp *hostcluster.ControlPlane, progress provider.Progress) error {
	var pl plan
	if err := json.Unmarshal(cp.Rec.Node, &pl); err != nil {
		return fmt.Errorf("failed to read the node plan: %w", err)
	}
	cfg := filepath.Join(cp.Dir, "kwok.yaml")
	if err := writeStages(cfg); err != nil {
		return err
	}
	err := cp.Start(proc.Spec{Name: kube.Kwok, Path: cp.Bins.Path(kube.Kwok), Args: []string{
		"--kubeconfig=" + cp.KubeconfigPath(), "--config=" + cfg,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + fakeAnnotation + "=fake",
		"--cidr=10.244.0.0/16", "--node-ip=10.244.0.1",
		"--server-address=127.0.0.1:" + strconv.Itoa(pl.KwokPort),
	}})
	if err != nil {
		return err
	}
	progress.Report("adding %d simulated %s nodes", cp.Rec.Spec.AgentCount, cp.Rec.Spec.VMSize)
	return n.Scale(ctx, cp, cp.Rec.Spec.AgentCount)
}

func writeStages(path string) error {
	ents, err := stages.ReadDir("stages")
	if err != nil {
		return err
	}
	var docs []string
	for _, e := range ents {
		b, err := stages.ReadFile("stages/" + e.Name())
		if err != nil {
			return err
		}
		docs = append(docs, string(b))
	}
	return os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o600)
}

// Scale creates or deletes node objects agent-0 .. agent-(count-1) and
// waits for them to be Ready.
func (n *nodes) Scale(ctx context.Context, cp *hostcluster.ControlPlane, count int) error {
	size, err := n.sizes.Lookup(cp.Rec.Spec.VMSize)
	if err != nil {
		return err
	}
	cs, err := cp.Client()
	if err != nil {
		return err
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: poolLabel})
	if err != nil {
		return fmt.Errorf("failed to list nodes: %w", err)
	}
	have := map[string]bool{}
	for _, nd := range list.Items {
		have[nd.Name] = true
	}
	for i := range count {
		name := nodeName(i)
		if have[name] {
			continue
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node(name, size), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to add node %s: %w", name, err)
		}
	}
	for _, nd := range list.Items {
		if i, err := strconv.Atoi(strings.TrimPrefix(nd.Name, "agent-")); err == nil && i >= count {
			if err := cs.CoreV1().Nodes().Delete(ctx, nd.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("failed to remove node %s: %w", nd.Name, err)
			}
		}
	}
	return hostcluster.WaitNodesReady(ctx, cs, poolLabel, count)
}

func nodeName(i int) string { return "agent-" + strconv.Itoa(i) }

func node(name string, s vmsize.Size) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(s.Cores), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(s.MemoryMB<<20, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(110, resource.DecimalSI),
	}
	if s.GPUs > 0 {
		res["nvidia.com/gpu"] = *resource.NewQuantity(int64(s.GPUs), resource.DecimalSI)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{fakeAnnotation: "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"type": "kwok", "node.kubernetes.io/instance-type": s.Name, poolLabel: "agentpool",
			},
		},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
	}
}

func (n *nodes) Teardown(context.Context, *hostcluster.ControlPlane, provider.Progress) error {
	return nil // kwok is stopped with the cluster's processes below
}
