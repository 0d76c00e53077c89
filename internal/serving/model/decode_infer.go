package model

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// InferRequest is an Open Inference Protocol v2 inference request.
type InferRequest struct {
	ID     string
	Inputs []Tensor
	// Outputs lists the outputs the client asked for; empty means all.
	Outputs []string
}

// DecodeInfer decodes an Open Inference Protocol v2 request body:
//
//	{"id": "...", "parameters": {...}, "inputs": [{"name": "x", "shape": [1, 784],
//	 "datatype": "FP32", "data": [...]}], "outputs": [{"name": "y"}]}
//
// data may be flat or nested; it is flattened in row-major order and must
// hold as many elements as shape describes. INT8, INT16 and the UINT types
// are range-checked and held as INT64; null stands for a missing value in
// FP32 and FP64 data and decodes to NaN. Parameters are ignored. Errors
// wrap ErrBadInput and name the input.
func DecodeInfer(body []byte) (*InferRequest, error) {
	s := scanner{buf: body}
	req := &InferRequest{}
	if err := s.infer(req); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return req, nil
}

func (s *scanner) infer(req *InferRequest) error {
	if err := s.open('{', "the request body"); err != nil {
		return err
	}
	seenInputs := false
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		switch string(key) {
		case "id":
			req.ID, err = s.stringValue("id")
		case "inputs":
			seenInputs = true
			req.Inputs, err = s.inputs()
		case "outputs":
			req.Outputs, err = s.outputs()
		default:
			err = s.skip(0)
		}
		if err != nil {
			return err
		}
	}
	if err := s.end(); err != nil {
		return err
	}
	if !seenInputs || len(req.Inputs) == 0 {
		return errors.New(`the request has no "inputs"`)
	}
	return nil
}

func (s *scanner) inputs() ([]Tensor, error) {
	if err := s.open('[', "inputs"); err != nil {
		return nil, err
	}
	var ins []Tensor
	for first := true; ; first = false {
		more, err := s.nextElem(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return ins, nil
		}
		if ins == nil {
			ins = make([]Tensor, 0, 1)
		}
		t, err := s.input(len(ins))
		if err != nil {
			return nil, err
		}
		ins = append(ins, t)
	}
}

// input reads one element of "inputs". When data comes before datatype or
// shape, its extent is remembered and it is decoded after the object.
func (s *scanner) input(i int) (Tensor, error) {
	var t Tensor
	where := func() string {
		if t.Name != "" {
			return strconv.Quote(t.Name)
		}
		return "#" + strconv.Itoa(i)
	}
	if err := s.open('{', "each input"); err != nil {
		return t, fmt.Errorf("input %s: %w", where(), err)
	}
	var e elem
	haveType, haveData := false, false
	dataStart, dataEnd := -1, -1
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return t, fmt.Errorf("input %s: %w", where(), err)
		}
		if !more {
			break
		}
		switch string(key) {
		case "name":
			t.Name, err = s.stringValue("name")
		case "datatype":
			if s.peek() != '"' {
				err = fmt.Errorf("datatype must be a string (offset %d)", s.pos)
			} else if key, err = s.str(); err == nil {
				e, err = elemOf(bstr(key))
				t.DataType, haveType = e.store, true
			}
		case "shape":
			t.Shape, err = s.shape()
		case "data":
			haveData = true
			if haveType && t.Shape != nil {
				err = s.inputData(&t, e)
			} else {
				dataStart = s.pos
				err = s.skip(0)
				dataEnd = s.pos
			}
		default:
			err = s.skip(0)
		}
		if err != nil {
			return t, fmt.Errorf("input %s: %w", where(), err)
		}
	}
	switch {
	case !haveType:
		return t, fmt.Errorf(`input %s: missing "datatype"`, where())
	case t.Shape == nil:
		return t, fmt.Errorf(`input %s: missing "shape"`, where())
	case !haveData:
		return t, fmt.Errorf(`input %s: missing "data"`, where())
	case t.Name == "":
		return t, fmt.Errorf(`input %s: missing "name"`, where())
	}
	if dataStart >= 0 {
		sub := scanner{buf: s.buf[:dataEnd], pos: dataStart}
		if err := sub.inputData(&t, e); err != nil {
			return t, fmt.Errorf("input %s: %w", where(), err)
		}
	}
	if n := elements(t.Shape); n != int64(t.DataLen()) {
		return t, fmt.Errorf("input %s: shape %v needs %d values, data has %d", where(), t.Shape, n, t.DataLen())
	}
	return t, nil
}

// inputData reads an input's data, sized by its shape.
func (s *scanner) inputData(t *Tensor, e elem) error {
	// Each element takes at least two bytes, so the body bounds the
	// allocation whatever the shape claims.
	hint := min(elements(t.Shape), int64(len(s.buf)-s.pos)/2+1)
	if err := s.data(t, e, int(hint), false); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return nil
}

// shape reads an array of non-negative integers.
func (s *scanner) shape() ([]int64, error) {
	if err := s.open('[', "shape"); err != nil {
		return nil, err
	}
	shape := make([]int64, 0, 4)
	for first := true; ; first = false {
		more, err := s.nextElem(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return shape, nil
		}
		if len(shape) == maxRank {
			return nil, fmt.Errorf("shape has more than %d dimensions", maxRank)
		}
		if c := s.peek(); c != '-' && (c < '0' || c > '9') {
			return nil, s.syntax("an integer dimension")
		}
		n, err := s.number()
		if err != nil {
			return nil, err
		}
		d, err := strconv.ParseInt(bstr(s.text(n)), 10, 64)
		if !n.integer() || err != nil || d < 0 {
			return nil, fmt.Errorf("shape: dimension %s is not a non-negative integer", s.text(n))
		}
		shape = append(shape, d)
	}
}

// outputs reads the names of the requested outputs.
func (s *scanner) outputs() ([]string, error) {
	if err := s.open('[', "outputs"); err != nil {
		return nil, err
	}
	var names []string
	for first := true; ; first = false {
		more, err := s.nextElem(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return names, nil
		}
		if err := s.open('{', "each output"); err != nil {
			return nil, err
		}
		name := ""
		for first := true; ; first = false {
			key, more, err := s.nextKey(first)
			if err != nil {
				return nil, fmt.Errorf("outputs: %w", err)
			}
			if !more {
				break
			}
			if string(key) == "name" {
				name, err = s.stringValue("an output's name")
			} else {
				err = s.skip(0)
			}
			if err != nil {
				return nil, fmt.Errorf("outputs: %w", err)
			}
		}
		if name == "" {
			return nil, fmt.Errorf(`outputs: output #%d has no "name"`, len(names))
		}
		names = append(names, name)
	}
}

// elements is the number of elements shape describes, saturating at
// math.MaxInt64; negative dimensions count as zero.
func elements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		switch {
		case d <= 0:
			return 0
		case n > math.MaxInt64/d:
			n = math.MaxInt64
		default:
			n *= d
		}
	}
	return n
}
