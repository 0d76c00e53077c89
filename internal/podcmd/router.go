package podcmd

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/router"
	"github.com/kubeml/kubeml/internal/routing"
)

// newRouter runs the in-cluster scoring router, the program kubeml installs
// into every cluster it attaches.
func newRouter(s env) *cobra.Command {
	var listen, logFormat, certFile, keyFile, namespace, kubeconfig, peers string
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Run the in-cluster scoring router (installed by kubeml on attach)",
		Long: `Run the in-cluster scoring router. kubeml installs it into every cluster it
attaches. It watches the routing Secrets of deployed web services (in its
namespace) and the EndpointSlices of their model pods (in the namespaces
those name), and routes scoring
(/api/v1/service/<name>/score) and Open Inference Protocol (/v2/models/<name>)
requests straight to ready pods, autoscaling their Deployments. It serves
/healthz, /readyz and /metrics, and stops gracefully on SIGINT or SIGTERM.

It uses the pod's service account unless --kubeconfig is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(s.err, nil)
			case "json":
				h = slog.NewJSONHandler(s.err, nil)
			default:
				return fmt.Errorf("--log-format %q: want text or json", logFormat)
			}
			if (certFile == "") != (keyFile == "") {
				return fmt.Errorf("--tls-cert-file and --tls-key-file go together")
			}
			kube, err := routerClient(kubeconfig, s.version)
			if err != nil {
				return err
			}
			r := router.New(router.Config{
				Listen: listen, Version: s.version, Log: slog.New(h), TLSCertFile: certFile, TLSKeyFile: keyFile,
				Kube: kube, Namespace: namespace, PeerService: peers, MetricsToken: os.Getenv(routing.MetricsTokenEnv),
				Autoscale: router.AutoscaleConfig{Identity: os.Getenv("POD_NAME")},
			})
			return r.Run(cmd.Context())
		},
	}
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = routing.Namespace
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", router.DefaultListen, "address to listen on")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&certFile, "tls-cert-file", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&keyFile, "tls-key-file", "", "key of --tls-cert-file (PEM)")
	f.StringVar(&namespace, "namespace", ns, "the router's namespace, holding the routing Secrets and the autoscaler Lease ($POD_NAMESPACE if set)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (default: the in-cluster service account)")
	f.StringVar(&peers, "peer-service", "kubeml-router", "Service (in --namespace) of the router's replicas; the autoscaler multiplies the load it sees by their count (empty: 1)")
	return cmd
}

// routerClient connects to the cluster with a kubeconfig file, or from
// inside a pod with its service account.
func routerClient(kubeconfig, version string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to configure the Kubernetes client (outside a cluster, pass --kubeconfig): %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100 // scale and lease calls must not queue behind the default 5 QPS
	cfg.UserAgent = "kubeml-router/" + version
	return router.NewClient(cfg)
}
