package api

import "slices"

// Cluster purposes (a compute's clusterPurpose).
const (
	PurposeFastProd  = "FastProd"
	PurposeDenseProd = "DenseProd"
	PurposeDevTest   = "DevTest"
)

// What a cluster of each purpose needs (Azure ML's rules): production
// purposes at least ProductionNodes nodes and ProductionVCPUs vCPUs in
// all; DevTest at least one node, DevTestVCPUs vCPUs recommended.
const (
	ProductionVCPUs = 12
	ProductionNodes = 3
	DevTestVCPUs    = 2
)

// Purposes returns the cluster purposes, the default (FastProd) first.
func Purposes() []string { return []string{PurposeFastProd, PurposeDenseProd, PurposeDevTest} }

// ValidPurpose reports whether p is a cluster purpose.
func ValidPurpose(p string) bool { return slices.Contains(Purposes(), p) }

// ProductionPurpose reports whether p is a production purpose: FastProd
// or DenseProd.
func ProductionPurpose(p string) bool { return p == PurposeFastProd || p == PurposeDenseProd }
