package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/output"
)

var modelTable = &output.Table{Columns: []output.Column{
	cell("Name", "properties.modelName"), cell("Version", "properties.version"), cell("Framework", "properties.modelType"),
	cell("Size", "properties.size"), cell("Sha256", "properties.sha256"), cell("Description", "properties.description"),
}}

// newModel is `kubeml ml model`: the workspace's model registry.
func newModel(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Register, list, download and deploy models",
		Example: "  kubeml ml model register -n fashion --path fashion-mlp.onnx\n  kubeml ml model list -o table\n" +
			"  kubeml ml model deploy -n fashion-svc -m fashion:1 --ct myaks"}
	cmd.AddCommand(newModelRegister(c), newModelList(c), newModelShow(c), newModelDownload(c), newModelDelete(c), newModelDeploy(c))
	return cmd
}

// modelFile is the one model file of path: the file, or the only file
// of a directory.
func modelFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, e.Name())
		}
	}
	if len(files) != 1 {
		return "", fmt.Errorf("--path %s: a directory must hold exactly one model file, it has %d (%s)", path, len(files), strings.Join(files, ", "))
	}
	return filepath.Join(path, files[0]), nil
}

func newModelRegister(c *cli) *cobra.Command {
	var name, path, framework, description string
	var tags []string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a model file as the model's next version",
		Long: `register uploads a model file (ONNX, XGBoost JSON or LightGBM text) as the
next version of the model. The server loads it with the runtime that will
serve it and refuses a model it cannot load, saying why (an unsupported
ONNX operator or opset, an XGBoost objective it does not implement).`,
		Example: "  kubeml ml model register -n fashion --path fashion-mlp.onnx\n  kubeml ml model register -n churn --path model.json --model-framework xgboost --tag team=risk",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			file, err := modelFile(path)
			if err != nil {
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			o := client.RegisterModelOptions{Framework: framework, FileName: filepath.Base(file), Description: description, Tags: map[string]string{}}
			for _, t := range tags {
				k, v, ok := strings.Cut(t, "=")
				if !ok {
					return fmt.Errorf("--tag %q: want KEY=VALUE", t)
				}
				o.Tags[k] = v
			}
			mv, err := cl.RegisterModel(cmd.Context(), ws, name, f, o)
			if err != nil {
				return err
			}
			return c.print(mv, modelTable)
		},
	}
	nameFlag(cmd, &name, "model")
	f := cmd.Flags()
	f.StringVarP(&path, "path", "p", "", "the model file, or a directory holding exactly one")
	_ = cmd.MarkFlagRequired("path")
	f.StringVar(&framework, "model-framework", "", "onnx, xgboost or lightgbm (default: detected)")
	f.StringVarP(&description, "description", "d", "", "description")
	f.StringArrayVar(&tags, "tag", nil, "KEY=VALUE, repeatable")
	return cmd
}

func newModelList(c *cli) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use: "list", Short: "List models (the latest version of each), or one model's versions with -n",
		Example: "  kubeml ml model list -o table\n  kubeml ml model list -n fashion --query \"[].properties.version\" -o tsv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			list, err := cl.ListModels(cmd.Context(), ws, name)
			if err != nil {
				return err
			}
			return c.print(list, modelTable)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "a model's name: list its versions")
	return cmd
}

// modelFlags are -n and --version of commands on one version.
func modelFlags(cmd *cobra.Command, name *string, version *int) {
	nameFlag(cmd, name, "model")
	cmd.Flags().IntVarP(version, "version", "v", 0, "the version (default: the latest)")
}

func newModelShow(c *cli) *cobra.Command {
	var name string
	var version int
	cmd := &cobra.Command{Use: "show", Short: "Show a model version", Args: cobra.NoArgs,
		Example: "  kubeml ml model show -n fashion -v 2",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			mv, err := cl.GetModel(cmd.Context(), ws, name, version)
			if err != nil {
				return err
			}
			return c.print(mv, modelTable)
		}}
	modelFlags(cmd, &name, &version)
	return cmd
}

func newModelDownload(c *cli) *cobra.Command {
	var name, target string
	var version int
	cmd := &cobra.Command{Use: "download", Short: "Download a model version's file (checked against its sha256)", Args: cobra.NoArgs,
		Example: "  kubeml ml model download -n fashion -v 1 -t ./models",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			mv, err := cl.GetModel(cmd.Context(), ws, name, version)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			dst := filepath.Join(target, filepath.Base(mv.Properties.FileName))
			tmp := dst + ".part"
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			_, err = cl.DownloadModel(cmd.Context(), ws, name, mv.Properties.Version, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, dst); err != nil {
				return err
			}
			return c.print(map[string]any{"path": dst, "sha256": mv.Properties.SHA256, "size": mv.Properties.Size}, nil)
		}}
	modelFlags(cmd, &name, &version)
	cmd.Flags().StringVarP(&target, "target-dir", "t", ".", "directory to write the file to")
	return cmd
}

func newModelDelete(c *cli) *cobra.Command {
	var name string
	var version int
	var yes bool
	cmd := &cobra.Command{Use: "delete", Short: "Delete a model version (refused while a service deploys it)", Args: cobra.NoArgs,
		Example: "  kubeml ml model delete -n fashion -v 1 --yes",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version < 1 {
				return fmt.Errorf("--version is required to delete: which version of %s?", name)
			}
			if err := c.s.Confirm(yes); err != nil {
				return err
			}
			cl, ws, err := c.workspaceClient()
			if err != nil {
				return err
			}
			return cl.DeleteModel(cmd.Context(), ws, name, version)
		}}
	modelFlags(cmd, &name, &version)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// parseModelRef reads NAME:VERSION (VERSION a number).
func parseModelRef(s string) (api.ModelRef, error) {
	name, v, ok := strings.Cut(s, ":")
	var ref api.ModelRef
	if !ok || name == "" {
		return ref, fmt.Errorf("-m %q: want NAME:VERSION, e.g. fashion:1", s)
	}
	if _, err := fmt.Sscanf(v, "%d", &ref.Version); err != nil || ref.Version < 1 {
		return ref, fmt.Errorf("-m %q: the version must be a positive number", s)
	}
	ref.Name = name
	return ref, nil
}
