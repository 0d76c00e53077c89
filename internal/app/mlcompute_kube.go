package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/client"
)

// maxKubeconfig bounds the kubeconfig read from stdin.
const maxKubeconfig = 4 << 20

// kubeFlags name a Kubernetes cluster by its kubeconfig, for `attach
// kubernetes` and `preflight kubernetes`.
type kubeFlags struct {
	file, context, namespace, purpose string
	scoped                            bool
}

func (k *kubeFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&k.file, "kubeconfig", "", `kubeconfig file of the cluster; "-" reads it from stdin`)
	_ = cmd.MarkFlagRequired("kubeconfig")
	f.StringVar(&k.context, "context", "", "context of the kubeconfig to use (default: its current context)")
	f.StringVar(&k.namespace, "namespace", "", "namespace kubeml deploys to in the cluster (default: default)")
	f.BoolVar(&k.scoped, "scoped-credentials", true, "replace the kubeconfig's credentials with a kubeml service account that has only the rights kubeml needs")
	purposeFlag(cmd, &k.purpose)
}

// config reads the kubeconfig (from in for "-") and returns the
// configuration of the flags. scopedCredentials is sent only when given.
func (k *kubeFlags) config(cmd *cobra.Command, in io.Reader) (client.KubernetesAttachConfiguration, error) {
	cfg := client.KubernetesAttachConfiguration{Context: k.context, Namespace: k.namespace, ClusterPurpose: k.purpose}
	if cmd.Flags().Changed("scoped-credentials") {
		v := k.scoped
		cfg.ScopedCredentials = &v
	}
	b, err := readKubeconfig(k.file, k.context, in)
	if err != nil {
		return cfg, err
	}
	cfg.Kubeconfig = b
	return cfg, cfg.Validate()
}

// readKubeconfig reads the kubeconfig file path ("-": in) and checks, before
// anything is sent, that it is a kubeconfig with the context to use.
func readKubeconfig(path, context string, in io.Reader) ([]byte, error) {
	var b []byte
	var err error
	name := path
	if path == "-" {
		name = "(stdin)"
		b, err = io.ReadAll(io.LimitReader(in, maxKubeconfig))
	} else {
		b, err = os.ReadFile(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--kubeconfig: no such file %s", path)
	case err != nil:
		return nil, fmt.Errorf("--kubeconfig: reading %s: %w", name, err)
	case len(bytes.TrimSpace(b)) == 0:
		return nil, fmt.Errorf("--kubeconfig: %s is empty", name)
	}
	kc, err := clientcmd.Load(b)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %s is not a kubeconfig: %w", name, err)
	}
	contexts := make([]string, 0, len(kc.Contexts))
	for c := range kc.Contexts {
		contexts = append(contexts, c)
	}
	slices.Sort(contexts)
	switch {
	case len(contexts) == 0:
		return nil, fmt.Errorf("--kubeconfig: %s has no contexts", name)
	case context != "" && kc.Contexts[context] == nil:
		return nil, fmt.Errorf("--context %q is not in %s; its contexts: %s", context, name, strings.Join(contexts, ", "))
	case context == "" && kc.Contexts[kc.CurrentContext] == nil:
		return nil, fmt.Errorf("--kubeconfig: %s has no current context: pass --context (one of %s)", name, strings.Join(contexts, ", "))
	}
	return b, nil
}

func newComputeAttachKubernetes(c *cli) *cobra.Command {
	var name, description string
	var noWait bool
	var k kubeFlags
	cmd := &cobra.Command{
		Use:   "kubernetes",
		Short: "Attach any Kubernetes cluster to the workspace by its kubeconfig",
		Long: `attach kubernetes makes any Kubernetes cluster a compute target, given a
kubeconfig that reaches it (--kubeconfig -: read from stdin). The server
keeps the kubeconfig encrypted and never shows it again; with
--scoped-credentials (the server's default) it replaces the kubeconfig's
credentials with a service account of kubeml's own that has only the
rights kubeml needs.

The server first checks the cluster (see 'computetarget preflight
kubernetes'): a failed check refuses the attach, naming every failed
check. A cluster is attached to one compute target at a time. It waits
(unless --no-wait), showing progress on stderr, then prints the compute
target.`,
		Example: "  kubeml ml computetarget attach kubernetes -n mycluster --kubeconfig ~/.kube/config --context prod -g myresourcegroup -w myworkspace\n" +
			"  kind get kubeconfig | kubeml ml computetarget attach kubernetes -n dev --kubeconfig - --cluster-purpose DevTest --namespace ml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := c.workspaceID()
			if err != nil {
				return err
			}
			cfg, err := k.config(cmd, c.s.In)
			if err != nil {
				return err
			}
			cfg.Description = description
			cl, err := c.connect()
			if err != nil {
				return err
			}
			t, err := cl.AttachKubernetesComputeTarget(cmd.Context(), ws, name, cfg)
			if err != nil {
				return err
			}
			return c.finishTarget(cmd.Context(), cl, t, noWait)
		},
	}
	nameFlag(cmd, &name, "compute target")
	k.add(cmd)
	cmd.Flags().StringVar(&description, "description", "", "description of the compute target")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the operation to finish")
	return cmd
}
