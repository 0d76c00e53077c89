package xgboost

import (
	"context"
	"fmt"
	"math"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// InputName is the name of the model's only input.
const InputName = "input"

// node is one tree node. A leaf has left == -1 and its value in cond.
// Child indices are into treeModel.nodes.
type node struct {
	cond    float32
	feat    uint32
	left    int32
	right   int32
	defLeft bool
}

// treeModel is a loaded gbtree model. It is immutable after Load, so
// Predict is safe for concurrent use.
type treeModel struct {
	nodes      []node
	roots      []int32 // first node of each tree
	groups     []int32 // output group (class) of each tree
	base       []float32
	numFeature int
	numGroup   int
	out        transform
	inputs     []model.Spec
	outputs    []model.Spec
}

// specs fills in the declared input and output.
func (m *treeModel) specs(objective string) {
	m.inputs = []model.Spec{{Name: InputName, DataType: model.FP32, Shape: []int64{-1, int64(m.numFeature)}}}
	out := model.Spec{Name: "predictions", DataType: model.FP32, Shape: []int64{-1, int64(m.numGroup)}}
	switch m.out {
	case sigmoid, softprob:
		out.Name = "probabilities"
	case argmax:
		out.Shape = []int64{-1}
	}
	m.outputs = []model.Spec{out}
}

// Framework is "xgboost".
func (m *treeModel) Framework() string { return "xgboost" }

// Inputs declares "input" FP32 [-1, num_feature].
func (m *treeModel) Inputs() []model.Spec { return model.CloneSpecs(m.inputs) }

// Outputs declares the one output; see the package doc for its shape.
func (m *treeModel) Outputs() []model.Spec { return model.CloneSpecs(m.outputs) }

// Close releases nothing; the model is plain Go memory.
func (m *treeModel) Close() error { return nil }

// Predict scores a row-major batch.
func (m *treeModel) Predict(ctx context.Context, inputs []model.Tensor) ([]model.Tensor, error) {
	x, rows, err := batch(inputs, m.numFeature)
	if err != nil {
		return nil, err
	}
	width := m.numGroup
	if m.out == argmax {
		width = 1
	}
	out := make([]float32, rows*width)
	margin := make([]float32, m.numGroup)
	for r := 0; r < rows; r++ {
		if r%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("xgboost: predict: %w", err)
			}
		}
		m.margins(x[r*m.numFeature:(r+1)*m.numFeature], margin)
		m.finish(margin, out[r*width:(r+1)*width])
	}
	res := model.Tensor{Name: m.outputs[0].Name, DataType: model.FP32, FP32: out,
		Shape: []int64{int64(rows), int64(width)}}
	if m.out == argmax {
		res.Shape = res.Shape[:1]
	}
	return []model.Tensor{res}, nil
}

// margins sums, in float32 and tree order, each tree's leaf onto the base
// margin of its group.
func (m *treeModel) margins(row []float32, margin []float32) {
	copy(margin, m.base)
	nodes := m.nodes
	for t, i := range m.roots {
		for nodes[i].left >= 0 {
			nd := &nodes[i]
			v := row[nd.feat]
			switch {
			case v < nd.cond:
				i = nd.left
			case v >= nd.cond:
				i = nd.right
			case nd.defLeft: // NaN: missing
				i = nd.left
			default:
				i = nd.right
			}
		}
		margin[m.groups[t]] += nodes[i].cond
	}
}

// finish applies the objective's transform to one row's margins.
func (m *treeModel) finish(margin, out []float32) {
	switch m.out {
	case identity:
		copy(out, margin)
	case sigmoid:
		for i, v := range margin {
			out[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case softprob:
		mx := margin[0]
		for _, v := range margin[1:] {
			mx = max(mx, v)
		}
		var sum float32
		for i, v := range margin {
			out[i] = float32(math.Exp(float64(v - mx)))
			sum += out[i]
		}
		for i := range out {
			out[i] /= sum
		}
	case argmax:
		best := 0
		for i, v := range margin {
			if v > margin[best] {
				best = i
			}
		}
		out[0] = float32(best)
	}
}

// batch checks the request's single input and returns its rows as float32.
func batch(inputs []model.Tensor, features int) ([]float32, int, error) {
	t, rows, err := model.Rows(inputs, InputName, features)
	if err != nil {
		return nil, 0, err
	}
	x, err := t.Float32s()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", err, model.ErrBadInput)
	}
	return x, rows, nil
}
