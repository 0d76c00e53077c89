//go:build ort

package ort

import (
	"fmt"
	"slices"

	"github.com/kubeml/kubeml/internal/serving/model"
	ort "github.com/yalue/onnxruntime_go"
)

// feed makes an ORT tensor of the declared element type from a request
// tensor already checked by model.CheckInputs, converting numeric data.
// Data already of the declared type is used in place: ORT only reads it.
func feed(t *model.Tensor, spec model.Spec) (ort.Value, error) {
	isInt := t.DataType == model.INT64 || t.DataType == model.INT32
	switch t.DataType {
	case model.FP32, model.FP64, model.INT64, model.INT32, model.BOOL:
	default:
		return nil, badInput("input %q: unsupported datatype %q", spec.Name, t.DataType)
	}
	switch spec.DataType {
	case model.FP32:
		x, err := t.Float32s()
		if err != nil {
			return nil, badInput("input %q: %v", spec.Name, err)
		}
		return value(spec.Name, t.Shape, x)
	case model.FP64:
		if t.DataType == model.FP64 {
			return value(spec.Name, t.Shape, t.FP64)
		}
		return value(spec.Name, t.Shape, float64s(t))
	case model.INT64, model.INT32:
		if !isInt {
			return nil, badInput("input %q: got %s data, want %s", spec.Name, t.DataType, spec.DataType)
		}
		if spec.DataType == model.INT64 {
			return value(spec.Name, t.Shape, t.Int64)
		}
		x := make([]int32, len(t.Int64))
		for i, v := range t.Int64 {
			if int64(int32(v)) != v {
				return nil, badInput("input %q: value %d at index %d overflows INT32", spec.Name, v, i)
			}
			x[i] = int32(v)
		}
		return value(spec.Name, t.Shape, x)
	case model.BOOL:
		if t.DataType != model.BOOL {
			return nil, badInput("input %q: got %s data, want BOOL", spec.Name, t.DataType)
		}
		return value(spec.Name, t.Shape, t.Bool)
	}
	return nil, badInput("input %q: unsupported datatype %s", spec.Name, spec.DataType)
}

// float64s converts FP32, integer or boolean data to float64.
func float64s(t *model.Tensor) []float64 {
	var out []float64
	switch t.DataType {
	case model.FP32:
		out = make([]float64, len(t.FP32))
		for i, v := range t.FP32 {
			out[i] = float64(v)
		}
	case model.INT64, model.INT32:
		out = make([]float64, len(t.Int64))
		for i, v := range t.Int64 {
			out[i] = float64(v)
		}
	case model.BOOL:
		out = make([]float64, len(t.Bool))
		for i, v := range t.Bool {
			if v {
				out[i] = 1
			}
		}
	}
	return out
}

// value wraps data in an ORT tensor, or a scalar for a rank-0 shape (the
// binding's NewTensor refuses an empty shape).
func value[T ort.TensorData](name string, shape []int64, data []T) (ort.Value, error) {
	var v ort.Value
	var err error
	if len(shape) == 0 {
		v, err = ort.NewScalar(data[0])
	} else {
		v, err = ort.NewTensor(ort.NewShape(shape...), data)
	}
	if err != nil {
		return nil, badInput("input %q: shape %v: %v", name, shape, err)
	}
	return v, nil
}

// tensor copies an ORT output into a model.Tensor that owns its data.
func tensor(v ort.Value, spec model.Spec) (model.Tensor, error) {
	t := model.Tensor{Name: spec.Name, DataType: spec.DataType, Shape: v.GetShape()}
	switch v := v.(type) {
	case *ort.Tensor[float32]:
		t.FP32 = slices.Clone(v.GetData())
	case *ort.Tensor[float64]:
		t.FP64 = slices.Clone(v.GetData())
	case *ort.Tensor[bool]:
		t.Bool = slices.Clone(v.GetData())
	case *ort.Tensor[int64]:
		t.Int64 = slices.Clone(v.GetData())
	case *ort.Tensor[int32]:
		t.Int64 = widen(v.GetData())
	case *ort.Tensor[int16]:
		t.Int64 = widen(v.GetData())
	case *ort.Tensor[int8]:
		t.Int64 = widen(v.GetData())
	case *ort.Tensor[uint32]:
		t.Int64 = widen(v.GetData())
	case *ort.Tensor[uint16]:
		t.Int64 = widen(v.GetData())
	case *ort.Tensor[uint8]:
		t.Int64 = widen(v.GetData())
	default:
		return model.Tensor{}, fmt.Errorf("ort: output %q: ORT returned a %T, want %s", spec.Name, v, spec.DataType)
	}
	return t, nil
}

func widen[T int32 | int16 | int8 | uint32 | uint16 | uint8](x []T) []int64 {
	out := make([]int64, len(x))
	for i, v := range x {
		out[i] = int64(v)
	}
	return out
}
