package fashion_test

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

// TestFixture exercises writing, reusing and re-keying a fixture with a
// small model, then checks the model file against Expected.
func TestFixture(t *testing.T) {
	data(t) // skip or fail without the dataset
	dir := t.TempDir()
	cfg := fashion.FixtureConfig{Options: fashion.Options{Epochs: 1, Hidden: 16, Samples: 3000, Seed: 5}, Cases: 40}
	f, err := fashion.NewFixtureWith(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.Reused || len(f.Expected) != 40 || f.TestAccuracy < 0.5 {
		t.Fatalf("new fixture: reused %v, %d cases, accuracy %.3f", f.Reused, len(f.Expected), f.TestAccuracy)
	}
	for _, name := range []string{fashion.ModelFile, fashion.ExpectedFile} {
		if st, err := os.Stat(dir + "/" + name); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v", name, err)
		}
	}

	again, err := fashion.NewFixtureWith(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || !reflect.DeepEqual(again.Expected, f.Expected) || !reflect.DeepEqual(again.Images(3), f.Images(3)) {
		t.Error("the second fixture was not reused as it was written")
	}

	// The model file predicts what Expected says.
	file, err := os.ReadFile(f.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i, img := range f.Images(10) {
		out, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 784}, FP32: img}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fashion.Argmax(out[0].FP32); got != f.Expected[i].Predicted {
			t.Errorf("case %d: class %d, expected %d", i, got, f.Expected[i].Predicted)
		}
	}

	cfg.Options.Seed = 6
	other, err := fashion.NewFixtureWith(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if other.Reused || reflect.DeepEqual(other.Expected, f.Expected) {
		t.Error("other options reused the old fixture")
	}
}
