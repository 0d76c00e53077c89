//go:build ort

package ort

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/kubeml/kubeml/internal/serving/model"
	ort "github.com/yalue/onnxruntime_go"
)

// Predict runs the model on one set of inputs. It is safe for concurrent
// use: every call runs the one session, which ORT allows.
func (m *Model) Predict(ctx context.Context, inputs []model.Tensor) ([]model.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ort: predict: %w", err)
	}
	if err := model.CheckInputs(m.inputs, inputs); err != nil {
		return nil, err
	}
	feeds := make([]ort.Value, len(m.inputs))
	defer destroy(feeds)
	for i := range inputs {
		t, j := &inputs[i], i
		if t.Name != "" {
			j = slices.IndexFunc(m.inputs, func(s model.Spec) bool { return s.Name == t.Name })
		}
		v, err := feed(t, m.inputs[j])
		if err != nil {
			return nil, err
		}
		feeds[j] = v
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, errors.New("ort: model is closed")
	}
	// nil outputs are allocated by ORT (and copied into Go memory by the
	// binding); Run may fill some of them before it fails.
	res := make([]ort.Value, len(m.outputs))
	defer destroy(res)
	if err := m.session.Run(feeds, res); err != nil {
		return nil, runError(err)
	}
	out := make([]model.Tensor, len(res))
	for i, v := range res {
		t, err := tensor(v, m.outputs[i])
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// runError explains the binding's rank-0 limit.
func runError(err error) error {
	if strings.Contains(err.Error(), "The shape has no dimensions") {
		return fmt.Errorf("ort: run: %w (onnxruntime_go cannot return a rank-0 output)", err)
	}
	return fmt.Errorf("ort: run: %w", err)
}

// destroy releases ORT values. When Run fails converting an output the
// binding leaves a typed nil pointer in its slot, which must be skipped.
func destroy(values []ort.Value) {
	for _, v := range values {
		if v != nil && !reflect.ValueOf(v).IsNil() {
			v.Destroy()
		}
	}
}

func badInput(format string, args ...any) error {
	return fmt.Errorf("ort: "+format+": %w", append(args, model.ErrBadInput)...)
}
