// Package local provides real Kubernetes clusters on this host: the
// control plane of package hostcluster plus one real node (containerd,
// runc, kubelet and a CNI bridge of the cluster's own), so pods really run.
//
// Everything a cluster makes is named after its bridge (kml<N>) or lives
// under its state dir, so two local clusters can run side by side and a
// delete removes every process, mount, cgroup, netns, bridge and file.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/hostcluster"
)

// Name is the provider's registry key.
const Name = "local"

// HostVMSize names the only VM size of a local cluster: this host.
const HostVMSize = "Host"

// NodeName is the name of a local cluster's one node.
const NodeName = "agent-0"

// Options configure the provider.
type Options struct {
	// Root holds the clusters' state dirs.
	Root string
	// Bins finds the Kubernetes binaries (kube.Find when nil).
	Bins func() (kube.Bins, error)
	// ImageBinary is the kubeml binary put into the node's images (with
	// the shared libraries it needs, if it is dynamically linked);
	// empty means the running executable.
	ImageBinary string
}

// New returns the local provider.
func New(o Options) *hostcluster.Provider {
	return &hostcluster.Provider{
		ProviderName: Name,
		Store:        hostcluster.Store{Root: o.Root},
		Bins:         o.Bins,
		Nodes:        &nodes{imageBinary: o.ImageBinary},
	}
}

type nodes struct{ imageBinary string }

// plan is the node part of a local cluster's record.
type plan struct {
	Index       int    `json:"index"`       // N in the bridge name kml<N> and subnet 10.213.N.0/24
	KubeletPort int    `json:"kubeletPort"` // on the bridge IP
	HealthzPort int    `json:"healthzPort"` // on loopback
	Images      images `json:"images"`
}

// images are the references imported into the node's containerd.
type images struct {
	Kubeml string `json:"kubeml,omitempty"`
	Pause  string `json:"pause,omitempty"`
}

func (p plan) bridge() string { return "kml" + strconv.Itoa(p.Index) }
func (p plan) subnet() string { return "10.213." + strconv.Itoa(p.Index) + ".0/24" }
func (p plan) nodeIP() net.IP { return net.IPv4(10, 213, byte(p.Index), 1) }

// cgroupRoot is the cluster's own cgroup parent, so two kubelets never
// manage each other's pods.
func (p plan) cgroupRoot() string { return "/kubeml-" + p.bridge() }

func readPlan(rec *hostcluster.Record) (plan, error) {
	var p plan
	if err := json.Unmarshal(rec.Node, &p); err != nil || p.Index == 0 {
		return p, fmt.Errorf("cluster %q has no node plan", rec.Spec.Name)
	}
	return p, nil
}

func (n *nodes) Validate(spec *provider.Spec) error {
	var errs []error
	host := hostSize()
	if spec.VMSize == "" || strings.EqualFold(spec.VMSize, HostVMSize) {
		spec.VMSize = HostVMSize
	} else {
		errs = append(errs, fmt.Errorf("%w: VM size %q: a local cluster's one node is this host (%s: %d cores, %d MB); for other VM sizes use the simulated or aks provider",
			provider.ErrInvalid, spec.VMSize, HostVMSize, host.Cores, host.MemoryMB))
	}
	if spec.AgentCount != 1 {
		errs = append(errs, fmt.Errorf("%w: agent count %d: a local cluster has exactly 1 node (this host); for more nodes use the simulated provider (kwok nodes) or the aks provider", provider.ErrInvalid, spec.AgentCount))
	}
	return errors.Join(append(errs, CheckHost())...)
}

// CheckHost reports everything this host lacks to run a local cluster.
func CheckHost() error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("a local cluster needs root (it runs containerd, a kubelet and a network bridge)"))
	}
	var missing []string
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip", "iptables"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/usr/lib/cni/portmap"} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("missing on this host: %s (Debian: apt-get install containerd runc containernetworking-plugins iptables iproute2)", strings.Join(missing, ", ")))
	}
	return errors.Join(errs...)
}

