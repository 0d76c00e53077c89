package model

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxRank bounds the nesting of tensor data.
const maxRank = 32

// elem says how to read one element of tensor data.
type elem struct {
	kind   kind
	store  DataType // the Tensor's DataType (narrow integers are held as INT64)
	wire   string   // the datatype as the client named it
	lo, hi int64    // the accepted range of integer types
}

// kind is where an element goes: which of a Tensor's slices.
type kind uint8

const (
	kindFP32 kind = iota
	kindFP64
	kindInt
	kindBool
)

// elemOf returns how to read elements of the named datatype. The result
// does not refer to the datatype string, which may alias a request body.
func elemOf(datatype string) (elem, error) {
	switch datatype {
	case "FP32":
		return elem{kind: kindFP32, store: FP32, wire: "FP32"}, nil
	case "FP64":
		return elem{kind: kindFP64, store: FP64, wire: "FP64"}, nil
	case "BOOL":
		return elem{kind: kindBool, store: BOOL, wire: "BOOL"}, nil
	case "INT64":
		return elem{kindInt, INT64, "INT64", math.MinInt64, math.MaxInt64}, nil
	case "INT32":
		return elem{kindInt, INT32, "INT32", math.MinInt32, math.MaxInt32}, nil
	case "INT16":
		return elem{kindInt, INT64, "INT16", math.MinInt16, math.MaxInt16}, nil
	case "INT8":
		return elem{kindInt, INT64, "INT8", math.MinInt8, math.MaxInt8}, nil
	case "UINT8":
		return elem{kindInt, INT64, "UINT8", 0, math.MaxUint8}, nil
	case "UINT16":
		return elem{kindInt, INT64, "UINT16", 0, math.MaxUint16}, nil
	case "UINT32":
		return elem{kindInt, INT64, "UINT32", 0, math.MaxUint32}, nil
	case "UINT64":
		// Held in an int64, so the top half of the range is refused.
		return elem{kindInt, INT64, "UINT64", 0, math.MaxInt64}, nil
	case "FP16", "BYTES":
		return elem{}, fmt.Errorf("datatype %s is unsupported; send FP32, FP64, INT*, UINT* or BOOL", datatype)
	}
	return elem{}, fmt.Errorf("unknown datatype %q; want one of FP32, FP64, INT64, INT32, INT16, INT8, UINT64, UINT32, UINT16, UINT8, BOOL", datatype)
}

// errRagged marks nested arrays whose rows differ in length or depth.
var errRagged = errors.New("ragged array")

// data reads the array at the cursor, flat or nested, appending its
// elements in row-major order to t, whose DataType must be e.store. It
// sets t.Shape to the shape the nesting describes if setShape is true;
// rows of different lengths or depths are an error either way. sizeHint,
// if positive, preallocates the data.
func (s *scanner) data(t *Tensor, e elem, sizeHint int, setShape bool) error {
	if s.peek() != '[' {
		return fmt.Errorf("data must be an array (offset %d)", s.pos)
	}
	if sizeHint > 0 {
		switch e.kind {
		case kindFP32:
			t.FP32 = make([]float32, 0, sizeHint)
		case kindFP64:
			t.FP64 = make([]float64, 0, sizeHint)
		case kindBool:
			t.Bool = make([]bool, 0, sizeHint)
		default:
			t.Int64 = make([]int64, 0, sizeHint)
		}
	}
	// dims[d] is the length of every array at depth d+1 once the first
	// one closed (-1 before); counts[d] counts the open one's elements.
	var dims, counts [maxRank]int64
	for i := range dims {
		dims[i] = -1
	}
	s.pos++
	depth, deepest, leaf := 1, 1, 0
	first := true
	for depth > 0 {
		c := s.peek()
		if c == ']' {
			s.pos++
			d := depth - 1
			if dims[d] < 0 {
				dims[d] = counts[d]
			} else if dims[d] != counts[d] {
				return fmt.Errorf("%w: an array at depth %d has %d elements, the first had %d", errRagged, depth, counts[d], dims[d])
			}
			counts[d] = 0
			depth--
			if depth > 0 {
				counts[depth-1]++
			}
			first = false
			continue
		}
		if !first {
			if c != ',' {
				return s.syntax(`',' or ']'`)
			}
			s.pos++
			c = s.peek()
		}
		first = false
		if c == '[' {
			if depth++; depth > maxRank {
				return fmt.Errorf("data nested deeper than %d", maxRank)
			}
			if leaf != 0 && depth > leaf {
				return fmt.Errorf("%w: values at depth %d and arrays at depth %d", errRagged, leaf, depth)
			}
			deepest = max(deepest, depth)
			s.pos++
			first = true
			continue
		}
		if depth != leaf {
			if leaf != 0 || depth != deepest {
				return fmt.Errorf("%w: values at depth %d and arrays at depth %d", errRagged, depth, max(deepest, leaf))
			}
			leaf = depth
		}
		if err := s.value(t, &e, c); err != nil {
			return fmt.Errorf("element %d: %w", t.DataLen(), err)
		}
		counts[depth-1]++
		if e.kind == kindFP32 {
			counts[depth-1] += int64(s.fp32Run(t))
		}
	}
	if setShape {
		t.Shape = append([]int64(nil), dims[:deepest]...)
	}
	return nil
}

