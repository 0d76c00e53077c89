package api

// KubernetesVersionList is the answer of
// .../locations/{loc}/kubernetesVersions.
type KubernetesVersionList struct {
	Values []KubernetesVersion `json:"values"`
}

// KubernetesVersion is one minor version with its patches.
type KubernetesVersion struct {
	Version       string                  `json:"version"`
	IsDefault     bool                    `json:"isDefault,omitempty"`
	IsPreview     bool                    `json:"isPreview,omitempty"`
	PatchVersions map[string]PatchVersion `json:"patchVersions"`
	Capabilities  map[string]any          `json:"capabilities,omitempty"`
}

// PatchVersion lists the versions a patch can upgrade to.
type PatchVersion struct {
	Upgrades []string `json:"upgrades"`
}

// OrchestratorVersionProfileList is the older
// .../locations/{loc}/orchestrators answer, which `az aks get-versions`
// flattens to its properties.
type OrchestratorVersionProfileList struct {
	ID         string                      `json:"id"`
	Name       string                      `json:"name"`
	Type       string                      `json:"type"`
	Properties OrchestratorVersionProfiles `json:"properties"`
}

// OrchestratorVersionProfiles holds the orchestrators.
type OrchestratorVersionProfiles struct {
	Orchestrators []OrchestratorVersionProfile `json:"orchestrators"`
}

// OrchestratorVersionProfile is one version.
type OrchestratorVersionProfile struct {
	OrchestratorType    string                `json:"orchestratorType"`
	OrchestratorVersion string                `json:"orchestratorVersion"`
	Default             bool                  `json:"default,omitempty"`
	IsPreview           bool                  `json:"isPreview,omitempty"`
	Upgrades            []OrchestratorUpgrade `json:"upgrades"`
}

// OrchestratorUpgrade is one upgrade target.
type OrchestratorUpgrade struct {
	OrchestratorType    string `json:"orchestratorType"`
	OrchestratorVersion string `json:"orchestratorVersion"`
	IsPreview           bool   `json:"isPreview,omitempty"`
}
