//go:build ort

package ort_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion/fashiontest"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/ort"
)

// requireLibrary skips the test when ONNX Runtime cannot be loaded, except
// on CI, where the library must be there.
func requireLibrary(tb testing.TB) {
	tb.Helper()
	if err := ort.Init(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skipf("ONNX Runtime not available: %v", err)
	}
}

func load(tb testing.TB, data []byte) *ort.Model {
	tb.Helper()
	requireLibrary(tb)
	m, err := ort.Load(data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m.(*ort.Model)
}

func loadFashion(tb testing.TB) (*ort.Model, *fashion.Fixture) {
	tb.Helper()
	requireLibrary(tb)
	f := fashiontest.Fixture(tb)
	data, err := os.ReadFile(f.ModelPath)
	if err != nil {
		tb.Fatal(err)
	}
	return load(tb, data), f
}

func image(f *fashion.Fixture, imgs [][]float32, i int) []model.Tensor {
	return []model.Tensor{{Name: fashion.InputName, DataType: model.FP32, Shape: []int64{1, 784}, FP32: imgs[i]}}
}

// TestFashion compares ORT with the MLP's own predictions, in one batch and
// in batch-1 calls from concurrent goroutines.
func TestFashion(t *testing.T) {
	m, f := loadFashion(t)
	const n = 200
	imgs := f.Images(n)
	out, err := m.Predict(context.Background(), []model.Tensor{{Name: fashion.InputName, DataType: model.FP32, Shape: []int64{n, 784}, FP32: f.Batch(n)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Name != fashion.OutputName || !reflect.DeepEqual(out[0].Shape, []int64{n, 10}) {
		t.Fatalf("output %q shape %v, want %q [%d 10]", out[0].Name, out[0].Shape, fashion.OutputName, n)
	}
	worst := fashiontest.Compare(t, f, "ORT", out[0].FP32, n)
	if worst > 1e-5 {
		t.Errorf("largest probability difference %g > 1e-5", worst)
	}
	t.Logf("%d images, largest difference %.2g", n, worst)

	// Batch 1, sequentially then from 8 goroutines: identical results.
	const k = 64
	want := make([][]float32, k)
	for i := range want {
		r, err := m.Predict(context.Background(), image(f, imgs, i))
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r[0].FP32
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 4 {
				for i := (g + round) % 8; i < k; i += 8 {
					r, err := m.Predict(context.Background(), image(f, imgs, i))
					if err != nil {
						t.Error(err)
						return
					}
					if !reflect.DeepEqual(r[0].FP32, want[i]) {
						t.Errorf("goroutine %d, image %d: %v, want %v", g, i, r[0].FP32, want[i])
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestSpecsAndEngine(t *testing.T) {
	m, _ := loadFashion(t)
	if got, want := m.Inputs(), []model.Spec{{Name: fashion.InputName, DataType: model.FP32, Shape: []int64{-1, 784}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Inputs() = %v, want %v", got, want)
	}
	if got, want := m.Outputs(), []model.Spec{{Name: fashion.OutputName, DataType: model.FP32, Shape: []int64{-1, 10}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Outputs() = %v, want %v", got, want)
	}
	if m.Engine() != "onnxruntime" || m.Framework() != ort.FrameworkName {
		t.Errorf("Engine() %q, Framework() %q", m.Engine(), m.Framework())
	}
}

func TestBadInput(t *testing.T) {
	m, f := loadFashion(t)
	ctx := context.Background()
	for name, in := range map[string][]model.Tensor{
		"wrong shape":   {{Name: fashion.InputName, DataType: model.FP32, Shape: []int64{1, 783}, FP32: make([]float32, 783)}},
		"short data":    {{DataType: model.FP32, Shape: []int64{2, 784}, FP32: make([]float32, 784)}},
		"unknown input": {{Name: "pixels", DataType: model.FP32, Shape: []int64{1, 784}, FP32: make([]float32, 784)}},
		"no input":      nil,
		"bad datatype":  {{DataType: "BYTES", Shape: []int64{1, 784}}},
	} {
		_, err := m.Predict(ctx, in)
		if !errors.Is(err, model.ErrBadInput) {
			t.Errorf("%s: error %v does not wrap ErrBadInput", name, err)
		} else if !strings.Contains(err.Error(), `"`+fashion.InputName+`"`) && name != "unknown input" {
			t.Errorf("%s: error %q does not name the input", name, err)
		} else if name == "unknown input" && !strings.Contains(err.Error(), `"pixels"`) {
			t.Errorf("%s: error %q does not name the input", name, err)
		}
	}
	// Other numeric datatypes are converted to the declared FP32.
	img := f.Images(1)[0]
	want, err := m.Predict(ctx, image(f, [][]float32{img}, 0))
	if err != nil {
		t.Fatal(err)
	}
	x64 := make([]float64, len(img))
	for i, v := range img {
		x64[i] = float64(v)
	}
	got, err := m.Predict(ctx, []model.Tensor{{DataType: model.FP64, Shape: []int64{1, 784}, FP64: x64}})
	if err != nil || !reflect.DeepEqual(got[0].FP32, want[0].FP32) {
		t.Errorf("FP64 request: %v, %v; want %v", got, err, want[0].FP32)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Predict(canceled, image(f, [][]float32{img}, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestCorruptModel(t *testing.T) {
	requireLibrary(t)
	r := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	for name, data := range map[string][]byte{"random": junk, "empty": nil, "text": []byte("not a model\n")} {
		if m, err := ort.Load(data); err == nil {
			m.Close()
			t.Errorf("%s: Load succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestClose(t *testing.T) {
	m, f := loadFashion(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(context.Background(), image(f, f.Images(1), 0)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Predict after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// BenchmarkPredictFashion measures one batch-1 request on the trained MLP.
func BenchmarkPredictFashion(b *testing.B) {
	m, f := loadFashion(b)
	in := []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 784}, FP32: f.Images(1)[0]}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := m.Predict(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
