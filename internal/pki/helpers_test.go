package pki

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		Dir:          filepath.Join(t.TempDir(), "pki"),
		ClusterName:  "kubeml-test",
		APIServerIPs: []net.IP{net.ParseIP("192.168.7.10")},
		APIServerDNS: []string{"api.kubeml.test"},
		NodeName:     "node-1",
		NodeIPs:      []net.IP{net.ParseIP("192.168.7.10")},
	}
}

func mustEnsure(t *testing.T, o Options) Files {
	t.Helper()
	f, err := Ensure(o)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return f
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, err := ParseCertPEM(mustRead(t, path))
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return cert
}

func caPool(t *testing.T, f Files) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, f.CACert))
	return pool
}

// snapshot maps every file in dir to its contents and modification time.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(mustRead(t, filepath.Join(dir, e.Name()))) +
			"|" + info.ModTime().Format(time.RFC3339Nano) + "|" + info.Mode().String()
	}
	return out
}
