// Package runtimes lists every model runtime of this build, for the
// places that load models: the registry (to check a model when it is
// registered) and `kubeml serve-model` (to serve it).
package runtimes

import (
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/lightgbm"
	"github.com/kubeml/kubeml/internal/serving/xgboost"
)

// All returns the runtimes by framework name.
func All() serving.Runtimes {
	return serving.Runtimes{
		serving.ONNX:     onnxLoader(),
		serving.XGBoost:  xgboost.Load,
		serving.LightGBM: lightgbm.Load,
	}
}
