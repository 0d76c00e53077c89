package serving

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// linear is a tiny classifier for the tests: probabilities =
// softmax(W·x + b) for rows x of 4 features and 3 classes, and, when
// withLabel is set, a second output "label" with each row's argmax. A row
// starting with 999 makes Predict fail as a broken model would; one
// starting with -999 makes it refuse the input.
type linear struct {
	w         [3][4]float32
	b         [3]float32
	withLabel bool
}

func newLinear(withLabel bool) *linear {
	return &linear{
		w:         [3][4]float32{{0.5, -1, 0.25, 2}, {-0.5, 1, 0, 1}, {1, 0.5, -2, 0}},
		b:         [3]float32{0.1, -0.2, 0.3},
		withLabel: withLabel,
	}
}

func (m *linear) Framework() string { return "onnx" }

func (m *linear) Inputs() []model.Spec {
	return []model.Spec{{Name: "input", DataType: model.FP32, Shape: []int64{-1, 4}}}
}

func (m *linear) Outputs() []model.Spec {
	out := []model.Spec{{Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 3}}}
	if m.withLabel {
		out = append(out, model.Spec{Name: "label", DataType: model.INT64, Shape: []int64{-1}})
	}
	return out
}

func (m *linear) Predict(_ context.Context, in []model.Tensor) ([]model.Tensor, error) {
	if len(in) != 1 || len(in[0].Shape) != 2 || in[0].Shape[1] != 4 {
		return nil, fmt.Errorf("input \"input\": want shape [-1 4]: %w", model.ErrBadInput)
	}
	x, err := in[0].Float32s()
	if err != nil {
		return nil, err
	}
	rows := int(in[0].Shape[0])
	probs := make([]float32, 0, rows*3)
	labels := make([]int64, 0, rows)
	for r := range rows {
		row := x[r*4 : r*4+4]
		switch row[0] {
		case 999:
			return nil, errors.New("the model broke")
		case -999:
			return nil, fmt.Errorf("row %d: %w", r, model.ErrBadInput)
		}
		var z [3]float32
		best := 0
		for k := range z {
			z[k] = m.b[k]
			for j, v := range row {
				z[k] += m.w[k][j] * v
			}
			if z[k] > z[best] {
				best = k
			}
		}
		var sum float32
		top := z[best]
		for k := range z {
			z[k] = float32(math.Exp(float64(z[k] - top)))
			sum += z[k]
		}
		for k := range z {
			probs = append(probs, z[k]/sum)
		}
		labels = append(labels, int64(best))
	}
	out := []model.Tensor{{Name: "probabilities", DataType: model.FP32, Shape: []int64{int64(rows), 3}, FP32: probs}}
	if m.withLabel {
		out = append(out, model.Tensor{Name: "label", DataType: model.INT64, Shape: []int64{int64(rows)}, Int64: labels})
	}
	return out, nil
}

func (m *linear) Close() error { return nil }

// expect computes the model's probabilities for one row independently, in
// float64 and without the max shift.
func expect(row []float64) []float64 {
	w := [3][4]float64{{0.5, -1, 0.25, 2}, {-0.5, 1, 0, 1}, {1, 0.5, -2, 0}}
	b := [3]float64{0.1, -0.2, 0.3}
	out := make([]float64, 3)
	var sum float64
	for k := range out {
		z := b[k]
		for j := range row {
			z += w[k][j] * row[j]
		}
		out[k] = math.Exp(z)
		sum += out[k]
	}
	for k := range out {
		out[k] /= sum
	}
	return out
}
