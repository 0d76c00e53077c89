// Package pause is the process that holds a pod sandbox's namespaces on a
// local node: it sleeps until told to stop and reaps orphaned children.
// kubeml's own binary serves as the pause image, so no registry is needed.
package pause

import (
	"os"
	"os/signal"
	"syscall"
)

// Run blocks until SIGINT or SIGTERM and returns the exit code.
func Run() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return 0
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}
