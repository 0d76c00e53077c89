package lightgbm

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// numbers reads whitespace-separated numbers, one row per line. In libsvm
// lines the label is dropped and "i:v" pairs fill a row of width cols.
func numbers(t testing.TB, name string, libsvmCols int) ([]float64, int) {
	t.Helper()
	var vals []float64
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(string(readFile(t, name))), "\n") {
		fields := strings.Fields(line)
		row := make([]float64, 0, len(fields))
		if libsvmCols > 0 {
			row = make([]float64, libsvmCols)
		}
		for i, f := range fields {
			if libsvmCols > 0 {
				if i == 0 {
					continue
				}
				k, v, _ := strings.Cut(f, ":")
				col, err1 := strconv.Atoi(k)
				x, err2 := strconv.ParseFloat(v, 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: bad pair %q", name, f)
				}
				row[col] = x
				continue
			}
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, x)
		}
		vals = append(vals, row...)
		rows++
	}
	return vals, rows
}

func load(t testing.TB, data []byte) model.Model {
	t.Helper()
	m, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func predict(t testing.TB, m model.Model, in model.Tensor) model.Tensor {
	t.Helper()
	out, err := m.Predict(context.Background(), []model.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("got %d outputs", len(out))
	}
	return out[0]
}

func fp64(x []float64, rows int) model.Tensor {
	return model.Tensor{Name: InputName, DataType: model.FP64, Shape: []int64{int64(rows), int64(len(x) / rows)}, FP64: x}
}

func compare(t *testing.T, got []float32, want []float64, tol float64, f func(float64) float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		g := float64(got[i])
		if f != nil {
			g = f(g)
		}
		d := math.Abs(g - want[i])
		if !(d <= tol) {
			t.Errorf("value %d: got %v, want %v", i, g, want[i])
		}
		worst = max(worst, d)
	}
	t.Logf("max abs difference from LightGBM: %.3g", worst)
}

func checkSpecs(t *testing.T, m model.Model, features int64, out model.Spec) {
	t.Helper()
	if m.Framework() != "lightgbm" {
		t.Errorf("Framework() = %q", m.Framework())
	}
	wantIn := []model.Spec{{Name: "input", DataType: model.FP32, Shape: []int64{-1, features}}}
	if !reflect.DeepEqual(m.Inputs(), wantIn) {
		t.Errorf("Inputs() = %v, want %v", m.Inputs(), wantIn)
	}
	if !reflect.DeepEqual(m.Outputs(), []model.Spec{out}) {
		t.Errorf("Outputs() = %v, want %v", m.Outputs(), out)
	}
}

var probability = model.Spec{Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 1}}

func TestRandomForestIris(t *testing.T) {
	m := load(t, readFile(t, "lg_rf_iris.model"))
	checkSpecs(t, m, 4, probability)
	x, rows := numbers(t, "iris_test.libsvm", 4)
	want, _ := numbers(t, "lg_rf_iris_true_predictions.txt", 0)
	out := predict(t, m, fp64(x, rows))
	if !reflect.DeepEqual(out.Shape, []int64{int64(rows), 1}) || out.Name != "probabilities" {
		t.Errorf("output %s %v", out.Name, out.Shape)
	}
	compare(t, out.FP32, want, 1e-6, nil)
}

func TestDARTBreastCancer(t *testing.T) {
	text := readFile(t, "lg_dart_breast_cancer.model")
	x, rows := numbers(t, "breast_cancer_test.tsv", 0)
	want, _ := numbers(t, "lg_dart_breast_cancer_true_predictions.txt", 0)
	v4 := strings.Replace(string(text), "version=v2", "version=v4", 1)
	crlf := strings.ReplaceAll(string(text), "\n", "\r\n")
	for name, data := range map[string]string{"v2": string(text), "v4": v4, "crlf": crlf} {
		t.Run(name, func(t *testing.T) {
			m := load(t, []byte(data))
			checkSpecs(t, m, 30, probability)
			compare(t, predict(t, m, fp64(x, rows)).FP32, want, 1e-6, nil)
			in32 := model.Tensor{DataType: model.FP32, Shape: []int64{int64(rows), 30}}
			for _, v := range x {
				in32.FP32 = append(in32.FP32, float32(v))
			}
			compare(t, predict(t, m, in32).FP32, want, 1e-6, nil)
		})
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestJSONDump(t *testing.T) {
	data := readFile(t, "lg_dart_breast_cancer.json")
	x, rows := numbers(t, "breast_cancer_test.tsv", 0)
	want, _ := numbers(t, "lg_dart_breast_cancer_true_predictions.txt", 0)

	// This dump does not record its objective: raw scores.
	m := load(t, data)
	checkSpecs(t, m, 30, model.Spec{Name: "predictions", DataType: model.FP32, Shape: []int64{-1, 1}})
	compare(t, predict(t, m, fp64(x, rows)).FP32, want, 1e-6, sigmoid)

	// Newer LightGBM writes "objective"; then the output is a probability.
	withObjective := strings.Replace(string(data), `"name": "tree",`, `"name": "tree", "objective": "binary sigmoid:1",`, 1)
	m = load(t, []byte(withObjective))
	checkSpecs(t, m, 30, probability)
	compare(t, predict(t, m, fp64(x, rows)).FP32, want, 1e-6, nil)
}

// TestCategoricalAndMissing uses leaves' own unit-test model and expected
// raw scores (its lgensemble_test.go), whose objective is binary.
func TestCategoricalAndMissing(t *testing.T) {
	m := load(t, readFile(t, "model_simple.txt"))
	checkSpecs(t, m, 2, probability)
	nan := math.NaN()
	x := []float64{0, 0, 1000, 0, 800, 0, 800, 100, 0, 100, 1000, nan, nan, nan}
	raw := []float64{0.29462594, 0.39565483, 0.39565483, 0.69580371, 0.69580371, 0.39565483, 0.29462594}
	want := make([]float64, len(raw))
	for i, r := range raw {
		want[i] = sigmoid(r)
	}
	compare(t, predict(t, m, fp64(x, 7)).FP32, want, 1e-7, nil)
}

// multiclass is a hand-written 3-class model, one stump per class.
const multiclass = `tree
version=v3
num_class=3
num_tree_per_iteration=3
label_index=0
max_feature_idx=1
objective=multiclass num_class:3
tree_sizes=1 1 1

Tree=0
num_leaves=2
num_cat=0
split_feature=1
threshold=0.5
decision_type=2
left_child=-1
right_child=-2
leaf_value=1000 -1000

Tree=1
num_leaves=1
num_cat=0
leaf_value=0

Tree=2
num_leaves=2
num_cat=0
split_feature=0
threshold=1.5
decision_type=8
left_child=-1
right_child=-2
leaf_value=0 1

end of trees
`

func TestMulticlass(t *testing.T) {
	m := load(t, []byte(multiclass))
	checkSpecs(t, m, 2, model.Spec{Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 3}})
	// Rows: feature 1 low (class 0 score 1000: no overflow to NaN), then
	// feature 1 high with feature 0 below, above and missing (NaN goes
	// right: default_left is unset, missing type NaN).
	x := []float64{0, 0, 1, 1, 2, 1, math.NaN(), 1}
	e := math.E
	want := []float64{1, 0, 0, 0, 0.5, 0.5, 0, 1 / (1 + e), e / (1 + e), 0, 1 / (1 + e), e / (1 + e)}
	out := predict(t, m, fp64(x, 4))
	if !reflect.DeepEqual(out.Shape, []int64{4, 3}) {
		t.Errorf("shape %v", out.Shape)
	}
	compare(t, out.FP32, want, 1e-7, nil)
}
