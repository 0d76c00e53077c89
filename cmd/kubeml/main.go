// Command kubeml runs trained ML models on Kubernetes clusters. main
// composes the command tree: the client commands of package app, the
// workspace server (package daemon), the local workflow (package
// localdev) and the in-pod programs (package podcmd).
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/daemon"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/localdev"
	"github.com/kubeml/kubeml/internal/pause"
	"github.com/kubeml/kubeml/internal/podcmd"
)

// version is kubeml's version (set with -ldflags -X main.version=...).
var version = "dev"

func main() {
	// The pause image runs this binary in every pod sandbox: keep it lean.
	if len(os.Args) == 2 && os.Args[1] == "pause" {
		os.Exit(pause.Run())
	}
	os.Exit(app.Main(config()))
}

// config is kubeml's whole command tree.
func config() app.Config {
	return app.Config{
		Version:    version,
		Kubernetes: kube.Version,
		Commands: []app.Commands{
			localdev.Commands,
			daemon.Commands,
			func(s app.Streams, g *app.Globals) []*cobra.Command {
				return podcmd.Commands(s.Out, s.Err, g.Version)
			},
		},
	}
}
