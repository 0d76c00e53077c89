package lightgbm

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// xgboostJSON is the start of an XGBoost JSON model.
const xgboostJSON = `{"learner":{"attributes":{},"gradient_booster":{"name":"gbtree","model":{"trees":[],"tree_info":[]}},` +
	`"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"4"},` +
	`"objective":{"name":"binary:logistic"}},"version":[1,7,4]}`

func TestRefusesOtherFormats(t *testing.T) {
	cases := map[string]struct {
		data string
		want string
	}{
		"xgboost json":     {xgboostJSON, "XGBoost JSON"},
		"xgboost ubjson":   {"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{", "XGBoost UBJSON"},
		"xgboost binf":     {"binf\x00\x00\x00?\x1e\x00\x00\x00\x00\x00\x00\x00", "XGBoost binary"},
		"xgboost 1.0 bin":  {"\x00\x00\x00?\x1e\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", "XGBoost binaries"},
		"tree with nul":    {"tree\x00version=v3\n", "not a LightGBM"},
		"random text":      {"hello world\n", "not a LightGBM"},
		"version v5":       {"tree\nversion=v5\nnum_class=1\n", `version "v5"`},
		"linear tree":      {strings.Replace(multiclass, "num_leaves=1\n", "num_leaves=1\nis_linear=1\n", 1), "linear trees"},
		"multiclassova":    {strings.Replace(multiclass, "objective=multiclass num_class:3", "objective=multiclassova num_class:3 sigmoid:1", 1), "multiclassova"},
		"regression sqrt":  {strings.Replace(multiclass, "objective=multiclass num_class:3", "objective=regression sqrt", 1), "sqrt"},
		"sigmoid 2":        {simpleWith(t, "objective=binary sigmoid:1", "objective=binary sigmoid:2"), "sigmoid"},
		"unknown":          {simpleWith(t, "objective=binary sigmoid:1", "objective=made_up"), `"made_up"`},
		"json decision":    {`{"name":"tree","version":"v3","num_class":1,"max_feature_idx":0,"tree_info":[{"tree_structure":{"split_feature":0,"threshold":1,"decision_type":">","missing_type":"None","left_child":{"leaf_value":1},"right_child":{"leaf_value":2}}}]}`, `">"`},
		"num_tree_per_itr": {strings.Replace(multiclass, "num_tree_per_iteration=3", "num_tree_per_iteration=1", 1), "num_tree_per_iteration"},
	}
	for name, c := range cases {
		_, err := Load([]byte(c.data))
		if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrUnsupported naming %q", name, err, c.want)
		}
	}
}

func simpleWith(t testing.TB, old, new string) string {
	s := string(readFile(t, "model_simple.txt"))
	if !strings.Contains(s, old) {
		t.Fatalf("model_simple.txt has no %q", old)
	}
	return strings.Replace(s, old, new, -1)
}

func TestCorrupt(t *testing.T) {
	tree0 := func(old, new string) string { return simpleWith(t, old, new) }
	jsonTree := func(structure string) string {
		return `{"name":"tree","version":"v2","num_class":1,"max_feature_idx":1,"tree_info":[{"tree_structure":` + structure + `}]}`
	}
	cases := map[string]string{
		"empty":           "",
		"no version":      "tree\nnum_class=1\n",
		"header only":     "tree\nversion=v3\nnum_class=1\nmax_feature_idx=1\n",
		"num_class 0":     tree0("num_class=1", "num_class=0"),
		"max feature":     tree0("max_feature_idx=1", "max_feature_idx=0"),
		"huge feature":    tree0("max_feature_idx=1", "max_feature_idx=99999999999"),
		"huge leaves":     tree0("num_leaves=3", "num_leaves=1000000000000"),
		"leaf count":      tree0("num_leaves=3", "num_leaves=4"),
		"child range":     tree0("right_child=1 -3", "right_child=7 -3"),
		"child self":      tree0("right_child=1 -3", "right_child=0 -3"),
		"leaf range":      tree0("left_child=-1 -2", "left_child=-9 -2"),
		"leaf twice":      tree0("left_child=-1 -2", "left_child=-1 -1"),
		"split feature":   tree0("split_feature=1 0", "split_feature=2 0"),
		"decision type":   tree0("decision_type=9 2", "decision_type=13 2"),
		"cat index":       tree0("threshold=0 340.50000000000006", "threshold=3 340.50000000000006"),
		"cat boundaries":  tree0("cat_boundaries=0 4", "cat_boundaries=0 9"),
		"not a number":    tree0("leaf_value=0.56697267424823339", "leaf_value=zero"),
		"missing field":   tree0("threshold=0 340.50000000000006\n", ""),
		"tree_sizes":      tree0("tree_sizes=358 365", "tree_sizes=358 365 1"),
		"json truncated":  jsonTree(`{"leaf_value":`),
		"json no leaf":    jsonTree(`{}`),
		"json null child": jsonTree(`{"split_feature":0,"threshold":1,"decision_type":"<=","missing_type":"None","left_child":{"leaf_value":1}}`),
		"json feature":    jsonTree(`{"split_feature":5,"threshold":1,"decision_type":"<=","missing_type":"None","left_child":{"leaf_value":1},"right_child":{"leaf_value":2}}`),
		"json category":   jsonTree(`{"split_feature":0,"threshold":"2147483647","decision_type":"==","missing_type":"None","left_child":{"leaf_value":1},"right_child":{"leaf_value":2}}`),
		"json missing":    jsonTree(`{"split_feature":0,"threshold":1,"decision_type":"<=","missing_type":"Maybe","left_child":{"leaf_value":1},"right_child":{"leaf_value":2}}`),
		"json not a dump": `{"name":"tree"}`,
	}
	for name, data := range cases {
		if _, err := Load([]byte(data)); err != nil {
			t.Logf("%s: %v", name, err)
		} else {
			t.Errorf("%s: loaded a corrupt model", name)
		}
	}
}

