// Package podcmd holds the commands kubeml's image runs in pods of a
// cluster: the scoring router, the model server (serve-model) and a probe
// server. Two binaries have them: kubeml, with everything else, and
// kubeml-node, the lean binary that a local cluster's images are made of
// when it is built beside kubeml (its model and router pods then fault in
// less code at start: serve-model peaks near 47 MB instead of 55-72).
package podcmd

import (
	"io"

	"github.com/spf13/cobra"
)

// env is what the commands share.
type env struct {
	out, err io.Writer
	version  string // kubeml's version
}

// Commands returns the in-pod commands, writing to out and errw;
// version is kubeml's version, which they report.
func Commands(out, errw io.Writer, version string) []*cobra.Command {
	s := env{out: out, err: errw, version: version}
	return []*cobra.Command{newRouter(s), newServeModel(s), newProbeServer(s)}
}
