package deploy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Need is what one version asks of the cluster: Replicas pods, each
// requesting CPU and Memory.
type Need struct {
	CPU, Memory resource.Quantity
	Replicas    int
}

// NodeRoom is what one node has free for new pods, and in all.
type NodeRoom struct {
	Name string
	// Free is allocatable minus the requests of the pods on it.
	FreeMilliCPU, FreeMemory int64
	FreePods                 int64
	// MilliCPU and Memory are the node's allocatable resources.
	MilliCPU, Memory int64
}

// CapacityError says that the pods asked for do not fit the cluster.
type CapacityError struct {
	Needs []Need
	// Fits is how many of the replicas fit.
	Fits int
	// Nodes are the Ready, schedulable nodes, most free CPU first.
	Nodes []NodeRoom
}

// maxListedNodes bounds the nodes a CapacityError's message lists.
const maxListedNodes = 5

func (e *CapacityError) Error() string {
	var needs []string
	total := 0
	for _, n := range e.Needs {
		if n.Replicas > 0 {
			needs = append(needs, fmt.Sprintf("%d %s of %s CPU and %s GiB", n.Replicas, plural(n.Replicas, "replica"),
				cores(n.CPU.MilliValue()), gib(n.Memory.Value())))
			total += n.Replicas
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "not enough room in the cluster: needs %s; ", strings.Join(needs, " and "))
	if len(e.Nodes) == 0 {
		b.WriteString("the cluster has no Ready, schedulable node")
		return b.String()
	}
	fmt.Fprintf(&b, "the cluster has room for %d", e.Fits)
	if len(e.Needs) > 1 {
		fmt.Fprintf(&b, " of the %d", total)
	}
	b.WriteString(": ")
	for i, n := range e.Nodes[:min(len(e.Nodes), maxListedNodes)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "node %s has %s CPU and %s GiB free (of %s CPU, %s GiB)", n.Name,
			cores(n.FreeMilliCPU), gib(n.FreeMemory), cores(n.MilliCPU), gib(n.Memory))
		if n.FreePods <= 0 {
			b.WriteString(" and no pod slot free")
		}
	}
	if more := len(e.Nodes) - maxListedNodes; more > 0 {
		fmt.Fprintf(&b, ", and %d more %s", more, plural(more, "node"))
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// cores renders millicores as cores with at most two decimals.
func cores(milli int64) string {
	return strconv.FormatFloat(float64(max(milli, 0)/10)/100, 'f', -1, 64)
}

// gib renders bytes as GiB with at most one decimal (two below 1 GiB).
func gib(b int64) string {
	v, scale := float64(max(b, 0))/(1<<30), 10.0
	if v < 1 {
		scale = 100
	}
	return strconv.FormatFloat(float64(int64(v*scale+0.5))/scale, 'f', -1, 64)
}

// CheckCapacity reports, before anything is created, whether all replicas
// of needs fit on the cluster's Ready, schedulable, untainted nodes, given
// each node's allocatable resources minus the requests of the pods not
// finished on it. Replicas are placed greedily, largest first, on the
// node with the most free CPU that holds them. When they do not all fit,
// the error is a *CapacityError saying what is short.
func CheckCapacity(ctx context.Context, cs kubernetes.Interface, needs []Need) error {
	nodes, err := nodeRooms(ctx, cs)
	if err != nil {
		return err
	}
	type pod struct{ cpu, mem int64 }
	var pods []pod
	for _, n := range needs {
		for range n.Replicas {
			pods = append(pods, pod{n.CPU.MilliValue(), n.Memory.Value()})
		}
	}
	slices.SortStableFunc(pods, func(a, b pod) int { return cmp.Or(cmp.Compare(b.cpu, a.cpu), cmp.Compare(b.mem, a.mem)) })
	free := slices.Clone(nodes)
	fits := 0
	for _, p := range pods {
		best := -1
		for i, n := range free {
			if n.FreeMilliCPU >= p.cpu && n.FreeMemory >= p.mem && n.FreePods > 0 && (best < 0 || n.FreeMilliCPU > free[best].FreeMilliCPU) {
				best = i
			}
		}
		if best >= 0 {
			free[best].FreeMilliCPU -= p.cpu
			free[best].FreeMemory -= p.mem
			free[best].FreePods--
			fits++
		}
	}
	if fits < len(pods) {
		return &CapacityError{Needs: slices.Clone(needs), Fits: fits, Nodes: nodes}
	}
	return nil
}

// nodeRooms returns the room on every node that can take new pods, most
// free CPU first.
func nodeRooms(ctx context.Context, cs kubernetes.Interface) ([]NodeRoom, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list nodes: %w", err)
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return nil, fmt.Errorf("failed to list pods: %w", err)
	}
	used := map[string]*NodeRoom{}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" {
			continue
		}
		u := used[p.Spec.NodeName]
		if u == nil {
			u = &NodeRoom{}
			used[p.Spec.NodeName] = u
		}
		cpu, mem := podRequests(&p)
		u.MilliCPU += cpu
		u.Memory += mem
		u.FreePods++
	}
	var out []NodeRoom
	for _, n := range nodes.Items {
		if !schedulable(&n) {
			continue
		}
		a := n.Status.Allocatable
		r := NodeRoom{Name: n.Name, MilliCPU: a.Cpu().MilliValue(), Memory: a.Memory().Value()}
		r.FreeMilliCPU, r.FreeMemory, r.FreePods = r.MilliCPU, r.Memory, a.Pods().Value()
		if u := used[n.Name]; u != nil {
			r.FreeMilliCPU -= u.MilliCPU
			r.FreeMemory -= u.Memory
			r.FreePods -= u.FreePods
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b NodeRoom) int { return cmp.Compare(b.FreeMilliCPU, a.FreeMilliCPU) })
	return out, nil
}

// schedulable reports whether new pods without tolerations can land on n.
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podRequests is what the scheduler counts for a pod: the larger of its
// containers' summed requests and any one init container's, plus its
// overhead.
func podRequests(p *corev1.Pod) (milliCPU, memory int64) {
	for _, c := range p.Spec.Containers {
		milliCPU += c.Resources.Requests.Cpu().MilliValue()
		memory += c.Resources.Requests.Memory().Value()
	}
	for _, c := range p.Spec.InitContainers {
		milliCPU = max(milliCPU, c.Resources.Requests.Cpu().MilliValue())
		memory = max(memory, c.Resources.Requests.Memory().Value())
	}
	milliCPU += p.Spec.Overhead.Cpu().MilliValue()
	memory += p.Spec.Overhead.Memory().Value()
	return milliCPU, memory
}
