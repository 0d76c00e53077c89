package lightgbm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// jsonDump is the document Booster.dump_model() returns.
type jsonDump struct {
	Learner             json.RawMessage `json:"learner"` // set in XGBoost models
	Name                string          `json:"name"`
	Version             json.RawMessage `json:"version"` // a list in XGBoost models
	NumClass            *int            `json:"num_class"`
	NumTreePerIteration *int            `json:"num_tree_per_iteration"`
	MaxFeatureIdx       *int            `json:"max_feature_idx"`
	Objective           *string         `json:"objective"`
	AverageOutput       bool            `json:"average_output"`
	TreeInfo            []struct {
		NumLeaves int       `json:"num_leaves"`
		Structure *jsonNode `json:"tree_structure"`
	} `json:"tree_info"`
}

// jsonNode is a split (decision_type set) or a leaf (leaf_value set).
type jsonNode struct {
	SplitFeature *int64          `json:"split_feature"`
	Threshold    json.RawMessage `json:"threshold"`
	DecisionType string          `json:"decision_type"`
	DefaultLeft  bool            `json:"default_left"`
	MissingType  string          `json:"missing_type"`
	Left         *jsonNode       `json:"left_child"`
	Right        *jsonNode       `json:"right_child"`
	LeafValue    *float64        `json:"leaf_value"`
}

var missingTypes = map[string]int64{"None": 0, "Zero": 1, "NaN": 2}

// parseJSON converts a JSON dump to the text format's arrays, so both
// formats go through the same checks and the same leaves reader.
func parseJSON(data []byte) (*ensemble, error) {
	var d jsonDump
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("lightgbm: decoding JSON model: %w", err)
	}
	if len(d.Learner) > 0 {
		return nil, fmt.Errorf("lightgbm: file is an XGBoost JSON model; serve it with the xgboost runtime: %w", errUnsupported)
	}
	if d.Name != "tree" || d.NumClass == nil || d.MaxFeatureIdx == nil || d.TreeInfo == nil {
		return nil, fmt.Errorf("lightgbm: JSON is not a LightGBM model dump (want name \"tree\", num_class, max_feature_idx, tree_info)")
	}
	var version string
	if err := json.Unmarshal(d.Version, &version); err != nil {
		return nil, fmt.Errorf("lightgbm: JSON model version %s: %w", d.Version, err)
	}
	switch version {
	case "v2", "v3", "v4":
	default:
		return nil, fmt.Errorf("lightgbm: model version %q (want v2, v3 or v4): %w", version, errUnsupported)
	}
	if d.NumTreePerIteration != nil && *d.NumTreePerIteration != *d.NumClass {
		return nil, fmt.Errorf("lightgbm: num_tree_per_iteration %d != num_class %d: %w", *d.NumTreePerIteration, *d.NumClass, errUnsupported)
	}
	e := &ensemble{numClass: *d.NumClass, maxFeatureIdx: *d.MaxFeatureIdx, averageOutput: d.AverageOutput}
	if d.Objective != nil {
		e.objective, e.hasObjective = *d.Objective, true
	}
	c := converter{budget: len(data)}
	for i, ti := range d.TreeInfo {
		t, err := c.tree(ti.Structure)
		if err != nil {
			return nil, fmt.Errorf("lightgbm: tree %d: %w", i, err)
		}
		if ti.NumLeaves != 0 && ti.NumLeaves != t.numLeaves {
			return nil, fmt.Errorf("lightgbm: tree %d: num_leaves %d but %d leaves", i, ti.NumLeaves, t.numLeaves)
		}
		e.trees = append(e.trees, t)
	}
	return e, nil
}

// converter numbers nodes in preorder. budget bounds the categorical
// bitset words it may create, so a short file cannot demand a huge one.
type converter struct {
	t      *tree
	budget int
}

func (c *converter) tree(root *jsonNode) (tree, error) {
	c.t = &tree{}
	if _, err := c.node(root); err != nil {
		return tree{}, err
	}
	c.t.numLeaves = len(c.t.leafValue)
	if c.t.numCat > 0 {
		c.t.catBoundaries = append([]int64{0}, c.t.catBoundaries...)
	}
	return *c.t, nil
}

// node appends n's subtree and returns its child reference.
func (c *converter) node(n *jsonNode) (int64, error) {
	t := c.t
	if n == nil {
		return 0, fmt.Errorf("missing node")
	}
	if n.DecisionType == "" {
		if n.LeafValue == nil {
			return 0, fmt.Errorf("node has neither decision_type nor leaf_value")
		}
		t.leafValue = append(t.leafValue, *n.LeafValue)
		return ^int64(len(t.leafValue) - 1), nil
	}
	mt, ok := missingTypes[n.MissingType]
	if !ok || n.SplitFeature == nil {
		return 0, fmt.Errorf("split needs split_feature and missing_type None, Zero or NaN (got %q)", n.MissingType)
	}
	dt := mt << 2
	if n.DefaultLeft {
		dt |= 2
	}
	var threshold float64
	switch n.DecisionType {
	case "<=":
		if err := json.Unmarshal(n.Threshold, &threshold); err != nil {
			return 0, fmt.Errorf("numeric threshold %s: %w", n.Threshold, err)
		}
	case "==":
		dt |= 1
		if err := c.categories(n.Threshold); err != nil {
			return 0, err
		}
		threshold = float64(t.numCat - 1)
	default:
		return 0, fmt.Errorf("decision_type %q: %w", n.DecisionType, errUnsupported)
	}
	idx := len(t.splitFeature)
	t.splitFeature = append(t.splitFeature, *n.SplitFeature)
	t.threshold = append(t.threshold, threshold)
	t.decisionType = append(t.decisionType, dt)
	t.left = append(t.left, 0)
	t.right = append(t.right, 0)
	l, err := c.node(n.Left)
	if err != nil {
		return 0, err
	}
	r, err := c.node(n.Right)
	if err != nil {
		return 0, err
	}
	t.left[idx], t.right[idx] = l, r
	return int64(idx), nil
}

// categories turns a "1||4||9" threshold into a bitset appended to
// cat_threshold, as LightGBM's text format stores it.
func (c *converter) categories(raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("categorical threshold %s: %w", raw, err)
	}
	var words []int64
	for _, tok := range strings.Split(s, "||") {
		v, err := strconv.Atoi(tok)
		if err != nil || v < 0 {
			return fmt.Errorf("category %q in threshold %q", tok, s)
		}
		w := v / 32
		if w >= len(words) {
			if c.budget -= w + 1 - len(words); c.budget < 0 {
				return fmt.Errorf("categorical thresholds too large for the file size")
			}
			words = append(words, make([]int64, w+1-len(words))...)
		}
		words[w] |= 1 << (v % 32)
	}
	t := c.t
	t.catThreshold = append(t.catThreshold, words...)
	t.catBoundaries = append(t.catBoundaries, int64(len(t.catThreshold)))
	t.numCat++
	return nil
}
