package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/output"
)

var serviceTable = &output.Table{Columns: []output.Column{
	cell("Name", "name"), cell("Compute", "properties.computeName"), cell("State", "properties.state"),
	cell("ProvisioningState", "properties.provisioningState"), cell("ScoringUri", "properties.scoringUri"),
}}

// ServiceFailed is the error of a service whose deploy failed.
func ServiceFailed(s *api.Service) error {
	if s.Properties.ProvisioningState != api.StateFailed {
		return nil
	}
	e := &client.Error{Code: "DeploymentFailed", Message: fmt.Sprintf("service %s failed to deploy", s.Name)}
	if s.Properties.Error != nil {
		e.Details = append(e.Details, *s.Properties.Error)
	}
	return e
}

// readDeployConfig reads a deployment config file (Azure ML's
// deploymentconfig.json) onto props; fields it lacks keep their values.
func readDeployConfig(path string, props *api.ServiceProperties) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, props); err != nil {
		return fmt.Errorf("deployment config %s: %w", path, err)
	}
	return nil
}

func (c *cli) deploy(ctx context.Context, cl *client.Client, ws api.ResourceID, name string, s api.Service, noWait bool) error {
	p, err := cl.BeginDeployService(ctx, ws, name, s)
	if err != nil {
		return err
	}
	op := operation[api.Service]{poller: p, state: "Transitioning", failed: ServiceFailed,
		now:   func() (*api.Service, error) { return cl.GetService(ctx, ws, name) },
		print: func(s *api.Service) error { return c.print(s, serviceTable) }}
	return op.finish(ctx, c.s, noWait)
}

func newModelDeploy(c *cli) *cobra.Command {
	var name, computeName, configFile string
	var models []string
	var overwrite, noWait bool
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy registered models to a compute target as a web service",
		Long: `deploy creates a web service on an attached compute target: the model's pods
run kubeml serve-model behind the cluster's router, with key auth, and
autoscale between 1 and 10 replicas at 70% utilization unless the
deployment config (-dc, Azure ML's deploymentconfig.json) says otherwise.
It waits until every replica is ready, or fails with the reason read from
the cluster. A deployment the cluster has no room for is refused before
anything is created.

A config with "versions" deploys several versions behind one scoring URI,
e.g. {"versions": {"blue": {"models": [{"name": "fashion", "version": 1}],
"isDefault": true}, "green": {"models": [{"name": "fashion", "version": 2}],
"trafficPercentile": 20}}}.`,
		Example: "  kubeml ml model deploy -n fashion-svc -m fashion:1 --ct myaks\n  kubeml ml model deploy -n fashion-svc --ct myaks -dc deploymentconfig.json --overwrite",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			s := api.Service{Properties: api.ServiceProperties{ComputeName: computeName}}
			for _, m := range models {
				ref, err := parseModelRef(m)
				if err != nil {
					return err
				}
				s.Properties.Models = append(s.Properties.Models, ref)
			}
			if err := readDeployConfig(configFile, &s.Properties); err != nil {
				return err
			}
			s.Properties.ComputeName = computeName
			if !overwrite {
				if _, err := cl.GetService(cmd.Context(), ws, name); err == nil {
					return fmt.Errorf("service %s exists: deploy with --overwrite, or use kubeml ml service update", name)
				} else if !client.IsNotFound(err) {
					return err
				}
			}
			return c.deploy(cmd.Context(), cl, ws, name, s, noWait)
		},
	}
	nameFlag(cmd, &name, "web service")
	f := cmd.Flags()
	f.StringArrayVarP(&models, "model", "m", nil, "NAME:VERSION of a registered model")
	f.StringVar(&computeName, "ct", "", "the compute target to deploy to")
	_ = cmd.MarkFlagRequired("ct")
	f.StringVar(&configFile, "dc", "", "deployment config JSON file")
	f.StringVar(&configFile, "deploy-config-file", "", "deployment config JSON file (same as --dc)")
	f.BoolVar(&overwrite, "overwrite", false, "update the service if it exists")
	f.BoolVar(&noWait, "no-wait", false, "do not wait for the deploy to finish")
	return cmd
}
