package model

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendInferResponse appends an Open Inference Protocol v2 response to dst:
//
//	{"model_name": ..., "model_version": ..., "id": ..., "outputs": [
//	 {"name": ..., "datatype": ..., "shape": [...], "data": [flat]}]}
//
// model_version and id are left out when empty. NaN and infinities, which
// JSON cannot hold, are written as null.
func AppendInferResponse(dst []byte, modelName, modelVersion, id string, outputs []Tensor) []byte {
	dst = append(dst, `{"model_name":`...)
	dst = AppendString(dst, modelName)
	if modelVersion != "" {
		dst = append(dst, `,"model_version":`...)
		dst = AppendString(dst, modelVersion)
	}
	if id != "" {
		dst = append(dst, `,"id":`...)
		dst = AppendString(dst, id)
	}
	dst = append(dst, `,"outputs":[`...)
	for i := range outputs {
		t := &outputs[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = AppendString(dst, t.Name)
		dst = append(dst, `,"datatype":`...)
		dst = AppendString(dst, string(t.DataType))
		dst = append(dst, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, d, 10)
		}
		dst = append(dst, `],"data":`...)
		dst = AppendData(dst, t, false)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AppendData appends t's data to dst as a JSON array: flat, or nested as
// t.Shape describes when nested is true (a rank-0 tensor is then a bare
// value). Data that does not fill the shape is written flat.
func AppendData(dst []byte, t *Tensor, nested bool) []byte {
	n := t.DataLen()
	if !nested || elements(t.Shape) != int64(n) || (n == 0 && !fewArrays(t.Shape)) {
		dst = append(dst, '[')
		dst = appendRange(dst, t, 0, n)
		return append(dst, ']')
	}
	return appendNested(dst, t, t.Shape, 0)
}

// fewArrays reports whether nesting an empty tensor of this shape writes a
// reasonable number of empty arrays.
func fewArrays(shape []int64) bool {
	n := int64(1)
	for _, d := range shape {
		if d == 0 {
			return true
		}
		if n *= d; n > 1<<16 {
			return false
		}
	}
	return true
}

// appendNested writes the elements of t from off on, nested as shape says.
func appendNested(dst []byte, t *Tensor, shape []int64, off int) []byte {
	if len(shape) == 0 {
		return appendRange(dst, t, off, off+1)
	}
	dst = append(dst, '[')
	if len(shape) == 1 {
		dst = appendRange(dst, t, off, off+int(shape[0]))
		return append(dst, ']')
	}
	stride := int(elements(shape[1:]))
	for i := 0; i < int(shape[0]); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendNested(dst, t, shape[1:], off+i*stride)
	}
	return append(dst, ']')
}

// appendRange writes elements lo to hi of t, comma-separated.
func appendRange(dst []byte, t *Tensor, lo, hi int) []byte {
	for i := lo; i < hi; i++ {
		if i > lo {
			dst = append(dst, ',')
		}
		switch t.DataType {
		case FP32:
			dst = appendFloat(dst, float64(t.FP32[i]), 32)
		case FP64:
			dst = appendFloat(dst, t.FP64[i], 64)
		case INT64, INT32:
			dst = strconv.AppendInt(dst, t.Int64[i], 10)
		case BOOL:
			dst = strconv.AppendBool(dst, t.Bool[i])
		}
	}
	return dst
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// AppendString appends s to dst as a JSON string. Invalid UTF-8 is
// replaced by U+FFFD.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
