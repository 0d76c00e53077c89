package onnx_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

func load(t testing.TB, data []byte) model.Model {
	t.Helper()
	m, err := onnx.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func batch(seed uint64, rows, cols int) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

func TestMetadata(t *testing.T) {
	m := load(t, marshal(t, newMLP(1, 6, 5, 3).graph()))
	if m.Framework() != "onnx" {
		t.Errorf("Framework = %q", m.Framework())
	}
	wantIn := []model.Spec{{Name: "input", DataType: model.FP32, Shape: []int64{-1, 6}}}
	wantOut := []model.Spec{{Name: "probabilities", DataType: model.FP32, Shape: []int64{-1, 3}}}
	if got := m.Inputs(); !reflect.DeepEqual(got, wantIn) {
		t.Errorf("Inputs = %+v, want %+v (initializers must not be listed)", got, wantIn)
	}
	if got := m.Outputs(); !reflect.DeepEqual(got, wantOut) {
		t.Errorf("Outputs = %+v, want %+v", got, wantOut)
	}
	m.Inputs()[0].Shape[0] = 99 // callers get copies
	if m.Inputs()[0].Shape[0] != -1 {
		t.Error("Inputs shares its shape slice")
	}
}

func TestPredictMatchesReference(t *testing.T) {
	ref := newMLP(2, 20, 16, 4)
	m := load(t, marshal(t, ref.graph()))
	const rows = 7
	x := batch(3, rows, ref.in)
	for _, name := range []string{"input", ""} { // by name and by position
		out, err := m.Predict(context.Background(), []model.Tensor{{Name: name, DataType: model.FP32, Shape: []int64{rows, 20}, FP32: x}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || out[0].Name != "probabilities" || out[0].DataType != model.FP32 ||
			!reflect.DeepEqual(out[0].Shape, []int64{rows, 4}) || len(out[0].FP32) != rows*4 {
			t.Fatalf("output = %+v", out)
		}
		for r := range rows {
			want := ref.predict(x[r*ref.in : (r+1)*ref.in])
			for c, w := range want {
				if got := float64(out[0].FP32[r*4+c]); math.Abs(got-w) > 1e-6 {
					t.Errorf("row %d class %d: got %g, want %g", r, c, got, w)
				}
			}
		}
	}
	// FP64 data is converted to the declared FP32.
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	out, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.FP64, Shape: []int64{rows, 20}, FP64: x64}})
	if err != nil || len(out[0].FP32) != rows*4 {
		t.Fatalf("FP64 input: %v %+v", err, out)
	}
}

func TestIntegerInput(t *testing.T) {
	g := modelProto(13, &pb.GraphProto{
		Node:   []*pb.NodeProto{node("Cast", []string{"ids"}, []string{"f"}, intAttr("to", int64(pb.TensorProto_FLOAT)))},
		Input:  []*pb.ValueInfoProto{value("ids", pb.TensorProto_INT64, "n", 2)},
		Output: []*pb.ValueInfoProto{value("f", pb.TensorProto_FLOAT, "n", 2)},
	})
	m := load(t, marshal(t, g))
	if got := m.Inputs()[0].DataType; got != model.INT64 {
		t.Fatalf("input datatype %s", got)
	}
	out, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.INT64, Shape: []int64{2, 2}, Int64: []int64{1, -2, 3, 40}}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out[0].FP32, []float32{1, -2, 3, 40}) {
		t.Errorf("got %v", out[0].FP32)
	}
	_, err = m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 2}, FP32: []float32{1, 2}}})
	if !errors.Is(err, model.ErrBadInput) {
		t.Errorf("FP32 data for an INT64 input: %v", err)
	}
}

