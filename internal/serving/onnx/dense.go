package onnx

import (
	"encoding/binary"
	"math"
	"sync"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"gonum.org/v1/gonum/blas/gonum"
)

// dense runs graphs that are a chain of dense layers directly, without
// gonnx: one FLOAT input of shape [batch, K], then nodes each fed by the
// one before (Gemm, MatMul and Add with constant weights, Relu, Sigmoid,
// Tanh, Softmax over the last axis), ending in the one graph
// output. That is how MLPs come out of PyTorch and kubeml's own model zoo.
// gonnx rebuilds its operators and copies tensors on every run, which for
// such a model costs more than the arithmetic; here a batch-1 request is
// a few hundred vector operations on weights laid out for them. The
// results match gonnx to float32 rounding (the tests compare them).
type dense struct {
	in      model.Spec
	out     string
	steps   []layer
	width   int // the widest activation, for the scratch buffers
	scratch sync.Pool
}

type layerKind int

const (
	linear layerKind = iota // y = x·W + b
	addBias
	relu
	sigmoid
	tanh
	softmax
)

// layer is one step of the chain. A linear layer keeps W as k rows of m
// (row i holds the weights input i contributes to every output), so that
// y += x[i]·W[i] runs over contiguous memory and skips inputs that are 0
// (most pixels of an image, half the units after a Relu).
type layer struct {
	kind layerKind
	k, m int
	w    []float32 // k*m, for linear
	b    []float32 // m, for linear (may be nil) and addBias
}

// compileDense returns the dense plan of g, or nil when g is not such a
// chain (it then runs on gonnx). inputs and outputs are g's validated
// specs.
func compileDense(g *pb.GraphProto, inputs, outputs []model.Spec) *dense {
	if len(inputs) != 1 || len(outputs) != 1 || inputs[0].DataType != model.FP32 || outputs[0].DataType != model.FP32 {
		return nil
	}
	in := inputs[0]
	if len(in.Shape) != 2 || in.Shape[1] < 1 {
		return nil
	}
	inits := map[string]*pb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	uses := map[string]int{}
	for _, n := range g.GetNode() {
		for _, name := range n.GetInput() {
			uses[name]++
		}
	}
	d := &dense{in: in, out: outputs[0].Name}
	cur, width := in.Name, int(in.Shape[1])
	d.width = width
	for _, n := range g.GetNode() {
		if (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") || len(n.GetOutput()) != 1 ||
			len(n.GetInput()) == 0 || n.GetInput()[0] != cur || inits[cur] != nil || uses[cur] != 1 {
			return nil
		}
		l, ok := compileLayer(n, width, inits)
		if !ok {
			return nil
		}
		d.steps = append(d.steps, *l)
		if l.kind == linear {
			width = l.m
			d.width = max(d.width, width)
		}
		cur = n.GetOutput()[0]
	}
	if cur != d.out || len(d.steps) == 0 {
		return nil
	}
	if s := outputs[0].Shape; s != nil && (len(s) != 2 || (s[1] >= 0 && s[1] != int64(width))) {
		return nil
	}
	d.scratch.New = func() any { b := make([]float32, 2*d.width); return &b }
	return d
}

// compileLayer turns one node into a layer.
func compileLayer(n *pb.NodeProto, width int, inits map[string]*pb.TensorProto) (*layer, bool) {
	ins := n.GetInput()
	attrs := map[string]*pb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		attrs[a.GetName()] = a
	}
	only := func(names ...string) bool {
		for name := range attrs {
			found := false
			for _, ok := range names {
				found = found || name == ok
			}
			if !found {
				return false
			}
		}
		return true
	}
	switch n.GetOpType() {
	case "Relu", "Sigmoid", "Tanh":
		if len(ins) != 1 || len(attrs) > 0 {
			return nil, false
		}
		kind := map[string]layerKind{"Relu": relu, "Sigmoid": sigmoid, "Tanh": tanh}
		return &layer{kind: kind[n.GetOpType()], k: width, m: width}, true
	case "Softmax":
		if len(ins) != 1 || !only("axis") {
			return nil, false
		}
		if a, ok := attrs["axis"]; ok && a.GetI() != -1 && a.GetI() != 1 {
			return nil, false
		}
		return &layer{kind: softmax, k: width, m: width}, true
	case "Add":
		if len(ins) != 2 || len(attrs) > 0 {
			return nil, false
		}
		b, ok := bias(inits[ins[1]], width, 1)
		if !ok {
			return nil, false
		}
		return &layer{kind: addBias, k: width, m: width, b: b}, true
	case "MatMul":
		if len(ins) != 2 || len(attrs) > 0 {
			return nil, false
		}
		w, m, ok := weights(inits[ins[1]], width, false, 1)
		if !ok {
			return nil, false
		}
		return &layer{kind: linear, k: width, m: m, w: w}, true
	case "Gemm":
		if len(ins) < 2 || len(ins) > 3 || !only("alpha", "beta", "transA", "transB") {
			return nil, false
		}
		if a, ok := attrs["transA"]; ok && a.GetI() != 0 {
			return nil, false
		}
		alpha, beta := float32(1), float32(1)
		if a, ok := attrs["alpha"]; ok {
			alpha = a.GetF()
		}
		if a, ok := attrs["beta"]; ok {
			beta = a.GetF()
		}
		transB := attrs["transB"] != nil && attrs["transB"].GetI() != 0
		w, m, ok := weights(inits[ins[1]], width, transB, alpha)
		if !ok {
			return nil, false
		}
		l := &layer{kind: linear, k: width, m: m, w: w}
		if len(ins) == 3 && ins[2] != "" {
			if l.b, ok = bias(inits[ins[2]], m, beta); !ok {
				return nil, false
			}
		}
		return l, true
	}
	return nil, false
}

