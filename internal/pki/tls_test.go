package pki

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestTLSHandshake serves HTTPS with the apiserver certificate, requires
// client certificates signed by the CA, and connects through a rest.Config
// loaded from a Kubeconfig built with the admin certificate.
func TestTLSHandshake(t *testing.T) {
	f := mustEnsure(t, testOptions(t))
	serving, err := tls.LoadX509KeyPair(f.APIServerCert, f.APIServerKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := r.TLS.PeerCertificates[0].Subject
		fmt.Fprintf(w, "%s/%v", peer.CommonName, peer.Organization)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{serving},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    caPool(t, f),
	}
	srv.StartTLS()
	defer srv.Close()

	kubeconfig, err := KubeconfigFromFiles("kubeml-test", srv.URL, f.CACert, f.AdminCert, f.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with admin certificate: %v", err)
	}
	body := make([]byte, 100)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if got := string(body[:n]); got != "kubernetes-admin/[system:masters]" {
		t.Errorf("server saw client %q", got)
	}

	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, f)}}}
	resp, err = noCert.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET without a client certificate succeeded")
	}
	if !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("GET without a client certificate failed for another reason: %v", err)
	}
}
