//go:build !ort

package runtimes

import (
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

// onnxLoader is the pure-Go ONNX runtime (gonnx, with chains of dense
// layers run directly). Building with -tags ort swaps in ONNX Runtime.
func onnxLoader() serving.Loader { return onnx.Load }

// ONNXEngine names the ONNX runtime of this build.
const ONNXEngine = "gonnx"
