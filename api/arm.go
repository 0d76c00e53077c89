package api

import (
	"fmt"
	"strings"
	"time"
)

// Resource types.
const (
	TypeWorkspace      = "Microsoft.MachineLearningServices/workspaces"
	TypeCompute        = "Microsoft.MachineLearningServices/workspaces/computes"
	TypeManagedCluster = "Microsoft.ContainerService/ManagedClusters"
)

// Provider namespaces as they appear in ids.
const (
	NamespaceML  = "Microsoft.MachineLearningServices"
	NamespaceAKS = "Microsoft.ContainerService"
)

// ErrorResponse is the ARM error body.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is one ARM error; Details holds one entry per problem when a
// request fails several checks.
type ErrorDetail struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Target  string        `json:"target,omitempty"`
	Details []ErrorDetail `json:"details,omitempty"`
}

func (e *ErrorDetail) Error() string { return e.Code + ": " + e.Message }

// SystemData records who made and changed a resource, and when.
type SystemData struct {
	CreatedBy          string     `json:"createdBy,omitempty"`
	CreatedByType      string     `json:"createdByType,omitempty"`
	CreatedAt          *time.Time `json:"createdAt,omitempty"`
	LastModifiedBy     string     `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string     `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     *time.Time `json:"lastModifiedAt,omitempty"`
}

// Operation is the body of an Azure-AsyncOperation status URL.
type Operation struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	StartTime *time.Time   `json:"startTime,omitempty"`
	EndTime   *time.Time   `json:"endTime,omitempty"`
	Error     *ErrorDetail `json:"error,omitempty"`
	// Properties carry the operation's latest progress step and what the
	// provider ignored of the request.
	Properties *OperationProperties `json:"properties,omitempty"`
}

// OperationProperties is kubeml's addition to the ARM operation status.
type OperationProperties struct {
	Progress string   `json:"progress,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Operation statuses.
const (
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusCanceled   = "Canceled"
)

// Provisioning states of resources.
const (
	StateUnknown   = "Unknown"
	StateCreating  = "Creating"
	StateUpdating  = "Updating"
	StateDeleting  = "Deleting"
	StateSucceeded = "Succeeded"
	StateFailed    = "Failed"
	StateCanceled  = "Canceled"
)

// ResourceID is a parsed ARM id of the resources kubeml serves.
type ResourceID struct {
	Subscription  string
	ResourceGroup string
	Namespace     string // NamespaceML or NamespaceAKS
	Type          string // "workspaces" or "managedClusters"
	Name          string
	// Child and ChildName are set for computes: "computes", name.
	Child, ChildName string
}

// String formats the id in its canonical casing.
func (r ResourceID) String() string {
	s := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s", r.Subscription, r.ResourceGroup, r.Namespace, r.Type, r.Name)
	if r.Child != "" {
		s += "/" + r.Child + "/" + r.ChildName
	}
	return s
}

// Key is the id lower-cased: ARM ids compare case-insensitively.
func (r ResourceID) Key() string { return strings.ToLower(r.String()) }

// WorkspaceID returns a workspace's id.
func WorkspaceID(sub, rg, ws string) ResourceID {
	return ResourceID{Subscription: sub, ResourceGroup: rg, Namespace: NamespaceML, Type: "workspaces", Name: ws}
}

// ComputeID returns a compute's id.
func ComputeID(sub, rg, ws, name string) ResourceID {
	id := WorkspaceID(sub, rg, ws)
	id.Child, id.ChildName = "computes", name
	return id
}

// ManagedClusterID returns a managed cluster's id.
func ManagedClusterID(sub, rg, name string) ResourceID {
	return ResourceID{Subscription: sub, ResourceGroup: rg, Namespace: NamespaceAKS, Type: "managedClusters", Name: name}
}

// ParseResourceID parses a workspace, compute or managed cluster id,
// case-insensitively, into canonical casing.
func ParseResourceID(s string) (ResourceID, error) {
	parts := strings.Split(strings.Trim(s, "/"), "/")
	bad := fmt.Errorf("invalid resource id %q: want /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name} or a workspace or compute id", s)
	if len(parts) != 8 && len(parts) != 10 {
		return ResourceID{}, bad
	}
	if !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") || !strings.EqualFold(parts[4], "providers") {
		return ResourceID{}, bad
	}
	id := ResourceID{Subscription: parts[1], ResourceGroup: parts[3], Name: parts[7]}
	switch {
	case strings.EqualFold(parts[5], NamespaceAKS) && strings.EqualFold(parts[6], "managedClusters") && len(parts) == 8:
		id.Namespace, id.Type = NamespaceAKS, "managedClusters"
	case strings.EqualFold(parts[5], NamespaceML) && strings.EqualFold(parts[6], "workspaces"):
		id.Namespace, id.Type = NamespaceML, "workspaces"
		if len(parts) == 10 {
			if !strings.EqualFold(parts[8], "computes") {
				return ResourceID{}, bad
			}
			id.Child, id.ChildName = "computes", parts[9]
		}
	default:
		return ResourceID{}, bad
	}
	for _, p := range []string{id.Subscription, id.ResourceGroup, id.Name} {
		if p == "" {
			return ResourceID{}, bad
		}
	}
	if id.Child != "" && id.ChildName == "" {
		return ResourceID{}, bad
	}
	return id, nil
}

// APIVersions are the api-versions kubeml accepts: those Azure ML and AKS
// clients send for these resources, whose shapes are compatible.
var APIVersions = []string{
	"2019-08-01", "2020-06-01", "2021-01-01", "2021-07-01", "2022-10-01", "2023-04-01", "2023-10-01", "2024-04-01", "2024-05-01",
}

// SupportedAPIVersion reports whether v is one of APIVersions.
func SupportedAPIVersion(v string) bool {
	for _, s := range APIVersions {
		if s == v {
			return true
		}
	}
	return false
}

// GUID formats 16 random bytes as the GUIDs ARM uses for ids
// (8-4-4-4-12 hex digits).
func GUID(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ResourceGroupID is a resource group's id, the parent of its resources.
func ResourceGroupID(sub, rg string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg
}
