//go:build ort

// Package ort serves ONNX models with ONNX Runtime, through the cgo binding
// github.com/yalue/onnxruntime_go and a libonnxruntime.so.1 loaded at run
// time (see LibraryPath). It is built only with the build tag "ort"; without
// it kubeml serves ONNX models with the pure-Go runtime of package onnx.
//
// Load asks ORT for the model's inputs and outputs and opens one session
// with single-threaded intra- and inter-op pools: the server runs requests
// concurrently, and ORT documents Run on one session as safe for concurrent
// use, so each request computes on the goroutine's own thread.
//
// The binding cannot return a rank-0 output: Predict fails on a model
// whose output is a scalar.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/model"
	ort "github.com/yalue/onnxruntime_go"
)

// FrameworkName is what Model.Framework returns.
const FrameworkName = "onnx"

// LibraryEnv names the environment variable with the path of
// libonnxruntime.so.1.
const LibraryEnv = serving.ORTLibraryEnv

// libraryName is the file name of ONNX Runtime's shared library.
const libraryName = serving.ORTLibraryName

// LibraryPath returns the library Load uses: $KUBEML_ORT_LIB if set, else
// libonnxruntime.so.1 in the directory of the running executable if that
// file exists, else "libonnxruntime.so.1" (found by the dynamic loader's
// search path).
func LibraryPath() string {
	if p := os.Getenv(LibraryEnv); p != "" {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), libraryName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return libraryName
}

// ORT's environment is process-wide (the binding keeps it in package
// variables), so it is initialised once per process and its outcome, an
// error included, is kept for every later Load.
var (
	initOnce sync.Once
	initErr  error
)

// initialize loads the library and creates ORT's environment on first use.
func initialize() error {
	initOnce.Do(func() {
		if ort.IsInitialized() {
			return
		}
		path := LibraryPath()
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("ort: cannot load ONNX Runtime from %q (set %s to the path of %s): %w",
				path, LibraryEnv, libraryName, err)
		}
	})
	return initErr
}

// Model is an ONNX model served by one ONNX Runtime session.
type Model struct {
	inputs  []model.Spec
	outputs []model.Spec
	// mu guards session: Predict holds it shared while it runs, Close
	// exclusively, so that the session is never destroyed under a Run.
	mu      sync.RWMutex
	session *ort.DynamicAdvancedSession
}

var _ model.Model = (*Model)(nil)

// Load parses an ONNX model with ONNX Runtime (initialising the runtime
// environment on first use, once per process: ORT's environment is
// process-wide) and returns it as a model.Model. A model ORT refuses gets an
// error wrapping model.ErrUnsupported naming ORT's reason; a missing library
// gets a clear error naming the path tried and LibraryEnv.
func Load(data []byte) (model.Model, error) {
	if err := initialize(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("ort: empty model file")
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("ort: ONNX Runtime refuses this model: %v: %w", err, model.ErrUnsupported)
	}
	if len(ins) == 0 || len(outs) == 0 {
		// The binding indexes the first input and output of every Run.
		return nil, fmt.Errorf("ort: model has %d inputs and %d outputs; onnxruntime_go needs at least one of each: %w", len(ins), len(outs), model.ErrUnsupported)
	}
	m := &Model{}
	if m.inputs, err = specs("input", ins, inputType); err != nil {
		return nil, err
	}
	if m.outputs, err = specs("output", outs, outputType); err != nil {
		return nil, err
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	m.session, err = ort.NewDynamicAdvancedSessionWithONNXData(data, names(m.inputs), names(m.outputs), opts)
	if err != nil {
		return nil, fmt.Errorf("ort: ONNX Runtime refuses this model: %v: %w", err, model.ErrUnsupported)
	}
	return m, nil
}

// Engine returns "onnxruntime".
func (m *Model) Engine() string { return "onnxruntime" }

// Framework returns "onnx".
func (m *Model) Framework() string { return FrameworkName }

// Inputs returns the model's inputs; -1 marks a symbolic dimension, a nil
// shape a scalar or an unknown rank (ORT does not tell them apart).
func (m *Model) Inputs() []model.Spec { return model.CloneSpecs(m.inputs) }

// Outputs returns the model's outputs, with shapes as Inputs.
func (m *Model) Outputs() []model.Spec { return model.CloneSpecs(m.outputs) }

// Close destroys the session once the running calls of Predict are done;
// Predict fails afterwards.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return nil
	}
	err := m.session.Destroy()
	m.session = nil
	if err != nil {
		return fmt.Errorf("ort: close: %w", err)
	}
	return nil
}
