// Package lightgbm serves LightGBM models with github.com/dmitryikh/leaves,
// a pure-Go LightGBM predictor.
//
// Load takes a LightGBM text model (Booster.save_model: a first line
// "tree", a version=v2|v3|v4 header line, then the trees) or a JSON dump
// (Booster.dump_model, with "tree_info"). leaves trusts its input: it
// panics, loops or allocates without bound on malformed files, and it
// allocates tens of GB on XGBoost binaries. So Load never calls leaves'
// XGBoost loaders; it parses and checks the model itself (sizes, indices,
// tree shape), hands leaves a canonical re-encoding of exactly what it
// checked through leaves' text reader, and recovers from any panic in
// leaves at load and at predict time. XGBoost files are refused with a
// pointer to the xgboost runtime.
//
// The model takes one input, "input" FP32 [-1, max_feature_idx+1] (FP64
// data is used at full precision, as LightGBM computes in float64). Its one
// output follows the objective:
//
//	binary, cross_entropy       "probabilities" FP32 [-1, 1]  P(label = 1)
//	multiclass                  "probabilities" FP32 [-1, num_class]
//	poisson, gamma, tweedie     "predictions"   FP32 [-1, 1]  exp(score)
//	regression*, huber, fair,
//	quantile, mape, lambdarank,
//	rank_xendcg, custom, none   "predictions"   FP32 [-1, num_class] raw score
//
// Random-forest models (average_output) give the average of their leaf
// values, with the name the objective implies. Linear trees, multiclassova,
// "regression sqrt" and sigmoid values other than 1 are refused with
// model.ErrUnsupported.
package lightgbm

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/dmitryikh/leaves"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// MaxModelSize is the largest model file Load accepts, in bytes.
const MaxModelSize = 256 << 20

var errUnsupported = model.ErrUnsupported

// Load reads a LightGBM text model or JSON dump.
func Load(data []byte) (model.Model, error) {
	if len(data) > MaxModelSize {
		return nil, fmt.Errorf("lightgbm: model is %d bytes, more than the %d allowed", len(data), MaxModelSize)
	}
	e, err := parse(data)
	if err != nil {
		return nil, err
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	out, prob, err := e.objectiveOutput()
	if err != nil {
		return nil, err
	}
	ens, err := loadLeaves(e.canonical())
	if err != nil {
		return nil, err
	}
	if ens.NRawOutputGroups() != e.numClass || ens.NEstimators()*e.numClass != len(e.trees) {
		return nil, fmt.Errorf("lightgbm: leaves read %d groups of %d trees, want %d trees in %d groups",
			ens.NRawOutputGroups(), ens.NEstimators(), len(e.trees), e.numClass)
	}
	return newModel(ens, e.maxFeatureIdx+1, e.numClass, out, prob), nil
}

// parse picks the format: JSON dump, text model, or a refused format.
func parse(data []byte) (*ensemble, error) {
	d := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(d) == 0:
		return nil, fmt.Errorf("lightgbm: empty model file")
	case bytes.HasPrefix(d, []byte("binf")):
		return nil, fmt.Errorf("lightgbm: file is an XGBoost binary model; serve it with the xgboost runtime (as JSON): %w", errUnsupported)
	case d[0] == '{' && len(d) > 1 && bytes.IndexByte([]byte("LUiIlHdD$#"), d[1]) >= 0:
		return nil, fmt.Errorf("lightgbm: file is an XGBoost UBJSON model; serve it with the xgboost runtime (as JSON): %w", errUnsupported)
	case d[0] == '{':
		return parseJSON(d)
	case bytes.IndexByte(data, 0) >= 0 || !bytes.HasPrefix(d, []byte("tree")):
		return nil, fmt.Errorf("lightgbm: not a LightGBM text model (no leading \"tree\" line; XGBoost binaries are not accepted): %w", errUnsupported)
	}
	return parseText(d)
}

// loadLeaves runs leaves' text reader, turning a panic into an error.
func loadLeaves(text []byte) (ens *leaves.Ensemble, err error) {
	defer func() {
		if r := recover(); r != nil {
			ens, err = nil, fmt.Errorf("lightgbm: leaves panicked reading the model: %v", r)
		}
	}()
	ens, err = leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(text)), false)
	if err != nil {
		return nil, fmt.Errorf("lightgbm: leaves: %w", err)
	}
	return ens, nil
}
