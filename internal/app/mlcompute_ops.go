package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// removeHelp is the help of `computetarget delete` and `detach`.
var removeHelp = map[string]struct{ use, short, long string }{
	api.ActionDelete: {"delete", "Delete a compute target and the cluster the workspace created for it",
		`delete removes the compute target and deletes its cluster (underlying
action Delete). An attached cluster is never deleted: the server refuses,
detach it instead.`},
	api.ActionDetach: {"detach", "Detach a compute target, keeping its cluster",
		`detach removes the compute target and what the workspace installed in the
cluster (underlying action Detach). The cluster itself is kept, and can be
attached again.`},
}

// newComputeRemove is `computetarget delete` or `detach`, by action.
func newComputeRemove(c *cli, action string) *cobra.Command {
	var name string
	var yes, noWait, force bool
	h := removeHelp[action]
	cmd := &cobra.Command{
		Use:   h.use,
		Short: h.short,
		Long: h.long + `

It asks first on a terminal, unless --yes. It is refused while models are
deployed on the cluster, unless --force.`,
		Example: fmt.Sprintf("  kubeml ml computetarget %s -n myaks -g myresourcegroup -w myworkspace --yes", h.use),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := c.computeID(name)
			if err != nil {
				return err
			}
			if err := c.s.Confirm(yes); err != nil {
				return err
			}
			cl, err := c.connect()
			if err != nil {
				return err
			}
			if _, err := cl.GetCompute(cmd.Context(), id); err != nil {
				return err // a missing target is an error, as in az
			}
			var opts []client.DeleteOption
			if force {
				opts = append(opts, client.Force)
			}
			p, err := cl.BeginDeleteCompute(cmd.Context(), id, action, opts...)
			if err != nil {
				return err
			}
			return finishDelete(cmd.Context(), c.s, p, noWait)
		},
	}
	nameFlag(cmd, &name, "compute target")
	yesFlags(cmd, &yes, &noWait)
	cmd.Flags().BoolVar(&force, "force", false, "even while models are deployed on the cluster")
	return cmd
}

func newComputeCredentials(c *cli) *cobra.Command {
	var name string
	var f credFlags
	cmd := &cobra.Command{
		Use:   "get-credentials",
		Short: "Get the kubeconfigs of a compute target's cluster",
		Long: `get-credentials prints the compute target's keys (listKeys: the user and
admin kubeconfigs and the image pull secret's name), as az ml does. With
--file it merges the user kubeconfig (--admin: the admin one) into that
file instead, as context NAME (NAME-admin), and makes it current; --file -
prints that kubeconfig.`,
		Example: "  kubeml ml computetarget get-credentials -n myaks --query userKubeConfig -o tsv\n" +
			"  kubeml ml computetarget get-credentials -n myaks --file ~/.kube/config",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			keys, err := cl.ListComputeKeys(cmd.Context(), api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name))
			if err != nil {
				return err
			}
			if f.file == "" {
				return c.print(keys, nil)
			}
			kc := keys.UserKubeConfig
			if f.admin {
				kc = keys.AdminKubeConfig
			}
			return c.saveCredentials([]byte(kc), ws.ResourceGroup, name, f)
		},
	}
	nameFlag(cmd, &name, "compute target")
	addCredFlags(cmd, &f, "")
	return cmd
}

func newComputeUpdateAKS(c *cli) *cobra.Command {
	var name string
	var count int
	var noWait bool
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Scale a compute target's cluster to a new node count",
		Long: `update aks changes the node count of the compute target's cluster (never
its VM size). It reads the compute target, sets agentCount and puts it
back; production purposes still need >= 3 nodes and >= 12 vCPUs.`,
		Example: "  kubeml ml computetarget update aks -n myaks -g myresourcegroup -w myworkspace --agent-count 5",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			id := api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name)
			comp, err := cl.GetCompute(cmd.Context(), id)
			if err != nil {
				return err
			}
			if comp.Properties.Properties == nil {
				comp.Properties.Properties = &api.AKSProperties{}
			}
			comp.Properties.Properties.AgentCount = &count
			p, err := cl.BeginCreateOrUpdateCompute(cmd.Context(), id, *comp)
			if err != nil {
				return err
			}
			return c.targetOp(cmd.Context(), cl, id, p, nil, api.StateUpdating).finish(cmd.Context(), c.s, noWait)
		},
	}
	nameFlag(cmd, &name, "compute target")
	cmd.Flags().IntVar(&count, "agent-count", 0, "the new number of nodes")
	_ = cmd.MarkFlagRequired("agent-count")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the operation to finish")
	return cmd
}
