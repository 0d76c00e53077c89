package api

import "time"

// TypeService is the resource type of a web service (a model endpoint on
// an attached compute).
const TypeService = "Microsoft.MachineLearningServices/workspaces/services"

// Service is a web service: .../workspaces/{ws}/services/{name}. The
// top-level deploy settings are the defaults of every version.
type Service struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	SystemData *SystemData       `json:"systemData,omitempty"`
	Properties ServiceProperties `json:"properties"`
}

// ServiceProperties are a web service's deploy configuration and state.
type ServiceProperties struct {
	ComputeType string `json:"computeType,omitempty"` // AKS
	ComputeName string `json:"computeName"`
	Description string `json:"description,omitempty"`
	// Namespace is the Kubernetes namespace of the service's pods.
	Namespace string `json:"namespace,omitempty"`

	ServiceVersion

	AuthEnabled                       *bool `json:"authEnabled,omitempty"`
	TokenAuthEnabled                  *bool `json:"tokenAuthEnabled,omitempty"`
	ScoringTimeoutMs                  *int  `json:"scoringTimeoutMs,omitempty"`
	MaxConcurrentRequestsPerContainer *int  `json:"maxConcurrentRequestsPerContainer,omitempty"`
	MaxQueueWaitMs                    *int  `json:"maxQueueWaitMs,omitempty"`

	// Versions are the endpoint's versions (at most 6) behind one scoring
	// URI. Without them the service has one version, "default".
	Versions map[string]*ServiceVersion `json:"versions,omitempty"`

	// Read-only.
	State             string       `json:"state,omitempty"` // Transitioning, Healthy, Failed
	ProvisioningState string       `json:"provisioningState,omitempty"`
	ScoringURI        string       `json:"scoringUri,omitempty"`
	SwaggerURI        string       `json:"swaggerUri,omitempty"`
	Error             *ErrorDetail `json:"error,omitempty"`
	CreatedOn         *time.Time   `json:"createdTime,omitempty"`
	UpdatedOn         *time.Time   `json:"updatedTime,omitempty"`
}

// ServiceVersion is one version of a web service: its model and how it
// runs and scales.
type ServiceVersion struct {
	Models                        []ModelRef            `json:"models,omitempty"`
	ContainerResourceRequirements *ResourceRequirements `json:"containerResourceRequirements,omitempty"`
	// NumReplicas fixes the replica count (autoscale off).
	NumReplicas                *int               `json:"numReplicas,omitempty"`
	AutoScaler                 *AutoScaler        `json:"autoScaler,omitempty"`
	LivenessProbeRequirements  *ProbeRequirements `json:"livenessProbeRequirements,omitempty"`
	ReadinessProbeRequirements *ProbeRequirements `json:"readinessProbeRequirements,omitempty"`
	TrafficPercentile          *float64           `json:"trafficPercentile,omitempty"`
	IsDefault                  *bool              `json:"isDefault,omitempty"`
}

// ModelRef names a registered model version.
type ModelRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// ResourceRequirements of one model container (CPU in cores, memory in GB).
type ResourceRequirements struct {
	CPU           *float64 `json:"cpu,omitempty"`
	MemoryInGB    *float64 `json:"memoryInGB,omitempty"`
	CPULimit      *float64 `json:"cpuLimit,omitempty"`
	MemoryInGBLim *float64 `json:"memoryInGBLimit,omitempty"`
}

// AutoScaler scales a version between min and max replicas to keep its
// utilization near the target.
type AutoScaler struct {
	AutoscaleEnabled       *bool `json:"autoscaleEnabled,omitempty"`
	MinReplicas            *int  `json:"minReplicas,omitempty"`
	MaxReplicas            *int  `json:"maxReplicas,omitempty"`
	TargetUtilization      *int  `json:"targetUtilization,omitempty"`
	RefreshPeriodInSeconds *int  `json:"refreshPeriodInSeconds,omitempty"`
}

// ProbeRequirements of a model container's liveness or readiness probe.
type ProbeRequirements struct {
	PeriodSeconds       *int `json:"periodSeconds,omitempty"`
	InitialDelaySeconds *int `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      *int `json:"timeoutSeconds,omitempty"`
	FailureThreshold    *int `json:"failureThreshold,omitempty"`
	SuccessThreshold    *int `json:"successThreshold,omitempty"`
}

// ServiceKeys are a service's two keys.
type ServiceKeys struct {
	PrimaryKey   string `json:"primaryKey"`
	SecondaryKey string `json:"secondaryKey"`
}

// ServiceToken is a token for a service with token auth.
type ServiceToken struct {
	AccessToken  string    `json:"accessToken"`
	RefreshAfter time.Time `json:"refreshAfter"`
	ExpiryOn     time.Time `json:"expiryOn"`
}

// ServiceList is a page of services.
type ServiceList struct {
	Value    []Service `json:"value"`
	NextLink string    `json:"nextLink,omitempty"`
}
