package podcmd

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// newProbeServer is a tiny HTTP server that proves kubeml's own image runs
// in a cluster: it answers every request with the version and hostname and
// logs the request.
func newProbeServer(s env) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:    "probe-server",
		Short:  "Serve a hello over HTTP (to check that kubeml's image runs in a cluster)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _ := os.Hostname()
			logger := log.New(s.out, "", log.LstdFlags)
			srv := &http.Server{Addr: listen, ReadHeaderTimeout: 5 * time.Second,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					logger.Printf("%s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
					fmt.Fprintf(w, "kubeml %s on %s\n", s.version, host)
				})}
			go func() { <-cmd.Context().Done(); srv.Close() }()
			logger.Printf("listening on %s", listen)
			if err := srv.ListenAndServe(); err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":8080", "address to listen on")
	return cmd
}
