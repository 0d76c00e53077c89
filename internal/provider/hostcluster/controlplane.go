package hostcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/pki"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider"
)

// ServiceCIDR is the service range of every host cluster.
const ServiceCIDR = "10.0.0.0/24"

// ControlPlane runs one cluster's control plane from its state dir.
type ControlPlane struct {
	Dir  string
	Bins kube.Bins
	Rec  *Record
	// ExtraIPs are added to the API server certificate (a node's bridge IP).
	ExtraIPs []net.IP
	// NodeName, when set, gets kubelet certificates in the PKI.
	NodeName string
	NodeIPs  []net.IP

	files *pki.Files // made once per ControlPlane by PKI
}

// component is one control plane process.
type component struct {
	name   string
	args   []string
	health func(ctx context.Context) error
}

// PKI creates (or keeps) the cluster's certificates and admin kubeconfig,
// once: later calls return the same files.
func (c *ControlPlane) PKI() (pki.Files, error) {
	if c.files != nil {
		return *c.files, nil
	}
	f, err := pki.Ensure(pki.Options{
		Dir:          filepath.Join(c.Dir, "pki"),
		ClusterName:  c.Rec.Spec.Name,
		APIServerIPs: c.ExtraIPs,
		NodeName:     c.NodeName,
		NodeIPs:      c.NodeIPs,
	})
	if err != nil {
		return pki.Files{}, err
	}
	kc, err := pki.KubeconfigFromFiles(c.Rec.Spec.Name, c.Server(), f.CACert, f.AdminCert, f.AdminKey)
	if err != nil {
		return pki.Files{}, err
	}
	if err := writeIfChanged(c.KubeconfigPath(), kc); err != nil {
		return pki.Files{}, err
	}
	ukc, err := pki.KubeconfigFromFiles(c.Rec.Spec.Name, c.Server(), f.CACert, f.UserCert, f.UserKey)
	if err != nil {
		return pki.Files{}, err
	}
	if err := writeIfChanged(c.UserKubeconfigPath(), ukc); err != nil {
		return pki.Files{}, err
	}
	c.files = &f
	return f, nil
}

// Server is the API server URL.
func (c *ControlPlane) Server() string {
	return "https://127.0.0.1:" + strconv.Itoa(c.Rec.Ports.APIServer)
}

// KubeconfigPath is the admin kubeconfig file the components use.
func (c *ControlPlane) KubeconfigPath() string { return filepath.Join(c.Dir, "admin.kubeconfig") }

// UserKubeconfigPath is the cluster user's kubeconfig file.
func (c *ControlPlane) UserKubeconfigPath() string { return filepath.Join(c.Dir, "user.kubeconfig") }

// Ensure starts every control plane process that is not running and waits
// until the API server is ready. Running processes are kept (adopted).
func (c *ControlPlane) Ensure(ctx context.Context, progress provider.Progress) error {
	f, err := c.PKI()
	if err != nil {
		return err
	}
	hc, err := c.httpClient(f, f.AdminCert, f.AdminKey)
	if err != nil {
		return err
	}
	etcdClient, err := c.httpClient(f, f.EtcdCert, f.EtcdKey)
	if err != nil {
		return err
	}
	p := c.Rec.Ports
	kc := c.KubeconfigPath()
	comps := []component{
		// etcd speaks TLS and wants client certificates: on a shared host,
		// plain loopback would hand the cluster to any local user.
		{name: kube.Etcd, args: []string{
			"--name=default", "--data-dir=" + filepath.Join(c.Dir, "etcd"),
			"--listen-client-urls=" + loop(p.Etcd), "--advertise-client-urls=" + loop(p.Etcd),
			"--listen-peer-urls=" + loop(p.EtcdPeer), "--initial-advertise-peer-urls=" + loop(p.EtcdPeer),
			"--initial-cluster=default=" + loop(p.EtcdPeer),
			"--cert-file=" + f.EtcdCert, "--key-file=" + f.EtcdKey, "--trusted-ca-file=" + f.CACert, "--client-cert-auth",
			"--peer-cert-file=" + f.EtcdCert, "--peer-key-file=" + f.EtcdKey, "--peer-trusted-ca-file=" + f.CACert, "--peer-client-cert-auth",
			"--unsafe-no-fsync=true", "--log-level=warn", "--quota-backend-bytes=2147483648",
		}, health: httpOK(etcdClient, loop(p.Etcd)+"/health")},
		{name: kube.KubeAPIServer, args: []string{
			"--etcd-servers=" + loop(p.Etcd),
			"--etcd-cafile=" + f.CACert, "--etcd-certfile=" + f.EtcdCert, "--etcd-keyfile=" + f.EtcdKey,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(p.APIServer),
			"--endpoint-reconciler-type=none",
			"--tls-cert-file=" + f.APIServerCert, "--tls-private-key-file=" + f.APIServerKey,
			"--client-ca-file=" + f.CACert,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + f.ServiceAccountPub,
			"--service-account-signing-key-file=" + f.ServiceAccountKey,
			"--service-cluster-ip-range=" + ServiceCIDR,
			"--authorization-mode=Node,RBAC", "--allow-privileged=true", "--profiling=false",
			"--kubelet-preferred-address-types=InternalIP",
			"--kubelet-client-certificate=" + f.APIServerKubeletClientCert,
			"--kubelet-client-key=" + f.APIServerKubeletClientKey,
			"--kubelet-certificate-authority=" + f.CACert,
			"--enable-priority-and-fairness=false",
		}, health: httpOK(hc, c.Server()+"/readyz")},
		{name: kube.KubeControllerManager, args: []string{
			"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
			"--leader-elect=false", "--controllers=*", "--use-service-account-credentials=false",
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(p.ControllerMgr),
			"--service-account-private-key-file=" + f.ServiceAccountKey,
			"--root-ca-file=" + f.CACert, "--service-cluster-ip-range=" + ServiceCIDR,
			"--profiling=false",
		}, health: c.controllerHealth(p.ControllerMgr)},
		{name: kube.KubeScheduler, args: []string{
			"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
			"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(p.Scheduler),
			"--profiling=false",
		}, health: c.controllerHealth(p.Scheduler)},
	}
	// etcd and the API server start in order; the controllers after.
	for i, comp := range comps {
		if err := c.ensureProcess(comp); err != nil {
			return err
		}
		if i < 2 {
			progress.Report("waiting for %s", comp.name)
			if err := c.waitHealthy(ctx, comp, 60*time.Second); err != nil {
				return err
			}
		}
	}
	return nil
}

