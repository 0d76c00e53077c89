package app

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/router"
)

// newRouter runs the in-cluster scoring router, the program kubeml installs
// into every cluster it attaches.
func newRouter(s Streams) *cobra.Command {
	var listen, logFormat, certFile, keyFile string
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Run the in-cluster scoring router (installed by kubeml on attach)",
		Long: `Run the in-cluster scoring router. kubeml installs it into every cluster it
attaches; it serves /healthz, /readyz and /metrics, and answers scoring and
Open Inference Protocol requests for services that are not deployed with 404.
It stops gracefully on SIGINT or SIGTERM.`,
		Hidden: false,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(s.Err, nil)
			case "json":
				h = slog.NewJSONHandler(s.Err, nil)
			default:
				return fmt.Errorf("--log-format %q: want text or json", logFormat)
			}
			if (certFile == "") != (keyFile == "") {
				return fmt.Errorf("--tls-cert-file and --tls-key-file go together")
			}
			r := router.New(router.Config{Listen: listen, Version: Version, Log: slog.New(h), TLSCertFile: certFile, TLSKeyFile: keyFile})
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", router.DefaultListen, "address to listen on")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&certFile, "tls-cert-file", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&keyFile, "tls-key-file", "", "key of --tls-cert-file (PEM)")
	return cmd
}
