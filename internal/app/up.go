package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/local"
)

// DefaultClusterName names the cluster `kubeml up` makes.
const DefaultClusterName = "kubeml"

func newUp(s Streams, g *globals) *cobra.Command {
	var name, output string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create (or resume) a real Kubernetes cluster on this machine",
		Long: `up builds the Kubernetes binaries if they are missing (about 15 minutes the
first time), then creates a local cluster: a control plane and one real node
(containerd, runc, kubelet) on this host. If the cluster exists, up restarts
whatever of it is not running, so it is also how to bring a cluster back
after a reboot. It needs root.`,
		Example: "  sudo kubeml up\n  kubectl --kubeconfig ~/.kubeml/kubeml.kubeconfig get nodes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("unknown output format %q: use text or json", output)
			}
			ctx := cmd.Context()
			if err := local.CheckHost(); err != nil {
				return err
			}
			if _, err := kube.Build(ctx, s.Err); err != nil {
				return err
			}
			p, err := g.registry().Get(local.Name)
			if err != nil {
				return err
			}
			progress := stepPrinter(s, time.Now())
			c, err := p.Get(ctx, name)
			switch {
			case errors.Is(err, provider.ErrNotFound):
				fmt.Fprintf(s.Err, "Creating local cluster %q\n", name)
				c, err = p.Create(ctx, provider.Spec{Name: name, AgentCount: 1}, progress)
			case err == nil:
				fmt.Fprintf(s.Err, "Resuming local cluster %q (%s)\n", name, c.State)
				c, err = p.(provider.Resumer).Resume(ctx, name, progress)
			}
			if err != nil {
				return err
			}
			kc, err := p.Kubeconfig(ctx, name)
			if err != nil {
				return err
			}
			path := filepath.Join(g.dataDir, name+".kubeconfig")
			if err := os.WriteFile(path, kc, 0o600); err != nil {
				return fmt.Errorf("failed to write %s: %w", path, err)
			}
			if output == "json" {
				return printJSON(s.Out, upResult{Cluster: c, Kubeconfig: path})
			}
			fmt.Fprintf(s.Out, "Cluster %q is %s: Kubernetes %s, API server %s, image %s\n\nReach it with:\n  export KUBECONFIG=%s\n  kubectl get nodes\n\nRemove it with:\n  kubeml down\n",
				name, c.State, c.KubernetesVersion, c.Server, c.KubemlImage, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", DefaultClusterName, "name of the local cluster")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// upResult is what `up -o json` prints.
type upResult struct {
	*provider.Cluster
	Kubeconfig string `json:"kubeconfig"`
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newDown(s Streams, g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the local cluster made by up, and everything it made on this host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return fmt.Errorf("kubeml down needs root, as up did (try sudo)")
			}
			p, err := g.registry().Get(local.Name)
			if err != nil {
				return err
			}
			if err := p.Delete(cmd.Context(), name, stepPrinter(s, time.Now())); err != nil {
				return err
			}
			os.Remove(filepath.Join(g.dataDir, name+".kubeconfig"))
			fmt.Fprintf(s.Out, "Deleted local cluster %q\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", DefaultClusterName, "name of the local cluster")
	return cmd
}

// stepPrinter prints each step of a long operation with the time spent.
func stepPrinter(s Streams, start time.Time) provider.Progress {
	return func(step string) {
		fmt.Fprintf(s.Err, "  [%5.1fs] %s\n", time.Since(start).Seconds(), step)
	}
}
