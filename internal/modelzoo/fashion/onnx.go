package fashion

import (
	"encoding/binary"
	"fmt"
	"math"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

// ONNX graph names, for callers that feed the exported model.
const (
	InputName  = "input"
	OutputName = "probabilities"
)

// ONNX encodes the MLP as an opset-13 ModelProto: input "input" FP32
// [batch,784] -> Gemm(transB=1) -> Relu -> Gemm(transB=1) ->
// Softmax(axis=1) -> output "probabilities" FP32 [batch,10], with the
// weights as raw little-endian initializers.
func (m *MLP) ONNX() ([]byte, error) {
	if len(m.W1) != m.Hidden*m.Inputs || len(m.B1) != m.Hidden ||
		len(m.W2) != m.Classes*m.Hidden || len(m.B2) != m.Classes {
		return nil, fmt.Errorf("fashion: MLP weights do not match %d-%d-%d", m.Inputs, m.Hidden, m.Classes)
	}
	gemm := func(name, in, w, b, out string) *pb.NodeProto {
		return &pb.NodeProto{
			Name: name, OpType: "Gemm", Input: []string{in, w, b}, Output: []string{out},
			Attribute: []*pb.AttributeProto{{Name: "transB", Type: pb.AttributeProto_INT, I: 1}},
		}
	}
	graph := &pb.GraphProto{
		Name: "fashion_mlp",
		Node: []*pb.NodeProto{
			gemm("fc1", InputName, "fc1.weight", "fc1.bias", "fc1_out"),
			{Name: "relu1", OpType: "Relu", Input: []string{"fc1_out"}, Output: []string{"relu1_out"}},
			gemm("fc2", "relu1_out", "fc2.weight", "fc2.bias", "logits"),
			{
				Name: "softmax", OpType: "Softmax", Input: []string{"logits"}, Output: []string{OutputName},
				Attribute: []*pb.AttributeProto{{Name: "axis", Type: pb.AttributeProto_INT, I: 1}},
			},
		},
		Initializer: []*pb.TensorProto{
			floatTensor("fc1.weight", m.W1, m.Hidden, m.Inputs),
			floatTensor("fc1.bias", m.B1, m.Hidden),
			floatTensor("fc2.weight", m.W2, m.Classes, m.Hidden),
			floatTensor("fc2.bias", m.B2, m.Classes),
		},
		Input:  []*pb.ValueInfoProto{valueInfo(InputName, m.Inputs)},
		Output: []*pb.ValueInfoProto{valueInfo(OutputName, m.Classes)},
	}
	mp := &pb.ModelProto{
		IrVersion:       7, // the IR version of opset 13
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: 13}},
		ProducerName:    "kubeml",
		ProducerVersion: "1",
		DocString:       fmt.Sprintf("Fashion-MNIST %d-%d-%d MLP trained by kubeml's modelzoo", m.Inputs, m.Hidden, m.Classes),
		Graph:           graph,
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, fmt.Errorf("fashion: encoding ONNX: %w", err)
	}
	return data, nil
}

func floatTensor(name string, v []float32, dims ...int) *pb.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	t := &pb.TensorProto{Name: name, DataType: int32(pb.TensorProto_FLOAT), RawData: raw}
	for _, d := range dims {
		t.Dims = append(t.Dims, int64(d))
	}
	return t
}

// valueInfo declares a FP32 [batch, width] tensor.
func valueInfo(name string, width int) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{
		Name: name,
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: int32(pb.TensorProto_FLOAT),
			Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{
				{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}},
				{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(width)}},
			}},
		}}},
	}
}
