package model

import (
	"errors"
	"fmt"
	"strings"
)

// DecodeScore decodes an Azure ML scoring request body for a model whose
// inputs are specs. It accepts
//
//	{"data": X}                                  X is the first input
//	{"input_data": {"data": X}} or {"input_data": X}   the same
//	{"input_data": {"<input name>": X, ...}}     named inputs
//
// where X is an array of numbers (or of true/false for BOOL inputs),
// nested as deep as the input's rank. The tensor's shape is the nesting's;
// a flat X for a rank-2 input is one row. Element types come from the
// specs. Shapes are not checked against the specs: that is CheckInputs'
// job. Errors wrap ErrBadInput and name the input.
func DecodeScore(body []byte, specs []Spec) ([]Tensor, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: the model declares no inputs", ErrBadInput)
	}
	s := scanner{buf: body}
	ins, err := s.score(specs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return ins, nil
}

func (s *scanner) score(specs []Spec) ([]Tensor, error) {
	if err := s.open('{', "the request body"); err != nil {
		return nil, err
	}
	var ins []Tensor
	found := false
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		switch k := string(key); k {
		case "data", "input_data":
			if found {
				return nil, errors.New(`send either "data" or "input_data", once`)
			}
			found = true
			if k == "data" || s.peek() == '[' {
				var t Tensor
				t, err = s.scoreInput(&specs[0])
				ins = append(ins, t)
			} else {
				ins, err = s.namedInputs(specs)
			}
		default:
			err = s.skip(0)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New(`the request body has neither "data" nor "input_data"`)
	}
	return ins, nil
}

// namedInputs reads the object of "input_data": inputs keyed by name, or
// "data" for the first input. The pandas "split" keys "columns" and
// "index" are ignored unless the model has inputs of those names.
func (s *scanner) namedInputs(specs []Spec) ([]Tensor, error) {
	if err := s.open('{', `"input_data"`); err != nil {
		return nil, err
	}
	ins := make([]Tensor, 0, len(specs))
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		name := string(key)
		spec := find(specs, name)
		switch {
		case spec == nil && name == "data":
			spec = &specs[0]
		case spec == nil && (name == "columns" || name == "index"):
			if err := s.skip(0); err != nil {
				return nil, err
			}
			continue
		case spec == nil:
			return nil, fmt.Errorf("unknown input %q; the model's inputs are %s", name, specNames(specs))
		}
		for _, t := range ins {
			if t.Name == spec.Name {
				return nil, fmt.Errorf("input %q is given twice", spec.Name)
			}
		}
		t, err := s.scoreInput(spec)
		if err != nil {
			return nil, err
		}
		ins = append(ins, t)
	}
	if len(ins) == 0 {
		return nil, errors.New(`"input_data" holds no inputs`)
	}
	return ins, nil
}

// scoreInput reads the nested array for the input spec.
func (s *scanner) scoreInput(spec *Spec) (Tensor, error) {
	t := Tensor{Name: spec.Name}
	e, err := elemOf(string(spec.DataType))
	if err != nil {
		return t, fmt.Errorf("input %q: %w", spec.Name, err)
	}
	t.DataType = e.store
	// Size for one row, the common case: dynamic dimensions count as 1,
	// and the body bounds the allocation.
	hint, limit := int64(1), int64(len(s.buf)-s.pos)/2+1
	for _, d := range spec.Shape {
		if d > 0 {
			hint = min(hint, limit/d) * d
		}
	}
	if err := s.data(&t, e, int(min(hint, limit)), true); err != nil {
		return t, fmt.Errorf("input %q (shape %v): %w", spec.Name, spec.Shape, err)
	}
	if len(t.Shape) == 1 && len(spec.Shape) == 2 {
		t.Shape = []int64{1, t.Shape[0]}
	}
	return t, nil
}

// find returns the spec named name, or nil.
func find(specs []Spec, name string) *Spec {
	for i := range specs {
		if specs[i].Name == name {
			return &specs[i]
		}
	}
	return nil
}

// specNames lists the specs' names for messages.
func specNames(specs []Spec) string {
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = fmt.Sprintf("%q", sp.Name)
	}
	return strings.Join(names, ", ")
}
