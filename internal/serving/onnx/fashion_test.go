package onnx_test

import (
	"context"
	"os"
	"testing"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion/fashiontest"
	"github.com/kubeml/kubeml/internal/serving/model"
)

// TestFashionFixture runs the project's trained Fashion-MNIST MLP and
// compares the onnx runtime with the MLP's own predictions.
func TestFashionFixture(t *testing.T) {
	f := fashiontest.Fixture(t)
	data, err := os.ReadFile(f.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m := load(t, data)
	const n = 200
	out, err := m.Predict(context.Background(), []model.Tensor{{Name: fashion.InputName, DataType: model.FP32, Shape: []int64{n, 784}, FP32: f.Batch(n)}})
	if err != nil {
		t.Fatal(err)
	}
	worst := fashiontest.Compare(t, f, "onnx", out[0].FP32, n)
	if worst > 1e-5 {
		t.Errorf("largest probability difference %g > 1e-5", worst)
	}
	t.Logf("%d images, largest difference %.2g, fixture reused: %v, test accuracy %.4f", n, worst, f.Reused, f.TestAccuracy)
}

// BenchmarkPredictFashion measures one batch-1 request on the trained MLP.
func BenchmarkPredictFashion(b *testing.B) {
	f := fashiontest.Fixture(b)
	data, err := os.ReadFile(f.ModelPath)
	if err != nil {
		b.Fatal(err)
	}
	m := load(b, data)
	in := []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 784}, FP32: f.Images(1)[0]}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := m.Predict(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictFashionParallel is the same under concurrent callers.
func BenchmarkPredictFashionParallel(b *testing.B) {
	f := fashiontest.Fixture(b)
	data, err := os.ReadFile(f.ModelPath)
	if err != nil {
		b.Fatal(err)
	}
	m := load(b, data)
	in := []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 784}, FP32: f.Images(1)[0]}}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Predict(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
