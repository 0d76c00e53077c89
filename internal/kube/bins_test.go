package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyChangesWithTheGoVersionOnly(t *testing.T) {
	a, b := Key("go1.26.8"), Key("go1.26.8")
	if a != b || len(a) != 16 {
		t.Fatalf("Key is not a stable 16-hex key: %q %q", a, b)
	}
	if Key("go1.27.0") == a {
		t.Fatal("a new Go version must give a new cache key")
	}
}

func TestCheckNamesEveryMissingBinary(t *testing.T) {
	dir := t.TempDir()
	for _, n := range All[:3] {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/true\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err := Bins{Dir: dir}.Check()
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("err = %v, want ErrMissing", err)
	}
	for _, n := range All[3:] {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error does not name missing %s: %v", n, err)
		}
	}
	if !strings.Contains(err.Error(), "kubeml kube build") {
		t.Errorf("error does not tell how to get the binaries: %v", err)
	}
}

func TestFindHonoursTheEnvironmentDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvBinDir, dir)
	if _, err := Find(); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Find with an empty %s: %v", EnvBinDir, err)
	}
	for _, n := range All {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Find()
	if err != nil || b.Path(Kubelet) != filepath.Join(dir, "kubelet") {
		t.Fatalf("Find = %v, %v", b, err)
	}
}

func TestToolsModulePinsTheVersions(t *testing.T) {
	for _, want := range []string{"k8s.io/kubernetes " + Version, "go.etcd.io/etcd/server/v3 v3.7.0", "sigs.k8s.io/kwok v0.8.0"} {
		if !strings.Contains(string(toolsMod), want) {
			t.Errorf("tools.mod does not pin %s", want)
		}
	}
}
