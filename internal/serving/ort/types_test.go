//go:build ort

package ort_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/serving/ort"
	"google.golang.org/protobuf/proto"
)

// info declares a tensor; a dimension of -1 is symbolic.
func info(name string, elem pb.TensorProto_DataType, dims ...int64) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		dim := &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: int32(elem), Shape: shape}}}}
}

func encode(t *testing.T, g *pb.GraphProto) []byte {
	t.Helper()
	data, err := proto.Marshal(&pb.ModelProto{IrVersion: 7, Graph: g,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: 13}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// typesModel takes ids INT32 [n], x FP64 [n,2] and a scalar flag BOOL, and
// returns ids cast to INT8, x*x and [not flag].
func typesModel(t *testing.T) []byte {
	return encode(t, &pb.GraphProto{
		Name: "types",
		Node: []*pb.NodeProto{
			{OpType: "Cast", Input: []string{"ids"}, Output: []string{"ids8"},
				Attribute: []*pb.AttributeProto{{Name: "to", Type: pb.AttributeProto_INT, I: int64(pb.TensorProto_INT8)}}},
			{OpType: "Mul", Input: []string{"x", "x"}, Output: []string{"y"}},
			{OpType: "Not", Input: []string{"flag"}, Output: []string{"nflag0"}},
			{OpType: "Reshape", Input: []string{"nflag0", "one"}, Output: []string{"nflag"}},
		},
		Initializer: []*pb.TensorProto{{Name: "one", DataType: int32(pb.TensorProto_INT64), Dims: []int64{1}, Int64Data: []int64{1}}},
		Input:       []*pb.ValueInfoProto{info("ids", pb.TensorProto_INT32, -1), info("x", pb.TensorProto_DOUBLE, -1, 2), info("flag", pb.TensorProto_BOOL)},
		Output:      []*pb.ValueInfoProto{info("ids8", pb.TensorProto_INT8, -1), info("y", pb.TensorProto_DOUBLE, -1, 2), info("nflag", pb.TensorProto_BOOL, 1)},
	})
}

func TestTypes(t *testing.T) {
	m := load(t, typesModel(t))
	wantIn := []model.Spec{{Name: "ids", DataType: model.INT32, Shape: []int64{-1}},
		{Name: "x", DataType: model.FP64, Shape: []int64{-1, 2}}, {Name: "flag", DataType: model.BOOL}}
	wantOut := []model.Spec{{Name: "ids8", DataType: model.INT64, Shape: []int64{-1}},
		{Name: "y", DataType: model.FP64, Shape: []int64{-1, 2}}, {Name: "nflag", DataType: model.BOOL, Shape: []int64{1}}}
	if got := m.Inputs(); !reflect.DeepEqual(got, wantIn) {
		t.Errorf("Inputs() = %v, want %v", got, wantIn)
	}
	if got := m.Outputs(); !reflect.DeepEqual(got, wantOut) {
		t.Errorf("Outputs() = %v, want %v", got, wantOut)
	}
	ctx := context.Background()
	// Named inputs out of order, INT64 ids for INT32, FP32 x for FP64.
	out, err := m.Predict(ctx, []model.Tensor{
		{Name: "flag", DataType: model.BOOL, Shape: []int64{}, Bool: []bool{true}},
		{Name: "x", DataType: model.FP32, Shape: []int64{1, 2}, FP32: []float32{1.5, -2}},
		{Name: "ids", DataType: model.INT64, Shape: []int64{3}, Int64: []int64{-7, 0, 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Tensor{
		{Name: "ids8", DataType: model.INT64, Shape: []int64{3}, Int64: []int64{-7, 0, 100}},
		{Name: "y", DataType: model.FP64, Shape: []int64{1, 2}, FP64: []float64{2.25, 4}},
		{Name: "nflag", DataType: model.BOOL, Shape: []int64{1}, Bool: []bool{false}},
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Predict = %+v, want %+v", out, want)
	}
	// An empty batch.
	out, err = m.Predict(ctx, []model.Tensor{
		{DataType: model.INT32, Shape: []int64{0}, Int64: []int64{}},
		{DataType: model.FP64, Shape: []int64{0, 2}, FP64: []float64{}},
		{DataType: model.BOOL, Shape: []int64{}, Bool: []bool{false}},
	})
	if err != nil || len(out) != 3 || !reflect.DeepEqual(out[1].Shape, []int64{0, 2}) {
		t.Errorf("empty batch: %+v, %v", out, err)
	}
	for name, c := range map[string]struct {
		in   model.Tensor
		want string
	}{
		"overflow":  {model.Tensor{Name: "ids", DataType: model.INT64, Shape: []int64{1}, Int64: []int64{1 << 40}}, `input "ids": value 1099511627776`},
		"float ids": {model.Tensor{Name: "ids", DataType: model.FP32, Shape: []int64{1}, FP32: []float32{1}}, `input "ids": got FP32 data, want INT32`},
		"int flag":  {model.Tensor{Name: "flag", DataType: model.INT64, Shape: []int64{}, Int64: []int64{1}}, `input "flag": got INT64 data, want BOOL`},
	} {
		in := map[string]model.Tensor{
			"ids":  {Name: "ids", DataType: model.INT32, Shape: []int64{1}, Int64: []int64{1}},
			"x":    {Name: "x", DataType: model.FP64, Shape: []int64{1, 2}, FP64: []float64{1, 2}},
			"flag": {Name: "flag", DataType: model.BOOL, Shape: []int64{}, Bool: []bool{true}},
		}
		in[c.in.Name] = c.in
		_, err := m.Predict(ctx, []model.Tensor{in["ids"], in["x"], in["flag"]})
		if !errors.Is(err, model.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrBadInput and %q", name, err, c.want)
		}
	}
}

func TestUnsupportedModels(t *testing.T) {
	requireLibrary(t)
	unknownOp := encode(t, &pb.GraphProto{
		Node:   []*pb.NodeProto{{OpType: "NoSuchOp", Input: []string{"x"}, Output: []string{"y"}}},
		Input:  []*pb.ValueInfoProto{info("x", pb.TensorProto_FLOAT, -1)},
		Output: []*pb.ValueInfoProto{info("y", pb.TensorProto_FLOAT, -1)},
	})
	stringIn := encode(t, &pb.GraphProto{
		Node:   []*pb.NodeProto{{OpType: "Identity", Input: []string{"s"}, Output: []string{"t"}}},
		Input:  []*pb.ValueInfoProto{info("s", pb.TensorProto_STRING, -1)},
		Output: []*pb.ValueInfoProto{info("t", pb.TensorProto_STRING, -1)},
	})
	noInput := encode(t, &pb.GraphProto{
		Node: []*pb.NodeProto{{OpType: "Constant", Output: []string{"c"}, Attribute: []*pb.AttributeProto{{Name: "value", Type: pb.AttributeProto_TENSOR,
			T: &pb.TensorProto{DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{1}, FloatData: []float32{1}}}}}},
		Output: []*pb.ValueInfoProto{info("c", pb.TensorProto_FLOAT, 1)},
	})
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"unknown op":   {unknownOp, "NoSuchOp"},
		"string input": {stringIn, `input "s"`},
		"no input":     {noInput, "0 inputs"},
	} {
		m, err := ort.Load(c.data)
		if err == nil {
			m.Close()
			t.Errorf("%s: Load succeeded", name)
			continue
		}
		if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrUnsupported and %q", name, err, c.want)
		}
	}
}

// TestScalarOutput documents a limit of the binding: it cannot return a
// rank-0 output, so Predict fails (cleanly) on such a model.
func TestScalarOutput(t *testing.T) {
	m := load(t, encode(t, &pb.GraphProto{
		Node: []*pb.NodeProto{{OpType: "ReduceSum", Input: []string{"x"}, Output: []string{"s"},
			Attribute: []*pb.AttributeProto{{Name: "keepdims", Type: pb.AttributeProto_INT, I: 0}}}},
		Input:  []*pb.ValueInfoProto{info("x", pb.TensorProto_FLOAT, 3)},
		Output: []*pb.ValueInfoProto{info("s", pb.TensorProto_FLOAT)},
	}))
	_, err := m.Predict(context.Background(), []model.Tensor{{DataType: model.FP32, Shape: []int64{3}, FP32: []float32{1, 2, 3}}})
	if err == nil || !strings.Contains(err.Error(), "rank-0 output") {
		t.Errorf("scalar output: %v", err)
	}
}
