// Package model holds what every model runtime shares: the tensors a model
// takes and returns, their declared specs, and the Model interface that the
// ONNX, XGBoost and LightGBM runtimes implement and the scoring server uses.
package model

import (
	"context"
	"errors"
	"fmt"
)

// DataType is a tensor element type, named as the Open Inference Protocol
// names it.
type DataType string

// Data types kubeml's runtimes accept and produce.
const (
	FP32  DataType = "FP32"
	FP64  DataType = "FP64"
	INT64 DataType = "INT64"
	INT32 DataType = "INT32"
	BOOL  DataType = "BOOL"
)

// Spec declares one input or output of a model. A dimension of -1 is
// dynamic (usually the batch dimension).
type Spec struct {
	Name     string   `json:"name"`
	DataType DataType `json:"datatype"`
	Shape    []int64  `json:"shape"`
}

// Tensor is a dense row-major tensor. Exactly one of the data slices is set,
// the one that matches DataType; INT32 data is carried in Int64.
type Tensor struct {
	Name     string
	DataType DataType
	Shape    []int64
	FP32     []float32
	FP64     []float64
	Int64    []int64
	Bool     []bool
}

// Len is the number of elements the shape describes.
func (t *Tensor) Len() int {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return int(n)
}

// DataLen is the number of elements actually held.
func (t *Tensor) DataLen() int {
	switch t.DataType {
	case FP32:
		return len(t.FP32)
	case FP64:
		return len(t.FP64)
	case INT64, INT32:
		return len(t.Int64)
	case BOOL:
		return len(t.Bool)
	}
	return 0
}

// Float32s returns the data converted to float32, for runtimes that compute
// in float32 whatever numeric type the client sent.
func (t *Tensor) Float32s() ([]float32, error) {
	switch t.DataType {
	case FP32:
		return t.FP32, nil
	case FP64:
		out := make([]float32, len(t.FP64))
		for i, v := range t.FP64 {
			out[i] = float32(v)
		}
		return out, nil
	case INT64, INT32:
		out := make([]float32, len(t.Int64))
		for i, v := range t.Int64 {
			out[i] = float32(v)
		}
		return out, nil
	case BOOL:
		out := make([]float32, len(t.Bool))
		for i, v := range t.Bool {
			if v {
				out[i] = 1
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("input %q: unsupported datatype %q", t.Name, t.DataType)
}

// Model is a loaded model. Predict is safe for concurrent use.
type Model interface {
	// Framework is "onnx", "xgboost" or "lightgbm".
	Framework() string
	Inputs() []Spec
	Outputs() []Spec
	// Predict runs the model. Inputs are matched to Inputs() by name, or
	// by position when a name is empty. A problem with the caller's input
	// returns an error wrapping ErrBadInput whose message names the input
	// and the expected shape.
	Predict(ctx context.Context, inputs []Tensor) ([]Tensor, error)
	Close() error
}

// Errors callers branch on.
var (
	// ErrBadInput marks errors caused by the request, not the model.
	ErrBadInput = errors.New("bad input")
	// ErrUnsupported marks a model file the runtime cannot load (an
	// unknown operator or opset, an objective it does not implement).
	ErrUnsupported = errors.New("unsupported model")
)
