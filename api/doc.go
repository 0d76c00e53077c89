// Package api holds kubeml's wire types: the ARM-shaped JSON of
// workspaces, compute targets, managed clusters, Kubernetes versions,
// long-running operations and errors, as Azure Machine Learning and Azure
// Kubernetes Service clients send and expect them. It has no behaviour
// beyond parsing and formatting resource ids.
package api
