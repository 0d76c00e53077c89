package pki

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// DefaultValidity is how long certificates are valid when Options.Validity
// is zero.
const DefaultValidity = 10 * 365 * 24 * time.Hour

// Options for a cluster's PKI.
type Options struct {
	// Dir is where files go; it is created with mode 0700.
	Dir string
	// ClusterName names the CA.
	ClusterName string
	// APIServerIPs are SANs for the apiserver serving certificate;
	// 127.0.0.1 and 10.0.0.1 are always added.
	APIServerIPs []net.IP
	// APIServerDNS are SANs for the apiserver serving certificate; localhost,
	// kubernetes, kubernetes.default, kubernetes.default.svc and
	// kubernetes.default.svc.cluster.local are always added.
	APIServerDNS []string
	// NodeName is the kubelet's node name; "" means no node certificates.
	NodeName string
	// NodeIPs are SANs for the kubelet serving certificate (127.0.0.1 is
	// always added).
	NodeIPs []net.IP
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Validity is how long new certificates are valid; 0 means
	// DefaultValidity.
	Validity time.Duration
}

// Files are the paths Ensure wrote (all inside Dir).
type Files struct {
	CACert, CAKey string
	// APIServerCert is the kube-apiserver serving certificate.
	APIServerCert, APIServerKey string
	// AdminCert is a client certificate: CN kubernetes-admin, O system:masters.
	AdminCert, AdminKey string
	// UserCert is the cluster user's client certificate (what AKS's
	// listClusterUserCredential hands out): CN clusterUser, O UserGroup,
	// with only the rights the cluster grants that group.
	UserCert, UserKey string
	// APIServerKubeletClientCert is the apiserver's client certificate towards
	// kubelets: CN kube-apiserver-kubelet-client, O system:masters.
	APIServerKubeletClientCert, APIServerKubeletClientKey string
	// ServiceAccountKey and ServiceAccountPub are the PEM key pair for service
	// account tokens (--service-account-signing-key-file=ServiceAccountKey,
	// --service-account-key-file=ServiceAccountPub).
	ServiceAccountKey, ServiceAccountPub string
	// KubeletCert is the kubelet serving certificate (SANs NodeIPs, 127.0.0.1
	// and NodeName); empty when NodeName is "".
	KubeletCert, KubeletKey string
	// NodeClientCert is the kubelet's client certificate: CN
	// system:node:<NodeName>, O system:nodes; empty when NodeName is "".
	NodeClientCert, NodeClientKey string
	// EtcdCert is a server and client certificate for etcd on loopback.
	EtcdCert, EtcdKey string
}

func (o Options) validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Dir must not be empty"))
	}
	if o.ClusterName == "" {
		errs = append(errs, errors.New("ClusterName must not be empty"))
	}
	if o.Validity < 0 {
		errs = append(errs, fmt.Errorf("Validity must not be negative, got %s", o.Validity))
	}
	for i, ip := range o.APIServerIPs {
		if ip.To16() == nil {
			errs = append(errs, fmt.Errorf("APIServerIPs[%d] is not a valid IP", i))
		}
	}
	for i, ip := range o.NodeIPs {
		if ip.To16() == nil {
			errs = append(errs, fmt.Errorf("NodeIPs[%d] is not a valid IP", i))
		}
	}
	for i, name := range o.APIServerDNS {
		if name == "" {
			errs = append(errs, fmt.Errorf("APIServerDNS[%d] is empty", i))
		}
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Validity == 0 {
		o.Validity = DefaultValidity
	}
	return o
}
