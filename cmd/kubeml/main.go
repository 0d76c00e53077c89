// Command kubeml runs trained ML models on Kubernetes clusters. All the
// work happens in package app; main only wires the process to it.
package main

import (
	"os"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/pause"
)

func main() {
	// The pause image runs this binary in every pod sandbox: keep it lean.
	if len(os.Args) == 2 && os.Args[1] == "pause" {
		os.Exit(pause.Run())
	}
	os.Exit(app.Main())
}
