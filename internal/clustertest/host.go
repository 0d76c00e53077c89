package clustertest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// HostSnapshot is what a user would inspect to see whether a cluster left
// something on the host: network interfaces, mounts, iptables rules and
// chains, cgroups, network namespaces, kernel settings and kubeml's
// processes.
type HostSnapshot map[string]map[string]bool

// SnapshotHost reads the host's state.
func SnapshotHost() HostSnapshot {
	s := HostSnapshot{}
	add := func(kind, item string) {
		if s[kind] == nil {
			s[kind] = map[string]bool{}
		}
		s[kind][item] = true
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		add("interface", i.Name)
	}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fl := strings.Fields(sc.Text()); len(fl) > 4 {
				add("mount", fl[4])
			}
		}
		f.Close()
	}
	for _, table := range []string{"filter", "nat", "mangle", "raw"} {
		out, _ := exec.Command("iptables-save", "-t", table).Output()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, ":") { // chain, without its counters
				add("iptables chain", table+" "+strings.Fields(l)[0])
			} else if strings.HasPrefix(l, "-A") {
				add("iptables rule", table+" "+l)
			}
		}
	}
	ctrls, _ := os.ReadDir("/sys/fs/cgroup")
	for _, c := range ctrls {
		subs, _ := os.ReadDir(filepath.Join("/sys/fs/cgroup", c.Name()))
		for _, d := range subs {
			if d.IsDir() {
				add("cgroup", c.Name()+"/"+d.Name())
			}
		}
	}
	for _, dir := range []string{"/var/run/netns", "/run/netns", "/run/containerd", "/run/containerd/s", "/var/lib/cni", "/var/lib/cni/results"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			add("file", filepath.Join(dir, e.Name()))
		}
	}
	for _, k := range []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"} {
		b, _ := os.ReadFile(filepath.Join("/proc/sys", k))
		add("sysctl", k+"="+strings.TrimSpace(string(b)))
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, harnessDir) || strings.Contains(cmd, "kubeml.local") ||
			strings.Contains(cmd, "/kubeml pause") || strings.Contains(cmd, "probe-server") {
			add("process", cmd)
		}
	}
	return s
}

// Diff lists what s has that before had not, one line each; empty when
// nothing was left behind.
func (s HostSnapshot) Diff(before HostSnapshot) string {
	var lines []string
	for kind, items := range s {
		for it := range items {
			if !before[kind][it] {
				lines = append(lines, fmt.Sprintf("%s: %s", kind, it))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
