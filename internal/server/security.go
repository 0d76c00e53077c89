package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeml/kubeml/internal/pki"
)

// Files in the data dir.
const (
	adminTokenFile = "admin-token"      // the token, for the CLI on this machine (0600)
	tokenHashFile  = "admin-token.hash" // what the server checks against
)

// ensureAdminToken makes the admin token on first start and returns the
// hash of the current one. Only the hash is needed to serve.
func ensureAdminToken(dataDir string, random func([]byte)) ([]byte, error) {
	hashPath := filepath.Join(dataDir, tokenHashFile)
	if b, err := os.ReadFile(hashPath); err == nil {
		h, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("%s is corrupt: remove it and %s to make a new token", hashPath, adminTokenFile)
		}
		return h, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	raw := make([]byte, 32)
	random(raw)
	token := "kml_" + hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	if err := os.WriteFile(filepath.Join(dataDir, adminTokenFile), []byte(token+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(hashPath, []byte(hex.EncodeToString(sum[:])+"\n"), 0o600); err != nil {
		return nil, err
	}
	return sum[:], nil
}

// authorized checks the request's bearer token against the hash.
func authorized(r *http.Request, hash []byte) bool {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}

// ensureServingCert returns the certificate files to serve with: the
// configured ones, or a CA (ca.crt, for clients) and a serving cert the
// server generates on first start, for loopback and this host's names.
func ensureServingCert(c Config) (certFile, keyFile string, err error) {
	if c.TLSCertFile != "" {
		return c.TLSCertFile, c.TLSKeyFile, nil
	}
	host, _ := os.Hostname()
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if h, _, err := net.SplitHostPort(c.Addr); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			ips = append(ips, ip)
		}
	}
	f, err := pki.EnsureServing(filepath.Join(c.DataDir, "tls"), "kubeml-server", ips, []string{"localhost", host})
	if err != nil {
		return "", "", fmt.Errorf("failed to make the server certificate: %w", err)
	}
	ca, err := os.ReadFile(f.CACert)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(c.DataDir, "ca.crt"), ca, 0o644); err != nil {
		return "", "", err
	}
	return f.Cert, f.Key, nil
}
