package pki

import (
	"crypto/x509"
	"net"
	"slices"
)

var (
	loopbackIPv4 = net.IPv4(127, 0, 0, 1)
	loopbackIPv6 = net.IPv6loopback
	// serviceIP is the first address of kube-apiserver's default service
	// range (10.0.0.0/24), the ClusterIP of the "kubernetes" service.
	serviceIP = net.IPv4(10, 0, 0, 1)

	apiServerDNS = []string{
		"localhost",
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	}

	serverAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	bothAuth   = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
)

// certSpec describes one leaf certificate.
type certSpec struct {
	name   string // file base name, without extension
	cn     string
	orgs   []string
	dns    []string
	ips    []net.IP
	usages []x509.ExtKeyUsage
}

// leaf pairs a spec with the Files fields that receive its paths.
type leaf struct {
	spec      certSpec
	cert, key *string
}

// UserGroup is the group of the cluster user's certificate.
const UserGroup = "kubeml:cluster-users"

func leaves(o Options, f *Files) []leaf {
	ls := []leaf{
		{certSpec{
			name:   "apiserver",
			cn:     "kube-apiserver",
			dns:    uniqStrings(apiServerDNS, o.APIServerDNS),
			ips:    uniqIPs([]net.IP{loopbackIPv4, serviceIP}, o.APIServerIPs),
			usages: serverAuth,
		}, &f.APIServerCert, &f.APIServerKey},
		{certSpec{
			name:   "admin",
			cn:     "kubernetes-admin",
			orgs:   []string{"system:masters"},
			usages: clientAuth,
		}, &f.AdminCert, &f.AdminKey},
		{certSpec{
			name:   "user",
			cn:     "clusterUser",
			orgs:   []string{UserGroup},
			usages: clientAuth,
		}, &f.UserCert, &f.UserKey},
		{certSpec{
			name:   "apiserver-kubelet-client",
			cn:     "kube-apiserver-kubelet-client",
			orgs:   []string{"system:masters"},
			usages: clientAuth,
		}, &f.APIServerKubeletClientCert, &f.APIServerKubeletClientKey},
		{certSpec{
			name:   "etcd",
			cn:     "etcd",
			dns:    []string{"localhost"},
			ips:    []net.IP{loopbackIPv4.To4(), loopbackIPv6},
			usages: bothAuth,
		}, &f.EtcdCert, &f.EtcdKey},
	}
	if o.NodeName == "" {
		return ls
	}
	return append(ls,
		leaf{certSpec{
			name:   "kubelet",
			cn:     o.NodeName,
			dns:    []string{o.NodeName},
			ips:    uniqIPs(o.NodeIPs, []net.IP{loopbackIPv4}),
			usages: serverAuth,
		}, &f.KubeletCert, &f.KubeletKey},
		leaf{certSpec{
			name:   "kubelet-client",
			cn:     "system:node:" + o.NodeName,
			orgs:   []string{"system:nodes"},
			usages: clientAuth,
		}, &f.NodeClientCert, &f.NodeClientKey},
	)
}

// matches reports whether cert was issued for exactly this spec's subject,
// names and usages.
func (s certSpec) matches(cert *x509.Certificate) bool {
	return cert.Subject.CommonName == s.cn &&
		sameSet(cert.Subject.Organization, s.orgs) &&
		sameSet(cert.ExtKeyUsage, s.usages) &&
		sameSet(cert.DNSNames, s.dns) &&
		sameSet(ipStrings(cert.IPAddresses), ipStrings(s.ips))
}

func sameSet[T comparable](a, b []T) bool {
	set := make(map[T]bool, len(a))
	for _, v := range a {
		set[v] = true
	}
	for _, v := range b {
		if !set[v] {
			return false
		}
		delete(set, v)
	}
	return len(set) == 0
}

func uniqStrings(lists ...[]string) []string {
	var out []string
	for _, s := range slices.Concat(lists...) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// uniqIPs concatenates lists, dropping duplicates and storing IPv4 addresses
// in their 4-byte form.
func uniqIPs(lists ...[]net.IP) []net.IP {
	var out []net.IP
	seen := map[string]bool{}
	for _, ip := range slices.Concat(lists...) {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if !seen[ip.String()] {
			seen[ip.String()] = true
			out = append(out, ip)
		}
	}
	return out
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
