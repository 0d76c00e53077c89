package model

import (
	"errors"
	"fmt"
)

// CheckInputs checks decoded inputs against a model's input specs: each
// input matches a spec by name (by position when its name is empty), no
// spec is given twice or left out, each shape agrees with the spec's (a
// negative spec dimension matches any size; a nil spec shape matches any
// shape) and each tensor holds as many values as its shape describes.
// Datatypes are not compared: runtimes convert numeric data. It reports
// every problem at once, in an error wrapping ErrBadInput.
func CheckInputs(specs []Spec, in []Tensor) error {
	var errs []error
	var seenBuf [8]bool
	seen := seenBuf[:]
	if len(specs) > len(seen) {
		seen = make([]bool, len(specs))
	}
	seen = seen[:len(specs)]
	for i := range in {
		t := &in[i]
		j := i
		if t.Name != "" {
			j = -1
			for k := range specs {
				if specs[k].Name == t.Name {
					j = k
					break
				}
			}
		}
		if j < 0 || j >= len(specs) {
			errs = append(errs, fmt.Errorf("unknown input %q; the model's inputs are %s", t.Name, specNames(specs)))
			continue
		}
		sp := &specs[j]
		if seen[j] {
			errs = append(errs, fmt.Errorf("input %q is given twice", sp.Name))
			continue
		}
		seen[j] = true
		switch {
		case !shapeFits(sp.Shape, t.Shape):
			errs = append(errs, fmt.Errorf("input %q: got shape %v, want %v", sp.Name, t.Shape, sp.Shape))
		case elements(t.Shape) != int64(t.DataLen()):
			errs = append(errs, fmt.Errorf("input %q: shape %v needs %d values, got %d", sp.Name, t.Shape, elements(t.Shape), t.DataLen()))
		}
	}
	for j, ok := range seen {
		if !ok {
			errs = append(errs, fmt.Errorf("input %q is missing (want shape %v, %s)", specs[j].Name, specs[j].Shape, specs[j].DataType))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadInput, errors.Join(errs...))
	}
	return nil
}

// shapeFits reports whether got matches the spec shape want.
func shapeFits(want, got []int64) bool {
	if want == nil {
		return true
	}
	if len(want) != len(got) {
		return false
	}
	for i, d := range want {
		if got[i] < 0 || (d >= 0 && d != got[i]) {
			return false
		}
	}
	return true
}
