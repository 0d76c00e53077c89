package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/output"
)

// preflightTable is `computetarget preflight -o table`: one row per check.
var preflightTable = &output.Table{Columns: []output.Column{
	cell("Check", "name"), cell("Status", "status"), cell("Reason", "reason"), cell("Message", "message"),
}}

// newComputePreflight is `computetarget preflight`.
func newComputePreflight(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "preflight", Short: "Check a cluster before attaching it, attaching nothing",
		Long: `preflight runs the checks an attach runs against the cluster (reachability,
version, rights, capacity, whether it is attached elsewhere) and prints
the report, attaching nothing. It fails when a check has status Fail.`,
		Example: "  kubeml ml computetarget preflight aks -n myaks --cluster-name mycluster -o table\n" +
			"  kubeml ml computetarget preflight kubernetes -n mycluster --kubeconfig ~/.kube/config -o table"}
	cmd.AddCommand(newPreflightAKS(c), newPreflightKubernetes(c))
	return cmd
}

func newPreflightAKS(c *cli) *cobra.Command {
	var k clusterFlags
	var purpose string
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Check a managed cluster before attaching it with 'attach aks'",
		Example: "  kubeml ml computetarget preflight aks -n myaks -i CLUSTER_RESOURCE_ID -g myresourcegroup -w myworkspace\n" +
			"  kubeml ml computetarget preflight aks -n myaks --cluster-name mycluster --cluster-purpose DevTest -o table",
	}
	k.add(cmd)
	purposeFlag(cmd, &purpose)
	return preflightCommand(c, cmd, func(_ *cobra.Command, ws api.ResourceID) (api.Compute, error) {
		cfg, err := k.attachment(client.AttachConfiguration{ClusterPurpose: purpose}, ws.ResourceGroup)
		return cfg.Compute(ws.Subscription), err
	})
}

func newPreflightKubernetes(c *cli) *cobra.Command {
	var k kubeFlags
	cmd := &cobra.Command{
		Use:   "kubernetes",
		Short: "Check a Kubernetes cluster before attaching it with 'attach kubernetes'",
		Example: "  kubeml ml computetarget preflight kubernetes -n mycluster --kubeconfig ~/.kube/config --context prod -o table\n" +
			"  kind get kubeconfig | kubeml ml computetarget preflight kubernetes -n dev --kubeconfig - --cluster-purpose DevTest",
	}
	k.add(cmd)
	return preflightCommand(c, cmd, func(cmd *cobra.Command, _ api.ResourceID) (api.Compute, error) {
		cfg, err := k.config(cmd, c.s.In)
		return cfg.Compute(), err
	})
}

// preflightCommand completes a preflight command: body is the attach body
// of its flags for the workspace ws. It prints the report (-o table: one
// row per check), then fails if a check failed.
func preflightCommand(c *cli, cmd *cobra.Command, body func(*cobra.Command, api.ResourceID) (api.Compute, error)) *cobra.Command {
	var name string
	cmd.Long = cmd.Short + `.

It runs the checks the attach runs, as the compute target -n would be
attached, and prints the report, attaching nothing: -o table shows one
row per check. It fails when a check has status Fail.`
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ws, err := c.workspaceID()
		if err != nil {
			return err
		}
		comp, err := body(cmd, ws)
		if err != nil {
			return err
		}
		cl, err := c.connect()
		if err != nil {
			return err
		}
		rep, err := cl.PreflightCompute(cmd.Context(), api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, name), comp)
		if err != nil {
			return err
		}
		if err := c.printRows(rep, rep.Checks, preflightTable); err != nil {
			return err
		}
		if n := len(client.FailedChecks(rep)); n > 0 {
			return fmt.Errorf("preflight failed: %d check(s) failed", n)
		}
		return nil
	}
	nameFlag(cmd, &name, "compute target")
	return cmd
}
