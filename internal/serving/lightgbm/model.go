package lightgbm

import (
	"context"
	"fmt"
	"math"

	"github.com/dmitryikh/leaves"
	"github.com/dmitryikh/leaves/transformation"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// InputName is the name of the model's only input.
const InputName = "input"

// chunkRows is how many rows Predict scores between context checks.
const chunkRows = 1024

// lgbModel wraps a leaves ensemble that returns raw scores; the output
// transform is applied here. Nothing in it changes after Load, and leaves'
// Ensemble keeps no state between predictions, so Predict is safe for
// concurrent use.
type lgbModel struct {
	ens        *leaves.Ensemble
	numFeature int
	groups     int
	out        output
	inputs     []model.Spec
	outputs    []model.Spec
}

func newModel(ens *leaves.Ensemble, numFeature, groups int, out output, prob bool) *lgbModel {
	m := &lgbModel{ens: ens, numFeature: numFeature, groups: groups, out: out}
	name := "predictions"
	if prob {
		name = "probabilities"
	}
	m.inputs = []model.Spec{{Name: InputName, DataType: model.FP32, Shape: []int64{-1, int64(numFeature)}}}
	m.outputs = []model.Spec{{Name: name, DataType: model.FP32, Shape: []int64{-1, int64(groups)}}}
	return m
}

// Framework is "lightgbm".
func (m *lgbModel) Framework() string { return "lightgbm" }

// Inputs declares "input" FP32 [-1, num_features].
func (m *lgbModel) Inputs() []model.Spec { return model.CloneSpecs(m.inputs) }

// Outputs declares the one output; see the package doc.
func (m *lgbModel) Outputs() []model.Spec { return model.CloneSpecs(m.outputs) }

// Close releases nothing; the model is plain Go memory.
func (m *lgbModel) Close() error { return nil }

// Predict scores a row-major batch.
func (m *lgbModel) Predict(ctx context.Context, inputs []model.Tensor) ([]model.Tensor, error) {
	x, rows, err := batch(inputs, m.numFeature)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, rows*m.groups)
	for start := 0; start < rows; start += chunkRows {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lightgbm: predict: %w", err)
		}
		end := min(start+chunkRows, rows)
		if err := m.predictDense(x[start*m.numFeature:end*m.numFeature], end-start,
			scores[start*m.groups:end*m.groups]); err != nil {
			return nil, err
		}
	}
	out := make([]float32, len(scores))
	m.transform(scores, out)
	return []model.Tensor{{Name: m.outputs[0].Name, DataType: model.FP32, FP32: out,
		Shape: []int64{int64(rows), int64(m.groups)}}}, nil
}

// predictDense runs leaves on one chunk, turning a panic into an error.
func (m *lgbModel) predictDense(x []float64, rows int, scores []float64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lightgbm: leaves panicked predicting: %v", r)
		}
	}()
	if err := m.ens.PredictDense(x, rows, m.numFeature, scores, 0, 1); err != nil {
		return fmt.Errorf("lightgbm: predict: %w", err)
	}
	return nil
}

// transform turns raw scores into outputs, row by row, with leaves'
// logistic and exponential transforms. Softmax is done here, subtracting
// the row maximum as LightGBM does, because leaves' softmax overflows to
// NaN on large scores.
func (m *lgbModel) transform(scores []float64, out []float32) {
	var t transformation.Transform
	switch m.out {
	case logistic:
		t = &transformation.TransformLogistic{}
	case exponential:
		t = &transformation.TransformExponential{}
	case softmax:
		for r := 0; r < len(scores); r += m.groups {
			row := scores[r : r+m.groups]
			mx := row[0]
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			sum := 0.0
			for i, v := range row {
				row[i] = math.Exp(v - mx)
				sum += row[i]
			}
			for i := range row {
				row[i] /= sum
			}
		}
	}
	if t != nil { // single-output transforms: one score per row
		for i := range scores {
			_ = t.Transform(scores[i:i+1], scores, i)
		}
	}
	for i, v := range scores {
		out[i] = float32(v)
	}
}

// batch checks the request's single input and returns its rows as float64.
func batch(inputs []model.Tensor, features int) ([]float64, int, error) {
	t, rows, err := model.Rows(inputs, InputName, features)
	if err != nil {
		return nil, 0, err
	}
	switch t.DataType {
	case model.FP64:
		return t.FP64, rows, nil
	case model.INT64, model.INT32:
		x := make([]float64, len(t.Int64))
		for i, v := range t.Int64 {
			x[i] = float64(v)
		}
		return x, rows, nil
	}
	f32, err := t.Float32s()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", err, model.ErrBadInput)
	}
	x := make([]float64, len(f32))
	for i, v := range f32 {
		x[i] = float64(v)
	}
	return x, rows, nil
}
