// Package daemon is the composition root of `kubeml server`, the
// workspace control plane: it reads the configuration (defaults, then
// --config, then flags), builds the providers (local and simulated under
// the data dir, an aks-<region> provider per configured Azure region),
// sets up logging and runs package server with them. cmd/kubeml adds its
// command to the command tree of package app.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provider/aks"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/provider/simulated"
	"github.com/kubeml/kubeml/internal/server"
)

// Setup is what `kubeml server` serves, once its flags are read.
type Setup struct {
	Config  server.Config // defaults, then --config, then flags
	DataDir string        // --data-dir as given: the providers' clusters live under it
	Log     *slog.Logger  // on stderr, as --log-format says
}

// Commands is `kubeml server`, for app.Config.Commands.
func Commands(s app.Streams, g *app.Globals) []*cobra.Command {
	return []*cobra.Command{newServer(s, g, Serve)}
}

// Serve builds the providers of su and serves the workspace API until ctx
// ends.
func Serve(ctx context.Context, su Setup) error {
	cfg := su.Config
	reg, err := Providers(su.DataDir, cfg.Azure)
	if err != nil {
		return err
	}
	cfg.AzureLocations()
	srv, err := server.New(cfg, reg, su.Log)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Run(ctx, nil)
}

// Providers are the server's providers: local and simulated, with their
// clusters under <dataDir>/clusters, and one aks-<region> provider per
// Azure region configured.
func Providers(dataDir string, azure []aks.Config) (provider.Registry, error) {
	clusters := filepath.Join(dataDir, "clusters")
	reg := provider.NewRegistry(
		local.New(local.Options{Root: filepath.Join(clusters, local.Name), Bins: kube.Find}),
		simulated.New(filepath.Join(clusters, simulated.Name), kube.Find),
	)
	for _, a := range azure {
		p, err := aks.New(a, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("failed to configure Azure region %q: %w", a.Region, err)
		}
		reg[p.Name()] = p
	}
	return reg, nil
}

// newServer is `kubeml server`: the workspace control plane. run is the
// function that serves, a parameter so tests can check flag handling.
func newServer(s app.Streams, g *app.Globals, run func(context.Context, Setup) error) *cobra.Command {
	var (
		configFile string
		locations  []string
		flags      server.Config
		logFormat  string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the workspace server (the ARM-compatible control plane)",
		Long: `server serves the workspace API: workspaces, compute targets and managed
clusters, with Azure-compatible paths and JSON, so Azure ML clients and
scripts work against it. State lives in an embedded SQLite database in the
data dir; secrets are encrypted there. On first start the server makes an
admin token (<data-dir>/admin-token, mode 0600) and a CA and serving
certificate (<data-dir>/ca.crt): the kubeml CLI on this machine finds
both without flags.

Configuration: defaults, then --config (JSON), then flags. A config
file's "azure" list adds Azure Kubernetes Service regions, each a location
of provider aks-<region>:
  {"azure": [{"subscriptionId": "<guid>", "resourceGroup": "kubeml-clusters", "region": "westus2"}]}
Credentials come from DefaultAzureCredential (environment, workload
identity, managed identity, Azure CLI); see the README for the roles.`,
		Example: "  kubeml server\n  kubeml server --addr 127.0.0.1:9000 --location local=local --location sim=simulated",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := server.Defaults(absDir(g.DataDir))
			if configFile != "" {
				if err := cfg.LoadFile(configFile); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("addr") {
				cfg.Addr = flags.Addr
			}
			if f.Changed("external-url") {
				cfg.ExternalURL = flags.ExternalURL
			}
			if f.Changed("insecure") {
				cfg.Insecure = flags.Insecure
			}
			if f.Changed("tls-cert-file") || f.Changed("tls-key-file") {
				cfg.TLSCertFile, cfg.TLSKeyFile = flags.TLSCertFile, flags.TLSKeyFile
			}
			if len(locations) > 0 {
				cfg.Locations = map[string]string{}
				for _, l := range locations {
					name, prov, ok := strings.Cut(l, "=")
					if !ok || name == "" || prov == "" {
						return fmt.Errorf("--location %q: want NAME=PROVIDER", l)
					}
					cfg.Locations[name] = prov
				}
			}
			log := slog.New(slog.NewTextHandler(s.Err, nil))
			if logFormat == "json" {
				log = slog.New(slog.NewJSONHandler(s.Err, nil))
			}
			return run(cmd.Context(), Setup{Config: cfg, DataDir: g.DataDir, Log: log})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "JSON config file (flags win over it)")
	f.StringVar(&flags.Addr, "addr", server.DefaultAddr, "listen address")
	f.StringVar(&flags.ExternalURL, "external-url", "", "base URL clients reach the server at, for the operation and paging URLs it hands out (default: the scheme and listen address)")
	f.BoolVar(&flags.Insecure, "insecure", false, "serve plain HTTP (loopback addresses only)")
	f.StringVar(&flags.TLSCertFile, "tls-cert-file", "", "serving certificate (default: one the server makes)")
	f.StringVar(&flags.TLSKeyFile, "tls-key-file", "", "key of --tls-cert-file")
	f.StringArrayVar(&locations, "location", nil, "NAME=PROVIDER, repeatable (default: local=local, simulated=simulated)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// absDir makes a data dir absolute.
func absDir(d string) string {
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}
