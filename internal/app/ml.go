package app

import (
	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// newML is `kubeml ml`: workspaces and their compute targets, as the
// azure-cli-ml extension's `az ml`.
func newML(s Streams, g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ml",
		Short: "Manage workspaces and their compute targets, as az ml does",
		Long: `ml manages the kubeml server's workspaces and their Kubernetes compute
targets (inference clusters) with az ml's commands, flags and output.

The server is --server, else $KUBEML_SERVER, else "server" in
<data-dir>/client.json, else the local server. The resource group and
workspace are -g and -w, else "resourceGroup" and "workspace" in
client.json.`,
		Example: "  kubeml ml workspace create -w myworkspace -g myresourcegroup\n" +
			"  kubeml ml computetarget create aks -n myaks -g myresourcegroup -w myworkspace --location simulated",
	}
	c := newGroup(s, g, cmd, true)
	ws := &cobra.Command{Use: "workspace", Short: "Manage workspaces",
		Example: "  kubeml ml workspace create -w myworkspace -g myresourcegroup\n  kubeml ml workspace list -g myresourcegroup -o table"}
	ws.AddCommand(newWorkspaceCreate(c), newWorkspaceShow(c), newWorkspaceList(c), newWorkspaceDelete(c))
	cmd.AddCommand(ws, newComputeTarget(c), newModel(c), newService(c))
	return cmd
}

// workspaceClient connects and returns the workspace id of -w.
func (c *cli) workspaceClient() (*client.Client, api.ResourceID, error) {
	id, err := c.workspaceID()
	if err != nil {
		return nil, id, err
	}
	cl, err := c.connect()
	return cl, id, err
}

func newWorkspaceCreate(c *cli) *cobra.Command {
	var location, friendly, description string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a workspace (or update its description)",
		Example: "  kubeml ml workspace create -w myworkspace -g myresourcegroup\n  kubeml ml workspace create -w myworkspace -g myresourcegroup -l local --friendly-name \"My workspace\"",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.workspaceClient()
			if err != nil {
				return err
			}
			loc, err := c.value(location, func(d Defaults) string { return d.Location })
			if err != nil {
				return err
			}
			in := api.Workspace{Location: loc, Properties: api.WorkspaceProperties{FriendlyName: friendly, Description: description}}
			ws, err := cl.CreateOrUpdateWorkspace(cmd.Context(), id.Subscription, id.ResourceGroup, id.Name, in)
			if err != nil {
				return err
			}
			return printFlat(c, ws, nil, workspaceTable)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&location, "location", "l", "", "location (client.json \"location\")")
	f.StringVar(&friendly, "friendly-name", "", "friendly name")
	f.StringVar(&description, "description", "", "description")
	return cmd
}

func newWorkspaceShow(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "show",
		Short:   "Show a workspace",
		Example: "  kubeml ml workspace show -w myworkspace -g myresourcegroup\n  kubeml ml workspace show -w myworkspace -g myresourcegroup --query name -o tsv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.workspaceClient()
			if err != nil {
				return err
			}
			ws, err := cl.GetWorkspace(cmd.Context(), id.Subscription, id.ResourceGroup, id.Name)
			if err != nil {
				return err
			}
			return printFlat(c, ws, nil, workspaceTable)
		},
	}
}

func newWorkspaceList(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the workspaces of a resource group",
		Example: "  kubeml ml workspace list -g myresourcegroup -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sub, rg, err := c.groupScope()
			if err != nil {
				return err
			}
			cl, err := c.connect()
			if err != nil {
				return err
			}
			list, err := cl.ListWorkspaces(cmd.Context(), sub, rg)
			if err != nil {
				return err
			}
			return printFlat[api.Workspace](c, nil, list, workspaceTable)
		},
	}
}

func newWorkspaceDelete(c *cli) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a workspace",
		Long: `delete removes the workspace. It asks first, unless --yes; without a
terminal to ask on, --yes is needed.`,
		Example: "  kubeml ml workspace delete -w myworkspace -g myresourcegroup --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, id, err := c.workspaceClient()
			if err != nil {
				return err
			}
			if err := c.s.Confirm(yes); err != nil {
				return err
			}
			return cl.DeleteWorkspace(cmd.Context(), id.Subscription, id.ResourceGroup, id.Name)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