func TestBadInput(t *testing.T) {
	m := load(t, []byte(multiclass))
	row := model.Tensor{Name: "input", DataType: model.FP32, Shape: []int64{1, 3}, FP32: []float32{1, 2, 3}}
	cases := map[string]struct {
		in   []model.Tensor
		want string
	}{
		"shape":    {[]model.Tensor{row}, `input "input": got shape [1 3], want [-1 2]`},
		"rank":     {[]model.Tensor{{DataType: model.FP32, Shape: []int64{2}, FP32: []float32{1, 2}}}, `want [-1 2]`},
		"length":   {[]model.Tensor{{DataType: model.FP64, Shape: []int64{2, 2}, FP64: []float64{1, 2}}}, `needs 4 values, got 2`},
		"huge":     {[]model.Tensor{{DataType: model.FP32, Shape: []int64{math.MaxInt64 / 2, 2}}}, `input "input"`},
		"name":     {[]model.Tensor{{Name: "x", DataType: model.FP32, Shape: []int64{0, 2}}}, `unknown input "x"`},
		"count":    {[]model.Tensor{row, row}, `got 2 inputs`},
		"datatype": {[]model.Tensor{{DataType: "BYTES", Shape: []int64{0, 2}}}, `datatype`},
	}
	for name, c := range cases {
		_, err := m.Predict(context.Background(), c.in)
		if !errors.Is(err, model.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrBadInput containing %q", name, err, c.want)
		}
	}
	ints := predict(t, m, model.Tensor{DataType: model.INT64, Shape: []int64{1, 2}, Int64: []int64{2, 1}})
	if !reflect.DeepEqual(ints.Shape, []int64{1, 3}) || ints.FP32[0] != 0 {
		t.Errorf("INT64 row: got %v %v", ints.Shape, ints.FP32)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := model.Tensor{DataType: model.FP32, Shape: []int64{1, 2}, FP32: []float32{0, 0}}
	if _, err := m.Predict(ctx, []model.Tensor{in}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}

// TestRecoversFromLeaves feeds leaves, bypassing validate, models that
// make it panic, to check that the panic becomes an error.
func TestRecoversFromLeaves(t *testing.T) {
	const head = "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=0\ntree_sizes=0\n\n" +
		"Tree=0\nnum_leaves=2\nnum_cat=0\nleaf_value=1 2\nthreshold=1\ndecision_type=2\nright_child=-2\n"
	if _, err := loadLeaves([]byte(head + "split_feature=0\nleft_child=5\n\n")); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("bad child: got %v, want a recovered panic", err)
	}
	ens, err := loadLeaves([]byte(head + "split_feature=7\nleft_child=-1\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(ens, 1, 1, raw, false)
	in := model.Tensor{DataType: model.FP32, Shape: []int64{1, 1}, FP32: []float32{0}}
	if _, err := m.Predict(context.Background(), []model.Tensor{in}); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("bad feature: got %v, want a recovered panic", err)
	}
}
