// Package app is the kubeml command line's client commands (aks, ml,
// version): it parses flags and calls the SDK in package client. It
// imports nothing of kubeml but api, client and internal/output (a test
// checks that); the other commands (server, up, down, kube, the in-cluster
// ones) live in packages of their own, which cmd/kubeml adds to the tree
// through Config.Commands. Run takes its streams and arguments as values,
// so the whole CLI runs in tests without a subprocess.
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
)

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Globals are what every command shares: the root's flags, set when the
// command line is parsed (so read them only when a command runs), and
// kubeml's version.
type Globals struct {
	DataDir string // --data-dir
	Version string // kubeml's version
}

// Commands makes commands for the root from the streams and the globals.
type Commands func(s Streams, g *Globals) []*cobra.Command

// Config is the command tree's composition, which cmd/kubeml makes.
type Config struct {
	Version    string     // kubeml's version; "dev" when empty
	Kubernetes string     // the Kubernetes version kubeml runs, for `version`
	Commands   []Commands // the commands besides the client's
}

// Main runs kubeml with the process's arguments and returns the exit code.
func Main(cfg Config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, cfg, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}

// Run executes one kubeml command.
func Run(ctx context.Context, s Streams, cfg Config, args []string) error {
	root := NewRoot(s, cfg)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	return root.ExecuteContext(ctx)
}

// NewRoot makes the command tree: the client commands and cfg's.
func NewRoot(s Streams, cfg Config) *cobra.Command {
	g := &Globals{Version: cfg.Version}
	if g.Version == "" {
		g.Version = "dev"
	}
	root := &cobra.Command{
		Use:   "kubeml",
		Short: "Run trained ML models on Kubernetes clusters",
		Long: `kubeml creates or attaches Kubernetes clusters and serves trained models on
them as authenticated, autoscaled HTTP scoring endpoints.

Start with 'kubeml up': it creates a real local cluster on this machine.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.DataDir, "data-dir", defaultDataDir(),
		"directory for kubeml's state (env KUBEML_DATA_DIR)")
	root.AddCommand(newVersion(s, g, cfg.Kubernetes), newAKS(s, g), newML(s, g))
	for _, more := range cfg.Commands {
		root.AddCommand(more(s, g)...)
	}
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

func newVersion(s Streams, g *Globals, kubernetes string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kubeml's version and the Kubernetes version it runs",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(s.Out, "kubeml %s (Kubernetes %s)\n", g.Version, kubernetes)
			return nil
		},
	}
}
