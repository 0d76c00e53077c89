package app

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// newAKS is `kubeml aks`: managed clusters, as `az aks`.
func newAKS(s Streams, g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Manage Kubernetes clusters (managed clusters), as az aks does",
		Long: `aks manages the kubeml server's managed clusters with az aks's commands,
flags and output. Each location of the server is a provider: "local" makes
a real one-node cluster on the server's host, "simulated" a cluster whose
nodes are simulated.

The server is --server, else $KUBEML_SERVER, else "server" in
<data-dir>/client.json, else the local server. The resource group is -g,
else "resourceGroup" in client.json.`,
		Example: "  kubeml aks get-versions -l simulated -o table\n  kubeml aks create -n mycluster -g myresourcegroup -l simulated\n  kubeml aks get-credentials -n mycluster -g myresourcegroup",
	}
	c := newGroup(s, g, cmd, false)
	cmd.AddCommand(newAKSGetVersions(c), newAKSCreate(c), newAKSShow(c), newAKSList(c),
		newAKSDelete(c), newAKSScale(c), newAKSGetCredentials(c))
	return cmd
}

// clusterTarget connects and returns the managed cluster id of name in -g.
func (c *cli) clusterTarget(name string) (*client.Client, api.ResourceID, error) {
	sub, rg, err := c.groupScope()
	if err != nil {
		return nil, api.ResourceID{}, err
	}
	cl, err := c.connect()
	return cl, api.ManagedClusterID(sub, rg, name), err
}

// clusterOp is the operation of a PUT on a managed cluster.
func (c *cli) clusterOp(ctx context.Context, cl *client.Client, id api.ResourceID, p *client.Poller[api.ManagedCluster], state string) operation[api.ManagedCluster] {
	return operation[api.ManagedCluster]{poller: p, state: state, failed: clusterFailed,
		now:   func() (*api.ManagedCluster, error) { return cl.GetManagedCluster(ctx, id) },
		print: func(mc *api.ManagedCluster) error { return printFlat(c, mc, nil, clusterTable) }}
}

func nameFlag(cmd *cobra.Command, name *string, what string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "name of the "+what)
	_ = cmd.MarkFlagRequired("name")
}

func newAKSGetVersions(c *cli) *cobra.Command {
	var location string
	cmd := &cobra.Command{
		Use:   "get-versions",
		Short: "Get the Kubernetes versions available for a location",
		Long: `get-versions lists the Kubernetes versions the location's provider can
create, with the default and the upgrades of each, in az's flattened shape:
{"id", "name", "orchestrators": [...], "type"}.`,
		Example: "  kubeml aks get-versions -l simulated -o table\n" +
			"  kubeml aks get-versions -l simulated --query \"orchestrators[?default == `true`].orchestratorVersion\" -o table",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			cl, err := c.connect()
			if err != nil {
				return err
			}
			list, err := cl.Orchestrators(cmd.Context(), sub, location)
			if err != nil {
				return err
			}
			flat, err := flatten(list)
			if err != nil {
				return err
			}
			return c.printRows(flat, flat["orchestrators"], versionsTable)
		},
	}
	cmd.Flags().StringVarP(&location, "location", "l", "", "location, e.g. local or simulated")
	_ = cmd.MarkFlagRequired("location")
	return cmd
}

func newAKSCreate(c *cli) *cobra.Command {
	var name, location, vmSize, version string
	var count int
	var noWait bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a managed Kubernetes cluster",
		Long: `create makes a managed cluster at the location's provider and waits for it
(unless --no-wait), showing its progress on stderr, then prints it.
The location is -l, else "location" in client.json.`,
		Example: "  kubeml aks create -n mycluster -g myresourcegroup -l simulated --node-count 3\n  kubeml aks create -n devcluster -g myresourcegroup -l local --node-count 1 --no-wait",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loc, err := c.location(location)
			if err != nil {
				return err
			}
			cl, id, err := c.clusterTarget(name)
			if err != nil {
				return err
			}
			pool := api.AgentPoolProfile{Name: "nodepool1", Count: &count, VMSize: vmSize, OSType: "Linux", Mode: "System"}
			mc := api.ManagedCluster{Location: loc, Properties: api.ManagedClusterProperties{
				KubernetesVersion: version, DNSPrefix: name, AgentPoolProfiles: []api.AgentPoolProfile{pool}}}
			p, err := cl.BeginCreateOrUpdateManagedCluster(cmd.Context(), id, mc)
			if err != nil {
				return err
			}
			return c.clusterOp(cmd.Context(), cl, id, p, api.StateCreating).finish(cmd.Context(), c.s, noWait)
		},
	}
	nameFlag(cmd, &name, "managed cluster")
	f := cmd.Flags()
	f.StringVarP(&location, "location", "l", "", "location (client.json \"location\")")
	f.IntVarP(&count, "node-count", "c", 3, "number of nodes")
	f.StringVarP(&vmSize, "node-vm-size", "s", "", "VM size of the nodes (default: the provider's default)")
	f.StringVarP(&version, "kubernetes-version", "k", "", "Kubernetes version (default: the location's default)")
	f.BoolVar(&noWait, "no-wait", false, "do not wait for the operation to finish")
	return cmd
}

func newAKSShow(c *cli) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a managed Kubernetes cluster",
		Example: "  kubeml aks show -n mycluster -g myresourcegroup\n  kubeml aks show -n mycluster -g myresourcegroup --query id -o tsv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.clusterTarget(name)
			if err != nil {
				return err
			}
			mc, err := cl.GetManagedCluster(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printFlat(c, mc, nil, clusterTable)
		},
	}
	nameFlag(cmd, &name, "managed cluster")
	return cmd
}

func newAKSList(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the managed clusters of a resource group (-g or client.json), else of the subscription",
		Example: "  kubeml aks list -o table\n  kubeml aks list -g myresourcegroup --query \"[].name\" -o tsv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sub, rg, err := c.optionalGroup()
			if err != nil {
				return err
			}
			cl, err := c.connect()
			if err != nil {
				return err
			}
			list, err := cl.ListManagedClusters(cmd.Context(), sub, rg)
			if err != nil {
				return err
			}
			return printFlat[api.ManagedCluster](c, nil, list, clusterTable)
		},
	}
}
