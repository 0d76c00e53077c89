package xgboost

import (
	"context"
	"math"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// FuzzLoad checks that no file makes Load or a following Predict panic or
// hang.
func FuzzLoad(f *testing.F) {
	for name := range fixtures {
		f.Add(readFile(f, name+".json"))
	}
	f.Add(readFile(f, "unsupported_dart.json"))
	f.Add([]byte(`{"learner":{"gradient_booster":{"name":"gbtree","model":{"trees":[{"left_children":[1,-1,-1],` +
		`"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[0.5,1,2],"default_left":[1,0,0],` +
		`"tree_param":{"num_nodes":"3"}}],"tree_info":[0]}},"learner_model_param":{"num_feature":"1"},` +
		`"objective":{"name":"reg:squarederror"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			return
		}
		nf := m.Inputs()[0].Shape[1]
		if nf > 4096 {
			return
		}
		in := model.Tensor{DataType: model.FP32, Shape: []int64{3, nf}, FP32: make([]float32, 3*nf)}
		for i := range in.FP32[nf:] {
			in.FP32[int(nf)+i] = float32(math.NaN())
			if i%2 == 1 {
				in.FP32[int(nf)+i] = float32(i) - 10
			}
		}
		if _, err := m.Predict(context.Background(), []model.Tensor{in}); err != nil {
			t.Fatalf("Predict on a loaded model: %v", err)
		}
	})
}

func benchmarkRows(b *testing.B, name string, rows int) {
	data, in, _ := loadCase(b, name)
	m, err := Load(data)
	if err != nil {
		b.Fatal(err)
	}
	nf := int(in.Shape[1])
	batch := model.Tensor{Name: InputName, DataType: model.FP32, Shape: []int64{int64(rows), int64(nf)}}
	for r := 0; r < rows; r++ {
		src := r % int(in.Shape[0])
		batch.FP32 = append(batch.FP32, in.FP32[src*nf:(src+1)*nf]...)
	}
	ctx := context.Background()
	inputs := []model.Tensor{batch}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(ctx, inputs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// Binary breast-cancer model: 10 trees of depth 3, 30 features.
func BenchmarkPredictBinary1(b *testing.B)    { benchmarkRows(b, "binary_logistic", 1) }
func BenchmarkPredictBinary1024(b *testing.B) { benchmarkRows(b, "binary_logistic", 1024) }

// Iris softprob model: 24 trees (8 rounds x 3 classes), 4 features.
func BenchmarkPredictSoftprob1024(b *testing.B) { benchmarkRows(b, "multi_softprob", 1024) }
