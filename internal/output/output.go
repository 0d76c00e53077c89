// Package output formats kubeml CLI results the way the Azure CLI (az) does:
// --query (JMESPath) first, then one of the -o formats json, jsonc, yaml,
// table, tsv or none.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/jmespath/go-jmespath"
	"sigs.k8s.io/yaml"
)

// Format is an output format, as given to -o/--output.
type Format string

// The output formats. FormatJSON is the default; FormatJSONC prints the same as JSON.
const (
	FormatJSON  Format = "json"
	FormatJSONC Format = "jsonc"
	FormatYAML  Format = "yaml"
	FormatTable Format = "table"
	FormatTSV   Format = "tsv"
	FormatNone  Format = "none"
)

// Formats lists the valid formats in the order they are shown to users.
var Formats = []Format{FormatJSON, FormatJSONC, FormatYAML, FormatTable, FormatTSV, FormatNone}

// ParseFormat parses an -o value; "" means json.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "" {
		return FormatJSON, nil
	}
	for _, v := range Formats {
		if f == v {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, v := range Formats {
		names[i] = string(v)
	}
	return "", fmt.Errorf("invalid output format %q: valid values are %s", s, strings.Join(names, ", "))
}

// Options of one print.
type Options struct {
	Format Format // "" means json
	Query  string // JMESPath, applied first (az's --query)
	Table  *Table // how -o table looks for this command; nil = generic
}

// Table describes the columns of -o table when no --query is given.
type Table struct{ Columns []Column }

// Column is one column of a Table.
type Column struct {
	Header    string
	Path      string           // JMESPath evaluated against each row
	Transform func(any) string // optional; default formats the value like az
}

// Print writes v to w in the format of o. v is first marshalled to JSON and
// decoded to generic values (so json tags apply); object keys keep the order
// of that JSON (struct field order). Keys that only a query creates (a
// multiselect hash) come after, sorted. Like az, a null result prints nothing.
func Print(w io.Writer, v any, o Options) error {
	f, err := ParseFormat(string(o.Format))
	if err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("output: encoding result: %w", err)
	}
	data, order, err := decode(raw)
	if err != nil {
		return fmt.Errorf("output: decoding result: %w", err)
	}
	if o.Query != "" {
		q, err := jmespath.Compile(o.Query)
		if err != nil {
			return fmt.Errorf("invalid --query %q: %v", o.Query, err)
		}
		if data, err = q.Search(data); err != nil {
			return fmt.Errorf("evaluating --query %q: %v", o.Query, err)
		}
	}
	if data == nil || f == FormatNone {
		return nil
	}
	var b bytes.Buffer
	switch f {
	case FormatJSON, FormatJSONC:
		writeJSON(&b, data, order, "")
		b.WriteByte('\n')
	case FormatYAML:
		var jb bytes.Buffer
		writeJSON(&jb, data, order, "")
		y, err := yaml.JSONToYAML(jb.Bytes())
		if err != nil {
			return fmt.Errorf("output: yaml: %w", err)
		}
		b.Write(y)
	case FormatTSV:
		writeTSV(&b, data, order)
	case FormatTable:
		if err := writeTable(&b, data, order, o); err != nil {
			return err
		}
	}
	_, err = w.Write(b.Bytes())
	return err
}
