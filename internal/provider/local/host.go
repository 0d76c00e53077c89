package local

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// cgroupV1Root is where cgroup v1 controllers are mounted.
const cgroupV1Root = "/sys/fs/cgroup"

// ensureBridge creates the cluster's bridge with the node IP, if missing.
func ensureBridge(p plan) error {
	name := p.bridge()
	if _, err := net.InterfaceByName(name); err != nil {
		if err := ip("link", "add", name, "type", "bridge"); err != nil {
			return err
		}
	}
	addr := p.nodeIP().String() + "/24"
	if out, _ := exec.Command("ip", "-o", "addr", "show", "dev", name).Output(); !strings.Contains(string(out), addr) {
		if err := ip("addr", "add", addr, "dev", name); err != nil {
			return err
		}
	}
	return ip("link", "set", name, "up")
}

func deleteBridge(p plan) error {
	if _, err := net.InterfaceByName(p.bridge()); err != nil {
		return nil
	}
	return ip("link", "del", p.bridge())
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// cgroupControllers lists the mounted cgroup v1 hierarchies (cpu, memory,
// name=systemd as "systemd", ...); empty on a pure cgroup v2 host.
func cgroupControllers() []string {
	ents, _ := os.ReadDir(cgroupV1Root)
	var out []string
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "unified" {
			continue
		}
		if _, err := os.Stat(filepath.Join(cgroupV1Root, e.Name(), "cgroup.procs")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// ensureCgroupRoot creates the cluster's cgroup parent in every hierarchy.
// cpuset children start empty in v1 and must be given the parent's sets.
func ensureCgroupRoot(root string) error {
	ctrls := cgroupControllers()
	if len(ctrls) == 0 { // cgroup v2: one tree
		return os.MkdirAll(filepath.Join(cgroupV1Root, root), 0o755)
	}
	for _, c := range ctrls {
		d := filepath.Join(cgroupV1Root, c, root)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("failed to create cgroup %s: %w", d, err)
		}
		if c == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if cur, _ := os.ReadFile(filepath.Join(d, f)); strings.TrimSpace(string(cur)) != "" {
					continue
				}
				v, err := os.ReadFile(filepath.Join(cgroupV1Root, c, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
					return fmt.Errorf("failed to set %s/%s: %w", d, f, err)
				}
			}
		}
	}
	return nil
}

// cgroupDirs returns every cgroup directory of the cluster, deepest first.
func cgroupDirs(root string) []string {
	var dirs []string
	// The kubelet also makes the root in the v2 tree of a hybrid host.
	bases := []string{filepath.Join(cgroupV1Root, root), filepath.Join(cgroupV1Root, "unified", root)}
	for _, c := range cgroupControllers() {
		bases = append(bases, filepath.Join(cgroupV1Root, c, root))
	}
	for _, b := range bases {
		_ = filepath.WalkDir(b, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sortDeepestFirst(dirs)
	return dirs
}

// cgroupPids lists the processes in the cluster's cgroups.
func cgroupPids(root string) []string {
	seen := map[string]bool{}
	var pids []string
	for _, d := range cgroupDirs(root) {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, p := range strings.Fields(string(b)) {
			if !seen[p] {
				seen[p] = true
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// sortDeepestFirst orders paths so that children come before parents.
func sortDeepestFirst(paths []string) {
	slices.SortStableFunc(paths, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
}

func removeCgroups(root string) error {
	var errs []error
	for _, d := range cgroupDirs(root) {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
