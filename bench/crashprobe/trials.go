package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/managedcluster"
)

// probe is one server under trial and the resources the trials share.
type probe struct {
	bin, data, addr string
	rnd             *rand.Rand
	cmd             *exec.Cmd
	c               *client.Client
	ws              api.ResourceID
	mc              api.ResourceID       // the managed cluster attach trials attach
	admin           kubernetes.Interface // its admin client
}

// start runs `kubeml server` on simulated clusters and waits until it is
// ready.
func (p *probe) start() error {
	logf, err := os.OpenFile(filepath.Join(p.data, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.bin, "--data-dir", p.data, "server", "--addr", p.addr, "--location", "sim=simulated")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	err = p.cmd.Start()
	logf.Close() // the server has its own copy
	if err != nil {
		p.cmd = nil
		return err
	}
	return waitFor(30*time.Second, func() (bool, error) {
		c, err := p.newClient()
		if err != nil {
			return false, nil // no CA or token yet
		}
		if _, err := c.Do(context.Background(), "GET", "/readyz", nil, nil, nil); err != nil {
			return false, nil
		}
		p.c = c
		return true, nil
	})
}

// kill ends the server as a crash would.
func (p *probe) kill() { p.signal(syscall.SIGKILL) }

// stop ends the server gracefully.
func (p *probe) stop() { p.signal(syscall.SIGTERM) }

func (p *probe) signal(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	_, _ = p.cmd.Process.Wait()
}

// setup makes the workspace and the managed cluster of the attach trials.
func (p *probe) setup(ctx context.Context) error {
	sub := "00000000-0000-0000-0000-0000000000cc"
	if _, err := p.c.CreateOrUpdateWorkspace(ctx, sub, "probe", "probews", api.Workspace{Location: "sim"}); err != nil {
		return err
	}
	p.ws = api.WorkspaceID(sub, "probe", "probews")
	p.mc = api.ManagedClusterID(sub, "probe", "probemc")
	one := 1
	poller, err := p.c.BeginCreateOrUpdateManagedCluster(ctx, p.mc, api.ManagedCluster{Location: "sim",
		Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{{Name: "pool", Count: &one, VMSize: "Standard_D3_v2"}}}})
	if err != nil {
		return err
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		return err
	}
	creds, err := p.c.ListClusterCredentials(ctx, p.mc, true)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(creds.Kubeconfigs[0].Value)
	if err != nil {
		return err
	}
	p.admin, err = kubernetes.NewForConfig(cfg)
	return err
}

// teardown deletes the managed cluster of the attach trials.
func (p *probe) teardown(ctx context.Context) error {
	poller, err := p.c.BeginDeleteManagedCluster(ctx, p.mc)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

// body is the compute a trial asks for: a DevTest compute made on the
// simulated provider, or an attach of the probe's managed cluster.
func (p *probe) body(op string) api.Compute {
	if op == "attach" || op == "detach" {
		return api.Compute{Properties: api.ComputeProperties{ComputeType: api.ComputeAKS, ResourceID: p.mc.String(),
			Properties: &api.AKSProperties{ClusterPurpose: api.PurposeDevTest}}}
	}
	one := 1
	return api.Compute{Properties: api.ComputeProperties{ComputeType: api.ComputeAKS, ComputeLocation: "sim",
		Properties: &api.AKSProperties{ClusterPurpose: api.PurposeDevTest, AgentCount: &one, AgentVMSize: "Standard_D3_v2"}}}
}

// trial runs one operation, kills the server at a random moment of it,
// restarts the server, and checks the outcome and the leftovers.
func (p *probe) trial(ctx context.Context, op string, i int) (result, error) {
	name := fmt.Sprintf("%s%02d", op, i)
	id := computeID(p.ws, name)
	action := api.ActionDelete
	if op == "detach" || op == "attach" {
		action = api.ActionDetach
	}
	if op == "delete" || op == "detach" { // what is removed must exist first
		if err := p.put(ctx, id, p.body(op)); err != nil {
			return result{}, err
		}
	}
	maxDelay := 4 * time.Second
	if op == "attach" || op == "detach" {
		maxDelay = 1500 * time.Millisecond
	}
	delay := time.Duration(p.rnd.Int64N(int64(maxDelay)))
	start := time.Now()
	go func() { // the request itself may be cut short by the kill
		if op == "create" || op == "attach" {
			_, _ = p.c.BeginCreateOrUpdateCompute(ctx, id, p.body(op))
		} else {
			_, _ = p.c.BeginDeleteCompute(ctx, id, action)
		}
	}()
	time.Sleep(delay)
	p.kill()
	res := result{killedAfter: time.Since(start)}
	if err := p.start(); err != nil {
		return res, err
	}
	res.outcome, res.detail = p.settle(ctx, op, id)
	// Clean up what the trial made, the normal way, then look for leftovers.
	if op == "create" || op == "attach" {
		if poller, err := p.c.BeginDeleteCompute(ctx, id, action); err == nil {
			_, _ = poller.PollUntilDone(ctx, nil)
		}
	}
	n, err := p.leftovers(ctx)
	res.leftovers = n
	return res, err
}

// put creates or attaches a compute and waits for it.
func (p *probe) put(ctx context.Context, id api.ResourceID, body api.Compute) error {
	poller, err := p.c.BeginCreateOrUpdateCompute(ctx, id, body)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

// settle waits for the compute to reach a terminal state (or to be gone)
// and says whether the operation converged: Succeeded for create and
// attach, gone for delete and detach; a create or attach killed before it
// was recorded leaves no compute, which is converged too.
func (p *probe) settle(ctx context.Context, op string, id api.ResourceID) (string, string) {
	var last string
	err := waitFor(3*time.Minute, func() (bool, error) {
		c, err := p.c.GetCompute(ctx, id)
		if client.IsNotFound(err) {
			last = "gone"
			return true, nil
		}
		if err != nil {
			return false, nil
		}
		last = c.Properties.ProvisioningState
		return last == api.StateSucceeded || last == api.StateFailed, nil
	})
	switch {
	case err != nil:
		return notDone, "still " + last
	case (op == "create" || op == "attach") && last == api.StateSucceeded:
		return converged, ""
	case (op == "create" || op == "attach") && last == "gone":
		return unrecorded, ""
	case (op == "delete" || op == "detach") && last == "gone":
		return converged, ""
	}
	return notDone, last
}

// leftovers counts what no record accounts for: simulated clusters
// without their managed cluster, and the probe cluster's attachment
// record when no compute is attached.
func (p *probe) leftovers(ctx context.Context) (int, error) {
	n, err := p.orphanClusters(ctx)
	if err != nil {
		return 0, err
	}
	att, err := attach.ReadAttachment(ctx, p.admin)
	if err != nil {
		return 0, err
	}
	if att != nil {
		if _, err := p.c.GetCompute(ctx, computeID(p.ws, att.ComputeName)); client.IsNotFound(err) {
			n++
		}
	}
	return n, nil
}

// orphanClusters counts simulated cluster state dirs that no managed
// cluster of the server names.
func (p *probe) orphanClusters(ctx context.Context) (int, error) {
	mcs, err := p.c.ListManagedClusters(ctx, p.ws.Subscription, "")
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	for _, mc := range mcs {
		if id, err := api.ParseResourceID(mc.ID); err == nil {
			known[managedcluster.ProviderName(id)] = true
		}
	}
	ents, err := os.ReadDir(filepath.Join(p.data, "clusters", "simulated"))
	if err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !known[e.Name()] {
			n++
		}
	}
	return n, nil
}
