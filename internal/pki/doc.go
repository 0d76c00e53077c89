// Package pki generates, in pure Go and in a few milliseconds, the
// certificates and kubeconfigs a single-host Kubernetes cluster needs (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet).
//
// Ensure writes a cluster CA and the leaf certificates signed by it into one
// directory, with 0600 key files and 0644 certificates. It is idempotent:
// files that exist and are still valid (parseable, key matching, signed by the
// current CA, inside their validity window and issued for the requested
// names and usages) are kept byte for byte; anything missing or stale is
// regenerated. All keys are ECDSA P-256.
//
// Kubeconfig renders a self-contained kubeconfig that embeds the CA and the
// client credentials, for kubectl and for the cluster's own components.
package pki