// hostSize reads this host's cores and memory.
func hostSize() provider.VMSize {
	var si syscall.Sysinfo_t
	mem := int64(0)
	if syscall.Sysinfo(&si) == nil {
		mem = int64(si.Totalram) * int64(si.Unit) >> 20
	}
	return provider.VMSize{Name: HostVMSize, Cores: runtime.NumCPU(), MemoryMB: mem}
}

func (n *nodes) VMSizes() []provider.VMSize { return []provider.VMSize{hostSize()} }

func (n *nodes) Processes(*hostcluster.Record) []string {
	return []string{procContainerd, kube.Kubelet}
}

const procContainerd = "containerd"

// Plan picks a bridge index no other local cluster on this host holds and
// claims it in a file that outlives reboots (a stopped cluster keeps its
// index). The bridge itself is made by Prepare.
func (n *nodes) Plan(rec *hostcluster.Record, dir string) error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, i := range ifs {
		used[i.Name] = true
	}
	addrs, _ := net.InterfaceAddrs()
	for k := 1; k < 255; k++ {
		p := plan{Index: k}
		if used[p.bridge()] || overlaps(addrs, p.subnet()) || claimed(k) {
			continue
		}
		ports, err := hostcluster.FreePorts(2)
		if err != nil {
			return err
		}
		p.KubeletPort, p.HealthzPort = ports[0], ports[1]
		if err := claim(k, dir); err != nil {
			return err
		}
		rec.Node, err = json.Marshal(p)
		return err
	}
	return errors.New("no free bridge index kml1..kml254 on this host")
}

// claimDir holds one file per bridge index in use, naming the state dir
// of the cluster holding it.
const claimDir = "/var/lib/kubeml/bridges"

// claimed reports whether index k belongs to a cluster that still exists.
func claimed(k int) bool {
	b, err := os.ReadFile(filepath.Join(claimDir, strconv.Itoa(k)))
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(string(b), "cluster.json"))
	return err == nil
}

func claim(k int, dir string) error {
	if err := os.MkdirAll(claimDir, 0o755); err != nil {
		return fmt.Errorf("failed to claim bridge kml%d: %w", k, err)
	}
	return os.WriteFile(filepath.Join(claimDir, strconv.Itoa(k)), []byte(dir), 0o644)
}

// release gives index k back, if dir holds it.
func release(k int, dir string) error {
	f := filepath.Join(claimDir, strconv.Itoa(k))
	if b, err := os.ReadFile(f); err == nil && string(b) == dir {
		return os.Remove(f)
	}
	return nil
}

func overlaps(addrs []net.Addr, cidr string) bool {
	_, sub, _ := net.ParseCIDR(cidr)
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && (sub.Contains(ipn.IP) || ipn.Contains(sub.IP)) && !ipn.IP.IsLoopback() {
			return true
		}
	}
	return false
}

func (n *nodes) ControlPlane(cp *hostcluster.ControlPlane) {
	cp.NodeName = NodeName
	if p, err := readPlan(cp.Rec); err == nil {
		cp.NodeIPs = []net.IP{p.nodeIP()}
		cp.ExtraIPs = []net.IP{p.nodeIP()}
	}
}

func (n *nodes) Describe(rec *hostcluster.Record, c *provider.Cluster) {
	if p, err := readPlan(rec); err == nil {
		c.KubemlImage = p.Images.Kubeml
	}
}

// Scale implements hostcluster.Nodes: a local cluster has one node.
func (n *nodes) Scale(_ context.Context, cp *hostcluster.ControlPlane, count int) error {
	if count == 1 {
		return nil
	}
	return fmt.Errorf("%w: a local cluster has exactly 1 node (this host); use the simulated or aks provider to scale", provider.ErrInvalid)
}
