package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
)

func newAKSDelete(c *cli) *cobra.Command {
	var name string
	var yes, noWait bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a managed Kubernetes cluster",
		Long: `delete removes the managed cluster and everything of it at its provider.
It asks first, unless --yes; without a terminal to ask on, --yes is needed.
A cluster a compute target uses is refused: delete or detach the compute first.`,
		Example: "  kubeml aks delete -n mycluster -g myresourcegroup --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.clusterTarget(name)
			if err != nil {
				return err
			}
			if err := c.s.Confirm(yes); err != nil {
				return err
			}
			p, err := cl.BeginDeleteManagedCluster(cmd.Context(), id)
			if err != nil {
				return err
			}
			return finishDelete(cmd.Context(), c.s, p, noWait)
		},
	}
	nameFlag(cmd, &name, "managed cluster")
	yesFlags(cmd, &yes, &noWait)
	return cmd
}

// yesFlags adds --yes and --no-wait.
func yesFlags(cmd *cobra.Command, yes, noWait *bool) {
	cmd.Flags().BoolVarP(yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(noWait, "no-wait", false, "do not wait for the operation to finish")
}

func newAKSScale(c *cli) *cobra.Command {
	var name string
	var count int
	var noWait bool
	cmd := &cobra.Command{
		Use:     "scale",
		Short:   "Scale the node pool of a managed Kubernetes cluster",
		Example: "  kubeml aks scale -n mycluster -g myresourcegroup --node-count 5",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.clusterTarget(name)
			if err != nil {
				return err
			}
			cur, err := cl.GetManagedCluster(cmd.Context(), id)
			if err != nil {
				return err
			}
			pool := api.AgentPoolProfile{Name: "nodepool1", Count: &count}
			if len(cur.Properties.AgentPoolProfiles) > 0 {
				pool.Name = cur.Properties.AgentPoolProfiles[0].Name
			}
			mc := api.ManagedCluster{Location: cur.Location, Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{pool}}}
			p, err := cl.BeginCreateOrUpdateManagedCluster(cmd.Context(), id, mc)
			if err != nil {
				return err
			}
			return c.clusterOp(cmd.Context(), cl, id, p, api.StateUpdating).finish(cmd.Context(), c.s, noWait)
		},
	}
	nameFlag(cmd, &name, "managed cluster")
	cmd.Flags().IntVarP(&count, "node-count", "c", 0, "the new number of nodes")
	_ = cmd.MarkFlagRequired("node-count")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the operation to finish")
	return cmd
}

func newAKSGetCredentials(c *cli) *cobra.Command {
	var name string
	var f credFlags
	cmd := &cobra.Command{
		Use:   "get-credentials",
		Short: "Get the kubeconfig of a managed Kubernetes cluster and merge it into a file",
		Long: fmt.Sprintf(`get-credentials merges the cluster's kubeconfig into --file (default
%s), as context NAME (NAME-admin with --admin), and makes it the
current context. --file - prints the kubeconfig instead. Without --admin
it is the cluster user's credential: on AKS Azure's own, on kubeml's
local and simulated clusters a certificate bound to the read-only "view"
role; --admin gives the cluster admin's.`, defaultKubeconfig()),
		Example: "  kubeml aks get-credentials -n mycluster -g myresourcegroup\n  kubeml aks get-credentials -n mycluster -g myresourcegroup --admin -f - > admin.kubeconfig",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.clusterTarget(name)
			if err != nil {
				return err
			}
			creds, err := cl.ListClusterCredentials(cmd.Context(), id, f.admin)
			if err != nil {
				return err
			}
			if len(creds.Kubeconfigs) == 0 {
				return fmt.Errorf("the server returned no kubeconfig for %s", name)
			}
			return c.saveCredentials(creds.Kubeconfigs[0].Value, id.ResourceGroup, name, f)
		},
	}
	nameFlag(cmd, &name, "managed cluster")
	addCredFlags(cmd, &f, defaultKubeconfig())
	return cmd
}