// floatsOf reads a FLOAT initializer's values, refusing non-finite ones
// (skipping zero inputs is exact only with finite weights).
func floatsOf(t *pb.TensorProto) ([]float32, bool) {
	if t == nil || t.GetDataType() != int32(pb.TensorProto_FLOAT) || t.GetSegment() != nil {
		return nil, false
	}
	n := int64(1)
	for _, d := range t.GetDims() {
		if d < 1 || d > 1<<28 {
			return nil, false
		}
		n *= d
	}
	var v []float32
	switch raw := t.GetRawData(); {
	case len(raw) > 0 && len(t.GetFloatData()) == 0 && int64(len(raw)) == 4*n:
		v = make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case len(raw) == 0 && int64(len(t.GetFloatData())) == n:
		v = append([]float32(nil), t.GetFloatData()...)
	default:
		return nil, false
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, false
		}
	}
	return v, true
}

// weights reads a 2-D weight initializer for an input of width k, scaled
// by alpha, as k rows of m.
func weights(t *pb.TensorProto, k int, trans bool, alpha float32) ([]float32, int, bool) {
	v, ok := floatsOf(t)
	if !ok || len(t.GetDims()) != 2 {
		return nil, 0, false
	}
	rows, cols := int(t.GetDims()[0]), int(t.GetDims()[1])
	if trans {
		rows, cols = cols, rows
	}
	if rows != k {
		return nil, 0, false
	}
	w := make([]float32, k*cols)
	for i := range rows {
		for j := range cols {
			x := v[i*cols+j]
			if trans {
				x = v[j*rows+i]
			}
			w[i*cols+j] = x * alpha
		}
	}
	return w, cols, true
}

// bias reads an initializer that broadcasts along the last axis of width
// m ([m], [1, m], [1] or a scalar), scaled by beta.
func bias(t *pb.TensorProto, m int, beta float32) ([]float32, bool) {
	v, ok := floatsOf(t)
	if !ok {
		return nil, false
	}
	dims := t.GetDims()
	switch {
	case len(v) == 1 && len(dims) <= 2:
	case len(v) == m && (len(dims) == 1 || (len(dims) == 2 && dims[0] == 1)):
	default:
		return nil, false
	}
	b := make([]float32, m)
	for j := range b {
		b[j] = v[j%len(v)] * beta
	}
	return b, true
}

// run computes the output for x, rows of the input width; out has room
// for rows of the output width.
func (d *dense) run(x []float32, rows int, out []float32) {
	buf := d.scratch.Get().(*[]float32)
	defer d.scratch.Put(buf)
	a, b := (*buf)[:d.width], (*buf)[d.width:]
	inW := int(d.in.Shape[1])
	outW := len(out) / rows
	for r := range rows {
		cur := a[:inW]
		copy(cur, x[r*inW:(r+1)*inW])
		for i := range d.steps {
			cur = d.steps[i].apply(cur, b)
			if d.steps[i].kind == linear { // the result is in b now
				a, b = b, a
			}
		}
		copy(out[r*outW:(r+1)*outW], cur)
	}
}

// apply runs the layer on x, writing into spare (or into x itself for
// element-wise steps), and returns the result.
func (l *layer) apply(x, spare []float32) []float32 {
	switch l.kind {
	case linear:
		y := spare[:l.m]
		if l.b != nil {
			copy(y, l.b)
		} else {
			clear(y)
		}
		for i, xi := range x {
			if xi != 0 {
				axpy(xi, l.w[i*l.m:(i+1)*l.m], y)
			}
		}
		return y
	case addBias:
		for j := range x {
			x[j] += l.b[j]
		}
	case relu:
		for j, v := range x {
			if !(v > 0) && !math.IsNaN(float64(v)) {
				x[j] = 0
			}
		}
	case sigmoid:
		for j, v := range x {
			x[j] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case tanh:
		for j, v := range x {
			x[j] = float32(math.Tanh(float64(v)))
		}
	case softmax:
		top := float32(math.Inf(-1))
		for _, v := range x {
			top = max(top, v)
		}
		var sum float64
		for j, v := range x {
			e := math.Exp(float64(v - top))
			x[j] = float32(e)
			sum += e
		}
		for j := range x {
			x[j] = float32(float64(x[j]) / sum)
		}
	}
	return x
}

// axpy adds a·x to y (len(x) == len(y)) with gonum's SIMD kernel.
func axpy(a float32, x, y []float32) {
	gonum.Implementation{}.Saxpy(len(x), a, x, 1, y, 1)
}
