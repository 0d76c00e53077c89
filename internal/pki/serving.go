package pki

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ServingFiles are a CA and one serving certificate signed by it.
type ServingFiles struct {
	CACert, CAKey, Cert, Key string
}

// EnsureServing makes (or keeps, when still valid and for the same names)
// a CA and a serving certificate for ips and dns in dir: what a server
// needs to speak HTTPS to clients that trust the CA.
func EnsureServing(dir, name string, ips []net.IP, dns []string) (ServingFiles, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return ServingFiles{}, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	path := func(n string) string { return filepath.Join(dir, n) }
	f := ServingFiles{CACert: path("ca.crt"), CAKey: path("ca.key"), Cert: path("serving.crt"), Key: path("serving.key")}
	now := time.Now()
	ca, err := ensureCA(name, f.CACert, f.CAKey, now, DefaultValidity)
	if err != nil {
		return ServingFiles{}, err
	}
	spec := certSpec{name: "serving", cn: name, dns: uniqStrings(dns), ips: uniqIPs(ips), usages: serverAuth}
	if err := ensureLeaf(spec, ca, f.Cert, f.Key, now, DefaultValidity); err != nil {
		return ServingFiles{}, err
	}
	return f, nil
}
