package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// credFlags are the flags of the get-credentials commands.
type credFlags struct {
	admin, overwrite bool
	file             string
}

func addCredFlags(cmd *cobra.Command, f *credFlags, defaultFile string) {
	cmd.Flags().BoolVarP(&f.admin, "admin", "a", false, "get the cluster administrator's credentials instead of the user's")
	cmd.Flags().StringVarP(&f.file, "file", "f", defaultFile, `kubeconfig file to merge into; "-" prints the kubeconfig to stdout`)
	cmd.Flags().BoolVar(&f.overwrite, "overwrite-existing", false, "replace entries of the same name that differ in the file")
}

// defaultKubeconfig is ~/.kube/config, as az uses.
func defaultKubeconfig() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".kube", "config")
	}
	return filepath.Join(h, ".kube", "config")
}

// kubeNames are the names the credentials get in the kubeconfig, as az
// names them: the cluster NAME, the user clusterUser_RG_NAME (or
// clusterAdmin_...), the context NAME (or NAME-admin).
func kubeNames(rg, name string, admin bool) (cluster, user, context string) {
	if admin {
		return name, "clusterAdmin_" + rg + "_" + name, name + "-admin"
	}
	return name, "clusterUser_" + rg + "_" + name, name
}

// saveCredentials renames kubeconfig kc's current context to the az names
// and merges it into f.file (or prints it for "-"), making it current.
func (c *cli) saveCredentials(kc []byte, rg, name string, f credFlags) error {
	cl, user, ctx := kubeNames(rg, name, f.admin)
	add, err := renamed(kc, cl, user, ctx)
	if err != nil {
		return err
	}
	if f.file == "-" {
		b, err := clientcmd.Write(*add)
		if err != nil {
			return err
		}
		_, err = c.s.Out.Write(b)
		return err
	}
	cfg := clientcmdapi.NewConfig()
	if _, err := os.Stat(f.file); err == nil {
		if cfg, err = clientcmd.LoadFromFile(f.file); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	err = errors.Join(
		merge(cfg.Clusters, add.Clusters, f.overwrite),
		merge(cfg.AuthInfos, add.AuthInfos, f.overwrite),
		merge(cfg.Contexts, add.Contexts, f.overwrite))
	if err != nil {
		return err
	}
	cfg.CurrentContext = ctx
	if err := clientcmd.WriteToFile(*cfg, f.file); err != nil {
		return err
	}
	fmt.Fprintf(c.s.Err, "Merged %q as current context in %s\n", ctx, f.file)
	return nil
}

// renamed is the current context of kc (or its first) with its cluster
// and user, under new names.
func renamed(kc []byte, cluster, user, context string) (*clientcmdapi.Config, error) {
	in, err := clientcmd.Load(kc)
	if err != nil {
		return nil, fmt.Errorf("the server's kubeconfig: %w", err)
	}
	cur := in.Contexts[in.CurrentContext]
	if cur == nil {
		names := make([]string, 0, len(in.Contexts))
		for n := range in.Contexts {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			cur = in.Contexts[names[0]]
		}
	}
	if cur == nil || in.Clusters[cur.Cluster] == nil || in.AuthInfos[cur.AuthInfo] == nil {
		return nil, errors.New("the server's kubeconfig has no complete context")
	}
	out := clientcmdapi.NewConfig()
	out.Clusters[cluster] = in.Clusters[cur.Cluster]
	out.AuthInfos[user] = in.AuthInfos[cur.AuthInfo]
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo, ctx.Namespace = cluster, user, cur.Namespace
	out.Contexts[context] = ctx
	out.CurrentContext = context
	return out, nil
}

// merge adds add's entries to dst. An entry of the same name that
// differs is an error unless overwrite, as in az.
func merge[T any](dst, add map[string]*T, overwrite bool) error {
	var errs []error
	for name, v := range add {
		if old, ok := dst[name]; ok && !overwrite && !sameJSON(old, v) {
			errs = append(errs, fmt.Errorf("a different object named %s already exists in the kubeconfig file: pass --overwrite-existing to replace it", name))
			continue
		}
		dst[name] = v
	}
	return errors.Join(errs...)
}

// sameJSON compares two kubeconfig entries as written (LocationOfOrigin,
// not written, is ignored).
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
