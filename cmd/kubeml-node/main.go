// Command kubeml-node is the lean kubeml binary for inside a cluster: the
// scoring router, the model server and the pause program, without the
// workspace server, the CLI and the cluster providers. Built beside
// kubeml (`go build -o bin/ ./cmd/...`), it is what a local cluster's
// images are made of, so that model and router pods map two thirds of
// the code and run none of the CLI's package inits; without it, the images
// hold kubeml itself.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "kubeml-node",
		Short:         "kubeml's programs for inside a cluster: router, serve-model, pause",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(podcmd.Commands(os.Stdout, os.Stderr, version)...)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		stop()
		os.Exit(1)
	}
}
