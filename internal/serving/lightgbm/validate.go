package lightgbm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxFeatures bounds max_feature_idx so a hostile file cannot declare an
// absurd input width.
const maxFeatures = 1 << 24

// validate checks everything leaves trusts: array lengths, child and leaf
// indices (each tree must be a tree, so prediction ends at a leaf), split
// features, decision types and categorical bitsets. leaves would otherwise
// panic, loop forever or allocate without bound on a bad file.
func (e *ensemble) validate() error {
	if e.numClass < 1 || e.numClass > len(e.trees) {
		return fmt.Errorf("lightgbm: num_class %d with %d trees", e.numClass, len(e.trees))
	}
	if len(e.trees)%e.numClass != 0 {
		return fmt.Errorf("lightgbm: %d trees is not a multiple of num_class %d", len(e.trees), e.numClass)
	}
	if e.maxFeatureIdx < 0 || e.maxFeatureIdx >= maxFeatures {
		return fmt.Errorf("lightgbm: max_feature_idx %d out of range [0, %d)", e.maxFeatureIdx, maxFeatures)
	}
	for i := range e.trees {
		if err := e.trees[i].validate(e.maxFeatureIdx); err != nil {
			return fmt.Errorf("lightgbm: tree %d: %w", i, err)
		}
	}
	return nil
}

func (t *tree) validate(maxFeatureIdx int) error {
	if t.numLeaves < 1 || len(t.leafValue) != t.numLeaves {
		return fmt.Errorf("num_leaves %d but %d leaf values", t.numLeaves, len(t.leafValue))
	}
	if t.numLeaves == 1 {
		return nil
	}
	n := t.numLeaves - 1 // internal nodes
	if len(t.splitFeature) != n || len(t.threshold) != n || len(t.decisionType) != n ||
		len(t.left) != n || len(t.right) != n {
		return fmt.Errorf("%d leaves need %d split entries, got %d/%d/%d/%d/%d", t.numLeaves, n,
			len(t.splitFeature), len(t.threshold), len(t.decisionType), len(t.left), len(t.right))
	}
	if t.numCat < 0 || (t.numCat > 0 && len(t.catBoundaries) != t.numCat+1) {
		return fmt.Errorf("num_cat %d with %d cat_boundaries", t.numCat, len(t.catBoundaries))
	}
	if t.numCat > 0 {
		if t.catBoundaries[0] != 0 || t.catBoundaries[t.numCat] != int64(len(t.catThreshold)) {
			return fmt.Errorf("cat_boundaries do not span cat_threshold")
		}
		for i := 1; i <= t.numCat; i++ {
			if t.catBoundaries[i] < t.catBoundaries[i-1] {
				return fmt.Errorf("cat_boundaries not increasing")
			}
		}
		for _, w := range t.catThreshold {
			if w < 0 || w > math.MaxUint32 {
				return fmt.Errorf("cat_threshold word %d out of range", w)
			}
		}
	}
	for i := 0; i < n; i++ {
		if f := t.splitFeature[i]; f < 0 || f > int64(maxFeatureIdx) {
			return fmt.Errorf("node %d: split feature %d out of range [0, %d]", i, f, maxFeatureIdx)
		}
		d := t.decisionType[i]
		if d < 0 || d > 15 || (d>>2)&3 == 3 {
			return fmt.Errorf("node %d: decision_type %d", i, d)
		}
		if d&1 != 0 { // categorical: threshold is an index into cat_boundaries
			c := t.threshold[i]
			if c < 0 || c >= float64(t.numCat) || c != math.Trunc(c) {
				return fmt.Errorf("node %d: categorical threshold %v with num_cat %d", i, c, t.numCat)
			}
		}
	}
	return t.checkShape()
}

// checkShape walks from the root and requires every internal node and
// every leaf to be reached exactly once.
func (t *tree) checkShape() error {
	n := t.numLeaves - 1
	seenNode := make([]bool, n)
	seenLeaf := make([]bool, t.numLeaves)
	seenNode[0] = true
	stack := []int64{0}
	reached := 1
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int64{t.left[i], t.right[i]} {
			switch {
			case c >= 0 && c < int64(n) && !seenNode[c]:
				seenNode[c] = true
				reached++
				stack = append(stack, c)
			case c < 0 && ^c < int64(t.numLeaves) && !seenLeaf[^c]:
				seenLeaf[^c] = true
			default:
				return fmt.Errorf("node %d: bad child %d", i, c)
			}
		}
	}
	if reached != n {
		return fmt.Errorf("only %d of %d internal nodes reachable", reached, n)
	}
	return nil
}

// output is how raw scores become the model's output.
type output int

const (
	raw         output = iota // scores as summed
	logistic                  // leaves' TransformLogistic: 1/(1+exp(-x))
	softmax                   // over the classes
	exponential               // leaves' TransformExponential: exp(x)
)

// objectiveOutput maps the objective= value to the output transform and
// whether the output is a probability. A model without an objective (a
// custom objective, or a JSON dump that does not record it) gives raw
// scores.
func (e *ensemble) objectiveOutput() (output, bool, error) {
	if !e.hasObjective {
		return raw, false, nil
	}
	fields := strings.Fields(e.objective)
	if len(fields) == 0 {
		return raw, false, nil
	}
	params := map[string]string{}
	for _, p := range fields[1:] {
		k, v, _ := strings.Cut(p, ":")
		params[k] = v
	}
	out, prob := raw, false
	switch name := fields[0]; name {
	case "binary":
		if s := params["sigmoid"]; s != "" && s != "1" {
			return 0, false, fmt.Errorf("lightgbm: objective %q (sigmoid other than 1): %w", e.objective, errUnsupported)
		}
		out, prob = logistic, true
	case "cross_entropy", "xentropy":
		out, prob = logistic, true
	case "multiclass", "softmax":
		if k := params["num_class"]; k != "" && k != strconv.Itoa(e.numClass) {
			return 0, false, fmt.Errorf("lightgbm: objective %q with num_class=%d", e.objective, e.numClass)
		}
		out, prob = softmax, true
	case "poisson", "gamma", "tweedie":
		out = exponential
	case "regression", "regression_l2", "regression_l1", "huber", "fair", "quantile", "mape",
		"lambdarank", "rank_xendcg", "custom":
		if _, sqrt := params["sqrt"]; sqrt {
			return 0, false, fmt.Errorf("lightgbm: objective %q (sqrt): %w", e.objective, errUnsupported)
		}
	default:
		return 0, false, fmt.Errorf("lightgbm: objective %q: %w", name, errUnsupported)
	}
	if out != raw && out != softmax && e.numClass != 1 {
		return 0, false, fmt.Errorf("lightgbm: objective %q with num_class %d", e.objective, e.numClass)
	}
	if out == softmax && e.numClass < 2 {
		return 0, false, fmt.Errorf("lightgbm: objective %q with num_class %d", e.objective, e.numClass)
	}
	if e.averageOutput {
		// Random forests average leaf values that are already in output
		// space; LightGBM applies no transform to them.
		out = raw
	}
	return out, prob, nil
}
