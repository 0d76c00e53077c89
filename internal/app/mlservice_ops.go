package app

import (
	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/output"
)

// newService is `kubeml ml service`: deployed web services.
func newService(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Manage deployed web services",
		Example: "  kubeml ml service list -o table\n  kubeml ml service get-keys -n fashion-svc"}
	cmd.AddCommand(newServiceList(c), newServiceShow(c), newServiceUpdate(c), newServiceDelete(c), newServiceKeys(c),
		newServiceRegenKey(c), newServiceToken(c), newServiceLogs(c))
	return cmd
}

func newServiceList(c *cli) *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List web services", Args: cobra.NoArgs, Example: "  kubeml ml service list -o table",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			list, err := cl.ListServices(cmd.Context(), ws)
			if err != nil {
				return err
			}
			return c.print(list, serviceTable)
		}}
}

// serviceCmd is a command on one named service of the workspace: run gets
// a connected client, the workspace and the name.
func serviceCmd(c *cli, use, short, example string, run func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error) *cobra.Command {
	var name string
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			return run(cmd, cl, ws, name)
		}}
	nameFlag(cmd, &name, "web service")
	return cmd
}

func newServiceShow(c *cli) *cobra.Command {
	cmd := serviceCmd(c, "show", "Show a web service", "  kubeml ml service show -n fashion-svc --query properties.scoringUri -o tsv",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			s, err := cl.GetService(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			return c.print(s, serviceTable)
		})
	return cmd
}

func newServiceUpdate(c *cli) *cobra.Command {
	var configFile string
	var models []string
	var noWait bool
	cmd := serviceCmd(c, "update", "Update a web service: its models, settings or traffic split",
		"  kubeml ml service update -n fashion-svc -m fashion:2\n  kubeml ml service update -n fashion-svc --dc split.json",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			s, err := cl.GetService(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			if len(models) > 0 {
				s.Properties.Models = nil
				for _, m := range models {
					ref, err := parseModelRef(m)
					if err != nil {
						return err
					}
					s.Properties.Models = append(s.Properties.Models, ref)
				}
			}
			if err := readDeployConfig(configFile, &s.Properties); err != nil {
				return err
			}
			return c.deploy(cmd.Context(), cl, ws, name, *s, noWait)
		})
	f := cmd.Flags()
	f.StringArrayVarP(&models, "model", "m", nil, "NAME:VERSION of a registered model (replaces the service's)")
	f.StringVar(&configFile, "dc", "", "deployment config JSON file: its fields replace the service's")
	f.BoolVar(&noWait, "no-wait", false, "do not wait for the deploy to finish")
	return cmd
}

func newServiceDelete(c *cli) *cobra.Command {
	var yes, noWait bool
	cmd := serviceCmd(c, "delete", "Delete a web service from its cluster and the workspace", "  kubeml ml service delete -n fashion-svc --yes",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			if err := c.s.Confirm(yes); err != nil {
				return err
			}
			p, err := cl.BeginDeleteService(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			return finishDelete(cmd.Context(), c.s, p, noWait)
		})
	yesFlags(cmd, &yes, &noWait)
	return cmd
}

var keysTable = &output.Table{Columns: []output.Column{cell("PrimaryKey", "primaryKey"), cell("SecondaryKey", "secondaryKey")}}

func newServiceKeys(c *cli) *cobra.Command {
	cmd := serviceCmd(c, "get-keys", "Show a web service's keys", "  kubeml ml service get-keys -n fashion-svc --query primaryKey -o tsv",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			k, err := cl.ServiceKeys(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			return c.print(k, keysTable)
		})
	return cmd
}

func newServiceRegenKey(c *cli) *cobra.Command {
	var key string
	cmd := serviceCmd(c, "regen-key", "Regenerate a web service's primary or secondary key", "  kubeml ml service regen-key -n fashion-svc --key Primary",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			k, err := cl.RegenerateServiceKey(cmd.Context(), ws, name, key)
			if err != nil {
				return err
			}
			return c.print(k, keysTable)
		})
	cmd.Flags().StringVarP(&key, "key", "k", "Primary", "Primary or Secondary")
	return cmd
}

func newServiceToken(c *cli) *cobra.Command {
	cmd := serviceCmd(c, "get-access-token", "Get a token for a web service with token auth", "  kubeml ml service get-access-token -n fashion-svc --query accessToken -o tsv",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			t, err := cl.ServiceToken(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			return c.print(t, nil)
		})
	cmd.Aliases = []string{"get-token"}
	return cmd
}

func newServiceLogs(c *cli) *cobra.Command {
	var version string
	var tail int
	cmd := serviceCmd(c, "get-logs", "Show the logs of a web service's model containers", "  kubeml ml service get-logs -n fashion-svc --tail 50",
		func(cmd *cobra.Command, cl *client.Client, ws api.ResourceID, name string) error {
			logs, err := cl.ServiceLogs(cmd.Context(), ws, name, version, tail)
			if err != nil {
				return err
			}
			_, err = c.s.Out.Write([]byte(logs))
			return err
		})
	cmd.Flags().StringVar(&version, "version", "", "the version (default: the default version)")
	cmd.Flags().IntVar(&tail, "tail", 100, "lines to show")
	return cmd
}
