package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/image"
	"github.com/kubeml/kubeml/internal/kube"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/serving"
)

// What `kubeml up` makes, unless client.json names others.
const (
	DefaultResourceGroup = "kubeml"
	DefaultWorkspace     = "default"
	DefaultCompute       = "local-dev"
)

func newUp(s Streams, g *globals) *cobra.Command {
	var output string
	var noSample bool
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
			ctx := cmd.Context()
			if err := local.CheckHost(); err != nil {
				return err
			}
			if _, err := kube.Build(ctx, s.Err); err != nil {
				return err
			}
			c, err := ensureServer(ctx, s.Err, g.dataDir)
			if err != nil {
				return err
			}
			d, err := ensureDefaults(g.dataDir)
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
			path := filepath.Join(g.dataDir, DefaultCompute+".kubeconfig")
			if err := os.WriteFile(path, []byte(keys.AdminKubeConfig), 0o600); err != nil {
				return fmt.Errorf("failed to write %s: %w", path, err)
			}
			var smp *sample
			if !noSample {
				smp, err = ensureSample(ctx, s, c, api.WorkspaceID(d.Subscription, d.ResourceGroup, d.Workspace), g.dataDir)
				if sampleSkipped(err) {
					fmt.Fprintf(s.Err, "No sample model: %v\n", err)
				} else if err != nil {
					return err
				}
			}
			if output == "json" {
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
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&noSample, "no-sample", false, "do not register and deploy the sample model")
	return cmd
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

// serverPidFile records the background server that up starts.
func serverPidFile(dataDir string) string { return filepath.Join(dataDir, "run", "server.pid") }

// ensureServer starts `kubeml server` in the background unless it runs,
// and returns a client once it is ready.
func ensureServer(ctx context.Context, progress io.Writer, dataDir string) (*client.Client, error) {
	pidFile := serverPidFile(dataDir)
	if _, ok := proc.Running(pidFile); !ok {
		exe, err := installSelf(dataDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(pidFile), 0o700); err != nil {
			return nil, err
		}
		log := filepath.Join(dataDir, "logs", "server.log")
		fmt.Fprintf(progress, "Starting the kubeml server (log: %s)\n", log)
		if _, err := proc.Start(proc.Spec{Name: "kubeml server", Path: exe, Args: []string{"--data-dir", dataDir, "server"},
			LogFile: log, PidFile: pidFile}); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		cfg, err := client.LoadConfig(client.Config{}, os.Getenv, dataDir)
		if err == nil {
			c, err := client.New(cfg)
			if err == nil {
				if _, err = c.Do(ctx, "GET", "/readyz", nil, nil, nil); err == nil {
					return c, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the kubeml server did not become ready: %w\n%s", err, proc.Tail(filepath.Join(dataDir, "logs", "server.log"), 15))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// installSelf copies the running kubeml to <dataDir>/bin/kubeml, unless
// the same binary is there, and returns that path. The background server
// runs from it (and puts it into cluster images), so it outlives a
// `go run` whose temporary binary is deleted when up exits. kubeml-node,
// the lean in-cluster binary, goes beside it when it lies beside the
// running kubeml (the provider then makes the images of it), and so does
// ONNX Runtime's library.
func installSelf(dataDir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(dataDir, "bin")
	// kubeml-node, and ONNX Runtime's library for an ort build, go along
	// from beside the running kubeml (or go away with it).
	for _, name := range []string{local.NodeBinaryName, serving.ORTLibraryName} {
		src := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(src); err == nil {
			if err := install(src, filepath.Join(dir, name)); err != nil {
				return "", err
			}
		} else if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	dst := filepath.Join(dir, "kubeml")
	return dst, install(exe, dst)
}

// install copies the file at src to dst (mode 0755), unless dst has the
// same contents.
func install(src, dst string) error {
	if same, _ := sameFile(src, dst); same {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func sameFile(a, b string) (bool, error) {
	ta, err := image.ContentTag(a)
	if err != nil {
		return false, err
	}
	tb, err := image.ContentTag(b)
	return err == nil && ta == tb, err
}

// ensureDefaults writes the resource names up uses into client.json, so
// that later commands need no -g or -w; names already there are kept.
func ensureDefaults(dataDir string) (cliDefaults, error) {
	path := filepath.Join(dataDir, client.ConfigFile)
	all := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &all); err != nil {
			return cliDefaults{}, fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return cliDefaults{}, err
	}
	for k, v := range map[string]string{"subscription": DefaultSubscription, "resourceGroup": DefaultResourceGroup,
		"workspace": DefaultWorkspace, "location": local.Name} {
		if s, _ := all[k].(string); s == "" {
			all[k] = v
		}
	}
	b, _ := json.MarshalIndent(all, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return cliDefaults{}, err
	}
	return loadCLIDefaults(dataDir)
}

// ensureLocalCompute makes (or reuses, or restarts) the workspace and its
// local DevTest compute, showing progress as the Python SDK does.
func ensureLocalCompute(ctx context.Context, s Streams, c *client.Client, d cliDefaults) (*client.ComputeTarget, error) {
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
func startIfStopped(ctx context.Context, s Streams, c *client.Client, target *client.ComputeTarget) error {
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

// deleteLeftClusters deletes the clusters up created for local-dev that a
// detach of the compute left behind.
func deleteLeftClusters(ctx context.Context, s Streams, c *client.Client, ws api.ResourceID) error {
	mcs, err := c.ListManagedClusters(ctx, ws.Subscription, ws.ResourceGroup)
	if err != nil {
		return err
	}
	for _, mc := range mcs {
		if mc.Tags["kubeml.io/compute"] != DefaultCompute || !strings.EqualFold(mc.Tags["kubeml.io/workspace"], ws.String()) {
			continue
		}
		id, err := api.ParseResourceID(mc.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Err, "Deleting cluster %s, left by a detach of %q\n", id.Name, DefaultCompute)
		p, err := c.BeginDeleteManagedCluster(ctx, id)
		if client.IsConflict(err) { // attached as another compute: not up's to delete
			fmt.Fprintf(s.Err, "  kept: %v\n", err)
			continue
		}
		if err != nil {
			return err
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func newDown(s Streams, g *globals) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the local compute made by up, with its cluster, and stop the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if os.Geteuid() != 0 {
				return errors.New("kubeml down needs root, as up did (try sudo)")
			}
			if err := confirm(s, yes); err != nil {
				return err
			}
			c, err := ensureServer(ctx, s.Err, g.dataDir)
			if err != nil {
				return err
			}
			d, err := loadCLIDefaults(g.dataDir)
			if err != nil {
				return err
			}
			if d.Subscription == "" {
				d.Subscription, d.ResourceGroup, d.Workspace = DefaultSubscription, DefaultResourceGroup, DefaultWorkspace
			}
			ws := api.WorkspaceID(d.Subscription, d.ResourceGroup, d.Workspace)
			if err := deleteServicesOn(ctx, s, c, ws, DefaultCompute); err != nil {
				return err
			}
			target, err := c.GetComputeTarget(ctx, ws, DefaultCompute)
			switch {
			case client.IsNotFound(err):
				fmt.Fprintf(s.Err, "No compute %q\n", DefaultCompute)
			case err != nil:
				return err
			case target.Compute.Properties.IsAttachedCompute: // re-attached by hand
				fmt.Fprintf(s.Err, "Detaching compute %q\n", DefaultCompute)
				if err := target.Detach(ctx); err != nil {
					return err
				}
			default:
				fmt.Fprintf(s.Err, "Deleting compute %q and its cluster\n", DefaultCompute)
				if err := target.Delete(ctx); err != nil {
					return err
				}
			}
			if err := deleteLeftClusters(ctx, s, c, ws); err != nil {
				return err
			}
			if err := proc.Stop(serverPidFile(g.dataDir), 15*time.Second); err != nil {
				return err
			}
			fmt.Fprintln(s.Out, "kubeml is down: compute deleted, server stopped")
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
