package onnx_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/onnx"
)

// cnn is a graph gonnx cannot run: Conv is supported, the rest is not.
func cnn() *pb.ModelProto {
	return modelProto(13, &pb.GraphProto{
		Node: []*pb.NodeProto{
			node("Conv", []string{"x", "k"}, []string{"c"}),
			node("BatchNormalization", []string{"c", "s", "b", "m", "v"}, []string{"n"}),
			node("MaxPool", []string{"n"}, []string{"p"}, &pb.AttributeProto{Name: "kernel_shape", Type: pb.AttributeProto_INTS, Ints: []int64{2, 2}}),
			node("MaxPool", []string{"p"}, []string{"p2"}),
			{Name: "trees", OpType: "TreeEnsembleClassifier", Domain: "ai.onnx.ml", Input: []string{"p2"}, Output: []string{"y"}},
		},
		Initializer: []*pb.TensorProto{floats("k", make([]float32, 9), 1, 1, 3, 3)},
		Input:       []*pb.ValueInfoProto{value("x", pb.TensorProto_FLOAT, "n", 1, 28, 28)},
		Output:      []*pb.ValueInfoProto{value("y", pb.TensorProto_FLOAT, "n", 10)},
	})
}

func wantUnsupported(t *testing.T, data []byte, want ...string) {
	t.Helper()
	_, err := onnx.Load(data)
	if !errors.Is(err, model.ErrUnsupported) {
		t.Fatalf("Load: %v, want ErrUnsupported", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestUnsupportedOperators(t *testing.T) {
	wantUnsupported(t, marshal(t, cnn()),
		"unsupported ONNX operators: BatchNormalization, MaxPool, ai.onnx.ml.TreeEnsembleClassifier (gonnx supports opset 13: Abs, ",
		"Gemm, ")
}

func TestUnsupportedModels(t *testing.T) {
	opset := newMLP(1, 4, 3, 2).graph()
	opset.OpsetImport[0].Version = 11
	t.Run("opset", func(t *testing.T) { wantUnsupported(t, marshal(t, opset), "ONNX opset 11", "opset 13 only") })

	noOpset := newMLP(1, 4, 3, 2).graph()
	noOpset.OpsetImport = nil
	t.Run("no opset", func(t *testing.T) { wantUnsupported(t, marshal(t, noOpset), "no default ONNX opset") })

	str := newMLP(1, 4, 3, 2).graph()
	str.Graph.Input[0] = value("input", pb.TensorProto_STRING, "batch", 4)
	t.Run("string input", func(t *testing.T) { wantUnsupported(t, marshal(t, str), `input "input" has element type STRING`) })

	f16 := newMLP(1, 4, 3, 2).graph()
	f16.Graph.Input[0] = value("input", pb.TensorProto_FLOAT16, "batch", 4)
	t.Run("float16 input", func(t *testing.T) { wantUnsupported(t, marshal(t, f16), "FLOAT16") })

	unsorted := newMLP(1, 4, 3, 2).graph()
	n := unsorted.Graph.Node
	n[0], n[1] = n[1], n[0]
	t.Run("unsorted", func(t *testing.T) { wantUnsupported(t, marshal(t, unsorted), `reads "h" before any node produces it`) })

	attr := newMLP(1, 4, 3, 2).graph()
	attr.Graph.Node[0].Attribute = append(attr.Graph.Node[0].Attribute, intAttr("bogus", 1))
	t.Run("attribute", func(t *testing.T) { wantUnsupported(t, marshal(t, attr), "(Gemm)", "bogus") })

	missing := newMLP(1, 4, 3, 2).graph()
	missing.Graph.Output[0].Name = "nowhere"
	t.Run("missing output", func(t *testing.T) { wantUnsupported(t, marshal(t, missing), `"nowhere" is produced by no node`) })

	shape := newMLP(1, 4, 3, 2).graph()
	shape.Graph.Initializer[0].Dims = []int64{5, 5} // 12 values for 25 slots
	t.Run("initializer shape", func(t *testing.T) { wantUnsupported(t, marshal(t, shape)) })

	ext := newMLP(1, 4, 3, 2).graph()
	ext.Graph.Initializer[0].DataLocation = pb.TensorProto_EXTERNAL
	t.Run("external data", func(t *testing.T) { wantUnsupported(t, marshal(t, ext), "external file") })
}

func TestCorruptFiles(t *testing.T) {
	good := marshal(t, newMLP(7, 8, 4, 3).graph())
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("this is not an ONNX model"),
		"truncated": good[:len(good)/2],
		"zip":       []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := onnx.Load(data)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if errors.Is(err, model.ErrUnsupported) {
				t.Errorf("a corrupt file is not an unsupported model: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestMutatedModels flips bytes of a valid model: Load and Predict may
// fail but must never panic.
func TestMutatedModels(t *testing.T) {
	good := marshal(t, newMLP(8, 8, 4, 3).graph())
	r := rand.New(rand.NewPCG(9, 9))
	loaded := 0
	for range 300 {
		data := append([]byte(nil), good...)
		for range 1 + r.IntN(4) {
			data[r.IntN(len(data))] = byte(r.IntN(256))
		}
		m, err := onnx.Load(data)
		if err != nil {
			continue
		}
		loaded++
		for _, in := range m.Inputs() {
			shape := append([]int64(nil), in.Shape...)
			n := 1
			for i, d := range shape {
				if d < 0 || d > 64 {
					shape[i] = 2
				}
				n *= int(shape[i])
			}
			_, _ = m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: shape, FP32: make([]float32, n)}})
		}
		m.Close()
	}
	t.Logf("%d of 300 mutated models still loaded", loaded)
}

// TestDuplicateInitializerInput covers exporters that list initializers as
// graph inputs too (IR < 4).
func TestDuplicateInitializerInput(t *testing.T) {
	g := newMLP(10, 4, 3, 2).graph()
	g.Graph.Input = append(g.Graph.Input, value("w1", pb.TensorProto_FLOAT, 3, 4))
	m := load(t, marshal(t, g))
	if len(m.Inputs()) != 1 {
		t.Fatalf("Inputs = %+v", m.Inputs())
	}
}
