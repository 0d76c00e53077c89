package onnx_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

// Graph-building helpers for tests: small models written with gonnx's
// protobuf types.

func tensorType(elem pb.TensorProto_DataType, dims ...any) *pb.TypeProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: int32(elem), Shape: shape}}}
}

func value(name string, elem pb.TensorProto_DataType, dims ...any) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{Name: name, Type: tensorType(elem, dims...)}
}

func floats(name string, v []float32, dims ...int64) *pb.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return &pb.TensorProto{Name: name, DataType: int32(pb.TensorProto_FLOAT), Dims: dims, RawData: raw}
}

func node(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{Name: op + "_" + out[0], OpType: op, Input: in, Output: out, Attribute: attrs}
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}

func modelProto(opset int64, g *pb.GraphProto) *pb.ModelProto {
	return &pb.ModelProto{IrVersion: 7, OpsetImport: []*pb.OperatorSetIdProto{{Version: opset}}, Graph: g}
}

func marshal(t testing.TB, mp *pb.ModelProto) []byte {
	t.Helper()
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mlp is a small random MLP and its independent evaluation.
type mlp struct {
	in, hid, out   int
	w1, b1, w2, b2 []float32
}

func newMLP(seed uint64, in, hid, out int) *mlp {
	r := rand.New(rand.NewPCG(seed, 1))
	f := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.5)
		}
		return v
	}
	return &mlp{in, hid, out, f(hid * in), f(hid), f(out * hid), f(out)}
}

// graph is input "input" [batch,in] -> Gemm(transB) -> Relu -> Gemm(transB)
// -> Softmax(axis=1) -> "probabilities".
func (m *mlp) graph() *pb.ModelProto {
	return modelProto(13, &pb.GraphProto{
		Name: "mlp",
		Node: []*pb.NodeProto{
			node("Gemm", []string{"input", "w1", "b1"}, []string{"h"}, intAttr("transB", 1)),
			node("Relu", []string{"h"}, []string{"r"}),
			node("Gemm", []string{"r", "w2", "b2"}, []string{"z"}, intAttr("transB", 1)),
			node("Softmax", []string{"z"}, []string{"probabilities"}, intAttr("axis", 1)),
		},
		Initializer: []*pb.TensorProto{
			floats("w1", m.w1, int64(m.hid), int64(m.in)), floats("b1", m.b1, int64(m.hid)),
			floats("w2", m.w2, int64(m.out), int64(m.hid)), floats("b2", m.b2, int64(m.out)),
		},
		Input:  []*pb.ValueInfoProto{value("input", pb.TensorProto_FLOAT, "batch", m.in)},
		Output: []*pb.ValueInfoProto{value("probabilities", pb.TensorProto_FLOAT, "batch", m.out)},
	})
}

// predict evaluates one row in float64.
func (m *mlp) predict(x []float32) []float64 {
	h := make([]float64, m.hid)
	for j := range h {
		s := float64(m.b1[j])
		for i := range m.in {
			s += float64(m.w1[j*m.in+i]) * float64(x[i])
		}
		h[j] = math.Max(0, s)
	}
	z := make([]float64, m.out)
	var sum float64
	for c := range z {
		s := float64(m.b2[c])
		for j := range h {
			s += float64(m.w2[c*m.hid+j]) * h[j]
		}
		z[c] = math.Exp(s)
		sum += z[c]
	}
	for c := range z {
		z[c] /= sum
	}
	return z
}
