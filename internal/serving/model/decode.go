package model

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The request decoders read JSON in one pass over the body with a small
// hand-written scanner: no reflection, no intermediate values, and numbers
// are parsed straight from the body's bytes. Every error they return wraps
// ErrBadInput.

// maxNesting bounds how deeply skipped values may nest.
const maxNesting = 256

// scanner reads JSON from buf, starting at pos.
type scanner struct {
	buf []byte
	pos int
}

// errEnd is the error for a body that stops in the middle of a value.
var errEnd = errors.New("unexpected end of JSON")

// bstr views b as a string without copying. The string must not outlive a
// use that is done before b changes (comparisons, strconv parsing).
func bstr(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// syntax returns an error about the byte at the cursor.
func (s *scanner) syntax(want string) error {
	if s.pos >= len(s.buf) {
		return fmt.Errorf("offset %d: %w, want %s", s.pos, errEnd, want)
	}
	return fmt.Errorf("offset %d: invalid JSON: got %q, want %s", s.pos, s.buf[s.pos], want)
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	for s.pos < len(s.buf) {
		switch c := s.buf[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// end checks that only white space follows the value just read.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return fmt.Errorf("offset %d: invalid JSON: data after the top-level value", s.pos)
	}
	return nil
}

// open consumes the opening bracket c ('{' or '[') of a value named what.
func (s *scanner) open(c byte, what string) error {
	if s.peek() != c {
		kind := "an object"
		if c == '[' {
			kind = "an array"
		}
		return fmt.Errorf("%s must be %s (offset %d)", what, kind, s.pos)
	}
	s.pos++
	return nil
}

// nextKey reads the next key of an object whose '{' was consumed; first is
// true for the first call. It returns ok false after consuming the '}'.
// The key aliases buf unless it held escapes.
func (s *scanner) nextKey(first bool) (key []byte, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, s.syntax(`',' or '}'`)
		}
		s.pos++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, s.syntax("an object key")
	}
	if key, err = s.str(); err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, s.syntax(`':'`)
	}
	s.pos++
	return key, true, nil
}

// nextElem moves to the next element of an array whose '[' was consumed;
// first is true for the first call. It returns false after the ']'.
func (s *scanner) nextElem(first bool) (bool, error) {
	c := s.peek()
	if c == ']' {
		s.pos++
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, s.syntax(`',' or ']'`)
		}
		s.pos++
	}
	return true, nil
}

// stringValue reads a JSON string value into a new Go string.
func (s *scanner) stringValue(what string) (string, error) {
	if s.peek() != '"' {
		return "", fmt.Errorf("%s must be a string (offset %d)", what, s.pos)
	}
	b, err := s.str()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// str reads the string at the cursor (which is at '"'). The result
// aliases buf when the string has no escapes.
func (s *scanner) str() ([]byte, error) {
	start := s.pos + 1
	for i := start; i < len(s.buf); i++ {
		switch c := s.buf[i]; {
		case c == '"':
			s.pos = i + 1
			return s.buf[start:i], nil
		case c == '\\':
			return s.unescape(start, i)
		case c < 0x20:
			s.pos = i
			return nil, s.syntax("no control characters in a string")
		}
	}
	s.pos = len(s.buf)
	return nil, s.syntax(`'"'`)
}

// unescape reads the rest of a string from i (at the first '\') into a
// new slice that starts with buf[start:i].
func (s *scanner) unescape(start, i int) ([]byte, error) {
	out := append(make([]byte, 0, i-start+16), s.buf[start:i]...)
	for i < len(s.buf) {
		c := s.buf[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return out, nil
		case c < 0x20:
			s.pos = i
			return nil, s.syntax("no control characters in a string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.buf) {
			break
		}
		i += 2
		switch e := s.buf[i-1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.buf, i)
			if !ok {
				s.pos = i
				return nil, s.syntax("four hex digits after \\u")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+6 <= len(s.buf) && s.buf[i] == '\\' && s.buf[i+1] == 'u' {
					r2, ok = hex4(s.buf, i+2)
				}
				if r = utf16.DecodeRune(r, r2); ok && r != utf8.RuneError {
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.pos = i - 1
			return nil, s.syntax("a valid escape")
		}
	}
	s.pos = len(s.buf)
	return nil, s.syntax(`'"'`)
}

// hex4 decodes four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// literal consumes the keyword word (true, false or null) at the cursor.
func (s *scanner) literal(word string) error {
	if len(s.buf)-s.pos < len(word) || bstr(s.buf[s.pos:s.pos+len(word)]) != word {
		return s.syntax(word)
	}
	s.pos += len(word)
	return nil
}

// skip consumes one value of any kind, checking its syntax.
func (s *scanner) skip(depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("offset %d: JSON nested deeper than %d", s.pos, maxNesting)
	}
	switch s.peek() {
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '[':
		s.pos++
		for first := true; ; first = false {
			more, err := s.nextElem(first)
			if err != nil || !more {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case '{':
		s.pos++
		for first := true; ; first = false {
			_, more, err := s.nextKey(first)
			if err != nil || !more {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	}
	_, err := s.number()
	return err
}
