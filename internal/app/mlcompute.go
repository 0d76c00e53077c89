package app

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// newComputeTarget is `kubeml ml computetarget`.
func newComputeTarget(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "computetarget",
		Short: "Manage a workspace's Kubernetes compute targets (inference clusters)",
		Long: `computetarget creates Kubernetes inference clusters for a workspace, or
attaches existing ones (managed clusters, or any Kubernetes cluster by its
kubeconfig, checked first with preflight), then shows, scales, detaches or
deletes them. Long operations wait with progress on stderr unless --no-wait.`,
		Example: "  kubeml ml computetarget create aks -n myaks -g myresourcegroup -w myworkspace -l simulated\n" +
			"  kubeml ml computetarget attach aks -n myaks -i CLUSTER_RESOURCE_ID -g myresourcegroup -w myworkspace\n" +
			"  kubeml ml computetarget detach -n myaks -g myresourcegroup -w myworkspace --yes",
	}
	create := &cobra.Command{Use: "create", Short: "Create a compute target",
		Example: "  kubeml ml computetarget create aks -n myaks -l simulated"}
	create.AddCommand(newComputeCreateAKS(c))
	attach := &cobra.Command{Use: "attach", Short: "Attach an existing cluster as a compute target",
		Example: "  kubeml ml computetarget attach aks -n myaks --cluster-name mycluster --cluster-resource-group myresourcegroup\n" +
			"  kubeml ml computetarget attach kubernetes -n mycluster --kubeconfig ~/.kube/config"}
	attach.AddCommand(newComputeAttachAKS(c), newComputeAttachKubernetes(c))
	update := &cobra.Command{Use: "update", Short: "Update (scale) a compute target",
		Example: "  kubeml ml computetarget update aks -n myaks --agent-count 5"}
	update.AddCommand(newComputeUpdateAKS(c))
	cmd.AddCommand(create, attach, newComputePreflight(c), update, newComputeShow(c), newComputeList(c),
		newComputeRemove(c, api.ActionDelete), newComputeRemove(c, api.ActionDetach), newComputeCredentials(c))
	return cmd
}

// computeID resolves the id of compute name in -g/-w (no request).
func (c *cli) computeID(name string) (api.ResourceID, error) {
	ws, err := c.workspaceID()
	return api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name), err
}

func (c *cli) printCompute(comp *api.Compute) error { return c.print(comp, computeTable) }

// targetOp is the operation of a compute PUT; start, when not nil, is the
// compute as the PUT answered.
func (c *cli) targetOp(ctx context.Context, cl *client.Client, id api.ResourceID, p *client.Poller[api.Compute], start *api.Compute, state string) operation[api.Compute] {
	if start != nil && start.Properties.ProvisioningState != "" {
		state = start.Properties.ProvisioningState
	}
	now := func() (*api.Compute, error) {
		if start != nil {
			return start, nil
		}
		return cl.GetCompute(ctx, id)
	}
	return operation[api.Compute]{poller: p, state: state, now: now, failed: computeFailed, print: c.printCompute}
}

// finishTarget waits for a target made by create or attach, then prints it.
func (c *cli) finishTarget(ctx context.Context, cl *client.Client, t *client.ComputeTarget, noWait bool) error {
	return c.targetOp(ctx, cl, t.ID, t.Poller(), t.Compute, api.StateCreating).finish(ctx, c.s, noWait)
}

func newComputeCreateAKS(c *cli) *cobra.Command {
	var name string
	var f createFlags
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Create a Kubernetes inference cluster for the workspace",
		Long: `create aks makes a new cluster at the location's provider. The server
checks every setting at once and reports
every problem: production purposes (FastProd, DenseProd) need >= 3 nodes
and >= 12 vCPUs. It waits (unless --no-wait), showing progress on stderr,
then prints the compute target.`,
		Example: "  kubeml ml computetarget create aks -n myaks -g myresourcegroup -w myworkspace -l simulated\n" +
			"  kubeml ml computetarget create aks -n devaks -l local --cluster-purpose DevTest --agent-count 1",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			cfg, err := f.provisioning(ws.Subscription)
			if err != nil {
				return err
			}
			t, err := cl.CreateComputeTarget(cmd.Context(), ws, name, cfg)
			if err != nil {
				return err
			}
			return c.finishTarget(cmd.Context(), cl, t, f.noWait)
		},
	}
	nameFlag(cmd, &name, "compute target")
	f.add(cmd)
	return cmd
}

func newComputeAttachAKS(c *cli) *cobra.Command {
	var name string
	var f attachFlags
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Attach an existing managed cluster to the workspace",
		Long: `attach aks makes an existing managed cluster (of the workspace's
subscription) a compute target. A cluster is attached to one compute
target at a time: attaching it elsewhere is refused.`,
		Example: "  kubeml ml computetarget attach aks -n myaks -i $(kubeml aks show -n mycluster -g myresourcegroup --query id -o tsv) -g myresourcegroup -w myworkspace\n" +
			"  kubeml ml computetarget attach aks -n myaks --cluster-name mycluster --cluster-purpose DevTest",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			cfg, err := f.attachment(ws.ResourceGroup)
			if err != nil {
				return err
			}
			t, err := cl.AttachComputeTarget(cmd.Context(), ws, name, cfg)
			if err != nil {
				return err
			}
			return c.finishTarget(cmd.Context(), cl, t, f.noWait)
		},
	}
	nameFlag(cmd, &name, "compute target")
	f.add(cmd)
	return cmd
}

func newComputeShow(c *cli) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a compute target",
		Example: "  kubeml ml computetarget show -n myaks -g myresourcegroup -w myworkspace\n  kubeml ml computetarget show -n myaks --query properties.provisioningState -o tsv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			t, err := cl.GetComputeTarget(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			return c.printCompute(t.Compute)
		},
	}
	nameFlag(cmd, &name, "compute target")
	return cmd
}

func newComputeList(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the compute targets of a workspace",
		Example: "  kubeml ml computetarget list -g myresourcegroup -w myworkspace -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			list, err := cl.ListComputes(cmd.Context(), ws.Subscription, ws.ResourceGroup, ws.Name)
			if err != nil {
				return err
			}
			return c.print(list, computeTable)
		},
	}
}
