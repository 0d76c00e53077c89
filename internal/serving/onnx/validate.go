package onnx

import (
	"fmt"
	"sort"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/advancedclimatesystems/gonnx/ops/opset13"
	"github.com/kubeml/kubeml/internal/serving/model"
)

// Opset is the only version of the default ONNX operator set gonnx runs.
const Opset = 13

// isMLOp reports whether gonnx implements an ai.onnx.ml operator.
func isMLOp(name string) bool { return name == "LinearRegressor" || name == "Scaler" }

// SupportedOperators lists, sorted, the opset-13 operators gonnx runs.
func SupportedOperators() []string {
	names := opset13.GetOpNames()
	sort.Strings(names)
	return names
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("onnx: "+format+": %w", append(args, model.ErrUnsupported)...)
}

// validate checks everything gonnx needs that can be checked without
// running the graph, and returns the input and output specs.
func validate(mp *pb.ModelProto) (inputs, outputs []model.Spec, err error) {
	if err := checkOpset(mp.GetOpsetImport()); err != nil {
		return nil, nil, err
	}
	g := mp.GetGraph()
	if len(g.GetSparseInitializer()) > 0 {
		return nil, nil, unsupported("sparse initializers are not supported by gonnx")
	}
	if err := checkOperators(g.GetNode()); err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, t := range g.GetInitializer() {
		if t.GetDataLocation() == pb.TensorProto_EXTERNAL {
			return nil, nil, unsupported("initializer %q keeps its data in an external file; embed it in the model", t.GetName())
		}
		known[t.GetName()] = true
	}
	for _, vi := range g.GetInput() {
		if known[vi.GetName()] {
			continue // an initializer also listed as a graph input
		}
		spec, err := specOf(vi, true)
		if err != nil {
			return nil, nil, err
		}
		inputs = append(inputs, spec)
		known[vi.GetName()] = true
	}
	if len(inputs) == 0 {
		return nil, nil, unsupported("the graph has no inputs besides its initializers")
	}
	if err := checkOrder(g.GetNode(), known); err != nil {
		return nil, nil, err
	}
	for _, vi := range g.GetOutput() {
		if !known[vi.GetName()] {
			return nil, nil, unsupported("graph output %q is produced by no node", vi.GetName())
		}
		spec, err := specOf(vi, false)
		if err != nil {
			return nil, nil, err
		}
		outputs = append(outputs, spec)
	}
	if len(outputs) == 0 {
		return nil, nil, unsupported("the graph declares no outputs")
	}
	return inputs, outputs, nil
}

// checkOpset requires default-domain opset 13. gonnx picks the highest
// version among all imports, so that must be 13 as well.
func checkOpset(imports []*pb.OperatorSetIdProto) error {
	core, highest := int64(-1), int64(0)
	for _, o := range imports {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			core = o.GetVersion()
		}
		highest = max(highest, o.GetVersion())
	}
	switch {
	case core < 0:
		return unsupported("the model imports no default ONNX opset (gonnx supports opset %d only)", Opset)
	case core != Opset:
		return unsupported("ONNX opset %d: gonnx supports opset %d only; re-export the model with opset %d", core, Opset, Opset)
	case highest != Opset:
		return unsupported("an opset import of version %d makes gonnx refuse the model (it supports opset %d only)", highest, Opset)
	}
	return nil
}

// checkOperators names every operator gonnx lacks at once, then checks the
// attributes of the others by initialising them as gonnx will.
func checkOperators(nodes []*pb.NodeProto) error {
	var missing []string
	seen := map[string]bool{}
	for _, n := range nodes {
		name, ok := n.GetOpType(), false
		switch n.GetDomain() {
		case "", "ai.onnx":
			_, err := opset13.GetOperator(name)
			ok = err == nil
		case "ai.onnx.ml":
			ok = isMLOp(name)
			name = "ai.onnx.ml." + name
		default:
			name = n.GetDomain() + "." + name
		}
		if !ok && !seen[name] {
			seen[name] = true
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return unsupported("unsupported ONNX operators: %s (gonnx supports opset %d: %s)",
			strings.Join(missing, ", "), Opset, strings.Join(SupportedOperators(), ", "))
	}
	for _, n := range nodes {
		if err := initOperator(n); err != nil {
			return unsupported("node %q (%s): %v", n.GetName(), n.GetOpType(), err)
		}
	}
	return nil
}

func initOperator(n *pb.NodeProto) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gonnx panicked: %v", r)
		}
	}()
	op, err := opset13.GetOperator(n.GetOpType())
	if err != nil {
		return err
	}
	return op.Init(n)
}

// checkOrder makes sure every node reads only tensors that exist by then:
// gonnx runs the nodes in file order.
func checkOrder(nodes []*pb.NodeProto, known map[string]bool) error {
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			if in != "" && !known[in] {
				return unsupported("node %q (%s) reads %q before any node produces it (nodes must be topologically sorted)",
					n.GetName(), n.GetOpType(), in)
			}
		}
		for _, out := range n.GetOutput() {
			known[out] = true
		}
	}
	return nil
}

// specOf converts a graph input or output declaration.
func specOf(vi *pb.ValueInfoProto, input bool) (model.Spec, error) {
	kind := "output"
	if input {
		kind = "input"
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return model.Spec{}, unsupported("%s %q is not a tensor (sequences, maps and optionals are not supported)", kind, vi.GetName())
	}
	elem := pb.TensorProto_DataType(tt.GetElemType())
	dt, ok := dataType(elem, input)
	if !ok {
		if input {
			return model.Spec{}, unsupported("input %q has element type %s; gonnx serving accepts FLOAT, DOUBLE, INT64, INT32 and BOOL inputs", vi.GetName(), elem)
		}
		return model.Spec{}, unsupported("output %q has element type %s, which gonnx cannot produce", vi.GetName(), elem)
	}
	spec := model.Spec{Name: vi.GetName(), DataType: dt}
	if sh := tt.GetShape(); sh != nil {
		spec.Shape = make([]int64, len(sh.GetDim()))
		for i, d := range sh.GetDim() {
			spec.Shape[i] = -1
			if v := d.GetDimValue(); v > 0 {
				spec.Shape[i] = v
			}
		}
	}
	return spec, nil
}

// dataType maps an ONNX element type to the protocol's. Inputs are limited
// to the types a request can carry; outputs of the narrower integer types
// are widened to INT64.
func dataType(t pb.TensorProto_DataType, input bool) (model.DataType, bool) {
	switch t {
	case pb.TensorProto_FLOAT:
		return model.FP32, true
	case pb.TensorProto_DOUBLE:
		return model.FP64, true
	case pb.TensorProto_INT64:
		return model.INT64, true
	case pb.TensorProto_INT32:
		return model.INT32, true
	case pb.TensorProto_BOOL:
		return model.BOOL, true
	case pb.TensorProto_INT8, pb.TensorProto_INT16, pb.TensorProto_UINT8,
		pb.TensorProto_UINT16, pb.TensorProto_UINT32, pb.TensorProto_UINT64:
		return model.INT64, !input
	}
	return "", false
}
