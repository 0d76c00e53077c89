package hostcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/provider"
)

// Nodes is what a provider adds to the control plane: the cluster's nodes.
type Nodes interface {
	// Validate checks the node part of a spec and fills defaults.
	Validate(spec *provider.Spec) error
	// Plan claims host resources for a new cluster (bridge, subnet, ports)
	// and records them in rec, before anything is made; dir is the state
	// dir to be. It runs under the host lock.
	Plan(rec *Record, dir string) error
	// Prepare does the node work that needs no API server (a container
	// runtime, images); it runs while the control plane starts.
	Prepare(ctx context.Context, cp *ControlPlane, progress provider.Progress) error
	// Ensure starts what is missing and waits for the nodes to be Ready.
	Ensure(ctx context.Context, cp *ControlPlane, progress provider.Progress) error
	// Processes names the node processes, in start order.
	Processes(rec *Record) []string
	// Teardown removes every node resource, also of a half-made cluster.
	Teardown(ctx context.Context, cp *ControlPlane, progress provider.Progress) error
	// Scale sets the node count.
	Scale(ctx context.Context, cp *ControlPlane, count int) error
	// VMSizes lists the sizes the nodes can have.
	VMSizes() []provider.VMSize
	// Describe adds provider details to a cluster's status.
	Describe(rec *Record, c *provider.Cluster)
	// ControlPlane adjusts the control plane (extra certificate IPs, node
	// certificates) before it is started.
	ControlPlane(cp *ControlPlane)
}

// Provider implements provider.Provider for clusters whose control plane
// runs on this host; Nodes makes the difference between providers.
type Provider struct {
	ProviderName string
	Store        Store
	// Bins returns the Kubernetes binaries (kube.Find by default).
	Bins  func() (kube.Bins, error)
	Nodes Nodes
	Now   func() time.Time
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Resumer  = (*Provider)(nil)
)

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.ProviderName }

func (p *Provider) bins() (kube.Bins, error) {
	if p.Bins != nil {
		return p.Bins()
	}
	return kube.Find()
}

func (p *Provider) controlPlane(rec *Record) (*ControlPlane, error) {
	b, err := p.bins()
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: p.Store.Dir(rec.Spec.Name), Bins: b, Rec: rec}
	p.Nodes.ControlPlane(cp)
	return cp, nil
}

// Versions implements provider.Provider: host clusters run the one
// version kubeml builds.
func (p *Provider) Versions(context.Context) ([]provider.Version, error) {
	return []provider.Version{{Version: strings.TrimPrefix(kube.Version, "v"), IsDefault: true}}, nil
}

// VMSizes implements provider.Provider.
func (p *Provider) VMSizes(context.Context) ([]provider.VMSize, error) {
	return p.Nodes.VMSizes(), nil
}

func (p *Provider) validate(spec *provider.Spec) error {
	errs := []error{ValidName(spec.Name)}
	v := strings.TrimPrefix(kube.Version, "v")
	if spec.KubernetesVersion == "" {
		spec.KubernetesVersion = v
	} else if k := strings.TrimPrefix(spec.KubernetesVersion, "v"); k != v && k != v[:strings.LastIndex(v, ".")] {
		errs = append(errs, fmt.Errorf("%w: Kubernetes version %s is not supported by provider %q; supported: %s", provider.ErrInvalid, spec.KubernetesVersion, p.ProviderName, v))
	} else {
		spec.KubernetesVersion = v
	}
	errs = append(errs, p.Nodes.Validate(spec))
	return errors.Join(errs...)
}

