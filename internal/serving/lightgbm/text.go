package lightgbm

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ensemble is a LightGBM model as read from either format, checked by
// validate before leaves sees it.
type ensemble struct {
	numClass      int
	maxFeatureIdx int
	objective     string
	hasObjective  bool
	averageOutput bool
	trees         []tree
}

// tree holds one tree in the arrays of LightGBM's text format: internal
// node i splits on splitFeature[i]; a child c >= 0 is an internal node,
// c < 0 is leaf ^c.
type tree struct {
	numLeaves     int
	numCat        int
	splitFeature  []int64
	threshold     []float64
	decisionType  []int64
	left, right   []int64
	leafValue     []float64
	catBoundaries []int64
	catThreshold  []int64
}

// parseText reads LightGBM's text model format (Booster.save_model):
// a "tree" line, header key=value lines, then one block per tree, each
// starting with "Tree=N", blocks separated by blank lines.
func parseText(data []byte) (*ensemble, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "tree" {
		return nil, fmt.Errorf("lightgbm: text model must start with a \"tree\" line")
	}
	header, rest := block(lines[1:])
	version, ok := header["version"]
	if !ok {
		return nil, fmt.Errorf("lightgbm: no version= line in the model header")
	}
	switch version {
	case "v2", "v3", "v4":
	default:
		return nil, fmt.Errorf("lightgbm: model version %q (want v2, v3 or v4): %w", version, errUnsupported)
	}
	e := &ensemble{}
	var err error
	if e.numClass, err = intField(header, "num_class", -1); err != nil {
		return nil, err
	}
	perIter, err := intField(header, "num_tree_per_iteration", e.numClass)
	if err != nil {
		return nil, err
	}
	if e.numClass < 1 {
		return nil, fmt.Errorf("lightgbm: num_class %d", e.numClass)
	}
	if perIter != e.numClass {
		return nil, fmt.Errorf("lightgbm: num_tree_per_iteration %d != num_class %d: %w", perIter, e.numClass, errUnsupported)
	}
	if e.maxFeatureIdx, err = intField(header, "max_feature_idx", -1); err != nil {
		return nil, err
	}
	e.objective, e.hasObjective = header["objective"]
	_, e.averageOutput = header["average_output"]
	for len(rest) > 0 {
		line := strings.TrimSpace(rest[0])
		switch {
		case line == "" || strings.HasPrefix(line, "Tree="):
			if line == "" {
				rest = rest[1:]
				continue
			}
			var fields map[string]string
			fields, rest = block(rest[1:])
			t, err := parseTree(fields)
			if err != nil {
				return nil, fmt.Errorf("lightgbm: %s: %w", line, err)
			}
			e.trees = append(e.trees, t)
		default: // "end of trees", feature importances, parameters
			rest = nil
		}
	}
	if sizes, ok := header["tree_sizes"]; ok && len(strings.Fields(sizes)) != len(e.trees) {
		return nil, fmt.Errorf("lightgbm: tree_sizes lists %d trees, file has %d", len(strings.Fields(sizes)), len(e.trees))
	}
	return e, nil
}

// block reads key=value lines up to a blank line; a line without "=" is a
// key with an empty value.
func block(lines []string) (map[string]string, []string) {
	m := make(map[string]string)
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			return m, lines[i+1:]
		}
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m, nil
}

func parseTree(f map[string]string) (tree, error) {
	var t tree
	var err error
	if v, ok := f["is_linear"]; ok && v != "0" {
		return t, fmt.Errorf("linear trees (is_linear=%s): %w", v, errUnsupported)
	}
	if t.numLeaves, err = intField(f, "num_leaves", -1); err != nil {
		return t, err
	}
	if t.numCat, err = intField(f, "num_cat", 0); err != nil {
		return t, err
	}
	if t.leafValue, err = floats(f, "leaf_value"); err != nil || t.numLeaves <= 1 {
		return t, err
	}
	ints := []struct {
		key string
		dst *[]int64
	}{{"split_feature", &t.splitFeature}, {"decision_type", &t.decisionType},
		{"left_child", &t.left}, {"right_child", &t.right}}
	if t.numCat > 0 {
		ints = append(ints, struct {
			key string
			dst *[]int64
		}{"cat_boundaries", &t.catBoundaries}, struct {
			key string
			dst *[]int64
		}{"cat_threshold", &t.catThreshold})
	}
	for _, i := range ints {
		if *i.dst, err = integers(f, i.key); err != nil {
			return t, err
		}
	}
	t.threshold, err = floats(f, "threshold")
	return t, err
}

func intField(f map[string]string, key string, def int) (int, error) {
	s, ok := f[key]
	if !ok {
		if def >= 0 {
			return def, nil
		}
		return 0, fmt.Errorf("lightgbm: no %s field", key)
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("lightgbm: %s: %w", key, err)
	}
	return v, nil
}

func integers(f map[string]string, key string) ([]int64, error) {
	s, ok := f[key]
	if !ok {
		return nil, fmt.Errorf("no %s field", key)
	}
	var out []int64
	for _, w := range strings.Fields(s) {
		v, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func floats(f map[string]string, key string) ([]float64, error) {
	s, ok := f[key]
	if !ok {
		return nil, fmt.Errorf("no %s field", key)
	}
	var out []float64
	for _, w := range strings.Fields(s) {
		v, err := strconv.ParseFloat(w, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// canonical writes e in the text format leaves reads, holding only what
// validate checked, so leaves parses exactly the model that was checked.
// The version is written as v3: leaves knows v2 and v3, and the v4 tree
// layout is the same for non-linear trees.
func (e *ensemble) canonical() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree\nversion=v3\nnum_class=%d\nnum_tree_per_iteration=%d\nmax_feature_idx=%d\n",
		e.numClass, e.numClass, e.maxFeatureIdx)
	if e.averageOutput {
		b.WriteString("average_output\n")
	}
	b.WriteString("tree_sizes=" + strings.TrimSpace(strings.Repeat("0 ", len(e.trees))) + "\n\n")
	for i, t := range e.trees {
		fmt.Fprintf(&b, "Tree=%d\nnum_leaves=%d\nnum_cat=%d\n", i, t.numLeaves, t.numCat)
		writeFloats(&b, "leaf_value", t.leafValue)
		if t.numLeaves > 1 {
			writeInts(&b, "split_feature", t.splitFeature)
			writeFloats(&b, "threshold", t.threshold)
			writeInts(&b, "decision_type", t.decisionType)
			writeInts(&b, "left_child", t.left)
			writeInts(&b, "right_child", t.right)
			if t.numCat > 0 {
				writeInts(&b, "cat_boundaries", t.catBoundaries)
				writeInts(&b, "cat_threshold", t.catThreshold)
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func writeInts(b *bytes.Buffer, key string, v []int64) {
	b.WriteString(key + "=")
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(x, 10))
	}
	b.WriteByte('\n')
}

func writeFloats(b *bytes.Buffer, key string, v []float64) {
	b.WriteString(key + "=")
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	}
	b.WriteByte('\n')
}
