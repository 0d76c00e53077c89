package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeClientJSON(t *testing.T, dir string, v map[string]string) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := os.WriteFile(filepath.Join(dir, "client.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The server and token come from flags, else the environment, else
// client.json, else (loopback) <data-dir>/admin-token; the resource group
// and workspace from flags, else client.json; the subscription likewise,
// else the fixed default.
func TestCLIClientFlagResolution(t *testing.T) {
	for _, k := range []string{"KUBEML_SERVER", "KUBEML_TOKEN", "KUBEML_CA_FILE"} {
		t.Setenv(k, "")
	}
	url, tok := cliServer(t)
	const sub0 = "00000000-0000-0000-0000-000000000000"
	wsID := func(sub string) string {
		return "\"/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1\"\n"
	}

	// client.json alone: server, token, resource group and workspace.
	withFile := t.TempDir()
	writeClientJSON(t, withFile, map[string]string{"server": url, "token": tok, "resourceGroup": "rg1", "workspace": "ws1"})
	if got := mustCLI(t, withFile, "ml", "workspace", "create", "--query", "id"); got != wsID(sub0) {
		t.Errorf("create from client.json: %q", got)
	}
	// A flag wins over client.json.
	if _, _, err := cli(t, withFile, "ml", "workspace", "show", "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "AuthenticationFailed") {
		t.Errorf("--token over client.json: %v", err)
	}
	if _, _, err := cli(t, withFile, "ml", "workspace", "show", "-g", "other"); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("-g over client.json: %v", err)
	}
	// The environment wins over client.json, and a flag over the environment.
	t.Setenv("KUBEML_TOKEN", "wrong")
	if _, _, err := cli(t, withFile, "ml", "workspace", "show"); err == nil || !strings.Contains(err.Error(), "AuthenticationFailed") {
		t.Errorf("KUBEML_TOKEN over client.json: %v", err)
	}
	mustCLI(t, withFile, "ml", "workspace", "show", "--token", tok)
	t.Setenv("KUBEML_TOKEN", "")

	// Server from the environment, token from <data-dir>/admin-token (a
	// loopback server), names from flags.
	bare := t.TempDir()
	if err := os.WriteFile(filepath.Join(bare, "admin-token"), []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBEML_SERVER", url)
	if got := mustCLI(t, bare, "ml", "workspace", "show", "-g", "rg1", "-w", "ws1", "--query", "id"); got != wsID(sub0) {
		t.Errorf("env server, admin-token: %q", got)
	}
	// The subscription: flag, else client.json, else the default.
	writeClientJSON(t, bare, map[string]string{"subscription": "11111111-1111-1111-1111-111111111111"})
	if _, _, err := cli(t, bare, "ml", "workspace", "show", "-g", "rg1", "-w", "ws1"); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("client.json subscription was not used: %v", err)
	}
	mustCLI(t, bare, "ml", "workspace", "show", "-g", "rg1", "-w", "ws1", "--subscription", sub0)

	// Missing names are errors naming the flag and the client.json key.
	for args, want := range map[string][]string{
		"ml workspace show -w ws1":                {"no resource group given", "-g/--resource-group", `"resourceGroup"`, "client.json"},
		"ml workspace show -g rg1":                {"no workspace given", "-w/--workspace-name", `"workspace"`},
		"ml computetarget show -n x -g rg1":       {"-w/--workspace-name", `"workspace"`},
		"aks create -n c1 -g rg1":                 {"no location given", "-l/--location", `"location"`},
		"aks show -n c1":                          {"-g/--resource-group", `"resourceGroup"`},
		"aks get-versions -l simulated -o xx":     {"invalid output format"},
		"aks get-versions -l simulated --query [": {"invalid --query"},
	} {
		_, _, err := cli(t, bare, strings.Fields(args)...)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v lacks %q", args, err, w)
			}
		}
	}
}
