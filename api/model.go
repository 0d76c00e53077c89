package api

import "time"

// TypeModelVersion is the resource type of a registered model version.
const TypeModelVersion = "Microsoft.MachineLearningServices/workspaces/models/versions"

// ModelVersion is one version of a model registered in a workspace:
// .../workspaces/{ws}/models/{name}/versions/{version}.
type ModelVersion struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"` // the version, as Azure ML names it
	Type       string                 `json:"type"`
	SystemData *SystemData            `json:"systemData,omitempty"`
	Properties ModelVersionProperties `json:"properties"`
}

// ModelVersionProperties describe the registered files.
type ModelVersionProperties struct {
	ModelName string `json:"modelName"`
	Version   int    `json:"version"`
	// ModelType is the framework: onnx, xgboost or lightgbm.
	ModelType   string            `json:"modelType"`
	FileName    string            `json:"fileName"`
	SHA256      string            `json:"sha256"`
	Size        int64             `json:"size"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Inputs and Outputs are what the runtime read from the model.
	Inputs            []TensorSpec `json:"inputs"`
	Outputs           []TensorSpec `json:"outputs"`
	CreatedAt         *time.Time   `json:"createdAt,omitempty"`
	ProvisioningState string       `json:"provisioningState"`
}

// TensorSpec is one input or output of a model; -1 is a dynamic dimension.
type TensorSpec struct {
	Name     string  `json:"name"`
	DataType string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelVersionList is a page of model versions.
type ModelVersionList struct {
	Value    []ModelVersion `json:"value"`
	NextLink string         `json:"nextLink,omitempty"`
}
