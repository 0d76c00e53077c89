package lightgbm

import (
	"context"
	"math"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// FuzzLoad checks that no file makes Load, leaves or a following Predict
// panic, hang or allocate without bound.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"model_simple.txt", "lg_rf_iris.model", "lg_dart_breast_cancer.model"} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(multiclass))
	f.Add([]byte(`{"name":"tree","version":"v3","num_class":1,"max_feature_idx":1,"objective":"binary sigmoid:1",` +
		`"tree_info":[{"num_leaves":3,"tree_structure":{"split_feature":1,"threshold":"0||3||40","decision_type":"==",` +
		`"default_left":false,"missing_type":"NaN","left_child":{"leaf_value":1},"right_child":{"split_feature":0,` +
		`"threshold":0.5,"decision_type":"<=","default_left":true,"missing_type":"Zero","left_child":{"leaf_value":2},` +
		`"right_child":{"leaf_value":3}}}}]}`))
	f.Add([]byte(xgboostJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			return
		}
		nf := m.Inputs()[0].Shape[1]
		if nf > 4096 {
			return
		}
		in := model.Tensor{DataType: model.FP64, Shape: []int64{4, nf}, FP64: make([]float64, 4*nf)}
		for i := range in.FP64[nf:] {
			in.FP64[int(nf)+i] = []float64{math.NaN(), 1, -3.5, 1e30, 41, 2}[i%6]
		}
		if _, err := m.Predict(context.Background(), []model.Tensor{in}); err != nil {
			t.Fatalf("Predict on a loaded model: %v", err)
		}
	})
}

func benchmarkRows(b *testing.B, rows int) {
	x, n := numbers(b, "breast_cancer_test.tsv", 0)
	m := load(b, readFile(b, "lg_dart_breast_cancer.model"))
	in := model.Tensor{Name: InputName, DataType: model.FP32, Shape: []int64{int64(rows), 30}}
	for r := 0; r < rows; r++ {
		for _, v := range x[(r%n)*30 : (r%n+1)*30] {
			in.FP32 = append(in.FP32, float32(v))
		}
	}
	ctx := context.Background()
	inputs := []model.Tensor{in}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(ctx, inputs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// DART breast-cancer model: 10 trees of up to 10 leaves, 30 features.
func BenchmarkPredict1(b *testing.B)    { benchmarkRows(b, 1) }
func BenchmarkPredict1024(b *testing.B) { benchmarkRows(b, 1024) }
