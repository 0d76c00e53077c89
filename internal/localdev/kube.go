package localdev

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/kube"
)

func newKube(s app.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kube",
		Short: "Manage the Kubernetes binaries kubeml runs",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "build",
		Short: "Build the Kubernetes binaries from the Go module proxy (idempotent)",
		Long: fmt.Sprintf(`build compiles etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kubelet, kube-proxy and kwok (Kubernetes %s) in one go build and keeps them
in a cache directory keyed by the pinned module versions and the Go version.
A cold build takes about 15 minutes on 2 cores; a warm one returns at once.
It prints the directory. Set %s to use binaries from elsewhere.`, kube.Version, kube.EnvBinDir),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := kube.Build(cmd.Context(), s.Err)
			if err != nil {
				return err
			}
			fmt.Fprintln(s.Out, b.Dir)
			return nil
		},
	})
	return cmd
}