// Create implements provider.Provider.
func (p *Provider) Create(ctx context.Context, spec provider.Spec, progress provider.Progress) (*provider.Cluster, error) {
	if err := p.validate(&spec); err != nil {
		return nil, err
	}
	if _, err := p.bins(); err != nil {
		return nil, err
	}
	unlock, err := p.Store.Lock(spec.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := p.plan(spec)
	if err != nil {
		return nil, err
	}
	c, err := p.bringUp(ctx, rec, progress)
	if err != nil {
		progress.Report("create failed, removing what was made")
		if derr := p.teardown(context.WithoutCancel(ctx), rec, progress); derr != nil {
			err = errors.Join(err, fmt.Errorf("failed to roll back: %w", derr))
		}
		return nil, fmt.Errorf("failed to create cluster %q: %w", spec.Name, err)
	}
	return c, nil
}

// plan records a new cluster with its claimed host resources.
func (p *Provider) plan(spec provider.Spec) (*Record, error) {
	unlock, err := HostLock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := p.Store.Load(spec.Name); err == nil {
		return nil, fmt.Errorf("%w: %q (provider %s)", provider.ErrAlreadyExists, spec.Name, p.ProviderName)
	}
	ports, err := FreePorts(5)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	rec := &Record{Spec: spec, Provider: p.ProviderName, CreatedAt: now().UTC(),
		Ports: Ports{Etcd: ports[0], EtcdPeer: ports[1], APIServer: ports[2], ControllerMgr: ports[3], Scheduler: ports[4]}}
	if err := p.Nodes.Plan(rec, p.Store.Dir(spec.Name)); err != nil {
		return nil, err
	}
	if err := p.Store.Save(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// bringUp starts whatever is missing and waits until the cluster takes
// workloads. Create, and Resume after a crash or reboot, both use it.
func (p *Provider) bringUp(ctx context.Context, rec *Record, progress provider.Progress) (*provider.Cluster, error) {
	cp, err := p.controlPlane(rec)
	if err != nil {
		return nil, err
	}
	if _, err := cp.PKI(); err != nil {
		return nil, err
	}
	progress.Report("starting the control plane")
	// The node's host side comes up while the control plane starts; the
	// first failure cancels the other.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	prepared := make(chan error, 1)
	go func() {
		err := p.Nodes.Prepare(ctx, cp, progress)
		if err != nil {
			cancel(err)
		}
		prepared <- err
	}()
	cpErr := cp.Ensure(ctx, progress)
	if cpErr != nil {
		cancel(cpErr)
	}
	if err := errors.Join(cpErr, <-prepared); err != nil {
		return nil, err
	}
	progress.Report("starting the nodes")
	if err := p.Nodes.Ensure(ctx, cp, progress); err != nil {
		return nil, err
	}
	if err := cp.WaitControllers(ctx); err != nil {
		return nil, err
	}
	if err := waitDefaultServiceAccount(ctx, cp); err != nil {
		return nil, err
	}
	rec.Ready = true
	if err := p.Store.Save(rec); err != nil {
		return nil, err
	}
	return p.status(rec), nil
}

// Resume implements provider.Resumer.
func (p *Provider) Resume(ctx context.Context, name string, progress provider.Progress) (*provider.Cluster, error) {
	unlock, err := p.Store.Lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := p.Store.Load(name)
	if err != nil {
		return nil, err
	}
	c, err := p.bringUp(ctx, rec, progress)
	if err != nil {
		return nil, fmt.Errorf("failed to resume cluster %q: %w", name, err)
	}
	return c, nil
}

// Get implements provider.Provider.
func (p *Provider) Get(_ context.Context, name string) (*provider.Cluster, error) {
	rec, err := p.Store.Load(name)
	if err != nil {
		return nil, err
	}
	return p.status(rec), nil
}

// List implements provider.Provider.
func (p *Provider) List(context.Context) ([]provider.Cluster, error) {
	names, err := p.Store.Names()
	if err != nil {
		return nil, err
	}
	out := make([]provider.Cluster, 0, len(names))
	for _, n := range names {
		if rec, err := p.Store.Load(n); err == nil {
			out = append(out, *p.status(rec))
		}
	}
	return out, nil
}

func (p *Provider) status(rec *Record) *provider.Cluster {
	c := &provider.Cluster{
		Name: rec.Spec.Name, Provider: p.ProviderName, KubernetesVersion: rec.Spec.KubernetesVersion,
		VMSize: rec.Spec.VMSize, AgentCount: rec.Spec.AgentCount, Tags: rec.Spec.Tags,
		CreatedAt: rec.CreatedAt, Server: (&ControlPlane{Rec: rec}).Server(),
	}
	p.Nodes.Describe(rec, c)
	cp := &ControlPlane{Dir: p.Store.Dir(rec.Spec.Name), Rec: rec}
	up, down := cp.Running(append(Components(), p.Nodes.Processes(rec)...)...)
	switch {
	case !rec.Ready:
		c.State, c.Detail = provider.StateCreating, "not yet ready"
	case len(down) == 0:
		c.State = provider.StateRunning
	case len(up) == 0:
		c.State, c.Detail = provider.StateStopped, "no process runs; resume restarts them"
	default:
		c.State, c.Detail = provider.StateDegraded, "not running: "+strings.Join(down, ", ")
	}
	return c
}

// Kubeconfig implements provider.Provider.
func (p *Provider) Kubeconfig(_ context.Context, name string) ([]byte, error) {
	if _, err := p.Store.Load(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile((&ControlPlane{Dir: p.Store.Dir(name)}).KubeconfigPath())
	if err != nil {
		return nil, fmt.Errorf("failed to read credentials of cluster %q: %w", name, err)
	}
	return b, nil
}

// Delete implements provider.Provider.
func (p *Provider) Delete(ctx context.Context, name string, progress provider.Progress) error {
	unlock, err := p.Store.Lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := p.Store.Load(name)
	if err != nil {
		return err
	}
	if err := p.teardown(ctx, rec, progress); err != nil {
		return fmt.Errorf("failed to delete cluster %q: %w", name, err)
	}
	return p.Store.RemoveLock(name)
}

func (p *Provider) teardown(ctx context.Context, rec *Record, progress provider.Progress) error {
	cp := &ControlPlane{Dir: p.Store.Dir(rec.Spec.Name), Rec: rec}
	if b, err := p.bins(); err == nil {
		cp.Bins = b
	}
	p.Nodes.ControlPlane(cp)
	var errs []error
	progress.Report("removing the nodes")
	errs = append(errs, p.Nodes.Teardown(ctx, cp, progress))
	progress.Report("stopping the control plane")
	procs := append(Components(), p.Nodes.Processes(rec)...)
	errs = append(errs, cp.StopAll(procs...))
	cp.KillStragglers(procs...)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.RemoveAll(cp.Dir); err != nil {
		return fmt.Errorf("failed to remove %s: %w", cp.Dir, err)
	}
	return nil
}

// Scale implements provider.Provider.
func (p *Provider) Scale(ctx context.Context, name string, count int, progress provider.Progress) (*provider.Cluster, error) {
	unlock, err := p.Store.Lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := p.Store.Load(name)
	if err != nil {
		return nil, err
	}
	spec := rec.Spec
	spec.AgentCount = count
	if err := p.Nodes.Validate(&spec); err != nil {
		return nil, err
	}
	cp, err := p.controlPlane(rec)
	if err != nil {
		return nil, err
	}
	progress.Report("scaling %q from %d to %d nodes", name, rec.Spec.AgentCount, count)
	if err := p.Nodes.Scale(ctx, cp, count); err != nil {
		return nil, fmt.Errorf("failed to scale cluster %q: %w", name, err)
	}
	rec.Spec.AgentCount = count
	if err := p.Store.Save(rec); err != nil {
		return nil, err
	}
	return p.status(rec), nil
}

// Client returns a Kubernetes client for the cluster with admin rights.
func (c *ControlPlane) Client() (kubernetes.Interface, error) {
	b, err := os.ReadFile(c.KubeconfigPath())
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func waitDefaultServiceAccount(ctx context.Context, cp *ControlPlane) error {
	cs, err := cp.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the default service account did not appear: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ValidateSpec implements provider.SpecValidator.
func (p *Provider) ValidateSpec(spec provider.Spec) error { return p.validate(&spec) }