// WaitControllers waits for the controller manager and scheduler.
func (c *ControlPlane) WaitControllers(ctx context.Context) error {
	for _, comp := range []component{
		{name: kube.KubeControllerManager, health: c.controllerHealth(c.Rec.Ports.ControllerMgr)},
		{name: kube.KubeScheduler, health: c.controllerHealth(c.Rec.Ports.Scheduler)},
	} {
		if err := c.waitHealthy(ctx, comp, 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// controllerHealth probes a controller's self-signed health port.
func (c *ControlPlane) controllerHealth(port int) func(context.Context) error {
	return httpOK(insecure(), "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz")
}

func (c *ControlPlane) ensureProcess(comp component) error {
	return c.Start(proc.Spec{Name: comp.name, Path: c.Bins.Path(comp.name), Args: comp.args})
}

// PidFile is where a process of this cluster records its pid.
func (c *ControlPlane) PidFile(name string) string {
	return filepath.Join(c.Dir, "run", name+".pid")
}

// LogFile is where a process of this cluster logs.
func (c *ControlPlane) LogFile(name string) string {
	return filepath.Join(c.Dir, "logs", name+".log")
}

// Start starts a cluster process recorded under name, unless it runs.
func (c *ControlPlane) Start(s proc.Spec) error {
	if _, ok := proc.Running(c.PidFile(s.Name)); ok {
		return nil
	}
	s.LogFile, s.PidFile, s.Dir = c.LogFile(s.Name), c.PidFile(s.Name), c.Dir
	if err := os.MkdirAll(filepath.Dir(s.PidFile), 0o700); err != nil {
		return err
	}
	if pid, ok := c.orphan(s); ok {
		return proc.Adopt(pid, s.PidFile)
	}
	_, err := proc.Start(s)
	return err
}

// orphan finds a process of this cluster started as s whose starter died
// before recording it: same executable, and arguments naming this dir.
func (c *ControlPlane) orphan(s proc.Spec) (int, bool) {
	for _, pid := range proc.Matching(c.Dir + "/") {
		argv := proc.Argv(pid)
		if len(argv) > 0 && filepath.Base(argv[0]) == filepath.Base(s.Path) {
			return pid, true
		}
	}
	return 0, false
}

// KillStragglers kills the cluster's own programs (never, say, a user's
// `tail -f` of a log) still running without a pid file: orphans of a
// starter that died. Part of every delete.
func (c *ControlPlane) KillStragglers(programs ...string) {
	for _, pid := range proc.Matching(c.Dir + "/") {
		if argv := proc.Argv(pid); len(argv) > 0 && slices.Contains(programs, filepath.Base(argv[0])) {
			proc.KillGroup(pid, 5*time.Second)
		}
	}
}

func (c *ControlPlane) waitHealthy(ctx context.Context, comp component, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		if last = comp.health(ctx); last == nil {
			return nil
		}
		if _, ok := proc.Running(c.PidFile(comp.name)); !ok {
			return fmt.Errorf("%s exited: %w\n%s", comp.name, last, proc.Tail(c.LogFile(comp.name), 15))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s: %w\n%s", comp.name, limit, last, proc.Tail(c.LogFile(comp.name), 15))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Components lists the control plane process names, in start order.
func Components() []string {
	return []string{kube.Etcd, kube.KubeAPIServer, kube.KubeControllerManager, kube.KubeScheduler}
}

// Running reports which of names run, and which do not.
func (c *ControlPlane) Running(names ...string) (up, down []string) {
	for _, n := range names {
		if _, ok := proc.Running(c.PidFile(n)); ok {
			up = append(up, n)
		} else {
			down = append(down, n)
		}
	}
	return up, down
}

// StopAll stops the named processes in reverse order.
func (c *ControlPlane) StopAll(names ...string) error {
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		errs = append(errs, proc.Stop(c.PidFile(names[i]), 10*time.Second))
	}
	return errors.Join(errs...)
}

// httpClient trusts the cluster CA and presents the given client cert.
func (c *ControlPlane) httpClient(f pki.Files, certFile, keyFile string) (*http.Client, error) {
	ca, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}, nil
}

// insecure is for the controllers' self-signed health ports on loopback.
func insecure() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health probe of our own child
	}}
}

func httpOK(hc *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

func loop(port int) string { return "https://127.0.0.1:" + strconv.Itoa(port) }

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	return os.WriteFile(path, b, 0o600)
}
