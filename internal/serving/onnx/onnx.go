// Package onnx serves ONNX models with gonnx, a pure-Go runtime that
// implements opset 13 of the default ONNX domain (about 50 operators).
//
// Load validates a model up front, so that a model gonnx cannot run is
// refused when it is deployed rather than on its first request: the opset,
// every operator (all unsupported ones are named at once), attributes,
// input types and the order of the nodes are checked. Predict matches the
// caller's tensors to the declared inputs, checks their shapes and runs the
// graph on one of a bounded pool of gonnx instances, so that it is safe for
// concurrent use.
package onnx

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/advancedclimatesystems/gonnx"
	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/kubeml/kubeml/internal/serving/model"
	"google.golang.org/protobuf/proto"
)

// FrameworkName is what Model.Framework returns.
const FrameworkName = "onnx"

// Model is a validated ONNX model served by gonnx.
type Model struct {
	graph   *pb.ModelProto
	inputs  []model.Spec
	outputs []model.Spec
	pool    *pool
	dense   *dense // set when the graph is a chain of dense layers
	closed  atomic.Bool
}

var _ model.Model = (*Model)(nil)

// Load parses and validates an ONNX model file. A model that uses an
// opset, operator, attribute or input type gonnx cannot run is refused with
// an error wrapping model.ErrUnsupported that names the reason; a file that
// is not an ONNX model gets a plain error.
func Load(data []byte) (model.Model, error) {
	return load(data, runtime.GOMAXPROCS(0), true)
}

// load parses and validates a model; direct lets a chain of dense layers
// run without gonnx (see dense).
func load(data []byte, instances int, direct bool) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("onnx: gonnx cannot build this model (%v): %w", r, model.ErrUnsupported)
		}
	}()
	if len(data) == 0 {
		return nil, errors.New("onnx: empty model file")
	}
	mp := &pb.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, fmt.Errorf("onnx: not an ONNX model (corrupt or truncated file?): %w", err)
	}
	if mp.GetGraph() == nil || len(mp.GetGraph().GetNode()) == 0 {
		return nil, errors.New("onnx: not an ONNX model (corrupt or truncated file?): no graph with nodes")
	}
	inputs, outputs, err := validate(mp)
	if err != nil {
		return nil, err
	}
	m = &Model{graph: mp, inputs: inputs, outputs: outputs}
	if direct {
		m.dense = compileDense(mp.GetGraph(), inputs, outputs)
	}
	pretranspose(mp.GetGraph())
	// gonnx builds the model even when it will not run it: what it refuses
	// is refused in both cases. A dense chain keeps no gonnx instance.
	first, err := m.newInstance()
	if err != nil {
		return nil, err
	}
	if m.dense != nil {
		m.graph = nil
		return m, nil
	}
	m.pool = newPool(instances, first, m.newInstance)
	return m, nil
}

// newInstance builds a gonnx model sharing the (read-only) parsed graph;
// each instance decodes its own parameter tensors.
func (m *Model) newInstance() (inst *gonnx.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			inst, err = nil, fmt.Errorf("onnx: gonnx cannot build this model (%v): %w", r, model.ErrUnsupported)
		}
	}()
	inst, err = gonnx.NewModel(m.graph)
	if err != nil {
		return nil, fmt.Errorf("onnx: gonnx cannot build this model: %v: %w", err, model.ErrUnsupported)
	}
	return inst, nil
}

// Engine names what runs the model: "dense" for a chain of dense layers
// run directly, "gonnx" otherwise.
func (m *Model) Engine() string {
	if m.dense != nil {
		return "dense"
	}
	return "gonnx"
}

// Framework returns "onnx".
func (m *Model) Framework() string { return FrameworkName }

// Inputs returns the graph inputs that are not initializers; -1 marks a
// symbolic or unknown dimension, a nil shape an unknown rank.
func (m *Model) Inputs() []model.Spec { return model.CloneSpecs(m.inputs) }

// Outputs returns the graph outputs.
func (m *Model) Outputs() []model.Spec { return model.CloneSpecs(m.outputs) }

// Close releases the pooled instances; Predict fails afterwards.
func (m *Model) Close() error {
	m.closed.Store(true)
	if m.pool != nil {
		m.pool.drain()
	}
	return nil
}
