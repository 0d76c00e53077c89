// Package app is the kubeml command line: it parses flags and calls the
// library. Run takes its streams and arguments as values, so the whole CLI
// runs in tests without a subprocess.
package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/incluster"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/provider/simulated"
)

// Version is kubeml's version, set at build time with -ldflags -X.
var Version = "dev"

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Main runs kubeml with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}

// Run executes one kubeml command.
func Run(ctx context.Context, s Streams, args []string) error {
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	return root.ExecuteContext(ctx)
}

// globals are the flags every command shares.
type globals struct {
	dataDir string
}

func newRoot(s Streams) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "kubeml",
		Short: "Run trained ML models on Kubernetes clusters",
		Long: `kubeml creates or attaches Kubernetes clusters and serves trained models on
them as authenticated, autoscaled HTTP scoring endpoints.

Start with 'kubeml up': it creates a real local cluster on this machine.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", defaultDataDir(),
		"directory for kubeml's state (env KUBEML_DATA_DIR)")
	root.AddCommand(
		newUp(s, g), newDown(s, g), newKube(s), newVersion(s), newServer(s, g),
		newAKS(s, g), newML(s, g),
	)
	root.AddCommand(incluster.Commands(s.Out, s.Err, Version)...)
	return root
}

func defaultDataDir() string {
	if d := os.Getenv("KUBEML_DATA_DIR"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".kubeml")
	}
	return ".kubeml"
}

// registry builds the providers over the data dir.
func (g *globals) registry() provider.Registry {
	clusters := filepath.Join(g.dataDir, "clusters")
	return provider.NewRegistry(
		local.New(local.Options{Root: filepath.Join(clusters, local.Name), Bins: kube.Find}),
		simulated.New(filepath.Join(clusters, simulated.Name), kube.Find),
	)
}

func newVersion(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kubeml's version and the Kubernetes version it runs",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(s.Out, "kubeml %s (Kubernetes %s)\n", Version, kube.Version)
			return nil
		},
	}
}
