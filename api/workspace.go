package api

// Workspace is a Microsoft.MachineLearningServices workspace.
type Workspace struct {
	ID         string              `json:"id,omitempty"`
	Name       string              `json:"name,omitempty"`
	Type       string              `json:"type,omitempty"`
	Location   string              `json:"location,omitempty"`
	Tags       map[string]string   `json:"tags,omitempty"`
	SystemData *SystemData         `json:"systemData,omitempty"`
	Properties WorkspaceProperties `json:"properties"`
}

// WorkspaceProperties are a workspace's properties.
type WorkspaceProperties struct {
	WorkspaceID       string `json:"workspaceId,omitempty"`
	Description       string `json:"description,omitempty"`
	FriendlyName      string `json:"friendlyName,omitempty"`
	ProvisioningState string `json:"provisioningState,omitempty"`
}

// WorkspaceList is a page of workspaces.
type WorkspaceList struct {
	Value    []Workspace `json:"value"`
	NextLink string      `json:"nextLink,omitempty"`
}
