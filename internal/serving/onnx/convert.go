package onnx

import (
	"fmt"

	"github.com/advancedclimatesystems/gonnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"gorgonia.org/tensor"
)

// results converts gonnx's outputs, in the declared order, to tensors that
// own their data (a graph output may be an initializer of the instance).
func (m *Model) results(res gonnx.Tensors) (out []model.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("onnx: reading gonnx output: %v", r)
		}
	}()
	out = make([]model.Tensor, len(m.outputs))
	for i, spec := range m.outputs {
		t, ok := res[spec.Name]
		if !ok || t == nil {
			return nil, fmt.Errorf("onnx: the model produced no output %q", spec.Name)
		}
		out[i], err = fromTensor(spec.Name, t)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func fromTensor(name string, t tensor.Tensor) (model.Tensor, error) {
	d, ok := t.(*tensor.Dense)
	if !ok {
		return model.Tensor{}, fmt.Errorf("onnx: output %q: unexpected tensor type %T", name, t)
	}
	if d.IsMaterializable() {
		if d, ok = d.Materialize().(*tensor.Dense); !ok {
			return model.Tensor{}, fmt.Errorf("onnx: output %q: cannot materialize a view", name)
		}
	}
	shape := d.Shape()
	out := model.Tensor{Name: name, Shape: make([]int64, len(shape))}
	for i, v := range shape {
		out.Shape[i] = int64(v)
	}
	switch v := d.Data().(type) {
	case []float32:
		out.DataType, out.FP32 = model.FP32, append([]float32(nil), v...)
	case float32:
		out.DataType, out.FP32 = model.FP32, []float32{v}
	case []float64:
		out.DataType, out.FP64 = model.FP64, append([]float64(nil), v...)
	case float64:
		out.DataType, out.FP64 = model.FP64, []float64{v}
	case []bool:
		out.DataType, out.Bool = model.BOOL, append([]bool(nil), v...)
	case bool:
		out.DataType, out.Bool = model.BOOL, []bool{v}
	case []int32:
		out.DataType, out.Int64 = model.INT32, widen(v)
	case int32:
		out.DataType, out.Int64 = model.INT32, []int64{int64(v)}
	default:
		ints, ok := integers(v)
		if !ok {
			return model.Tensor{}, fmt.Errorf("onnx: output %q: unsupported element type %v", name, d.Dtype())
		}
		out.DataType, out.Int64 = model.INT64, ints
	}
	if out.DataLen() != out.Len() {
		return model.Tensor{}, fmt.Errorf("onnx: output %q: shape %v but %d values", name, out.Shape, out.DataLen())
	}
	return out, nil
}

type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func widen[T integer](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// integers widens the other integer element types gonnx may produce.
func integers(v any) ([]int64, bool) {
	switch v := v.(type) {
	case []int64:
		return widen(v), true
	case int64:
		return []int64{v}, true
	case []int:
		return widen(v), true
	case []int8:
		return widen(v), true
	case []int16:
		return widen(v), true
	case []uint8:
		return widen(v), true
	case []uint16:
		return widen(v), true
	case []uint32:
		return widen(v), true
	case []uint64:
		return widen(v), true
	}
	return nil, false
}
