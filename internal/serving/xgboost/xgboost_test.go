package xgboost

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// fixtures are the models testdata/gen.py trains, with the output each
// must declare.
var fixtures = map[string]model.Spec{
	"binary_logistic":  {Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 1}},
	"binary_logitraw":  {Name: "predictions", DataType: model.FP32, Shape: []int64{-1, 1}},
	"reg_logistic":     {Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 1}},
	"multi_softprob":   {Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 3}},
	"multi_softmax":    {Name: "predictions", DataType: model.FP32, Shape: []int64{-1}},
	"reg_squarederror": {Name: "predictions", DataType: model.FP32, Shape: []int64{-1, 1}},
	"random_forest":    {Name: "predictions", DataType: model.FP32, Shape: []int64{-1, 1}},
}

type expected struct {
	Inputs  [][]*float64      `json:"inputs"`
	Outputs []json.RawMessage `json:"outputs"`
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadCase returns the model file, its input batch and XGBoost's outputs.
func loadCase(t testing.TB, name string) ([]byte, model.Tensor, []float64) {
	t.Helper()
	var e expected
	if err := json.Unmarshal(readFile(t, name+".expected.json"), &e); err != nil {
		t.Fatal(err)
	}
	in := model.Tensor{Name: InputName, DataType: model.FP32, Shape: []int64{int64(len(e.Inputs)), int64(len(e.Inputs[0]))}}
	for _, row := range e.Inputs {
		for _, v := range row {
			if v == nil {
				in.FP32 = append(in.FP32, float32(math.NaN()))
			} else {
				in.FP32 = append(in.FP32, float32(*v))
			}
		}
	}
	var want []float64
	for _, raw := range e.Outputs {
		var one float64
		if err := json.Unmarshal(raw, &one); err == nil {
			want = append(want, one)
			continue
		}
		var many []float64
		if err := json.Unmarshal(raw, &many); err != nil {
			t.Fatal(err)
		}
		want = append(want, many...)
	}
	return readFile(t, name+".json"), in, want
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

func compare(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if !(d <= tol) {
			t.Errorf("value %d: got %v, want %v", i, got[i], want[i])
		}
		worst = max(worst, d)
	}
	t.Logf("max abs difference from xgboost: %.3g", worst)
}

func TestMatchesXGBoost(t *testing.T) {
	for name, spec := range fixtures {
		t.Run(name, func(t *testing.T) {
			data, in, want := loadCase(t, name)
			m, err := Load(data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Framework() != "xgboost" {
				t.Errorf("Framework() = %q", m.Framework())
			}
			wantIn := []model.Spec{{Name: "input", DataType: model.FP32, Shape: []int64{-1, in.Shape[1]}}}
			if !reflect.DeepEqual(m.Inputs(), wantIn) {
				t.Errorf("Inputs() = %v, want %v", m.Inputs(), wantIn)
			}
			if !reflect.DeepEqual(m.Outputs(), []model.Spec{spec}) {
				t.Errorf("Outputs() = %v, want %v", m.Outputs(), spec)
			}
			out := predict(t, m, in)
			wantShape := append([]int64{in.Shape[0]}, spec.Shape[1:]...)
			if out.Name != spec.Name || out.DataType != model.FP32 || !reflect.DeepEqual(out.Shape, wantShape) {
				t.Errorf("output %s %s %v, want %s FP32 %v", out.Name, out.DataType, out.Shape, spec.Name, wantShape)
			}
			compare(t, out.FP32, want, 1e-6)

			// The same rows as FP64, by position (empty name).
			in64 := model.Tensor{DataType: model.FP64, Shape: in.Shape}
			for _, v := range in.FP32 {
				in64.FP64 = append(in64.FP64, float64(v))
			}
			compare(t, predict(t, m, in64).FP32, want, 1e-6)
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestBaseScoreForms checks the base_score spellings of XGBoost versions.
func TestBaseScoreForms(t *testing.T) {
	data, in, want := loadCase(t, "binary_logistic")
	for _, form := range []any{"3E-1", "[3E-1]", "0.300000", 0.3, []float64{0.3}} {
		m, err := Load(edit(t, data, func(j map[string]any) {
			j["learner"].(map[string]any)["learner_model_param"].(map[string]any)["base_score"] = form
		}))
		if err != nil {
			t.Fatalf("base_score %v: %v", form, err)
		}
		compare(t, predict(t, m, in).FP32, want, 1e-5)
	}
}

// edit decodes a model, lets f change it and encodes it again.
func edit(t testing.TB, data []byte, f func(map[string]any)) []byte {
	t.Helper()
	var j map[string]any
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	f(j)
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstTree(j map[string]any) map[string]any {
	gb := j["learner"].(map[string]any)["gradient_booster"].(map[string]any)
	return gb["model"].(map[string]any)["trees"].([]any)[0].(map[string]any)
}

func TestUnsupported(t *testing.T) {
	logistic := readFile(t, "binary_logistic.json")
	cases := map[string]struct {
		data []byte
		want string
	}{
		"gblinear":    {readFile(t, "unsupported_gblinear.json"), `booster "gblinear"`},
		"dart":        {readFile(t, "unsupported_dart.json"), `booster "dart"`},
		"objective":   {readFile(t, "unsupported_poisson.json"), `objective "count:poisson"`},
		"split_type":  {edit(t, logistic, func(j map[string]any) { firstTree(j)["split_type"].([]any)[0] = 1 }), "categorical"},
		"categories":  {edit(t, logistic, func(j map[string]any) { firstTree(j)["categories"] = []int{1, 2} }), "categorical"},
		"ubjson":      {[]byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner{"), "UBJSON"},
		"legacy":      {[]byte("binf\x00\x00\x00?\x1e\x00\x00\x00"), "binary"},
		"lightgbm":    {[]byte("tree\nversion=v3\n"), "LightGBM"},
		"multitarget": {edit(t, logistic, func(j map[string]any) { learnerParam(j)["num_target"] = "2" }), "multi-target"},
	}
	for name, c := range cases {
		_, err := Load(c.data)
		if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrUnsupported naming %q", name, err, c.want)
		}
	}
}

func learnerParam(j map[string]any) map[string]any {
	return j["learner"].(map[string]any)["learner_model_param"].(map[string]any)
}

func TestCorrupt(t *testing.T) {
	data := readFile(t, "multi_softprob.json")
	set := func(key string, v any) []byte {
		return edit(t, data, func(j map[string]any) { firstTree(j)[key] = v })
	}
	cases := map[string][]byte{
		"empty":         nil,
		"truncated":     data[:len(data)/2],
		"not an object": []byte(`[1, 2]`),
		"no learner":    []byte(`{"version": [1, 7, 4]}`),
		"child range":   set("left_children", []int{99, 3, 5, -1, -1, -1, -1}),
		"child cycle":   set("left_children", []int{0, 3, 5, -1, -1, -1, -1}),
		"child shared":  set("right_children", []int{1, 4, 6, -1, -1, -1, -1}),
		"short arrays":  set("split_conditions", []float64{1}),
		"feature range": set("split_indices", []int{4, 0, 0, 0, 0, 0, 0}),
		"negative feat": set("split_indices", []int{-1, 0, 0, 0, 0, 0, 0}),
		"num_nodes":     set("tree_param", map[string]string{"num_nodes": "3"}),
		"tree_info": edit(t, data, func(j map[string]any) {
			gb := j["learner"].(map[string]any)["gradient_booster"].(map[string]any)
			gb["model"].(map[string]any)["tree_info"].([]any)[0] = 7
		}),
		"num_feature": edit(t, data, func(j map[string]any) { learnerParam(j)["num_feature"] = "0" }),
		"num_class":   edit(t, data, func(j map[string]any) { learnerParam(j)["num_class"] = "1000000000000" }),
		"base_score":  edit(t, readFile(t, "binary_logistic.json"), func(j map[string]any) { learnerParam(j)["base_score"] = "1" }),
	}
	for name, c := range cases {
		if _, err := Load(c); err == nil {
			t.Errorf("%s: loaded a corrupt model", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	data, in, _ := loadCase(t, "binary_logistic")
	m, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	row := model.Tensor{Name: "input", DataType: model.FP32, Shape: []int64{1, 3}, FP32: []float32{1, 2, 3}}
	cases := map[string]struct {
		in   []model.Tensor
		want string
	}{
		"shape":    {[]model.Tensor{row}, `input "input": got shape [1 3], want [-1 30]`},
		"rank":     {[]model.Tensor{{Name: "input", DataType: model.FP32, Shape: []int64{30}, FP32: in.FP32[:30]}}, `want [-1 30]`},
		"negative": {[]model.Tensor{{DataType: model.FP32, Shape: []int64{-1, 30}}}, `got shape [-1 30]`},
		"length":   {[]model.Tensor{{DataType: model.FP32, Shape: []int64{2, 30}, FP32: in.FP32[:30]}}, `needs 60 values, got 30`},
		"huge":     {[]model.Tensor{{DataType: model.FP32, Shape: []int64{math.MaxInt64 / 2, 30}}}, `input "input"`},
		"name":     {[]model.Tensor{{Name: "x", DataType: model.FP32, Shape: in.Shape, FP32: in.FP32}}, `unknown input "x"`},
		"count":    {[]model.Tensor{in, in}, `got 2 inputs`},
		"none":     {nil, `got 0 inputs`},
		"datatype": {[]model.Tensor{{DataType: "BYTES", Shape: []int64{0, 30}}}, `datatype`},
	}
	for name, c := range cases {
		_, err := m.Predict(context.Background(), c.in)
		if !errors.Is(err, model.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrBadInput containing %q", name, err, c.want)
		}
	}
	empty := predict(t, m, model.Tensor{DataType: model.INT64, Shape: []int64{0, 30}})
	if !reflect.DeepEqual(empty.Shape, []int64{0, 1}) || len(empty.FP32) != 0 {
		t.Errorf("empty batch: got shape %v, %d values", empty.Shape, len(empty.FP32))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, []model.Tensor{in}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
}
