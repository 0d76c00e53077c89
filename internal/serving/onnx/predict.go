package onnx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/advancedclimatesystems/gonnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"gorgonia.org/tensor"
)

// Predict runs the model on one set of inputs. It is safe for concurrent
// use: each call borrows one instance of the pool.
func (m *Model) Predict(ctx context.Context, inputs []model.Tensor) ([]model.Tensor, error) {
	if m.closed.Load() {
		return nil, errors.New("onnx: model is closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("onnx: predict: %w", err)
	}
	if m.dense != nil {
		return m.predictDense(inputs)
	}
	feeds, err := m.feeds(inputs)
	if err != nil {
		return nil, err
	}
	inst, err := m.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := m.run(inst, feeds)
	if err != nil {
		return nil, err
	}
	return m.results(res)
}

// run executes one instance, turning a gonnx panic into an error and
// retiring the instance it happened on.
func (m *Model) run(inst *gonnx.Model, feeds gonnx.Tensors) (res gonnx.Tensors, err error) {
	defer func() {
		if r := recover(); r != nil {
			m.pool.discard()
			res, err = nil, fmt.Errorf("onnx: gonnx failed on this input: %v", r)
			return
		}
		m.pool.put(inst)
	}()
	res, err = inst.Run(feeds)
	if err != nil {
		return nil, fmt.Errorf("onnx: run: %w", err)
	}
	return res, nil
}

// predictDense runs a model compiled by compileDense, with the same
// checks of the caller's input as the gonnx path.
func (m *Model) predictDense(inputs []model.Tensor) ([]model.Tensor, error) {
	if err := m.checkCount(inputs); err != nil {
		return nil, err
	}
	t, spec := &inputs[0], m.inputs[0]
	if t.Name != "" && t.Name != spec.Name {
		return nil, badInput("unknown input %q", t.Name)
	}
	if err := checkType(t, spec); err != nil {
		return nil, err
	}
	if err := checkShape(t, spec); err != nil {
		return nil, err
	}
	x, err := t.Float32s()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, model.ErrBadInput)
	}
	rows := int(t.Shape[0])
	width := m.dense.steps[len(m.dense.steps)-1].m
	out := model.Tensor{Name: m.outputs[0].Name, DataType: model.FP32, Shape: []int64{int64(rows), int64(width)}, FP32: make([]float32, rows*width)}
	m.dense.run(x, rows, out.FP32)
	return []model.Tensor{out}, nil
}

// checkCount checks that the caller gave as many tensors as the model
// takes inputs.
func (m *Model) checkCount(inputs []model.Tensor) error {
	if len(inputs) == len(m.inputs) {
		return nil
	}
	names := make([]string, len(m.inputs))
	for i, s := range m.inputs {
		names[i] = fmt.Sprintf("%q %v", s.Name, s.Shape)
	}
	return badInput("the model takes %d input(s) (%s), got %d", len(m.inputs), strings.Join(names, ", "), len(inputs))
}

func badInput(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, model.ErrBadInput)...)
}

// feeds matches the caller's tensors to the declared inputs (by name, or
// by position for an unnamed tensor), checks them and converts them.
func (m *Model) feeds(inputs []model.Tensor) (gonnx.Tensors, error) {
	if err := m.checkCount(inputs); err != nil {
		return nil, err
	}
	feeds := make(gonnx.Tensors, len(inputs))
	for i := range inputs {
		t := &inputs[i]
		spec, ok := m.inputs[i], true
		if t.Name != "" {
			spec, ok = m.inputSpec(t.Name)
			if !ok {
				return nil, badInput("unknown input %q", t.Name)
			}
		}
		if _, dup := feeds[spec.Name]; dup {
			return nil, badInput("input %q given twice", spec.Name)
		}
		dense, err := toDense(t, spec)
		if err != nil {
			return nil, err
		}
		feeds[spec.Name] = dense
	}
	return feeds, nil
}

func (m *Model) inputSpec(name string) (model.Spec, bool) {
	for _, s := range m.inputs {
		if s.Name == name {
			return s, true
		}
	}
	return model.Spec{}, false
}

// checkShape compares a request's shape with the declared one and with the
// number of values the request holds.
func checkShape(t *model.Tensor, spec model.Spec) error {
	match := spec.Shape == nil || len(spec.Shape) == len(t.Shape)
	count, held := int64(1), int64(t.DataLen())
	for i, d := range t.Shape {
		if d < 1 {
			return badInput("input %q: shape %v has a dimension < 1", spec.Name, t.Shape)
		}
		if match && spec.Shape != nil && spec.Shape[i] >= 0 && spec.Shape[i] != d {
			match = false
		}
		if count > held/d {
			count = held + 1 // more than held, without overflowing
		} else {
			count *= d
		}
	}
	if !match {
		return badInput("input %q: got shape %v, want %v", spec.Name, t.Shape, spec.Shape)
	}
	if count != held {
		return badInput("input %q: shape %v does not match the %d values given", spec.Name, t.Shape, held)
	}
	return nil
}

// checkType refuses request data types no runtime path takes.
func checkType(t *model.Tensor, spec model.Spec) error {
	switch t.DataType {
	case model.FP32, model.FP64, model.INT64, model.INT32, model.BOOL:
		return nil
	}
	return badInput("input %q: unsupported datatype %q", spec.Name, t.DataType)
}

// toDense copies a request tensor into a gonnx tensor of the declared
// element type.
func toDense(t *model.Tensor, spec model.Spec) (tensor.Tensor, error) {
	if err := checkType(t, spec); err != nil {
		return nil, err
	}
	if err := checkShape(t, spec); err != nil {
		return nil, err
	}
	var backing any
	switch spec.DataType {
	case model.FP32:
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, model.ErrBadInput)
		}
		backing = append([]float32(nil), v...)
	case model.FP64:
		if t.DataType == model.FP64 {
			backing = append([]float64(nil), t.FP64...)
			break
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, model.ErrBadInput)
		}
		f := make([]float64, len(v))
		for i, x := range v {
			f[i] = float64(x)
		}
		backing = f
	case model.INT64, model.INT32:
		if t.DataType != model.INT64 && t.DataType != model.INT32 {
			return nil, badInput("input %q: got %s data, want %s", spec.Name, t.DataType, spec.DataType)
		}
		if spec.DataType == model.INT64 {
			backing = append([]int64(nil), t.Int64...)
			break
		}
		v := make([]int32, len(t.Int64))
		for i, x := range t.Int64 {
			if int64(int32(x)) != x {
				return nil, badInput("input %q: value %d overflows INT32", spec.Name, x)
			}
			v[i] = int32(x)
		}
		backing = v
	case model.BOOL:
		if t.DataType != model.BOOL {
			return nil, badInput("input %q: got %s data, want BOOL", spec.Name, t.DataType)
		}
		backing = append([]bool(nil), t.Bool...)
	default:
		return nil, badInput("input %q: unsupported datatype %s", spec.Name, spec.DataType)
	}
	return newDense(spec.Name, t.Shape, backing)
}

func newDense(name string, shape []int64, backing any) (d tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, badInput("input %q: cannot make a tensor of shape %v: %v", name, shape, r)
		}
	}()
	dims := make([]int, len(shape))
	for i, v := range shape {
		dims[i] = int(v)
	}
	return tensor.New(tensor.WithShape(dims...), tensor.WithBacking(backing)), nil
}