func TestBadInputs(t *testing.T) {
	m := load(t, marshal(t, newMLP(4, 784, 8, 10).graph()))
	fp := func(name string, shape []int64, n int) model.Tensor {
		return model.Tensor{Name: name, DataType: model.FP32, Shape: shape, FP32: make([]float32, n)}
	}
	cases := []struct {
		name   string
		inputs []model.Tensor
		want   string
	}{
		{"short row", []model.Tensor{fp("input", []int64{1, 783}, 783)}, `input "input": got shape [1 783], want [-1 784]`},
		{"rank", []model.Tensor{fp("", []int64{784}, 784)}, `input "input": got shape [784], want [-1 784]`},
		{"data length", []model.Tensor{fp("input", []int64{2, 784}, 784)}, `input "input": shape [2 784] does not match the 784 values given`},
		{"zero dim", []model.Tensor{fp("input", []int64{0, 784}, 0)}, `input "input": shape [0 784] has a dimension < 1`},
		{"negative dim", []model.Tensor{fp("input", []int64{-1, 784}, 784)}, `dimension < 1`},
		{"huge dims", []model.Tensor{fp("input", []int64{1 << 40, 1 << 40}, 784)}, `want [-1 784]`},
		{"overflowing batch", []model.Tensor{fp("input", []int64{1 << 62, 784}, 784)}, `does not match the 784 values`},
		{"unknown name", []model.Tensor{fp("pixels", []int64{1, 784}, 784)}, `unknown input "pixels"`},
		{"no inputs", nil, `takes 1 input(s) ("input" [-1 784]), got 0`},
		{"two inputs", []model.Tensor{fp("input", []int64{1, 784}, 784), fp("", []int64{1, 784}, 784)}, `got 2`},
		{"bad datatype", []model.Tensor{{Name: "input", DataType: "FP16", Shape: []int64{1, 784}}}, `input "input": unsupported datatype "FP16"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Predict(context.Background(), c.inputs)
			if !errors.Is(err, model.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrBadInput containing %q", err, c.want)
			}
		})
	}
}

func TestConcurrentPredict(t *testing.T) {
	ref := newMLP(5, 32, 16, 4)
	m := load(t, marshal(t, ref.graph()))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				x := batch(uint64(g*100+i), 1, ref.in)
				out, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 32}, FP32: x}})
				if err != nil {
					errs <- err
					return
				}
				for c, w := range ref.predict(x) {
					if math.Abs(float64(out[0].FP32[c])-w) > 1e-6 {
						errs <- errors.New("wrong result under concurrency")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClosedAndCancelled(t *testing.T) {
	m, err := onnx.Load(marshal(t, newMLP(6, 4, 4, 2).graph()))
	if err != nil {
		t.Fatal(err)
	}
	in := []model.Tensor{{DataType: model.FP32, Shape: []int64{1, 4}, FP32: make([]float32, 4)}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	m.Close()
	if _, err := m.Predict(context.Background(), in); err == nil {
		t.Error("Predict after Close succeeded")
	}
}

// TestGemmWeightLayouts checks the load-time transposition of Gemm weights
// against the reference: float_data instead of raw_data, and a weight that
// two nodes share (left as it is).
func TestGemmWeightLayouts(t *testing.T) {
	ref := newMLP(11, 12, 6, 3)
	x := batch(12, 2, ref.in)
	in := []model.Tensor{{DataType: model.FP32, Shape: []int64{2, 12}, FP32: x}}
	check := func(t *testing.T, m model.Model) {
		out, err := m.Predict(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			for r := range 2 {
				for c, w := range ref.predict(x[r*ref.in : (r+1)*ref.in]) {
					if got := float64(o.FP32[r*3+c]); math.Abs(got-w) > 1e-6 {
						t.Fatalf("%s row %d class %d: got %g, want %g", o.Name, r, c, got, w)
					}
				}
			}
		}
	}
	t.Run("float_data", func(t *testing.T) {
		g := ref.graph()
		g.Graph.Initializer[0] = &pb.TensorProto{Name: "w1", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{6, 12}, FloatData: ref.w1}
		check(t, load(t, marshal(t, g)))
	})
	t.Run("shared", func(t *testing.T) {
		g := ref.graph()
		nodes := g.Graph.Node
		g.Graph.Node = append(nodes,
			node("Gemm", []string{"r", "w2", "b2"}, []string{"z2"}, intAttr("transB", 1)),
			node("Softmax", []string{"z2"}, []string{"again"}, intAttr("axis", 1)))
		g.Graph.Output = append(g.Graph.Output, value("again", pb.TensorProto_FLOAT, "batch", 3))
		m := load(t, marshal(t, g))
		if len(m.Outputs()) != 2 {
			t.Fatalf("Outputs = %+v", m.Outputs())
		}
		check(t, m)
	})
}
