package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/hostcluster"
)

// Teardown removes the node and everything it made on the host: pod
// sandboxes (their network namespaces and veths), containers, shims,
// mounts, cgroups and the bridge. It works on half-made clusters too.
func (n *nodes) Teardown(ctx context.Context, cp *hostcluster.ControlPlane, progress provider.Progress) error {
	pl, planErr := readPlan(cp.Rec)
	ps := newPaths(cp.Dir, pl)
	var errs []error
	errs = append(errs, proc.Stop(cp.PidFile(kube.Kubelet), 10*time.Second))
	if _, err := os.Stat(ps.containerdConfig()); err == nil {
		if _, ok := proc.Running(cp.PidFile(procContainerd)); !ok {
			// A crash left containers behind: start containerd to remove them cleanly.
			_ = cp.Start(proc.Spec{Name: procContainerd, Path: "containerd", Args: []string{"--config", ps.containerdConfig()}})
			_ = waitSocket(ctx, ps.sock(), cp.LogFile(procContainerd))
		}
		progress.Report("removing pods")
		if err := removeSandboxes(ctx, ps.sock()); err != nil {
			progress.Report("could not remove pods through containerd (%v); killing them", err)
		}
	}
	errs = append(errs, proc.Stop(cp.PidFile(procContainerd), 10*time.Second))
	// Orphans whose starter died before recording them, and shims (which
	// name the socket, not the state dir).
	cp.KillStragglers(kube.Kubelet, procContainerd, "containerd-shim-runc-v2")
	if planErr == nil {
		for _, pid := range proc.Matching(ps.run + "/") {
			proc.KillGroup(pid, 5*time.Second)
		}
	}
	if planErr == nil {
		errs = append(errs, killCgroup(pl.cgroupRoot()))
	}
	errs = append(errs, unmountUnder(cp.Dir))
	if planErr == nil {
		errs = append(errs, unmountUnder(ps.kubelet), os.RemoveAll(ps.kubelet), os.RemoveAll(ps.run),
			removeCgroups(pl.cgroupRoot()), deleteBridge(pl), release(pl.Index, cp.Dir))
	}
	errs = append(errs, cleanHost())
	return errors.Join(errs...)
}

// removeSandboxes stops and removes every pod sandbox through CRI, which
// also runs the CNI DEL (veth, IP) and removes the network namespaces.
func removeSandboxes(ctx context.Context, sock string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	var errs []error
	for _, sb := range list.Items {
		if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killCgroup kills every process left in the cluster's cgroups.
func killCgroup(root string) error {
	for range 50 {
		pids := cgroupPids(root)
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("processes left in cgroup %s: %v", root, cgroupPids(root))
}

// unmountUnder unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) error {
	dir = filepath.Clean(dir) + "/"
	var errs []error
	for range 3 { // mounts may be stacked
		mps := mountsUnder(dir)
		if len(mps) == 0 {
			return nil
		}
		sortDeepestFirst(mps)
		for _, mp := range mps {
			if err := unix.Unmount(mp, 0); err != nil {
				if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
					errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
				}
			}
		}
	}
	if mps := mountsUnder(dir); len(mps) > 0 {
		return errors.Join(append(errs, fmt.Errorf("still mounted: %s", strings.Join(mps, ", ")))...)
	}
	return nil
}

// mountsUnder reads /proc/self/mountinfo for mount points below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if strings.HasPrefix(mp+"/", dir) {
			out = append(out, mp)
		}
	}
	return out
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
