package model

import (
	"fmt"
	"math"
)

// Rows checks that a request carries one input, named name (or unnamed),
// of shape [rows, features], and returns it and its row count: the input
// of tabular models (XGBoost, LightGBM).
func Rows(inputs []Tensor, name string, features int) (*Tensor, int, error) {
	if len(inputs) != 1 {
		return nil, 0, fmt.Errorf("got %d inputs, want 1 (%q): %w", len(inputs), name, ErrBadInput)
	}
	t := &inputs[0]
	if t.Name != "" && t.Name != name {
		return nil, 0, fmt.Errorf("unknown input %q, want %q: %w", t.Name, name, ErrBadInput)
	}
	if len(t.Shape) != 2 || t.Shape[0] < 0 || t.Shape[1] != int64(features) {
		return nil, 0, fmt.Errorf("input %q: got shape %v, want [-1 %d]: %w", name, t.Shape, features, ErrBadInput)
	}
	n := t.DataLen()
	if t.Shape[0] > int64(n) || t.Shape[0]*int64(features) != int64(n) {
		return nil, 0, fmt.Errorf("input %q: shape %v needs %d values, got %d: %w",
			name, t.Shape, saturatingMul(t.Shape[0], int64(features)), n, ErrBadInput)
	}
	return t, int(t.Shape[0]), nil
}

func saturatingMul(a, b int64) int64 {
	if b != 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// CloneSpecs copies specs, shapes included, so callers cannot change a
// model's own.
func CloneSpecs(s []Spec) []Spec {
	out := make([]Spec, len(s))
	for i, sp := range s {
		out[i] = sp
		out[i].Shape = append([]int64(nil), sp.Shape...)
	}
	return out
}
