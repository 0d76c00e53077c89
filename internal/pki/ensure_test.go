package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnsureLeavesChainToCAWithRightUsages(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	roots := caPool(t, f)
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	tests := []struct {
		name      string
		path      string
		cn        string
		orgs      []string
		good, bad []x509.ExtKeyUsage
	}{
		{"apiserver", f.APIServerCert, "kube-apiserver", nil, server, client},
		{"admin", f.AdminCert, "kubernetes-admin", []string{"system:masters"}, client, server},
		{"kubelet client", f.APIServerKubeletClientCert, "kube-apiserver-kubelet-client", []string{"system:masters"}, client, server},
		{"kubelet", f.KubeletCert, "node-1", nil, server, client},
		{"node client", f.NodeClientCert, "system:node:node-1", []string{"system:nodes"}, client, server},
		{"etcd server", f.EtcdCert, "etcd", nil, server, nil},
		{"etcd client", f.EtcdCert, "etcd", nil, client, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := readCert(t, tt.path)
			if cert.Subject.CommonName != tt.cn {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.cn)
			}
			if !slices.Equal(cert.Subject.Organization, tt.orgs) {
				t.Errorf("O = %q, want %q", cert.Subject.Organization, tt.orgs)
			}
			if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || cert.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
				t.Errorf("public key is %T, want ECDSA P-256", cert.PublicKey)
			}
			if cert.IsCA || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
				t.Errorf("IsCA = %v, KeyUsage = %v; want a non-CA signing leaf", cert.IsCA, cert.KeyUsage)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: tt.good}); err != nil {
				t.Errorf("Verify(%v): %v", tt.good, err)
			}
			if tt.bad != nil {
				if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: tt.bad}); err == nil {
					t.Errorf("Verify(%v) succeeded, want an incompatible usage error", tt.bad)
				}
			}
		})
	}
}

func TestEnsureCA(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	ca := readCert(t, f.CACert)
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA: IsCA = %v, KeyUsage = %v", ca.IsCA, ca.KeyUsage)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA public key is %T, want ECDSA P-256", ca.PublicKey)
	}
	if ca.Subject.CommonName != "kubeml-test-ca" {
		t.Errorf("CA CN = %q", ca.Subject.CommonName)
	}
	if readCert(t, f.AdminCert).SerialNumber.Cmp(readCert(t, f.EtcdCert).SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

func TestEnsureServingSANs(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	roots := caPool(t, f)
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tests := []struct {
		path  string
		names []string
	}{
		{f.APIServerCert, []string{"127.0.0.1", "10.0.0.1", "192.168.7.10", "localhost", "kubernetes",
			"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "api.kubeml.test"}},
		{f.KubeletCert, []string{"127.0.0.1", "192.168.7.10", "node-1"}},
		{f.EtcdCert, []string{"127.0.0.1", "::1", "localhost"}},
	}
	for _, tt := range tests {
		cert := readCert(t, tt.path)
		for _, name := range tt.names {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: server, DNSName: name}); err != nil {
				t.Errorf("%s for %q: %v", filepath.Base(tt.path), name, err)
			}
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: server, DNSName: "evil.example"}); err == nil {
			t.Errorf("%s verified for evil.example", filepath.Base(tt.path))
		}
	}
}

func TestEnsureIsIdempotent(t *testing.T) {
	o := testOptions(t)
	first := mustEnsure(t, o)
	before := snapshot(t, o.Dir)
	second := mustEnsure(t, o)
	if first != second {
		t.Errorf("second Ensure returned %+v, want %+v", second, first)
	}
	if after := snapshot(t, o.Dir); !maps.Equal(before, after) {
		t.Error("second Ensure changed files")
	}
	for _, p := range []string{first.CACert, first.ServiceAccountPub, first.EtcdKey} {
		if !strings.HasPrefix(p, o.Dir+string(filepath.Separator)) {
			t.Errorf("%s is not inside %s", p, o.Dir)
		}
	}
}

func TestEnsureFileModes(t *testing.T) {
	o := testOptions(t)
	f := mustEnsure(t, o)
	if info, err := os.Stat(o.Dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("dir: %v, %v; want mode 0700", info, err)
	}
	// A loosened key mode is tightened again without touching the content.
	if err := os.Chmod(f.AdminKey, 0o644); err != nil {
		t.Fatal(err)
	}
	mustEnsure(t, o)
	v := reflect.ValueOf(f)
	for i := range v.NumField() {
		name, path := v.Type().Field(i).Name, v.Field(i).String()
		want := fs.FileMode(0o644)
		if strings.HasSuffix(name, "Key") {
			want = 0o600
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s (%s) mode = %v, want %v", name, filepath.Base(path), info.Mode().Perm(), want)
		}
	}
}

