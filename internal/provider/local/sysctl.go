package local

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeml/kubeml/internal/provider/hostcluster"
)

// kubeletSysctls are the kernel settings a kubelet changes on start.
var kubeletSysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

// sysctlFile keeps the host's values from before the first local kubelet.
const sysctlFile = "/run/kubeml/sysctls.json"

// startKubelet starts the kubelet with start, after recording the host's
// sysctls, under the host lock, so that a concurrent last delete cannot
// restore them in between.
func startKubelet(cp *hostcluster.ControlPlane, start func() error) error {
	unlock, err := hostcluster.HostLock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := saveSysctls(); err != nil {
		return err
	}
	return start()
}

// cleanHost undoes what kubelets do to the host once no kubelet runs:
// their iptables chains, their sysctls, the empty dirs of shims and CNI.
func cleanHost() error {
	unlock, err := hostcluster.HostLock()
	if err != nil {
		return err
	}
	defer unlock()
	if kubeletRunning() {
		return nil
	}
	removeKubeletChains()
	for _, d := range []string{"/run/containerd/s", "/run/containerd", "/var/lib/cni/results", "/var/lib/cni"} {
		os.Remove(d) // only when empty
	}
	return restoreSysctls()
}

// saveSysctls records the host's own values, once, before any kubelet of
// ours runs, so the last cluster to go can put them back.
func saveSysctls() error {
	if _, err := os.Stat(sysctlFile); err == nil || kubeletRunning() {
		return nil
	}
	vals := map[string]string{}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return err
		}
		vals[k] = strings.TrimSpace(string(b))
	}
	b, _ := json.Marshal(vals)
	if err := os.MkdirAll(filepath.Dir(sysctlFile), 0o755); err != nil {
		return err
	}
	return os.WriteFile(sysctlFile, b, 0o644)
}

// restoreSysctls puts the recorded values back when no kubelet runs.
func restoreSysctls() error {
	b, err := os.ReadFile(sysctlFile)
	if errors.Is(err, os.ErrNotExist) || kubeletRunning() {
		return nil
	}
	if err != nil {
		return err
	}
	vals := map[string]string{}
	if err := json.Unmarshal(b, &vals); err != nil {
		return err
	}
	for k, v := range vals {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return os.Remove(sysctlFile)
}
