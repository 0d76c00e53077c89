package app

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/provider/aks"
	"github.com/kubeml/kubeml/internal/server"
)

// newServer is `kubeml server`: the workspace control plane. run is the
// function that serves, a parameter so tests can check flag handling.
func newServer(s Streams, g *globals) *cobra.Command {
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
			cfg := server.Defaults(absDir(g.dataDir))
			if configFile != "" {
				if err := cfg.LoadFile(configFile); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("addr") {
				cfg.Addr = flags.Addr
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
			reg := g.registry()
			for _, a := range cfg.Azure {
				p, err := aks.New(a, nil, nil)
				if err != nil {
					return fmt.Errorf("failed to configure Azure region %q: %w", a.Region, err)
				}
				reg[p.Name()] = p
			}
			cfg.AzureLocations()
			srv, err := server.New(cfg, reg, log)
			if err != nil {
				return err
			}
			defer srv.Close()
			return srv.Run(cmd.Context(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "JSON config file (flags win over it)")
	f.StringVar(&flags.Addr, "addr", server.DefaultAddr, "listen address")
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
