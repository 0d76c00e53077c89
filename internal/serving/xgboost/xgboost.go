// Package xgboost serves gradient-boosted tree models saved in XGBoost's
// JSON model format (Booster.save_model("model.json"), stable since XGBoost
// 1.0), in pure Go.
//
// Supported: the gbtree booster with numeric splits (x < condition goes
// left; a NaN value takes the node's default direction) and the objectives
// binary:logistic, reg:logistic, binary:logitraw, reg:squarederror (alias
// reg:linear), multi:softprob and multi:softmax. Every tree of the model is
// used (like Booster.predict without iteration_range). The gblinear and dart
// boosters, categorical splits, vector leaves and other objectives are
// refused with an error wrapping model.ErrUnsupported.
//
// The model takes one input, "input" FP32 [-1, num_feature] (FP64, INT and
// BOOL data are converted). Its output depends on the objective:
//
//	binary:logistic, reg:logistic  "probabilities" FP32 [-1, 1]  P(label = 1)
//	multi:softprob                 "probabilities" FP32 [-1, num_class]
//	multi:softmax                  "predictions"   FP32 [-1]     class id
//	reg:squarederror, reg:linear   "predictions"   FP32 [-1, 1]
//	binary:logitraw                "predictions"   FP32 [-1, 1]  margin
//
// Leaf values are summed in float32 onto the base margin, in tree order, and
// then transformed, as XGBoost's CPU predictor does, so outputs match
// XGBoost's to about 1e-7.
package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// MaxModelSize is the largest model file Load accepts, in bytes.
const MaxModelSize = 256 << 20

// maxFeatures bounds num_feature so a hostile file cannot declare an
// absurd input width.
const maxFeatures = 1 << 24

// param is a learner or tree parameter. XGBoost writes them as JSON
// strings ("30", "5E-1", "[5E-1]"); plain numbers and arrays are accepted
// too.
type param string

// UnmarshalJSON keeps a string's content or a number's or array's text.
func (p *param) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = param(s)
		return nil
	}
	*p = param(bytes.TrimSpace(b))
	return nil
}

// intOr parses p as an integer, def when p is empty.
func (p param) intOr(name string, def int64) (int64, error) {
	if p == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(p)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("xgboost: %s %q: %w", name, string(p), err)
	}
	return v, nil
}

// floats parses "5E-1", "[5E-1]" or "[0.1,0.2]".
func (p param) floats(name string) ([]float32, error) {
	s := strings.TrimSpace(string(p))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return nil, fmt.Errorf("xgboost: %s %q: %w", name, string(p), err)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

// flag is a default_left entry: 0/1 or false/true.
type flag bool

// UnmarshalJSON accepts a JSON number or boolean.
func (f *flag) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.TrimSpace(b)); s {
	case "true", "1":
		*f = true
	case "false", "0":
		*f = false
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("default_left %q: %w", s, err)
		}
		*f = v != 0
	}
	return nil
}

type jsonFile struct {
	Learner *struct {
		Booster *struct {
			Name  string          `json:"name"`
			Model *jsonGBTreeBody `json:"model"`
		} `json:"gradient_booster"`
		Param struct {
			BaseScore  param `json:"base_score"`
			NumClass   param `json:"num_class"`
			NumFeature param `json:"num_feature"`
			NumTarget  param `json:"num_target"`
		} `json:"learner_model_param"`
		Objective struct {
			Name string `json:"name"`
		} `json:"objective"`
	} `json:"learner"`
}

type jsonGBTreeBody struct {
	Param struct {
		NumTrees       param `json:"num_trees"`
		SizeLeafVector param `json:"size_leaf_vector"`
	} `json:"gbtree_model_param"`
	TreeInfo []int64    `json:"tree_info"`
	Trees    []jsonTree `json:"trees"`
}

type jsonTree struct {
	Left       []int64   `json:"left_children"`
	Right      []int64   `json:"right_children"`
	Split      []int64   `json:"split_indices"`
	Cond       []float32 `json:"split_conditions"`
	Default    []flag    `json:"default_left"`
	SplitType  []int64   `json:"split_type"`
	Categories []int64   `json:"categories"`
	Param      struct {
		NumNodes       param `json:"num_nodes"`
		SizeLeafVector param `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// Load reads an XGBoost JSON model. Malformed files return an error;
// valid files that use a feature this package lacks return an error
// wrapping model.ErrUnsupported.
func Load(data []byte) (model.Model, error) {
	if len(data) > MaxModelSize {
		return nil, fmt.Errorf("xgboost: model is %d bytes, more than the %d allowed", len(data), MaxModelSize)
	}
	if err := sniff(data); err != nil {
		return nil, err
	}
	var f jsonFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("xgboost: decoding JSON model: %w", err)
	}
	if f.Learner == nil || f.Learner.Booster == nil {
		return nil, fmt.Errorf("xgboost: no learner.gradient_booster: %w", errNotXGBoost)
	}
	m, err := build(&f)
	if err != nil {
		return nil, err
	}
	return m, nil
}

var errNotXGBoost = errors.New("not an XGBoost JSON model")

// sniff refuses files that are plainly another format, naming it.
func sniff(data []byte) error {
	d := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(d) == 0:
		return fmt.Errorf("xgboost: empty model file: %w", errNotXGBoost)
	case d[0] == '{' && len(d) > 1 && bytes.IndexByte([]byte("LUiIlHdD$#"), d[1]) >= 0:
		return fmt.Errorf("xgboost: file looks like UBJSON; save the model with a .json name: %w", model.ErrUnsupported)
	case bytes.HasPrefix(d, []byte("tree\n")) || bytes.HasPrefix(d, []byte("tree\r\n")):
		return fmt.Errorf("xgboost: file is a LightGBM text model: %w", model.ErrUnsupported)
	case d[0] != '{':
		return fmt.Errorf("xgboost: file is not a JSON object (the legacy binary format is not supported; save the model as .json): %w", model.ErrUnsupported)
	}
	return nil
}

// finite reports whether v is a usable number.
func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
