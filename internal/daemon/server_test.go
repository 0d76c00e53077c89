package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/server"
)

// serverSetup runs `kubeml --data-dir dir server args...` with a run
// function that only records what it would serve; stderr is the
// command's standard error.
func serverSetup(t *testing.T, dir string, args ...string) (su Setup, stderr *bytes.Buffer, err error) {
	t.Helper()
	var got Setup
	var errb bytes.Buffer
	s := app.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &errb}
	cfg := app.Config{Commands: []app.Commands{func(s app.Streams, g *app.Globals) []*cobra.Command {
		return []*cobra.Command{newServer(s, g, func(_ context.Context, su Setup) error { got = su; return nil })}
	}}}
	err = app.Run(context.Background(), s, cfg, append([]string{"--data-dir", dir, "server"}, args...))
	return got, &errb, err
}

func TestServerFlagsOverConfigOverDefaults(t *testing.T) {
	dir := t.TempDir()
	su, _, err := serverSetup(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := server.Defaults(dir); su.Config.Addr != want.Addr || su.Config.DataDir != dir || len(su.Config.Locations) != 2 || su.DataDir != dir {
		t.Errorf("defaults: %+v", su)
	}

	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"addr": "127.0.0.1:9001", "insecure": true, "locations": {"sim": "simulated"}, "pageSize": 7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	su, _, err = serverSetup(t, dir, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if c := su.Config; c.Addr != "127.0.0.1:9001" || !c.Insecure || c.PageSize != 7 || len(c.Locations) != 1 || c.Locations["sim"] != "simulated" {
		t.Errorf("config file: %+v", c)
	}

	su, _, err = serverSetup(t, dir, "--config", file, "--addr", "127.0.0.1:9002", "--insecure=false",
		"--location", "a=local", "--location", "b=simulated", "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem")
	if err != nil {
		t.Fatal(err)
	}
	if c := su.Config; c.Addr != "127.0.0.1:9002" || c.Insecure || c.PageSize != 7 || len(c.Locations) != 2 ||
		c.Locations["a"] != "local" || c.Locations["b"] != "simulated" || c.TLSCertFile != "c.pem" || c.TLSKeyFile != "k.pem" {
		t.Errorf("flags over the config file: %+v", c)
	}
}

func TestServerFlagErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := serverSetup(t, dir, "--location", "nothing"); err == nil || !strings.Contains(err.Error(), "want NAME=PROVIDER") {
		t.Errorf("--location without =: %v", err)
	}
	if _, _, err := serverSetup(t, dir, "--config", filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "failed to read config") {
		t.Errorf("a missing config file: %v", err)
	}
	if _, _, err := serverSetup(t, dir, "extra"); err == nil {
		t.Error("an argument was accepted")
	}
}

func TestServerLogFormatAndRelativeDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	su, stderr, err := serverSetup(t, "rel", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	// The server's config wants an absolute data dir; the providers keep
	// the one given, as before.
	if !filepath.IsAbs(su.Config.DataDir) || filepath.Base(su.Config.DataDir) != "rel" || su.DataDir != "rel" {
		t.Errorf("data dirs: config %q, providers %q", su.Config.DataDir, su.DataDir)
	}
	su.Log.Info("hello")
	if !strings.HasPrefix(stderr.String(), `{"time":`) {
		t.Errorf("--log-format json logged %q", stderr.String())
	}
	su, stderr, _ = serverSetup(t, "rel")
	su.Log.Info("hello")
	if !strings.HasPrefix(stderr.String(), "time=") {
		t.Errorf("the default log format logged %q", stderr.String())
	}
}
