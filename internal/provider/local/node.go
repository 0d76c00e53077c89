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
	"strings"
	"time"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/hostcluster"
)

// paths of one node's files: under the cluster's state dir, except the
// unix sockets and the kubelet's root (which holds sockets too), which
// live under short host paths named after the bridge, since a socket path
// may not exceed 107 bytes whatever the data dir.
type paths struct{ dir, run, kubelet string }

func newPaths(dir string, pl plan) paths {
	return paths{dir: dir, run: filepath.Join("/run/kubeml", pl.bridge()), kubelet: filepath.Join("/var/lib/kubeml/kubelet", pl.bridge())}
}

func (p paths) sock() string             { return filepath.Join(p.run, "containerd.sock") }
func (p paths) containerdConfig() string { return filepath.Join(p.dir, "containerd.toml") }
func (p paths) containerdRoot() string   { return filepath.Join(p.dir, "containerd", "root") }
func (p paths) containerdState() string  { return filepath.Join(p.dir, "containerd", "state") }
func (p paths) runcRoot() string         { return filepath.Join(p.dir, "runc") }
func (p paths) cniConf() string          { return filepath.Join(p.dir, "cni", "net.d") }
func (p paths) cniData() string          { return filepath.Join(p.dir, "cni", "ipam") }
func (p paths) kubeletRoot() string      { return p.kubelet }
func (p paths) kubeletConfig() string    { return filepath.Join(p.dir, "kubelet.yaml") }
func (p paths) kubeletKubeconfig() string {
	return filepath.Join(p.dir, "kubelet.kubeconfig")
}
func (p paths) podLogs() string { return filepath.Join(p.dir, "pod-logs") }

// Prepare readies the host side of the node while the control plane
// starts: bridge, cgroups, configs, containerd and the images.
func (n *nodes) Prepare(ctx context.Context, cp *hostcluster.ControlPlane, progress provider.Progress) error {
	pl, err := readPlan(cp.Rec)
	if err != nil {
		return err
	}
	ps := newPaths(cp.Dir, pl)
	if err := ensureBridge(pl); err != nil {
		return err
	}
	if err := ensureCgroupRoot(pl.cgroupRoot()); err != nil {
		return err
	}
	f, err := cp.PKI() // made already: this only reads the files
	if err != nil {
		return err
	}
	if err := pl.Images.ensureRefs(n.imageBinary); err != nil {
		return err
	}
	if cp.Rec.Node, err = json.Marshal(pl); err != nil { // saved by the caller
		return err
	}
	if err := writeNodeConfigs(ps, pl, f, cp.Server()); err != nil {
		return err
	}
	progress.Report("starting containerd")
	if _, ok := proc.Running(cp.PidFile(procContainerd)); !ok {
		os.Remove(ps.sock()) // stale after a crash or reboot
	}
	if err := cp.Start(proc.Spec{Name: procContainerd, Path: "containerd", Args: []string{"--config", ps.containerdConfig()}}); err != nil {
		return err
	}
	if err := waitSocket(ctx, ps.sock(), cp.LogFile(procContainerd)); err != nil {
		return err
	}
	if err := n.importImages(ctx, ps, &pl, progress); err != nil {
		return err
	}
	// The kubelet starts before the API server is ready: it registers the
	// node as soon as it can, which saves a second on every create.
	progress.Report("starting the kubelet")
	return startKubelet(cp, func() error {
		return cp.Start(proc.Spec{Name: kube.Kubelet, Path: cp.Bins.Path(kube.Kubelet), Args: []string{
			"--config=" + ps.kubeletConfig(), "--kubeconfig=" + ps.kubeletKubeconfig(),
			"--root-dir=" + ps.kubeletRoot(), "--hostname-override=" + NodeName,
			"--node-ip=" + pl.nodeIP().String(),
			"--node-labels=" + nodeLabels(cp.Rec.Spec.Name),
		}})
	})
}

// Ensure waits for the node to be Ready; the API server is up by now.
func (n *nodes) Ensure(ctx context.Context, cp *hostcluster.ControlPlane, progress provider.Progress) error {
	cs, err := cp.Client()
	if err != nil {
		return err
	}
	progress.Report("waiting for node %s to be Ready", NodeName)
	if err := hostcluster.WaitNodesReady(ctx, cs, poolLabel, 1); err != nil {
		return fmt.Errorf("%w\nkubelet log:\n%s", err, proc.Tail(cp.LogFile(kube.Kubelet), 15))
	}
	return nil
}

const poolLabel = "kubernetes.azure.com/agentpool"

func nodeLabels(cluster string) string {
	return strings.Join([]string{
		poolLabel + "=agentpool",
		"node.kubernetes.io/instance-type=" + HostVMSize,
		"kubeml.io/cluster=" + cluster,
	}, ",")
}

// importImages loads kubeml's own image (and the pause image made from the
// same binary) into containerd, unless they are there already.
func (n *nodes) importImages(ctx context.Context, ps paths, pl *plan, progress provider.Progress) error {
	have, err := ctr(ctx, ps, "images", "list", "-q")
	if err != nil {
		return err
	}
	if strings.Contains(have, pl.Images.Kubeml) && strings.Contains(have, pl.Images.Pause) {
		return nil
	}
	progress.Report("importing images %s and %s", pl.Images.Kubeml, pl.Images.Pause)
	tar, err := pl.Images.tarball(n.imageBinary)
	if err != nil {
		return err
	}
	if _, err := ctr(ctx, ps, "images", "import", "--no-unpack=false", tar); err != nil {
		return err
	}
	return nil
}

// ctr runs containerd's ctr against the node's containerd.
func ctr(ctx context.Context, ps paths, args ...string) (string, error) {
	args = append([]string{"--address", ps.sock(), "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, "ctr", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ctr %s: %w: %s", strings.Join(args[4:], " "), err, out)
	}
	return string(out), nil
}

// waitSocket waits until containerd accepts connections on sock.
func waitSocket(ctx context.Context, sock, logFile string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(fmt.Errorf("containerd did not open %s", sock), ctx.Err(), errors.New(proc.Tail(logFile, 15)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
