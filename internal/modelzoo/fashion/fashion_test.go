package fashion_test

import (
	"compress/gzip"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion/fashiontest"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

// dataset loads Fashion-MNIST once for the tests of this package.
var dataset = sync.OnceValues(func() (*fashion.Dataset, error) { return fashion.Load("") })

func data(t *testing.T) *fashion.Dataset {
	t.Helper()
	if _, err := dataset(); errors.Is(err, fashion.ErrNoDataset) {
		return fashiontest.Dataset(t) // skips, or fails under CI=true
	}
	d, err := dataset()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMissingDataset(t *testing.T) {
	_, err := fashion.Load(t.TempDir())
	if !errors.Is(err, fashion.ErrNoDataset) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("err = %v", err)
	}
}

func TestCorruptIdx(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte{0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3}) // 10 images promised
	zw.Close()
	f.Close()
	if _, err := fashion.LoadSplit(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "data") {
		t.Errorf("truncated idx file: %v", err)
	}
}

func TestDataset(t *testing.T) {
	d := data(t)
	if d.Train.Len() != 60000 || d.Test.Len() != 10000 || d.Test.Size() != 784 {
		t.Fatalf("sizes: train %d, test %d, image %d", d.Train.Len(), d.Test.Len(), d.Test.Size())
	}
	img := d.Test.Image(0)
	lo, hi := img[0], img[0]
	for _, v := range img {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 || d.Test.Labels[0] != 9 { // the first test image is an ankle boot
		t.Errorf("image 0: pixels in [%g,%g], label %d", lo, hi, d.Test.Labels[0])
	}
}

// TestTrainDefault trains the default model: accuracy, then the ONNX
// export through the serving runtime against MLP.Predict.
func TestTrainDefault(t *testing.T) {
	d := data(t)
	start := time.Now()
	opts, minAccuracy := fashion.DefaultOptions(), 0.80
	if raceDetector {
		opts.Epochs, opts.Samples, minAccuracy = 1, 3000, 0.6
		t.Log("race detector on: training on 3000 images for 1 epoch only")
	}
	opts.Progress = func(epoch int, loss float64) {
		t.Logf("epoch %d: loss %.4f (%v)", epoch, loss, time.Since(start).Round(time.Millisecond))
	}
	mlp, err := fashion.Train(context.Background(), d, opts)
	if err != nil {
		t.Fatal(err)
	}
	acc := mlp.Accuracy(d.Test.Images(d.Test.Len()), d.Test.Labels)
	t.Logf("trained in %v, test accuracy %.4f", time.Since(start).Round(time.Millisecond), acc)
	if acc < minAccuracy {
		t.Errorf("test accuracy %.4f < %.2f", acc, minAccuracy)
	}

	file, err := mlp.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in, out := m.Inputs(), m.Outputs()
	if !reflect.DeepEqual(in, []model.Spec{{Name: "input", DataType: model.FP32, Shape: []int64{-1, 784}}}) ||
		!reflect.DeepEqual(out, []model.Spec{{Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 10}}}) {
		t.Fatalf("specs: %+v -> %+v", in, out)
	}
	const n = 200
	images := d.Test.Images(n)
	x := make([]float32, 0, n*784)
	for _, img := range images {
		x = append(x, img...)
	}
	res, err := m.Predict(context.Background(), []model.Tensor{{Name: "input", DataType: model.FP32, Shape: []int64{n, 784}, FP32: x}})
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, img := range images {
		want, got := mlp.Predict(img), res[0].FP32[i*10:(i+1)*10]
		if fashion.Argmax(got) != fashion.Argmax(want) {
			t.Errorf("image %d: gonnx class %d, MLP class %d", i, fashion.Argmax(got), fashion.Argmax(want))
		}
		for k := range want {
			worst = max(worst, math.Abs(float64(got[k]-want[k])))
		}
	}
	t.Logf("gonnx vs MLP.Predict on %d images: largest difference %.2g", n, worst)
	if worst > 1e-5 {
		t.Errorf("largest probability difference %g > 1e-5", worst)
	}
}

func TestTrainDeterministic(t *testing.T) {
	d := data(t)
	opts := fashion.Options{Epochs: 1, Hidden: 16, Samples: 2000, Seed: 3}
	a, err := fashion.Train(context.Background(), d, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fashion.Train(context.Background(), d, opts)
	if !reflect.DeepEqual(a, b) {
		t.Error("equal options gave different weights")
	}
	opts.Seed = 4
	if c, _ := fashion.Train(context.Background(), d, opts); reflect.DeepEqual(a, c) {
		t.Error("another seed gave the same weights")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fashion.Train(ctx, d, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled training: %v", err)
	}
	if _, err := fashion.Train(context.Background(), d, fashion.Options{LearningRate: -1}); err == nil {
		t.Error("a negative learning rate was accepted")
	}
}

func TestPredictByHand(t *testing.T) {
	m := &fashion.MLP{Inputs: 2, Hidden: 2, Classes: 2,
		W1: []float32{1, 0, 0, -1}, B1: []float32{0, 0},
		W2: []float32{1, 0, 0, 1}, B2: []float32{0, 0}}
	// h = relu([x0, -x1]) = [2, 0]; logits [2, 0].
	p := m.Predict([]float32{2, 3})
	want := 1 / (1 + math.Exp(-2))
	if math.Abs(float64(p[0])-want) > 1e-7 || math.Abs(float64(p[1])-(1-want)) > 1e-7 {
		t.Errorf("p = %v, want [%g %g]", p, want, 1-want)
	}
	if m.Predict([]float32{1}) != nil {
		t.Error("a short input gave a prediction")
	}
}
