// Package localdev is kubeml's local workflow: `kubeml up` starts the
// workspace server in the background and makes (or restarts) a local
// DevTest compute on this host with kubeml's sample model deployed on it,
// `kubeml down` removes all that again, and `kubeml kube build` builds
// the Kubernetes binaries a local cluster runs. It talks to the server
// through the SDK (package client), as any other client does; cmd/kubeml
// adds its commands to the command tree of package app.
package localdev

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/app"
)

// What `kubeml up` makes, unless client.json names others.
const (
	DefaultResourceGroup = "kubeml"
	DefaultWorkspace     = "default"
	DefaultCompute       = "local-dev"
)

// Commands are up, down and kube, for app.Config.Commands.
func Commands(s app.Streams, g *app.Globals) []*cobra.Command {
	return []*cobra.Command{
		newUp(func(ctx context.Context, o upOptions) error { return up(ctx, s, g.DataDir, o) }),
		newDown(func(ctx context.Context, yes bool) error { return down(ctx, s, g.DataDir, yes) }),
		newKube(s),
	}
}
