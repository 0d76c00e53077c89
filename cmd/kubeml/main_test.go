package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/kube"
)

// kubeml --help lists every command of the composed tree, and the tree
// holds each package's commands (probe-server is hidden).
func TestHelpListsEveryCommand(t *testing.T) {
	var out bytes.Buffer
	s := app.Streams{In: strings.NewReader(""), Out: &out, Err: &out}
	if err := app.Run(context.Background(), s, config(), []string{"--help"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"aks", "down", "kube", "ml", "router", "serve-model", "server", "up", "version"}
	for _, name := range want {
		if !strings.Contains(out.String(), "\n  "+name+" ") {
			t.Errorf("--help does not list %q:\n%s", name, out.String())
		}
	}
	var names []string
	for _, c := range app.NewRoot(s, config()).Commands() {
		names = append(names, c.Name())
	}
	want = append(want, "probe-server")
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("commands %v, want %v", names, want)
	}
}

func TestVersionNamesBothVersions(t *testing.T) {
	var out bytes.Buffer
	s := app.Streams{In: strings.NewReader(""), Out: &out, Err: &out}
	if err := app.Run(context.Background(), s, config(), []string{"version"}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "kubeml dev (Kubernetes "+kube.Version+")\n"; got != want {
		t.Errorf("version printed %q, want %q", got, want)
	}
}
