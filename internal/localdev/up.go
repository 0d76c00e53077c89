package localdev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider/local"
)

// upOptions are what up's flags ask for.
type upOptions struct {
	JSON     bool   // -o json, else text
	NoSample bool   // --no-sample
	Addr     string // --addr: where the server listens
}

// newUp is `kubeml up`; run does the work, a parameter so that tests
// check the flags without starting anything.
func newUp(run func(context.Context, upOptions) error) *cobra.Command {
	var output string
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start kubeml on this machine: the server and a local DevTest compute",
		Long: `up is the whole local workflow in one command. It builds the Kubernetes
binaries if they are missing (about 15 minutes the first time), starts the
workspace server in the background (unless it runs), creates the workspace
"default" in resource group "kubeml" and, on location local, the DevTest
compute "local-dev": a real Kubernetes cluster on this host. If they exist,
up reuses them and starts whatever of the cluster does not run, so it is
also how to bring everything back after a reboot. It writes the cluster's
kubeconfig, registers kubeml's sample model (a fashion-mnist MLP it trains
on first use from Debian's dataset-fashion-mnist), deploys it as web
service "fashion" and prints a working curl scoring command. It needs
root.`,
		Example: "  sudo kubeml up\n  kubectl --kubeconfig ~/.kubeml/local-dev.kubeconfig get nodes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("unknown output format %q: use text or json", output)
			}
			o.JSON = output == "json"
			return run(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&o.NoSample, "no-sample", false, "do not register and deploy the sample model")
	cmd.Flags().StringVar(&o.Addr, "addr", "", "address the server listens on, recorded for later commands (default: the one recorded, else 127.0.0.1:8417)")
	return cmd
}

// up brings the server, the workspace, the local compute and the sample
// up, and prints how to use them.
func up(ctx context.Context, s app.Streams, dataDir string, o upOptions) error {
	if err := local.CheckHost(); err != nil {
		return err
	}
	addr, err := serverAddr(dataDir, o.Addr)
	if err != nil {
		return err
	}
	if _, ok := proc.Running(serverPidFile(dataDir)); !ok {
		if _, ok := readyServer(ctx, dataDir); !ok {
			if err := checkFree(addr); err != nil { // before a long build
				return err
			}
		}
	}
	if _, err := kube.Build(ctx, s.Err); err != nil {
		return err
	}
	c, err := ensureServer(ctx, s.Err, dataDir, addr)
	if err != nil {
		return err
	}
	d, err := ensureDefaults(dataDir)
	if err != nil {
		return err
	}
	target, err := ensureLocalCompute(ctx, s, c, d)
	if err != nil {
		return err
	}
	keys, err := c.ListComputeKeys(ctx, target.ID)
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, DefaultCompute+".kubeconfig")
	if err := os.WriteFile(path, []byte(keys.AdminKubeConfig), 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	var smp *sample
	if !o.NoSample {
		smp, err = ensureSample(ctx, s, c, api.WorkspaceID(d.Subscription, d.ResourceGroup, d.Workspace), dataDir)
		if sampleSkipped(err) {
			fmt.Fprintf(s.Err, "No sample model: %v\n", err)
		} else if err != nil {
			return err
		}
	}
	if o.JSON {
		return printJSON(s.Out, upResult{Compute: target.Compute, Kubeconfig: path, Server: c.Server(), Sample: smp})
	}
	fmt.Fprintf(s.Out, `kubeml is up: server %s, compute %q is %s (cluster %s).

Reach the cluster:
  export KUBECONFIG=%s
  kubectl get nodes

Look at the compute:
  kubeml ml computetarget show -n %s -o table

Stop and remove everything up made:
  kubeml down
`, c.Server(), DefaultCompute, target.Compute.Properties.ProvisioningState, target.Compute.Properties.ResourceID, path, DefaultCompute)
	if smp != nil {
		fmt.Fprintf(s.Out, "\nScore the sample model (web service %s; the body is a fashion-mnist image):\n  %s\n", SampleName, smp.Curl)
	}
	return nil
}

// upResult is what `up -o json` prints.
type upResult struct {
	Compute    *api.Compute `json:"compute"`
	Kubeconfig string       `json:"kubeconfig"`
	Server     string       `json:"server"`
	Sample     *sample      `json:"sample,omitempty"`
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ensureDefaults writes the resource names up uses into client.json, so
// that later commands need no -g or -w; names already there are kept.
func ensureDefaults(dataDir string) (app.Defaults, error) {
	err := editClientConfig(dataDir, func(all map[string]any) {
		for k, v := range map[string]string{"subscription": app.DefaultSubscription, "resourceGroup": DefaultResourceGroup,
			"workspace": DefaultWorkspace, "location": local.Name} {
			if s, _ := all[k].(string); s == "" {
				all[k] = v
			}
		}
	})
	if err != nil {
		return app.Defaults{}, err
	}
	return app.LoadDefaults(dataDir)
}

// recordServer writes the server's URL into client.json, so that later
// commands on this data dir reach it.
func recordServer(dataDir, url string) error {
	return editClientConfig(dataDir, func(all map[string]any) { all["server"] = url })
}

// editClientConfig changes client.json's fields with edit, keeping the
// rest.
func editClientConfig(dataDir string, edit func(map[string]any)) error {
	path := filepath.Join(dataDir, client.ConfigFile)
	all := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	edit(all)
	b, _ := json.MarshalIndent(all, "", "  ")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// ensureLocalCompute makes (or reuses, or restarts) the workspace and its
// local DevTest compute, showing progress as the Python SDK does.
func ensureLocalCompute(ctx context.Context, s app.Streams, c *client.Client, d app.Defaults) (*client.ComputeTarget, error) {
	if _, err := c.GetWorkspace(ctx, d.Subscription, d.ResourceGroup, d.Workspace); client.IsNotFound(err) {
		if _, err := c.CreateOrUpdateWorkspace(ctx, d.Subscription, d.ResourceGroup, d.Workspace, api.Workspace{Location: local.Name}); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	ws := api.WorkspaceID(d.Subscription, d.ResourceGroup, d.Workspace)
	target, err := c.GetComputeTarget(ctx, ws, DefaultCompute)
	if client.IsNotFound(err) {
		fmt.Fprintf(s.Err, "Creating compute %q on location local\n", DefaultCompute)
		target, err = c.CreateComputeTarget(ctx, ws, DefaultCompute, client.ProvisioningConfiguration{ClusterPurpose: api.PurposeDevTest, Location: local.Name})
	}
	if err != nil {
		return nil, err
	}
	if err := target.WaitForCompletion(ctx, s.Err); err != nil {
		return nil, fmt.Errorf("%w\n(remove it with: kubeml ml computetarget delete -n %s --yes)", err, DefaultCompute)
	}
	return target, startIfStopped(ctx, s, c, target)
}

// startIfStopped starts the compute's cluster when a reboot or crash
// stopped some of it.
func startIfStopped(ctx context.Context, s app.Streams, c *client.Client, target *client.ComputeTarget) error {
	id, err := api.ParseResourceID(target.Compute.Properties.ResourceID)
	if err != nil {
		return err
	}
	mc, err := c.GetManagedCluster(ctx, id)
	if err != nil {
		return err
	}
	if mc.Properties.PowerState != nil && mc.Properties.PowerState.Code == "Running" {
		return nil
	}
	fmt.Fprintf(s.Err, "Starting cluster %s\n", id.Name)
	p, err := c.BeginStartManagedCluster(ctx, id)
	if err != nil {
		return err
	}
	_, err = p.PollUntilDone(ctx, nil)
	return err
}
