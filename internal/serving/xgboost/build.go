package xgboost

import (
	"fmt"
	"math"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// transform is what turns the summed margins into the model's output.
type transform int

const (
	identity transform = iota // margins as they are
	sigmoid                   // 1 / (1 + exp(-margin))
	softprob                  // softmax over the classes
	argmax                    // index of the largest class margin
)

// objectives maps each supported objective to its output transform and
// whether base_score is a probability that goes through logit first.
var objectives = map[string]struct {
	out   transform
	logit bool
	multi bool
}{
	"binary:logistic":  {sigmoid, true, false},
	"reg:logistic":     {sigmoid, true, false},
	"binary:logitraw":  {identity, false, false}, // base_score is a margin here
	"reg:squarederror": {identity, false, false},
	"reg:linear":       {identity, false, false},
	"multi:softprob":   {softprob, false, true},
	"multi:softmax":    {argmax, false, true},
}

// build validates the decoded file and flattens its trees.
func build(f *jsonFile) (*treeModel, error) {
	l := f.Learner
	switch l.Booster.Name {
	case "gbtree":
	case "":
		return nil, fmt.Errorf("xgboost: gradient_booster has no name: %w", errNotXGBoost)
	default:
		return nil, fmt.Errorf("xgboost: booster %q (only gbtree): %w", l.Booster.Name, model.ErrUnsupported)
	}
	obj, ok := objectives[l.Objective.Name]
	if !ok {
		return nil, fmt.Errorf("xgboost: objective %q: %w", l.Objective.Name, model.ErrUnsupported)
	}
	body := l.Booster.Model
	if body == nil {
		return nil, fmt.Errorf("xgboost: gbtree has no model: %w", errNotXGBoost)
	}
	nf, err := l.Param.NumFeature.intOr("num_feature", -1)
	if err != nil {
		return nil, err
	}
	if nf < 1 || nf > maxFeatures {
		return nil, fmt.Errorf("xgboost: num_feature %d out of range [1, %d]", nf, maxFeatures)
	}
	if nt, err := l.Param.NumTarget.intOr("num_target", 1); err != nil {
		return nil, err
	} else if nt != 1 && nt != 0 {
		return nil, fmt.Errorf("xgboost: num_target %d (multi-target models): %w", nt, model.ErrUnsupported)
	}
	if lv, err := body.Param.SizeLeafVector.intOr("size_leaf_vector", 0); err != nil {
		return nil, err
	} else if lv > 1 {
		return nil, fmt.Errorf("xgboost: size_leaf_vector %d (vector leaves): %w", lv, model.ErrUnsupported)
	}
	nc, err := l.Param.NumClass.intOr("num_class", 0)
	if err != nil {
		return nil, err
	}
	groups := int64(1)
	switch {
	case obj.multi && nc >= 1 && (nc <= 1024 || nc <= int64(len(body.Trees))):
		groups = nc
	case obj.multi:
		return nil, fmt.Errorf("xgboost: %s with num_class %d", l.Objective.Name, nc)
	case nc > 1:
		return nil, fmt.Errorf("xgboost: num_class %d with objective %s: %w", nc, l.Objective.Name, model.ErrUnsupported)
	}
	m := &treeModel{numFeature: int(nf), numGroup: int(groups), out: obj.out}
	if m.base, err = baseMargins(l.Param.BaseScore, obj.logit, int(groups)); err != nil {
		return nil, err
	}
	if err := m.addTrees(body); err != nil {
		return nil, err
	}
	m.specs(l.Objective.Name)
	return m, nil
}

// baseMargins turns base_score into one starting margin per output group.
func baseMargins(p param, logit bool, groups int) ([]float32, error) {
	if p == "" {
		p = "0.5"
	}
	vals, err := p.floats("base_score")
	if err != nil {
		return nil, err
	}
	if len(vals) != 1 && len(vals) != groups {
		return nil, fmt.Errorf("xgboost: base_score has %d values for %d outputs: %w", len(vals), groups, model.ErrUnsupported)
	}
	base := make([]float32, groups)
	for g := range base {
		b := vals[0]
		if len(vals) == groups {
			b = vals[g]
		}
		if !finite(b) {
			return nil, fmt.Errorf("xgboost: base_score %v is not finite", b)
		}
		if logit {
			// XGBoost's ProbToMargin: -logf(1.0f / base_score - 1.0f).
			if b <= 0 || b >= 1 {
				return nil, fmt.Errorf("xgboost: base_score %v must be in (0, 1) for a logistic objective", b)
			}
			b = float32(-math.Log(float64(float32(float32(1)/b) - 1)))
		}
		base[g] = b
	}
	return base, nil
}

// addTrees checks every tree and appends its nodes to m.nodes. Each tree's
// reachable nodes must form a tree (no index out of range, no node reached
// twice), so that prediction always ends at a leaf.
func (m *treeModel) addTrees(body *jsonGBTreeBody) error {
	trees := body.Trees
	if nt, err := body.Param.NumTrees.intOr("num_trees", int64(len(trees))); err != nil {
		return err
	} else if nt != int64(len(trees)) || len(body.TreeInfo) != len(trees) {
		return fmt.Errorf("xgboost: num_trees %d, %d trees, %d tree_info entries", nt, len(trees), len(body.TreeInfo))
	}
	for ti := range trees {
		t := &trees[ti]
		g := body.TreeInfo[ti]
		if g < 0 || g >= int64(m.numGroup) {
			return fmt.Errorf("xgboost: tree %d: tree_info %d out of range [0, %d)", ti, g, m.numGroup)
		}
		if err := m.addTree(ti, t); err != nil {
			return err
		}
		m.groups = append(m.groups, int32(g))
	}
	return nil
}

func (m *treeModel) addTree(ti int, t *jsonTree) error {
	n := len(t.Left)
	if nn, err := t.Param.NumNodes.intOr("num_nodes", int64(n)); err != nil {
		return fmt.Errorf("tree %d: %w", ti, err)
	} else if nn != int64(n) || n < 1 || len(t.Right) != n || len(t.Split) != n ||
		len(t.Cond) != n || len(t.Default) != n {
		return fmt.Errorf("xgboost: tree %d: num_nodes %d but arrays of %d/%d/%d/%d/%d entries",
			ti, nn, n, len(t.Right), len(t.Split), len(t.Cond), len(t.Default))
	}
	if lv, err := t.Param.SizeLeafVector.intOr("size_leaf_vector", 0); err != nil {
		return fmt.Errorf("tree %d: %w", ti, err)
	} else if lv > 1 {
		return fmt.Errorf("xgboost: tree %d: size_leaf_vector %d (vector leaves): %w", ti, lv, model.ErrUnsupported)
	}
	if len(t.Categories) > 0 {
		return fmt.Errorf("xgboost: tree %d: categorical splits: %w", ti, model.ErrUnsupported)
	}
	if len(t.SplitType) != 0 && len(t.SplitType) != n {
		return fmt.Errorf("xgboost: tree %d: %d split_type entries for %d nodes", ti, len(t.SplitType), n)
	}
	offset := len(m.nodes)
	if int64(offset)+int64(n) > math.MaxInt32 {
		return fmt.Errorf("xgboost: too many nodes")
	}
	m.roots = append(m.roots, int32(offset))
	nodes := make([]node, n)
	seen := make([]bool, n)
	seen[0] = true
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := &nodes[i]
		nd.cond = t.Cond[i]
		nd.left, nd.right = -1, -1
		if t.Left[i] == -1 {
			continue // a leaf: cond holds its value
		}
		if len(t.SplitType) == n && t.SplitType[i] != 0 {
			return fmt.Errorf("xgboost: tree %d node %d: categorical split: %w", ti, i, model.ErrUnsupported)
		}
		if f := t.Split[i]; f < 0 || f >= int64(m.numFeature) {
			return fmt.Errorf("xgboost: tree %d node %d: split feature %d out of range [0, %d)", ti, i, f, m.numFeature)
		}
		nd.feat = uint32(t.Split[i])
		nd.defLeft = bool(t.Default[i])
		for _, c := range [2]int64{t.Left[i], t.Right[i]} {
			if c < 0 || c >= int64(n) || seen[c] {
				return fmt.Errorf("xgboost: tree %d node %d: bad child %d (%d nodes)", ti, i, c, n)
			}
			seen[c] = true
			stack = append(stack, int(c))
		}
		nd.left, nd.right = int32(offset)+int32(t.Left[i]), int32(offset)+int32(t.Right[i])
	}
	m.nodes = append(m.nodes, nodes...)
	return nil
}