func TestEnsureInjectedClock(t *testing.T) {
	o := testOptions(t)
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	o.Now = func() time.Time { return now }
	o.Validity = 48 * time.Hour
	f := mustEnsure(t, o)
	for _, path := range []string{f.CACert, f.APIServerCert, f.NodeClientCert} {
		cert := readCert(t, path)
		if !cert.NotBefore.Equal(now.Add(-time.Minute)) {
			t.Errorf("%s NotBefore = %v, want %v", filepath.Base(path), cert.NotBefore, now.Add(-time.Minute))
		}
		if !cert.NotAfter.Equal(now.Add(48 * time.Hour)) {
			t.Errorf("%s NotAfter = %v, want %v", filepath.Base(path), cert.NotAfter, now.Add(48*time.Hour))
		}
	}

	// Once the clock passes NotAfter, everything is reissued.
	before := mustRead(t, f.CACert)
	now = now.Add(72 * time.Hour)
	mustEnsure(t, o)
	if string(before) == string(mustRead(t, f.CACert)) {
		t.Error("expired CA was kept")
	}
	if nb := readCert(t, f.AdminCert).NotBefore; !nb.Equal(now.Add(-time.Minute)) {
		t.Errorf("reissued admin NotBefore = %v, want %v", nb, now.Add(-time.Minute))
	}
}

func TestEnsureDefaultValidity(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	cert := readCert(t, f.AdminCert)
	if got := cert.NotAfter.Sub(cert.NotBefore); got < DefaultValidity || got > DefaultValidity+2*time.Minute {
		t.Errorf("validity = %v, want about %v", got, DefaultValidity)
	}
}

func TestEnsureRegeneratesOnlyWhatIsStale(t *testing.T) {
	o := testOptions(t)
	f := mustEnsure(t, o)
	ca, admin, etcd := mustRead(t, f.CACert), mustRead(t, f.AdminCert), mustRead(t, f.EtcdCert)
	saKey, apiserver := mustRead(t, f.ServiceAccountKey), mustRead(t, f.APIServerCert)

	if err := os.Remove(f.AdminKey); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.ServiceAccountPub); err != nil {
		t.Fatal(err)
	}
	o.APIServerDNS = append(o.APIServerDNS, "new.kubeml.test")
	mustEnsure(t, o)

	if string(mustRead(t, f.CACert)) != string(ca) || string(mustRead(t, f.EtcdCert)) != string(etcd) {
		t.Error("valid CA or etcd certificate was rewritten")
	}
	if string(mustRead(t, f.AdminCert)) == string(admin) {
		t.Error("admin certificate without key was kept")
	}
	if string(mustRead(t, f.APIServerCert)) == string(apiserver) {
		t.Error("apiserver certificate was not reissued for the new SAN")
	}
	if err := readCert(t, f.APIServerCert).VerifyHostname("new.kubeml.test"); err != nil {
		t.Error(err)
	}
	if string(mustRead(t, f.ServiceAccountKey)) != string(saKey) {
		t.Error("service account key was replaced; tokens would be invalidated")
	}
	pub, err := parsePublicKeyPEM(mustRead(t, f.ServiceAccountPub))
	key, kerr := ParseKeyPEM(saKey)
	if err != nil || kerr != nil || !publicKeysEqual(pub, key) {
		t.Errorf("restored sa.pub does not match sa.key: %v, %v", err, kerr)
	}

	// A new CA invalidates every leaf.
	if err := os.Remove(f.CAKey); err != nil {
		t.Fatal(err)
	}
	mustEnsure(t, o)
	roots := caPool(t, f)
	if _, err := readCert(t, f.EtcdCert).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("etcd certificate not reissued under the new CA: %v", err)
	}
}

func TestEnsureWithoutNode(t *testing.T) {
	o := testOptions(t)
	o.NodeName = ""
	f := mustEnsure(t, o)
	if f.KubeletCert != "" || f.KubeletKey != "" || f.NodeClientCert != "" || f.NodeClientKey != "" {
		t.Errorf("node files set without NodeName: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(o.Dir, "kubelet.crt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("kubelet.crt exists: %v", err)
	}
}

func TestEnsureValidatesOptions(t *testing.T) {
	_, err := Ensure(Options{Validity: -time.Hour})
	if err == nil {
		t.Fatal("Ensure accepted empty options")
	}
	for _, want := range []string{"Dir", "ClusterName", "Validity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
