package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// keyOrder ranks object keys by their first appearance in the decoded JSON.
type keyOrder map[string]int

// keys returns m's keys: known keys by rank, then unknown keys sorted.
func (o keyOrder) keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		ri, iok := o[ks[i]]
		rj, jok := o[ks[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return ks[i] < ks[j]
	})
	return ks
}

// decode decodes raw into generic values (numbers as float64, which
// go-jmespath needs) and records the order in which keys appear.
func decode(raw []byte) (any, keyOrder, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	order := keyOrder{}
	v, err := decodeValue(d, order)
	return v, order, err
}

func decodeValue(d *json.Decoder, order keyOrder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		m := map[string]any{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			if _, ok := order[k]; !ok {
				order[k] = len(order)
			}
			if m[k], err = decodeValue(d, order); err != nil {
				return nil, err
			}
		}
		_, err = d.Token()
		return m, err
	case json.Delim('['):
		s := []any{}
		for d.More() {
			v, err := decodeValue(d, order)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		_, err = d.Token()
		return s, err
	}
	return t, nil
}

// writeJSON writes v indented by two spaces like az, keys in order, with
// no HTML escaping. indent is the current indentation.
func writeJSON(b *bytes.Buffer, v any, order keyOrder, indent string) {
	in := indent + "  "
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{")
		for i, k := range order.keys(v) {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + in + jsonString(k) + ": ")
			writeJSON(b, v[k], order, in)
		}
		b.WriteString("\n" + indent + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + in)
			writeJSON(b, e, order, in)
		}
		b.WriteString("\n" + indent + "]")
	case string:
		b.WriteString(jsonString(v))
	default:
		j, err := json.Marshal(v)
		if err != nil { // NaN or Inf cannot come out of JSON decoding
			j = []byte(fmt.Sprint(v))
		}
		b.Write(j)
	}
}

func jsonString(s string) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// scalar formats a value as az's table and tsv outputs do (Python str()):
// strings bare, booleans True/False, null empty, numbers without a
// trailing ".0". Lists and objects are printed as compact JSON.
func scalar(v any, order keyOrder) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	var b bytes.Buffer
	writeJSON(&b, v, order, "")
	var c bytes.Buffer
	if json.Compact(&c, b.Bytes()) != nil {
		return b.String()
	}
	return c.String()
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}
