//go:build ort

package runtimes

import (
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/ort"
)

// onnxLoader is ONNX Runtime, loaded from libonnxruntime.so.1 (see
// ort.LibraryPath): every opset and the ai.onnx.ml operators.
func onnxLoader() serving.Loader { return ort.Load }

// ONNXEngine names the ONNX runtime of this build.
const ONNXEngine = "onnxruntime"
