package runtimes_test

import (
	"context"
	"os"
	"testing"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion/fashiontest"
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/runtimes"
)

// TestONNXEngine loads the fashion model with this build's ONNX runtime
// (the pure-Go one, or ONNX Runtime with -tags ort) and checks what it
// predicts.
func TestONNXEngine(t *testing.T) {
	if runtimes.ONNXEngine == "onnxruntime" && os.Getenv("KUBEML_ORT_LIB") == "" && os.Getenv("CI") != "true" {
		t.Skip("KUBEML_ORT_LIB is not set (.ci/fetch-ort prints a path for it)")
	}
	f := fashiontest.Fixture(t)
	data, err := os.ReadFile(f.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtimes.All()[serving.ONNX](data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	engine := m.(interface{ Engine() string }).Engine()
	want := map[string]string{"gonnx": "dense", "onnxruntime": "onnxruntime"}[runtimes.ONNXEngine]
	if engine != want {
		t.Errorf("the fashion MLP runs on %q, want %q", engine, want)
	}
	const n = 50
	out, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: []int64{n, 784}, FP32: f.Batch(n)}})
	if err != nil {
		t.Fatal(err)
	}
	fashiontest.Compare(t, f, engine, out[0].FP32, n)
}
