package localdev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/proc"
)

// newDown is `kubeml down`; run does the work, given --yes, a parameter
// so that tests check the flags without starting anything.
func newDown(run func(ctx context.Context, yes bool) error) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the local compute made by up, with its cluster, and stop the server",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), yes) },
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// down deletes the local compute, its cluster and services, and stops
// the server; yes skips the question.
func down(ctx context.Context, s app.Streams, dataDir string, yes bool) error {
	if os.Geteuid() != 0 {
		return errors.New("kubeml down needs root, as up did (try sudo)")
	}
	if err := s.Confirm(yes); err != nil {
		return err
	}
	addr, err := serverAddr(dataDir, "")
	if err != nil {
		return err
	}
	c, err := ensureServer(ctx, s.Err, dataDir, addr)
	if err != nil {
		return err
	}
	d, err := app.LoadDefaults(dataDir)
	if err != nil {
		return err
	}
	if d.Subscription == "" {
		d.Subscription, d.ResourceGroup, d.Workspace = app.DefaultSubscription, DefaultResourceGroup, DefaultWorkspace
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
	if err := proc.Stop(serverPidFile(dataDir), 15*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(s.Out, "kubeml is down: compute deleted, server stopped")
	return nil
}

// deleteLeftClusters deletes the clusters up created for local-dev that a
// detach of the compute left behind.
func deleteLeftClusters(ctx context.Context, s app.Streams, c *client.Client, ws api.ResourceID) error {
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

// deleteServicesOn deletes the web services deployed on a compute.
func deleteServicesOn(ctx context.Context, s app.Streams, c *client.Client, ws api.ResourceID, compute string) error {
	list, err := c.ListServices(ctx, ws)
	if err != nil && !client.IsNotFound(err) {
		return err
	}
	for _, svc := range list {
		if svc.Properties.ComputeName != compute {
			continue
		}
		fmt.Fprintf(s.Err, "Deleting web service %q\n", svc.Name)
		p, err := c.BeginDeleteService(ctx, ws, svc.Name)
		if err != nil {
			return err
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			return fmt.Errorf("failed to delete web service %s: %w", svc.Name, err)
		}
	}
	return nil
}
