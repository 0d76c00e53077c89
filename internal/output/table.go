package output

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmespath/go-jmespath"
)

// skipKeys are left out of generic tables, as az does.
var skipKeys = map[string]bool{"id": true, "type": true, "etag": true}

// writeTable prints data like az -o table (tabulate's "simple" format).
func writeTable(b *bytes.Buffer, data any, order keyOrder, o Options) error {
	rows, ok := data.([]any)
	if !ok {
		rows = []any{data}
	}
	var headers []string
	var cells [][]string
	if o.Table != nil && o.Query == "" {
		var err error
		if headers, cells, err = customTable(rows, order, o.Table); err != nil {
			return err
		}
	} else {
		// az sorts the keys unless a query is active.
		headers, cells = genericTable(rows, order, o.Query == "")
	}
	if len(headers) == 0 || len(cells) == 0 {
		return nil
	}
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = utf8.RuneCountInString(h) + 2 // tabulate's MIN_PADDING
		for _, row := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(row[i]))
		}
	}
	dashes := make([]string, len(headers))
	for i, w := range widths {
		dashes[i] = strings.Repeat("-", w)
	}
	writeRow(b, headers, widths)
	writeRow(b, dashes, widths)
	for _, row := range cells {
		writeRow(b, row, widths)
	}
	return nil
}

// writeRow writes left-aligned cells separated by two spaces, with no
// trailing spaces.
func writeRow(b *bytes.Buffer, row []string, widths []int) {
	var l strings.Builder
	for i, c := range row {
		if i > 0 {
			l.WriteString("  ")
		}
		l.WriteString(c)
		l.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
	}
	b.WriteString(strings.TrimRight(l.String(), " "))
	b.WriteByte('\n')
}

func customTable(rows []any, order keyOrder, t *Table) ([]string, [][]string, error) {
	headers := make([]string, len(t.Columns))
	paths := make([]*jmespath.JMESPath, len(t.Columns))
	for i, c := range t.Columns {
		headers[i] = c.Header
		p, err := jmespath.Compile(c.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("output: table column %q: invalid path %q: %v", c.Header, c.Path, err)
		}
		paths[i] = p
	}
	cells := make([][]string, len(rows))
	for r, row := range rows {
		cells[r] = make([]string, len(t.Columns))
		for i, c := range t.Columns {
			v, err := paths[i].Search(row)
			if err != nil {
				return nil, nil, fmt.Errorf("output: table column %q: path %q: %v", c.Header, c.Path, err)
			}
			if c.Transform != nil {
				cells[r][i] = c.Transform(v)
			} else {
				cells[r][i] = scalar(v, order)
			}
		}
	}
	return headers, cells, nil
}

// genericTable turns each row into named cells like az's _auto_table: an
// object gives its scalar, non-null values (minus id, type and etag) under
// its capitalised keys, a list gives Column1..N, anything else Result.
// Headers are the union of the rows' names in order of appearance.
func genericTable(rows []any, order keyOrder, sortKeys bool) ([]string, [][]string) {
	var headers []string
	index := map[string]int{}
	named := make([]map[string]string, len(rows))
	for r, row := range rows {
		m := map[string]string{}
		add := func(h string, v any) {
			if _, ok := index[h]; !ok {
				index[h] = len(headers)
				headers = append(headers, h)
			}
			m[h] = scalar(v, order)
		}
		switch row := row.(type) {
		case map[string]any:
			keys := order.keys(row)
			if sortKeys {
				sort.Strings(keys)
			}
			for _, k := range keys {
				if v := row[k]; !skipKeys[k] && v != nil && isScalar(v) {
					add(capitalize(k), v)
				}
			}
		case []any:
			for i, v := range row {
				add("Column"+strconv.Itoa(i+1), v)
			}
		default:
			add("Result", row)
		}
		named[r] = m
	}
	cells := make([][]string, len(rows))
	for r, m := range named {
		cells[r] = make([]string, len(headers))
		for i, h := range headers {
			cells[r][i] = m[h]
		}
	}
	return headers, cells
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[n:]
}
