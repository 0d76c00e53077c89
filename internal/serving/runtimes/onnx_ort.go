//go:build ort

package runtimes

import (
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/ort"
)

// onnxLoader is ONNX Runtime, loaded from libonnxruntime.so.1 (see
// ort.LibraryPath): every opset and operator, ai.onnx.ml included, for
// models whose inputs and outputs are tensors (a ZipMap's sequence of maps
// is refused).
func onnxLoader() serving.Loader { return ort.Load }

// ONNXEngine names the ONNX runtime of this build.
const ONNXEngine = "onnxruntime"