// value reads one element whose first byte is c and appends it to t.
func (s *scanner) value(t *Tensor, e *elem, c byte) error {
	switch e.kind {
	case kindBool:
		switch c {
		case 't':
			t.Bool = append(t.Bool, true)
			return s.literal("true")
		case 'f':
			t.Bool = append(t.Bool, false)
			return s.literal("false")
		}
		return s.syntax("true or false")
	case kindFP32, kindFP64:
		if c == 'n' {
			// null is a missing value, as XGBoost and LightGBM take it.
			if e.kind == kindFP32 {
				t.FP32 = append(t.FP32, float32(math.NaN()))
			} else {
				t.FP64 = append(t.FP64, math.NaN())
			}
			return s.literal("null")
		}
		n, err := s.number()
		if err != nil {
			return err
		}
		if e.kind == kindFP32 {
			f, err := s.float32(n)
			if err != nil {
				return fmt.Errorf("%s is out of range for FP32", s.text(n))
			}
			t.FP32 = append(t.FP32, f)
			return nil
		}
		f, err := s.float64(n)
		if err != nil {
			return fmt.Errorf("%s is out of range for FP64", s.text(n))
		}
		t.FP64 = append(t.FP64, f)
		return nil
	}
	if c == 'n' {
		return fmt.Errorf("null is only accepted in FP32 and FP64 data, not %s", e.wire)
	}
	n, err := s.number()
	if err != nil {
		return err
	}
	v, err := s.int(n, e)
	if err != nil {
		return err
	}
	t.Int64 = append(t.Int64, v)
	return nil
}

// int returns n, just scanned, as an integer of type e. A number written
// with a fraction or exponent is accepted when its value is whole.
func (s *scanner) int(n num, e *elem) (int64, error) {
	var v int64
	switch {
	case n.flags&(numInteger|numExact) == numInteger|numExact && n.mant <= math.MaxInt64:
		if v = int64(n.mant); n.flags&numNeg != 0 {
			v = -v
		}
	case n.integer():
		var err error
		if v, err = strconv.ParseInt(bstr(s.text(n)), 10, 64); err != nil {
			return 0, fmt.Errorf("%s is out of range for %s", s.text(n), e.wire)
		}
	default:
		f, err := s.float64(n)
		switch {
		case err != nil || f < math.MinInt64 || f >= math.MaxInt64:
			return 0, fmt.Errorf("%s is out of range for %s", s.text(n), e.wire)
		case f != math.Trunc(f):
			return 0, fmt.Errorf("%s is not an integer, as %s needs", s.text(n), e.wire)
		}
		v = int64(f)
	}
	if v < e.lo || v > e.hi {
		return 0, fmt.Errorf("%s is out of range for %s", s.text(n), e.wire)
	}
	return v, nil
}

// fp32Run is the hot loop of FP32 data: just after an element, it reads
// as many further ",number" pairs as it can in one pass, for numbers
// written plainly ([-]digits[.digits], no white space, no exponent) that
// Clinger's fast path converts exactly, and returns how many it read.
// At anything else (white space, an exponent, null, the end of the
// array, a syntax error) it stops just before the ',' and leaves that
// element to the general path, which gives the same values and errors.
func (s *scanner) fp32Run(t *Tensor) int {
	b, i, out := s.buf, s.pos, t.FP32
	n := 0
	for i+1 < len(b) && b[i] == ',' {
		j := i + 1
		neg := b[j] == '-'
		if neg {
			j++
		}
		if j >= len(b) {
			break
		}
		var mant uint64
		digits, exp := 0, 0
		switch c := b[j]; {
		case c == '0':
			j++
		case c-'1' < 9:
			start := j
			for ; j < len(b) && b[j]-'0' <= 9; j++ {
				mant = mant*10 + uint64(b[j]-'0')
			}
			digits = j - start
		default:
			s.pos, t.FP32 = i, out
			return n
		}
		if j < len(b) && b[j] == '.' {
			j++
			start := j
			for ; j < len(b) && b[j]-'0' <= 9; j++ {
				mant = mant*10 + uint64(b[j]-'0')
			}
			if j == start {
				break
			}
			digits += j - start
			exp = start - j
		}
		if j >= len(b) || (b[j] != ',' && b[j] != ']') || digits > 19 || mant > 1<<53 || exp < -22 {
			break
		}
		f := float64(mant)
		if exp < 0 {
			f /= pow10[-exp]
		}
		if neg {
			f = -f
		}
		if math.Float64bits(f)&(1<<29-1) == 1<<28 {
			break // a float32 tie: strconv decides, on the general path
		}
		out = append(out, float32(f))
		n++
		i = j
	}
	s.pos, t.FP32 = i, out
	return n
}
