package pki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestKubeconfigLoadsIntoRestConfig(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	caPEM, certPEM, keyPEM := mustRead(t, f.CACert), mustRead(t, f.AdminCert), mustRead(t, f.AdminKey)
	data, err := Kubeconfig("kubeml-test", "https://127.0.0.1:6443", caPEM, certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		t.Fatalf("clientcmd.Load: %v", err)
	}
	if cfg.CurrentContext != "kubeml-test" || len(cfg.Clusters) != 1 || len(cfg.AuthInfos) != 1 || len(cfg.Contexts) != 1 {
		t.Errorf("unexpected kubeconfig: %+v", cfg)
	}
	if auth := cfg.AuthInfos["kubeml-test"]; auth == nil || auth.ClientCertificate != "" || auth.ClientKey != "" {
		t.Errorf("kubeconfig refers to files instead of embedding data: %+v", auth)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatalf("ClientConfig: %v", err)
	}
	if rc.Host != "https://127.0.0.1:6443" {
		t.Errorf("Host = %q", rc.Host)
	}
	tls := rc.TLSClientConfig
	if string(tls.CAData) != string(caPEM) || string(tls.CertData) != string(certPEM) || string(tls.KeyData) != string(keyPEM) {
		t.Error("rest.Config TLS data differs from the PEM files")
	}

	fromFiles, err := KubeconfigFromFiles("kubeml-test", "https://127.0.0.1:6443", f.CACert, f.AdminCert, f.AdminKey)
	if err != nil || string(fromFiles) != string(data) {
		t.Errorf("KubeconfigFromFiles differs from Kubeconfig (err %v)", err)
	}
	path := filepath.Join(t.TempDir(), "admin.conf")
	if err := WriteKubeconfig(path, data); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig file: %v, %v; want mode 0600", info, err)
	}
}

func TestKubeconfigRejectsBadInput(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	// The admin certificate with the etcd key is a mismatched pair.
	_, err := Kubeconfig("", "", []byte("junk"), mustRead(t, f.AdminCert), mustRead(t, f.EtcdKey))
	if err == nil {
		t.Fatal("Kubeconfig accepted bad input")
	}
	for _, want := range []string{"cluster name", "server", "CA certificate", "client certificate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
