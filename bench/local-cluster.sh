#!/usr/bin/env bash
# Times a local DevTest cluster made by kubeml against the same components
# started bare by hand in the same run, and measures the cluster's memory.
# Needs root and the Kubernetes binaries (`kubeml kube build`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench LocalClusterVsBare -benchtime "${1:-3}x" -timeout 20m ./internal/provider/local/
