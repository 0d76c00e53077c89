package local

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/template"

	"github.com/kubeml/kubeml/internal/pki"
)

var containerdTOML = template.Must(template.New("containerd").Parse(`version = 2
root = "{{.P.containerdRoot}}"
state = "{{.P.containerdState}}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{{.P.sock}}"

[ttrpc]
  address = "{{.P.sock}}.ttrpc"

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = "{{.P.containerdRoot}}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.Pause}}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{{.P.runcRoot}}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{{.P.cniConf}}"
    max_conf_num = 1
`))

var cniConflist = template.Must(template.New("cni").Parse(`{
  "cniVersion": "1.0.0",
  "name": "{{.Bridge}}",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "{{.Bridge}}",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "{{.P.cniData}}",
        "ranges": [[{"subnet": "{{.Subnet}}", "rangeStart": "{{.RangeStart}}"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
`))

var kubeletYAML = template.Must(template.New("kubelet").Parse(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: {{.CgroupRoot}}
containerRuntimeEndpoint: unix://{{.P.sock}}
address: {{.NodeIP}}
port: {{.KubeletPort}}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {{.HealthzPort}}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {{.CA}}
authorization:
  mode: Webhook
tlsCertFile: {{.Cert}}
tlsPrivateKeyFile: {{.Key}}
podLogsDir: {{.P.podLogs}}
protectKernelDefaults: false
failSwapOn: false
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 20
serializeImagePulls: false
resolvConf: /etc/resolv.conf
nodeStatusUpdateFrequency: 5s
`))

// writeNodeConfigs renders containerd's, the CNI's and the kubelet's
// configuration into the state dir.
func writeNodeConfigs(ps paths, pl plan, f pki.Files, server string) error {
	data := map[string]any{
		"P": map[string]string{
			"containerdRoot": ps.containerdRoot(), "containerdState": ps.containerdState(), "sock": ps.sock(),
			"runcRoot": ps.runcRoot(), "cniConf": ps.cniConf(), "cniData": ps.cniData(), "podLogs": ps.podLogs(),
		},
		"Pause": pl.Images.Pause, "Bridge": pl.bridge(), "Subnet": pl.subnet(),
		"RangeStart": "10.213." + strconv.Itoa(pl.Index) + ".10",
		"CgroupRoot": pl.cgroupRoot(), "NodeIP": pl.nodeIP().String(),
		"KubeletPort": pl.KubeletPort, "HealthzPort": pl.HealthzPort,
		"CA": f.CACert, "Cert": f.KubeletCert, "Key": f.KubeletKey,
	}
	for _, d := range []string{ps.cniConf(), ps.cniData(), ps.kubeletRoot(), ps.podLogs(), ps.runcRoot(), ps.run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	files := []struct {
		path string
		tmpl *template.Template
	}{
		{ps.containerdConfig(), containerdTOML},
		{filepath.Join(ps.cniConf(), "10-kubeml.conflist"), cniConflist},
		{ps.kubeletConfig(), kubeletYAML},
	}
	for _, fl := range files {
		var b bytes.Buffer
		if err := fl.tmpl.Execute(&b, data); err != nil {
			return fmt.Errorf("failed to render %s: %w", fl.path, err)
		}
		if err := os.WriteFile(fl.path, b.Bytes(), 0o600); err != nil {
			return err
		}
	}
	kc, err := pki.KubeconfigFromFiles("kubelet", server, f.CACert, f.NodeClientCert, f.NodeClientKey)
	if err != nil {
		return err
	}
	return pki.WriteKubeconfig(ps.kubeletKubeconfig(), kc)
}
