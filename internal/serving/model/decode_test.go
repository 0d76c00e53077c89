package model

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeInfer(t *testing.T) {
	tests := map[string]struct {
		body string
		want InferRequest
	}{
		"a flat FP32 input with id, parameters and outputs": {
			body: `{"id":"r1","parameters":{"a":[1,{"b":null}]},"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,-2.5,3e2,0.0039215689]}],"outputs":[{"name":"y","parameters":{}}]}`,
			want: InferRequest{ID: "r1", Outputs: []string{"y"}, Inputs: []Tensor{{Name: "x", DataType: FP32, Shape: []int64{2, 2}, FP32: []float32{1, -2.5, 300, 0.0039215689}}}},
		},
		"nested data is flattened row-major": {
			body: `{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP64","data":[[1,2,3],[4,5,6]]}]}`,
			want: InferRequest{Inputs: []Tensor{{Name: "x", DataType: FP64, Shape: []int64{2, 3}, FP64: []float64{1, 2, 3, 4, 5, 6}}}},
		},
		"data before datatype and shape": {
			body: ` { "inputs" : [ { "data" : [ [ 1 , 2 ] ] , "name" : "x" , "datatype" : "INT64" , "shape" : [ 1 , 2 ] } ] } `,
			want: InferRequest{Inputs: []Tensor{{Name: "x", DataType: INT64, Shape: []int64{1, 2}, Int64: []int64{1, 2}}}},
		},
		"INT32, narrow integers held as INT64, BOOL": {
			body: `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","data":[-2147483648,2147483647]},` +
				`{"name":"b","shape":[3],"datatype":"UINT8","data":[0,255,1.0e2]},` +
				`{"name":"c","shape":[2],"datatype":"BOOL","data":[true,false]}]}`,
			want: InferRequest{Inputs: []Tensor{
				{Name: "a", DataType: INT32, Shape: []int64{2}, Int64: []int64{math.MinInt32, math.MaxInt32}},
				{Name: "b", DataType: INT64, Shape: []int64{3}, Int64: []int64{0, 255, 100}},
				{Name: "c", DataType: BOOL, Shape: []int64{2}, Bool: []bool{true, false}},
			}},
		},
		"escaped names and an empty shape": {
			body: `{"id":"\u00e9\ud83d\ude00\n","inputs":[{"name":"a\"b\\c\/","shape":[],"datatype":"FP32","data":[7]}]}`,
			want: InferRequest{ID: "é😀\n", Inputs: []Tensor{{Name: `a"b\c/`, DataType: FP32, Shape: []int64{}, FP32: []float32{7}}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeInfer([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestDecodeInferNull(t *testing.T) {
	got, err := DecodeInfer([]byte(`{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,null,2]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Inputs[0].FP32; len(d) != 3 || !math.IsNaN(float64(d[1])) || d[2] != 2 {
		t.Errorf("data = %v, want [1 NaN 2]", d)
	}
}

func TestDecodeInferErrors(t *testing.T) {
	in := func(datatype, shape, data string) string {
		return `{"inputs":[{"name":"x","datatype":"` + datatype + `","shape":` + shape + `,"data":` + data + `}]}`
	}
	tests := map[string]struct{ body, want string }{
		"empty body":                {``, "must be an object"},
		"not JSON":                  {`nope`, "must be an object"},
		"no inputs":                 {`{"id":"a"}`, `no "inputs"`},
		"empty inputs":              {`{"inputs":[]}`, `no "inputs"`},
		"trailing data":             {in("FP32", "[1]", "[1]") + "x", "after the top-level value"},
		"truncated":                 {in("FP32", "[2]", "[1,")[:40], "unexpected end"},
		"NaN is not JSON":           {in("FP32", "[1]", "[NaN]"), `input "x": data: element 0`},
		"Infinity is not JSON":      {in("FP64", "[1]", "[Infinity]"), "want a number"},
		"hex is not JSON":           {in("FP32", "[1]", "[0x10]"), "want ',' or ']'"},
		"leading zero":              {in("FP32", "[1]", "[01]"), "want ',' or ']'"},
		"bare fraction":             {in("FP32", "[1]", "[1.]"), "digit after '.'"},
		"bare exponent":             {in("FP32", "[1]", "[1e]"), "digit in the exponent"},
		"trailing comma":            {in("FP32", "[2]", "[1,2,]"), "want a number"},
		"count mismatch":            {in("FP32", "[1,784]", "[1,2]"), `input "x": shape [1 784] needs 784 values, data has 2`},
		"ragged":                    {in("FP32", "[4]", "[[1,2],[3]]"), "ragged array"},
		"FP32 overflow":             {in("FP32", "[1]", "[1e39]"), "out of range for FP32"},
		"null in ints":              {in("INT64", "[1]", "[null]"), "null is only accepted in FP32 and FP64"},
		"fraction in ints":          {in("INT32", "[1]", "[1.5]"), "not an integer"},
		"INT8 range":                {in("INT8", "[1]", "[128]"), "128 is out of range for INT8"},
		"UINT8 negative":            {in("UINT8", "[1]", "[-1]"), "out of range for UINT8"},
		"UINT64 beyond int64":       {in("UINT64", "[1]", "[9223372036854775808]"), "out of range for UINT64"},
		"bool as number":            {in("BOOL", "[1]", "[1]"), "want true or false"},
		"FP16":                      {in("FP16", "[1]", "[1]"), "datatype FP16 is unsupported"},
		"BYTES":                     {in("BYTES", "[1]", `["a"]`), "datatype BYTES is unsupported"},
		"unknown datatype":          {in("FP8", "[1]", "[1]"), `unknown datatype "FP8"`},
		"negative dimension":        {in("FP32", "[-1]", "[1]"), "not a non-negative integer"},
		"fractional dimension":      {in("FP32", "[1.5]", "[1]"), "not a non-negative integer"},
		"missing name":              {`{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}`, `input #0: missing "name"`},
		"missing data":              {`{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}`, `input "x": missing "data"`},
		"missing shape":             {`{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}`, `missing "shape"`},
		"data not an array":         {in("FP32", "[1]", "1"), "data must be an array"},
		"control char in string":    {"{\"id\":\"a\x01\"}", "no control characters"},
		"bad escape":                {`{"id":"\x"}`, "a valid escape"},
		"output without name":       {`{"inputs":[],"outputs":[{}]}`, `output #0 has no "name"`},
		"deeply nested parameters":  {`{"parameters":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, "nested deeper"},
		"deeply nested data":        {in("FP32", "[1]", strings.Repeat("[", 40)+"1"+strings.Repeat("]", 40)), "nested deeper than 32"},
		"id not a string":           {`{"id":1,"inputs":[]}`, "id must be a string"},
		"unterminated string":       {`{"id":"abc`, "unexpected end"},
		"huge shape, little data":   {in("FP32", "[9223372036854775807,9223372036854775807]", "[1]"), "needs 9223372036854775807 values, data has 1"},
		"missing colon":             {`{"inputs" []}`, "want ':'"},
		"inputs not an array":       {`{"inputs":{}}`, "inputs must be an array"},
		"truncated true":            {in("BOOL", "[1]", "[tru]"), "want true"},
		"values and arrays mixed":   {in("FP32", "[2]", "[1,[2]]"), "ragged"},
		"arrays after empty values": {in("FP32", "[1]", "[[],1]"), "ragged"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeInfer([]byte(tc.body))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !errors.Is(err, ErrBadInput) {
				t.Errorf("error %q does not wrap ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDecodeScore(t *testing.T) {
	one := []Spec{{Name: "input", DataType: FP32, Shape: []int64{-1, 3}}}
	two := []Spec{{Name: "a", DataType: FP64, Shape: []int64{-1, 2}}, {Name: "b", DataType: BOOL, Shape: []int64{-1}}}
	tests := map[string]struct {
		body  string
		specs []Spec
		want  []Tensor
	}{
		"data, two rows": {`{"data":[[1,2,3],[4,5,6]]}`, one,
			[]Tensor{{Name: "input", DataType: FP32, Shape: []int64{2, 3}, FP32: []float32{1, 2, 3, 4, 5, 6}}}},
		"a flat row for a rank-2 input": {`{"data":[1,null,3],"method":"predict"}`, one,
			[]Tensor{{Name: "input", DataType: FP32, Shape: []int64{1, 3}, FP32: []float32{1, float32(math.NaN()), 3}}}},
		"input_data with data and pandas keys": {`{"input_data":{"columns":["a","b","c"],"index":[0],"data":[[1,2,3]]}}`, one,
			[]Tensor{{Name: "input", DataType: FP32, Shape: []int64{1, 3}, FP32: []float32{1, 2, 3}}}},
		"input_data as an array": {`{"input_data":[[1,2,3]]}`, one,
			[]Tensor{{Name: "input", DataType: FP32, Shape: []int64{1, 3}, FP32: []float32{1, 2, 3}}}},
		"named inputs": {`{"input_data":{"b":[true,false],"a":[[1,2],[3,4]]}}`, two, []Tensor{
			{Name: "b", DataType: BOOL, Shape: []int64{2}, Bool: []bool{true, false}},
			{Name: "a", DataType: FP64, Shape: []int64{2, 2}, FP64: []float64{1, 2, 3, 4}}}},
		"empty rows": {`{"data":[[],[]]}`, one,
			[]Tensor{{Name: "input", DataType: FP32, Shape: []int64{2, 0}, FP32: nil}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeScore([]byte(tc.body), tc.specs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d tensors, want %d", len(got), len(tc.want))
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Name != w.Name || g.DataType != w.DataType || !reflect.DeepEqual(g.Shape, w.Shape) ||
					!sameFloats(g.FP32, w.FP32) || !reflect.DeepEqual(g.FP64, w.FP64) || !reflect.DeepEqual(g.Bool, w.Bool) {
					t.Errorf("tensor %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i]))) {
			return false
		}
	}
	return true
}

func TestDecodeScoreErrors(t *testing.T) {
	one := []Spec{{Name: "input", DataType: FP32, Shape: []int64{-1, 3}}}
	tests := map[string]struct{ body, want string }{
		"ragged rows":       {`{"data":[[1,2,3],[4,5]]}`, `input "input" (shape [-1 3]): ragged array`},
		"neither key":       {`{"rows":[[1]]}`, `neither "data" nor "input_data"`},
		"both keys":         {`{"data":[1],"input_data":{"data":[1]}}`, `either "data" or "input_data"`},
		"unknown input":     {`{"input_data":{"img":[1]}}`, `unknown input "img"; the model's inputs are "input"`},
		"twice":             {`{"input_data":{"input":[1],"data":[1]}}`, `input "input" is given twice`},
		"empty input_data":  {`{"input_data":{}}`, `holds no inputs`},
		"strings in data":   {`{"data":[["a"]]}`, `input "input"`},
		"scalar data":       {`{"data":1}`, "data must be an array"},
		"not an object":     {`[1]`, "must be an object"},
		"trailing garbage":  {`{"data":[1]}}`, "after the top-level value"},
		"bools in FP32":     {`{"data":[true]}`, "want a number"},
		"input_data string": {`{"input_data":"x"}`, `"input_data" must be an object`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeScore([]byte(tc.body), one)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to wrap ErrBadInput and contain %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeScore([]byte(`{"data":[1]}`), nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("no specs: error %v, want ErrBadInput", err)
	}
}

// FuzzDecodeInfer checks that no body makes the decoders panic, and that
// what DecodeInfer accepts is consistent.
func FuzzDecodeInfer(f *testing.F) {
	for _, seed := range []string{
		`{"id":"a","inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[[1,2]]}],"outputs":[{"name":"y"}]}`,
		`{"inputs":[{"data":[true],"name":"b","shape":[1],"datatype":"BOOL"}]}`,
		`{"inputs":[{"name":"i","shape":[2],"datatype":"UINT16","data":[1,65535]}],"parameters":{"k":"\u00e9"}}`,
		`{"inputs":[{"name":"n","shape":[2],"datatype":"FP64","data":[null,-1.5e-300]}]}`,
		`{"data":[[1,2,3],[4,5,6]]}`,
		`{"input_data":{"a":[1,2],"b":[[true]]}}`,
		`{"inputs":[{"name":"x","shape":[0,3],"datatype":"INT8","data":[[]]}]}`,
	} {
		f.Add([]byte(seed))
	}
	specs := []Spec{{Name: "a", DataType: FP32, Shape: []int64{-1, 2}}, {Name: "b", DataType: BOOL, Shape: []int64{-1, 1}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeInfer(body)
		if err == nil {
			for i := range req.Inputs {
				in := &req.Inputs[i]
				if elements(in.Shape) != int64(in.DataLen()) {
					t.Fatalf("accepted input %q with shape %v and %d values", in.Name, in.Shape, in.DataLen())
				}
			}
			_ = AppendInferResponse(nil, "m", "1", req.ID, req.Inputs)
			_ = CheckInputs(specs, req.Inputs)
		} else if !errors.Is(err, ErrBadInput) {
			t.Fatalf("error %v does not wrap ErrBadInput", err)
		}
		if ins, err := DecodeScore(body, specs); err == nil {
			_ = CheckInputs(specs, ins)
			for i := range ins {
				_ = AppendData(nil, &ins[i], true)
			}
		} else if !errors.Is(err, ErrBadInput) {
			t.Fatalf("error %v does not wrap ErrBadInput", err)
		}
	})
}
