// Package compute keeps a workspace's compute targets
// (Microsoft.MachineLearningServices/workspaces/computes): it validates
// requests with chains of named checks, creates computes on new managed
// clusters, attaches existing clusters (by managed cluster id, kubeconfig
// or a provider's cluster id) after a preflight, scales, detaches and
// deletes them through operations it registers on the operation engine,
// installs the scoring router in their clusters, and probes their health.
package compute
