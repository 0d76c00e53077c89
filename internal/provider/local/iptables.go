package local

import (
	"os/exec"

	"github.com/kubeml/kubeml/internal/proc"
)

// kubeletChains are the host-wide iptables chains every kubelet makes
// (canaries that detect a flush, and a firewall for localnet). They are
// shared by all local clusters, so only the last one to go removes them.
var kubeletChains = []struct{ table, chain string }{
	{"filter", "KUBE-FIREWALL"},
	{"filter", "KUBE-KUBELET-CANARY"},
	{"mangle", "KUBE-IPTABLES-HINT"},
	{"mangle", "KUBE-KUBELET-CANARY"},
	{"nat", "KUBE-KUBELET-CANARY"},
}

// removeKubeletChains removes the kubelets' chains and the jumps into
// them; the caller makes sure no kubelet runs.
func removeKubeletChains() {
	for _, cmd := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(cmd); err != nil {
			continue
		}
		for _, hook := range []string{"INPUT", "OUTPUT"} {
			for exec.Command(cmd, "-t", "filter", "-D", hook, "-j", "KUBE-FIREWALL").Run() == nil {
			}
		}
		for _, c := range kubeletChains {
			_ = exec.Command(cmd, "-t", c.table, "-F", c.chain).Run()
			_ = exec.Command(cmd, "-t", c.table, "-X", c.chain).Run()
		}
	}
}

func kubeletRunning() bool { return len(proc.Named("kubelet")) > 0 }
