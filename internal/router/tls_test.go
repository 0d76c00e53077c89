package router

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// With a certificate the router serves HTTPS (the compute's SSL setting).
func TestRunServesTLS(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler()) // only for its certificate
	defer ts.Close()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	c := ts.TLS.Certificates[0]
	if err := os.WriteFile(cert, pemCert(c.Certificate[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pemKey(t, c.PrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan string, 1)
	r := New(Config{Listen: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key, Ready: func(a string) { addrs <- a }})
	go r.Run(ctx)
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // test certificate
	resp, err := hc.Get("https://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET https /readyz: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
}
