package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/jmespath/go-jmespath"
	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/output"
)

// DefaultSubscription is the subscription used when no flag or
// client.json names one: a kubeml server has no real subscriptions.
const DefaultSubscription = "00000000-0000-0000-0000-000000000000"

// Defaults are the default resource names of <dataDir>/client.json
// (its server, token and caFile are client.LoadConfig's business).
type Defaults struct {
	Subscription  string `json:"subscription"`
	ResourceGroup string `json:"resourceGroup"`
	Workspace     string `json:"workspace"`
	Location      string `json:"location"`
}

// LoadDefaults reads the defaults; a missing file gives none.
func LoadDefaults(dataDir string) (Defaults, error) {
	var d Defaults
	if dataDir == "" {
		return d, nil
	}
	path := filepath.Join(dataDir, client.ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	} else if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// cli is what the aks and ml commands share: the streams, the globals and
// the client flags of their command group.
type cli struct {
	s                     Streams
	g                     *Globals
	server, token, caFile string
	output, query         string
	sub, group, workspace string
}

// newGroup makes a command group whose commands talk to a kubeml server,
// with the client flags as persistent flags (-w too when workspace).
func newGroup(s Streams, g *Globals, cmd *cobra.Command, workspace bool) *cli {
	c := &cli{s: s, g: g}
	f := cmd.PersistentFlags()
	f.StringVar(&c.server, "server", "", "kubeml server URL (env "+client.EnvServer+", client.json \"server\"; default "+client.DefaultServer+")")
	f.StringVar(&c.token, "token", "", "bearer token (env "+client.EnvToken+", client.json \"token\"; default <data-dir>/admin-token for a local server)")
	f.StringVar(&c.caFile, "ca-file", "", "CA certificate of an https server (env "+client.EnvCAFile+", client.json \"caFile\")")
	f.StringVarP(&c.output, "output", "o", "json", "output format: json, jsonc, yaml, table, tsv or none")
	f.StringVar(&c.query, "query", "", "JMESPath query applied to the result, e.g. \"[].name\"")
	f.StringVar(&c.sub, "subscription", "", "subscription id (client.json \"subscription\"; default "+DefaultSubscription+")")
	f.StringVarP(&c.group, "resource-group", "g", "", "resource group (client.json \"resourceGroup\")")
	if workspace {
		f.StringVarP(&c.workspace, "workspace-name", "w", "", "workspace name (client.json \"workspace\")")
	}
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error { return c.checkOutput() }
	return c
}

// checkOutput reports a bad -o or --query before any work is done.
func (c *cli) checkOutput() error {
	if _, err := output.ParseFormat(c.output); err != nil {
		return err
	}
	if c.query != "" {
		if _, err := jmespath.Compile(c.query); err != nil {
			return fmt.Errorf("invalid --query %q: %v", c.query, err)
		}
	}
	return nil
}

// connect makes the client from the flags, the environment and client.json.
func (c *cli) connect() (*client.Client, error) {
	cfg, err := client.LoadConfig(client.Config{Server: c.server, Token: c.token, CAFile: c.caFile, UserAgent: "kubeml-cli/" + c.g.Version}, os.Getenv, c.g.DataDir)
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}

// value returns the flag's value, else the one pick takes from client.json.
func (c *cli) value(flag string, pick func(Defaults) string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	d, err := LoadDefaults(c.g.DataDir)
	return pick(d), err
}

// required is value, where no value is an error naming the flag and the
// client.json key.
func (c *cli) required(flag, what, key string, pick func(Defaults) string) (string, error) {
	v, err := c.value(flag, pick)
	if err == nil && v == "" {
		flags := map[string]string{"resourceGroup": "-g/--resource-group", "workspace": "-w/--workspace-name", "location": "-l/--location"}
		err = fmt.Errorf("no %s given: pass %s or set %q in %s", what, flags[key], key, filepath.Join(c.g.DataDir, client.ConfigFile))
	}
	return v, err
}

func (c *cli) subscription() (string, error) {
	v, err := c.value(c.sub, func(d Defaults) string { return d.Subscription })
	if v == "" {
		v = DefaultSubscription
	}
	return v, err
}

func (c *cli) resourceGroup() (string, error) {
	return c.required(c.group, "resource group", "resourceGroup", func(d Defaults) string { return d.ResourceGroup })
}

// location is flag, else client.json's "location", else an error.
func (c *cli) location(flag string) (string, error) {
	return c.required(flag, "location", "location", func(d Defaults) string { return d.Location })
}

// groupScope returns the subscription and resource group.
func (c *cli) groupScope() (sub, rg string, err error) {
	if sub, err = c.subscription(); err != nil {
		return "", "", err
	}
	rg, err = c.resourceGroup()
	return sub, rg, err
}

// optionalGroup is groupScope where no resource group means all of them.
func (c *cli) optionalGroup() (sub, rg string, err error) {
	if sub, err = c.subscription(); err != nil {
		return "", "", err
	}
	rg, err = c.value(c.group, func(d Defaults) string { return d.ResourceGroup })
	return sub, rg, err
}

// workspaceID returns the id of the workspace given by -w (or client.json).
func (c *cli) workspaceID() (api.ResourceID, error) {
	sub, rg, err := c.groupScope()
	if err != nil {
		return api.ResourceID{}, err
	}
	ws, err := c.required(c.workspace, "workspace", "workspace", func(d Defaults) string { return d.Workspace })
	return api.WorkspaceID(sub, rg, ws), err
}

// print writes v to stdout with -o and --query; t is the -o table view.
func (c *cli) print(v any, t *output.Table) error { return c.printRows(v, nil, t) }

// printRows is print, except that -o table without --query shows rows
// (when not nil) instead of v.
func (c *cli) printRows(v, rows any, t *output.Table) error {
	if f, _ := output.ParseFormat(c.output); rows != nil && c.query == "" && f == output.FormatTable {
		v = rows
	}
	return output.Print(c.s.Out, v, output.Options{Format: output.Format(c.output), Query: c.query, Table: t})
}
