package local

import (
	"os"
	"path/filepath"
	"testing"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubeml/kubeml/internal/pki"
)

// TestTheKubeletConfigHasOnlyFieldsTheKubeletKnows decodes the kubelet
// configuration kubeml writes strictly, as the kubelet's own type: the
// kubelet only warns about a field it does not know and goes on without
// it (so pod logs once went to the host's /var/log/pods).
func TestTheKubeletConfigHasOnlyFieldsTheKubeletKnows(t *testing.T) {
	dir := t.TempDir()
	ps := paths{dir: dir, run: filepath.Join(dir, "run"), kubelet: filepath.Join(dir, "kubelet")}
	pl := plan{Index: 7, KubeletPort: 10250, HealthzPort: 10248, Images: images{Kubeml: "kubeml.local/kubeml:x", Pause: "kubeml.local/pause:x"}}
	f, err := pki.Ensure(pki.Options{Dir: filepath.Join(dir, "pki"), ClusterName: "c7", NodeName: "node-7"})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNodeConfigs(ps, pl, f, "https://127.0.0.1:6443"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ps.kubeletConfig())
	if err != nil {
		t.Fatal(err)
	}
	var kc kubeletv1beta1.KubeletConfiguration
	if err := yaml.UnmarshalStrict(b, &kc); err != nil {
		t.Fatalf("the kubelet config does not decode strictly: %v\n%s", err, b)
	}
	if kc.PodLogsDir != ps.podLogs() {
		t.Errorf("podLogsDir = %q, want the node's own %q", kc.PodLogsDir, ps.podLogs())
	}
}
