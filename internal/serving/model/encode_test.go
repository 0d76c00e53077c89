package model

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestAppendInferResponse(t *testing.T) {
	outs := []Tensor{
		{Name: "probabilities", DataType: FP32, Shape: []int64{1, 3}, FP32: []float32{0.1, 0.2, float32(math.NaN())}},
		{Name: "label", DataType: INT64, Shape: []int64{1}, Int64: []int64{-7}},
		{Name: "flags", DataType: BOOL, Shape: []int64{2}, Bool: []bool{true, false}},
		{Name: "d", DataType: FP64, Shape: []int64{1}, FP64: []float64{1e-300}},
	}
	got := string(AppendInferResponse([]byte("x"), "mnist", "2", "req\"1\xff", outs))
	want := `x{"model_name":"mnist","model_version":"2","id":"req\"1\ufffd","outputs":[` +
		`{"name":"probabilities","datatype":"FP32","shape":[1,3],"data":[0.1,0.2,null]},` +
		`{"name":"label","datatype":"INT64","shape":[1],"data":[-7]},` +
		`{"name":"flags","datatype":"BOOL","shape":[2],"data":[true,false]},` +
		`{"name":"d","datatype":"FP64","shape":[1],"data":[1e-300]}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got[1:])) {
		t.Error("response is not valid JSON")
	}
	if got := string(AppendInferResponse(nil, "m", "", "", nil)); got != `{"model_name":"m","outputs":[]}` {
		t.Errorf("empty response = %s", got)
	}
}

func TestAppendData(t *testing.T) {
	tests := map[string]struct {
		t      Tensor
		nested bool
		want   string
	}{
		"nested 2x3":         {Tensor{DataType: FP32, Shape: []int64{2, 3}, FP32: []float32{1, 2, 3, 4, 5, 6}}, true, `[[1,2,3],[4,5,6]]`},
		"nested 2x1x2":       {Tensor{DataType: INT32, Shape: []int64{2, 1, 2}, Int64: []int64{1, 2, 3, 4}}, true, `[[[1,2]],[[3,4]]]`},
		"flat":               {Tensor{DataType: INT32, Shape: []int64{2, 2}, Int64: []int64{1, 2, 3, 4}}, false, `[1,2,3,4]`},
		"scalar":             {Tensor{DataType: FP64, Shape: []int64{}, FP64: []float64{2.5}}, true, `2.5`},
		"empty rows":         {Tensor{DataType: FP32, Shape: []int64{2, 0}}, true, `[[],[]]`},
		"short data is flat": {Tensor{DataType: FP32, Shape: []int64{2, 2}, FP32: []float32{1}}, true, `[1]`},
		"many empty arrays":  {Tensor{DataType: FP32, Shape: []int64{1 << 40, 1 << 20, 0}}, true, `[]`},
		"escapes":            {Tensor{DataType: FP32, Shape: []int64{1}, FP32: []float32{float32(math.Inf(1))}}, true, `[null]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := string(AppendData(nil, &tc.t, tc.nested)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x1f\t\n\r", "é😀", "bad\xffutf8\xc3"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s is not a JSON string: %v", s, got, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
			t.Errorf("%q: round trip gave %q", s, back)
		}
	}
}

func TestCheckInputs(t *testing.T) {
	specs := []Spec{{Name: "input", DataType: FP32, Shape: []int64{-1, 784}}, {Name: "mask", DataType: BOOL, Shape: []int64{-1}}}
	row := Tensor{Name: "input", DataType: FP32, Shape: []int64{1, 784}, FP32: make([]float32, 784)}
	mask := Tensor{Name: "mask", DataType: BOOL, Shape: []int64{1}, Bool: []bool{true}}
	if err := CheckInputs(specs, []Tensor{mask, row}); err != nil {
		t.Errorf("good inputs: %v", err)
	}
	unnamed := row
	unnamed.Name = ""
	if err := CheckInputs(specs, []Tensor{unnamed, mask}); err != nil {
		t.Errorf("inputs by position: %v", err)
	}
	if err := CheckInputs([]Spec{{Name: "any"}}, []Tensor{{Name: "any", DataType: FP32, Shape: []int64{3}, FP32: make([]float32, 3)}}); err != nil {
		t.Errorf("a spec without a shape: %v", err)
	}

	short := Tensor{Name: "input", DataType: FP32, Shape: []int64{1, 783}, FP32: make([]float32, 783)}
	lying := Tensor{Name: "mask", DataType: BOOL, Shape: []int64{2}, Bool: []bool{true}}
	err := CheckInputs(specs, []Tensor{short, lying, {Name: "extra"}, mask})
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("error %v, want ErrBadInput", err)
	}
	for _, want := range []string{
		`input "input": got shape [1 783], want [-1 784]`,
		`input "mask": shape [2] needs 2 values, got 1`,
		`unknown input "extra"; the model's inputs are "input", "mask"`,
		`input "mask" is given twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	err = CheckInputs(specs, []Tensor{mask})
	if want := `input "input" is missing (want shape [-1 784], FP32)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	if err := CheckInputs(specs, []Tensor{row, mask, row}); err == nil || !strings.Contains(err.Error(), "unknown input") && !strings.Contains(err.Error(), "twice") {
		t.Errorf("three inputs for two specs: %v", err)
	}
}
