package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
)

func selfSigned(t *testing.T, cn string) (certPEM, keyPEM string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

// With SSL enabled the router serves HTTPS with the compute's certificate,
// kept in a Secret in kubeml-system; the GET never shows the key.
func TestAttachWithSSLGivesTheRouterTheCertificate(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("sslws")
	cid := s.makeCluster("tlscluster", 1, "Standard_D3_v2")
	cert, key := selfSigned(t, "scoring.example.test")
	body := attachBody(cid, "DevTest")
	body.Properties.Properties.SSLConfiguration = &api.SSLConfiguration{Status: "Enabled", Cert: cert, Key: key, Cname: "scoring.example.test"}
	code, h, out := s.call("PUT", ws+"/computes/secure"+av, body)
	if code != 201 || strings.Contains(string(out), "PRIVATE KEY") {
		t.Fatalf("attach: %d %s", code, out)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("attach: %+v", op)
	}
	if _, _, out := s.call("GET", ws+"/computes/secure"+av, nil); strings.Contains(string(out), "PRIVATE KEY") || !strings.Contains(string(out), "scoring.example.test") {
		t.Fatalf("GET: %s", out)
	}
	cs := s.adminClient(cid)
	sec, err := cs.CoreV1().Secrets(attach.Namespace).Get(context.Background(), attach.RouterTLSName, metav1.GetOptions{})
	if err != nil || string(sec.Data["tls.crt"]) != cert || string(sec.Data["tls.key"]) != key {
		t.Fatalf("TLS secret: %v", err)
	}
	dep, err := cs.AppsV1().Deployments(attach.Namespace).Get(context.Background(), attach.RouterName, metav1.GetOptions{})
	if err != nil || !strings.Contains(strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "), "--tls-cert-file /tls/tls.crt") {
		t.Fatalf("router deployment: %v %v", err, dep.Spec.Template.Spec.Containers[0].Args)
	}
	_, h, _ = s.call("DELETE", ws+"/computes/secure"+av+"&underlyingResourceAction=Detach", nil)
	s.wait(h)
	if objs := s.managed(cid); len(objs) != 0 {
		t.Fatalf("left after detach: %v", objs)
	}
}
