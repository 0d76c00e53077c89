package onnx_test

import (
	"context"
	"math"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

func floatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: v}
}

// chain builds input [batch,4] -> nodes -> "y" [batch,out] with the given
// initializers.
func chain(out int, nodes []*pb.NodeProto, inits ...*pb.TensorProto) *pb.ModelProto {
	return modelProto(13, &pb.GraphProto{
		Name: "chain", Node: nodes, Initializer: inits,
		Input:  []*pb.ValueInfoProto{value("x", pb.TensorProto_FLOAT, "batch", 4)},
		Output: []*pb.ValueInfoProto{value("y", pb.TensorProto_FLOAT, "batch", out)},
	})
}

// TestDenseMatchesGonnx runs chains of dense layers on the direct path
// and on gonnx, on inputs with zeros (which the direct path skips), and
// wants the same outputs.
func TestDenseMatchesGonnx(t *testing.T) {
	w43 := batch(11, 4, 3) // [4,3]: MatMul, or Gemm without transB
	w34 := batch(12, 3, 4) // [3,4]: Gemm with transB
	w32 := batch(13, 3, 2) // [3,2]
	b3 := batch(14, 1, 3)  // [3]
	cases := map[string]*pb.ModelProto{
		"mlp": newMLP(3, 4, 5, 3).graph(),
		"matmul-add-sigmoid-tanh": chain(2, []*pb.NodeProto{
			node("MatMul", []string{"x", "w"}, []string{"h"}),
			node("Add", []string{"h", "b"}, []string{"a"}),
			node("Sigmoid", []string{"a"}, []string{"s"}),
			node("MatMul", []string{"s", "w2"}, []string{"t"}),
			node("Tanh", []string{"t"}, []string{"y"}),
		}, floats("w", w43, 4, 3), floats("b", b3, 3), floats("w2", w32, 3, 2)),
		"gemm-alpha-beta-scalar-bias": chain(3, []*pb.NodeProto{
			node("Gemm", []string{"x", "w", "c"}, []string{"g"}, floatAttr("alpha", 0.5), floatAttr("beta", 2)),
			node("Relu", []string{"g"}, []string{"y"}),
		}, floats("w", w43, 4, 3), floats("c", []float32{0.25}, 1)),
		"gemm-transB-row-bias-softmax": chain(3, []*pb.NodeProto{
			node("Gemm", []string{"x", "w", "c"}, []string{"g"}, intAttr("transB", 1)),
			node("Softmax", []string{"g"}, []string{"y"}, intAttr("axis", -1)),
		}, floats("w", w34, 3, 4), floats("c", b3, 1, 3)),
		"gemm-no-bias": chain(3, []*pb.NodeProto{
			node("Gemm", []string{"x", "w"}, []string{"y"}),
		}, floats("w", w43, 4, 3)),
	}
	x := batch(21, 3, 4)
	x[1], x[4], x[5], x[11] = 0, 0, 0, 0
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			data := marshal(t, g)
			direct := load(t, data)
			if e := direct.(*onnx.Model).Engine(); e != "dense" {
				t.Fatalf("Engine = %q, want dense", e)
			}
			ref, err := onnx.LoadGonnx(data)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			in := []model.Tensor{{DataType: model.FP32, Shape: []int64{3, 4}, FP32: x}}
			got, err := direct.Predict(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.Predict(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Name != want[0].Name || len(got[0].Shape) != 2 || got[0].Shape[0] != want[0].Shape[0] || got[0].Shape[1] != want[0].Shape[1] {
				t.Fatalf("got %s %v, gonnx %s %v", got[0].Name, got[0].Shape, want[0].Name, want[0].Shape)
			}
			for i := range want[0].FP32 {
				if d := math.Abs(float64(got[0].FP32[i] - want[0].FP32[i])); d > 1e-5 {
					t.Errorf("value %d: %g, gonnx %g", i, got[0].FP32[i], want[0].FP32[i])
				}
			}
		})
	}
}

// TestDenseFallsBack keeps graphs that are not a plain chain on gonnx.
func TestDenseFallsBack(t *testing.T) {
	w := floats("w", batch(31, 4, 4), 4, 4)
	cases := map[string]*pb.ModelProto{
		// The input feeds two nodes.
		"branch": modelProto(13, &pb.GraphProto{
			Node: []*pb.NodeProto{
				node("MatMul", []string{"x", "w"}, []string{"h"}),
				node("Add", []string{"h", "x"}, []string{"y"}),
			},
			Initializer: []*pb.TensorProto{w},
			Input:       []*pb.ValueInfoProto{value("x", pb.TensorProto_FLOAT, "batch", 4)},
			Output:      []*pb.ValueInfoProto{value("y", pb.TensorProto_FLOAT, "batch", 4)},
		}),
		// Softmax over the batch axis.
		"softmax-axis-0": chain(4, []*pb.NodeProto{
			node("MatMul", []string{"x", "w"}, []string{"h"}),
			node("Softmax", []string{"h"}, []string{"y"}, intAttr("axis", 0)),
		}, w),
		// An operator the direct path does not have.
		"abs": chain(4, []*pb.NodeProto{
			node("MatMul", []string{"x", "w"}, []string{"h"}),
			node("Abs", []string{"h"}, []string{"y"}),
		}, w),
	}
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			m := load(t, marshal(t, g))
			if e := m.(*onnx.Model).Engine(); e != "gonnx" {
				t.Fatalf("Engine = %q, want gonnx", e)
			}
			if _, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: []int64{2, 4}, FP32: batch(32, 2, 4)}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
