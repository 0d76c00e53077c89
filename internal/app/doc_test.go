package app_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/clustertest"
)

// The Azure ML documentation's commands, with az replaced by kubeml, on
// real simulated clusters (locations as configured: local, simulated).
func TestDocCommandsWorkAsWritten(t *testing.T) {
	clustertest.Require(t, env)
	url, tok := cliServer(t)
	dir := t.TempDir()
	c := conn(url, tok)
	run := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, err := cli(t, dir, append(args, c...)...)
		if err != nil {
			t.Fatalf("kubeml %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out, errOut
	}
	t.Cleanup(func() { // whatever a failure left
		cli(t, dir, append([]string{"ml", "computetarget", "delete", "-n", "myaks", "-g", "myresourcegroup", "-w", "myworkspace", "--yes"}, c...)...)
		cli(t, dir, append([]string{"aks", "delete", "-n", "myexistingcluster", "-g", "myresourcegroup", "--yes"}, c...)...)
	})
	run("ml", "workspace", "create", "-w", "myworkspace", "-g", "myresourcegroup", "-l", "simulated")

	// az ml computetarget create aks -n myaks (on a location that can
	// hold FastProd's 3 x 4 cores), with the Python SDK's progress.
	_, progress := run("ml", "computetarget", "create", "aks", "-n", "myaks", "-g", "myresourcegroup", "-w", "myworkspace", "--location", "simulated")
	if !strings.Contains(progress, `Provisioning operation finished, operation "Succeeded"`) {
		t.Errorf("create progress: %q", progress)
	}
	out, _ := run("ml", "computetarget", "show", "-n", "myaks", "-g", "myresourcegroup", "-w", "myworkspace", "--query", "properties.properties.agentCount", "-o", "tsv")
	if out != "3\n" {
		t.Errorf("FastProd default agent count: %q", out)
	}

	// az aks show -n myexistingcluster -g myresourcegroup --query id
	run("aks", "create", "-n", "myexistingcluster", "-g", "myresourcegroup", "-l", "simulated", "--node-count", "3")
	id, _ := run("aks", "show", "-n", "myexistingcluster", "-g", "myresourcegroup", "--query", "id")
	want := `"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myresourcegroup/providers/Microsoft.ContainerService/managedClusters/myexistingcluster"` + "\n"
	if id != want {
		t.Fatalf("aks show --query id = %q, want %q", id, want)
	}
	bare, _ := run("aks", "show", "-n", "myexistingcluster", "-g", "myresourcegroup", "--query", "id", "-o", "tsv")
	if bare != strings.Trim(want, "\"\n")+"\n" {
		t.Errorf("-o tsv: %q", bare)
	}

	// az ml computetarget attach aks -n myaks2 -i aksresourceid -g myresourcegroup -w myworkspace
	run("ml", "computetarget", "attach", "aks", "-n", "myaks2", "-i", strings.Trim(id, "\"\n"), "-g", "myresourcegroup", "-w", "myworkspace")
	attached, _ := run("ml", "computetarget", "show", "-n", "myaks2", "-g", "myresourcegroup", "-w", "myworkspace", "--query", "properties.isAttachedCompute", "-o", "tsv")
	if attached != "True\n" {
		t.Errorf("attached compute isAttachedCompute = %q", attached)
	}
	// Deleting an attached compute is refused; detach is the way.
	if _, _, err := cli(t, dir, append([]string{"ml", "computetarget", "delete", "-n", "myaks2", "-g", "myresourcegroup", "-w", "myworkspace"}, c...)...); err == nil || !strings.Contains(err.Error(), "AttachedComputeDelete") {
		t.Errorf("delete of an attached compute: %v", err)
	}
	// az ml computetarget detach -n myaks2 -g myresourcegroup -w myworkspace
	run("ml", "computetarget", "detach", "-n", "myaks2", "-g", "myresourcegroup", "-w", "myworkspace")
	list, _ := run("ml", "computetarget", "list", "-g", "myresourcegroup", "-w", "myworkspace", "--query", "[].name", "-o", "tsv")
	if list != "myaks\n" {
		t.Errorf("computes after detach: %q", list)
	}
	// The cluster survives the detach.
	state, _ := run("aks", "show", "-n", "myexistingcluster", "-g", "myresourcegroup", "--query", "provisioningState", "-o", "tsv")
	if state != "Succeeded\n" {
		t.Errorf("cluster after detach: %q", state)
	}

	// Clean up through the CLI, as a user would.
	run("ml", "computetarget", "delete", "-n", "myaks", "-g", "myresourcegroup", "-w", "myworkspace", "--yes")
	run("aks", "delete", "-n", "myexistingcluster", "-g", "myresourcegroup", "--yes")
	if out, _ := run("aks", "list", "-g", "myresourcegroup", "--query", "length(@)"); !regexp.MustCompile(`^0\s*$`).MatchString(out) {
		t.Errorf("clusters left: %q", out)
	}
}
