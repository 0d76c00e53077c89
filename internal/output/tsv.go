package output

import (
	"bytes"
	"strconv"
)

// writeTSV prints data like az -o tsv: a list is one row per item, any other
// value one row. A row of an object is its values (in key order) and a row
// of a list its items, tab-separated; inside a row a nested list prints as
// its length and a nested object as empty. Scalars print bare, booleans as
// True/False and null as empty (az prints "None").
func writeTSV(b *bytes.Buffer, data any, order keyOrder) {
	rows, ok := data.([]any)
	if !ok {
		rows = []any{data}
	}
	for _, row := range rows {
		var cells []any
		switch r := row.(type) {
		case map[string]any:
			for _, k := range order.keys(r) {
				cells = append(cells, r[k])
			}
		case []any:
			cells = r
		default:
			cells = []any{r}
		}
		for i, c := range cells {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch c := c.(type) {
			case []any:
				b.WriteString(strconv.Itoa(len(c)))
			case map[string]any:
			default:
				b.WriteString(scalar(c, order))
			}
		}
		b.WriteByte('\n')
	}
}
