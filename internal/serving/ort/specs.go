//go:build ort

package ort

import (
	"fmt"

	"github.com/kubeml/kubeml/internal/serving/model"
	ort "github.com/yalue/onnxruntime_go"
)

// inputType maps the element types requests can carry.
func inputType(t ort.TensorElementDataType) (model.DataType, bool) {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return model.FP32, true
	case ort.TensorElementDataTypeDouble:
		return model.FP64, true
	case ort.TensorElementDataTypeInt64:
		return model.INT64, true
	case ort.TensorElementDataTypeInt32:
		return model.INT32, true
	case ort.TensorElementDataTypeBool:
		return model.BOOL, true
	}
	return "", false
}

// outputType maps output element types: those of inputType, and the
// narrower integers widened to INT64 (every value fits). UINT64, whose
// values may not fit an int64, and float16 and other types are refused.
func outputType(t ort.TensorElementDataType) (model.DataType, bool) {
	switch t {
	case ort.TensorElementDataTypeInt8, ort.TensorElementDataTypeUint8,
		ort.TensorElementDataTypeInt16, ort.TensorElementDataTypeUint16,
		ort.TensorElementDataTypeUint32:
		return model.INT64, true
	}
	return inputType(t)
}

// specs turns ORT's description of the inputs or outputs into specs, with
// -1 for a symbolic dimension and a nil shape for rank 0 or an unknown rank.
func specs(kind string, info []ort.InputOutputInfo, dtype func(ort.TensorElementDataType) (model.DataType, bool)) ([]model.Spec, error) {
	out := make([]model.Spec, len(info))
	for i, in := range info {
		if in.OrtValueType != ort.ONNXTypeTensor {
			return nil, fmt.Errorf("ort: %s %q is a %v, not a tensor: %w", kind, in.Name, in.OrtValueType, model.ErrUnsupported)
		}
		dt, ok := dtype(in.DataType)
		if !ok {
			return nil, fmt.Errorf("ort: %s %q has element type %v: %w", kind, in.Name, in.DataType, model.ErrUnsupported)
		}
		// ORT reports an unknown rank as rank 0: both get a nil shape,
		// which model.CheckInputs lets through.
		var shape []int64
		if len(in.Dimensions) > 0 {
			shape = make([]int64, len(in.Dimensions))
		}
		for j, d := range in.Dimensions {
			shape[j] = d
			if d < 1 {
				shape[j] = -1
			}
		}
		out[i] = model.Spec{Name: in.Name, DataType: dt, Shape: shape}
	}
	return out, nil
}

func names(specs []model.Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}
