package model

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestNumbersMatchStrconv checks the fast conversions against strconv on
// random and hand-picked numbers, float32 rounding ties included.
func TestNumbersMatchStrconv(t *testing.T) {
	for _, text := range numberTexts(200000) {
		s := scanner{buf: []byte(text)}
		n, err := s.number()
		if err != nil || s.pos != len(text) {
			t.Fatalf("%s: number() = %v at %d", text, err, s.pos)
		}
		want64, err64 := strconv.ParseFloat(text, 64)
		got64, err := s.float64(n)
		if (err != nil) != (err64 != nil) || math.Float64bits(got64) != math.Float64bits(want64) {
			t.Fatalf("%s: float64 %v (%v), strconv %v (%v)", text, got64, err, want64, err64)
		}
		want32, err32 := strconv.ParseFloat(text, 32)
		got32, err := s.float32(n)
		if (err != nil) != (err32 != nil) || math.Float32bits(got32) != math.Float32bits(float32(want32)) {
			t.Fatalf("%s: float32 %v (%v), strconv %v (%v)", text, got32, err, float32(want32), err32)
		}
	}
}

// TestFP32DataMatchesStrconv decodes the same numbers as FP32 tensor data,
// where plainly written ones take the array fast path (fp32Run) and the
// others the general one, separated by ',' or ", " so that both paths
// alternate, and wants strconv's float32 for every element.
func TestFP32DataMatchesStrconv(t *testing.T) {
	texts := numberTexts(20000)
	rng := rand.New(rand.NewPCG(5, 6))
	var body strings.Builder
	body.WriteString(`{"inputs":[{"name":"x","datatype":"FP32","shape":[` + strconv.Itoa(len(texts)) + `],"data":[`)
	for i, text := range texts {
		if i > 0 {
			body.WriteString([]string{",", ",", ", ", ",\n"}[rng.IntN(4)])
		}
		body.WriteString(text)
	}
	body.WriteString(`]}]}`)
	req, err := DecodeInfer([]byte(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	got := req.Inputs[0].FP32
	if len(got) != len(texts) {
		t.Fatalf("%d values, want %d", len(got), len(texts))
	}
	for i, text := range texts {
		want, _ := strconv.ParseFloat(text, 32)
		if math.Float32bits(got[i]) != math.Float32bits(float32(want)) {
			t.Fatalf("element %d %s: %v, strconv %v", i, text, got[i], float32(want))
		}
	}
}

// numberTexts returns hand-picked numbers and about 5n random ones in
// several notations, float32 rounding ties included.
func numberTexts(n int) []string {
	texts := []string{"0", "-0", "1", "-1", "0.0039215689", "0.003921569", "1e22", "1e23", "1e-22", "123456789012345678",
		"9007199254740993", "9007199254740992", "12345678901234567890", "0.1", "3.4028235e38", "1.17549435e-38",
		"1.00000017881393432617187499", "1.000000178813934326171875", "16777217", "33554435", "0.000000000000000000000000000001"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range n {
		f32 := math.Float32frombits(rng.Uint32())
		if math.IsNaN(float64(f32)) || math.IsInf(float64(f32), 0) {
			continue
		}
		texts = append(texts, strconv.FormatFloat(float64(f32), 'g', -1, 32),
			strconv.FormatFloat(float64(f32), 'g', rng.IntN(17)+1, 64),
			strconv.FormatFloat(float64(rng.IntN(1<<20))/float64(1+rng.IntN(1000)), 'f', rng.IntN(12), 64))
		// A float32 tie, rounded to 17 digits: the double-rounding trap.
		next := math.Nextafter32(f32, float32(math.Inf(1)))
		mid := (float64(f32) + float64(next)) / 2
		texts = append(texts, strconv.FormatFloat(mid, 'g', 17, 64), strconv.FormatFloat(mid, 'e', 15, 64))
	}
	return texts
}

func TestNumberInt(t *testing.T) {
	i64 := elem{kindInt, INT64, "INT64", math.MinInt64, math.MaxInt64}
	for text, want := range map[string]int64{"0": 0, "-0": 0, "42": 42, "-9223372036854775808": math.MinInt64,
		"9223372036854775807": math.MaxInt64, "1e3": 1000, "-2.0": -2, "1234567890123456789": 1234567890123456789} {
		s := scanner{buf: []byte(text)}
		n, err := s.number()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.int(n, &i64); err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"9223372036854775808", "-9223372036854775809", "1e19", "0.5", "1e400"} {
		s := scanner{buf: []byte(text)}
		n, _ := s.number()
		if got, err := s.int(n, &i64); err == nil {
			t.Errorf("%s: got %d, want an error", text, got)
		}
	}
}
