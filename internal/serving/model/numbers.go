package model

import (
	"math"
	"strconv"
)

// num is a scanned JSON number. When it is exact its value is
// ±mant × 10^exp, which the common short numbers convert from without
// strconv. It has four fields so that it lives in registers.
type num struct {
	start int // where the number starts; it ends at the scanner's cursor
	mant  uint64
	exp   int
	flags uint8
}

// Flags of a num.
const (
	numInteger = 1 << iota // written without fraction or exponent
	numExact               // mant holds every significant digit
	numNeg                 // has a minus sign
)

func (n num) integer() bool { return n.flags&numInteger != 0 }

// text returns the number as written; s must still be just past it.
func (s *scanner) text(n num) []byte {
	return s.buf[n.start:s.pos]
}

// number scans the JSON number at the cursor, checking its syntax.
func (s *scanner) number() (num, error) {
	b, i := s.buf, s.pos
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	// mant takes every digit but a lone leading 0; more than 19 of them
	// may overflow it, and then the number is not exact.
	var mant uint64
	digits, exp, integer := 0, 0, true
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i]-'1' < 9:
		start := i
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(b[i]-'0')
		}
		digits = i - start
	default:
		s.pos = i
		return num{}, s.syntax("a number")
	}
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		start := i
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(b[i]-'0')
		}
		if i == start {
			s.pos = i
			return num{}, s.syntax("a digit after '.'")
		}
		digits += i - start
		exp = start - i
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		sign := 1
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			if b[i] == '-' {
				sign = -1
			}
			i++
		}
		start, e := i, 0
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			if e < 1e6 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if i == start {
			s.pos = i
			return num{}, s.syntax("a digit in the exponent")
		}
		exp += sign * e
	}
	n := num{start: s.pos, mant: mant, exp: exp}
	if integer {
		n.flags |= numInteger
	}
	if digits <= 19 {
		n.flags |= numExact
	}
	if neg {
		n.flags |= numNeg
	}
	s.pos = i
	return n, nil
}

// pow10 holds the powers of ten a float64 represents exactly. Read only.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fast returns the value computed with one correctly rounded float64
// operation on exact operands (Clinger's fast path), if that applies.
func (n num) fast() (float64, bool) {
	if n.flags&numExact == 0 || n.mant > 1<<53 || n.exp < -22 || n.exp > 22 {
		return 0, false
	}
	f := float64(n.mant)
	if n.exp < 0 {
		f /= pow10[-n.exp]
	} else {
		f *= pow10[n.exp]
	}
	if n.flags&numNeg != 0 {
		f = -f
	}
	return f, true
}

// float64 returns n, just scanned, as the nearest float64.
func (s *scanner) float64(n num) (float64, error) {
	if f, ok := n.fast(); ok {
		return f, nil
	}
	return strconv.ParseFloat(bstr(s.text(n)), 64)
}

// float32 returns n, just scanned, as the nearest float32. Rounding the exact
// float64 result again is correct unless that result lies exactly halfway
// between two float32s (the low 29 of its 52 fraction bits are 1000...0):
// only then might the first rounding have moved the value onto the tie,
// and strconv decides. (Fast-path values lie between 1e-22 and 1e38, far
// from float32 subnormals and overflow.)
func (s *scanner) float32(n num) (float32, error) {
	if f, ok := n.fast(); ok && math.Float64bits(f)&(1<<29-1) != 1<<28 {
		return float32(f), nil
	}
	f, err := strconv.ParseFloat(bstr(s.text(n)), 32)
	return float32(f), err
}
