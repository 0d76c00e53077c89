package fashion

import (
	"math"
)

// MLP is a one-hidden-layer perceptron: probabilities =
// softmax(W2 · relu(W1 · x + B1) + B2). Weight matrices are row-major with
// one row per output unit, the layout of an ONNX Gemm with transB=1.
type MLP struct {
	Inputs, Hidden, Classes int
	W1                      []float32 // Hidden x Inputs
	B1                      []float32 // Hidden
	W2                      []float32 // Classes x Hidden
	B2                      []float32 // Classes
}

// Predict returns the class probabilities for one image, computed directly
// (float64 accumulation) as the reference for other runtimes. It returns
// nil if len(x) != m.Inputs.
func (m *MLP) Predict(x []float32) []float32 {
	if len(x) != m.Inputs {
		return nil
	}
	h := make([]float64, m.Hidden)
	for j := range h {
		row := m.W1[j*m.Inputs : (j+1)*m.Inputs]
		s := float64(m.B1[j])
		for i, v := range x {
			s += float64(row[i]) * float64(v)
		}
		h[j] = math.Max(s, 0)
	}
	z := make([]float64, m.Classes)
	top := math.Inf(-1)
	for c := range z {
		row := m.W2[c*m.Hidden : (c+1)*m.Hidden]
		s := float64(m.B2[c])
		for j, v := range h {
			s += float64(row[j]) * v
		}
		z[c] = s
		top = math.Max(top, s)
	}
	var sum float64
	for c := range z {
		z[c] = math.Exp(z[c] - top)
		sum += z[c]
	}
	p := make([]float32, m.Classes)
	for c := range p {
		p[c] = float32(z[c] / sum)
	}
	return p
}

// Accuracy is the fraction of images whose most probable class is the
// label.
func (m *MLP) Accuracy(images [][]float32, labels []int) float64 {
	n := min(len(images), len(labels))
	if n == 0 {
		return 0
	}
	right := 0
	for i := range n {
		if p := m.Predict(images[i]); p != nil && Argmax(p) == labels[i] {
			right++
		}
	}
	return float64(right) / float64(n)
}

// Argmax is the index of the largest value (the first of equal ones), or
// -1 for an empty slice.
func Argmax(p []float32) int {
	best := -1
	for i, v := range p {
		if best < 0 || v > p[best] {
			best = i
		}
	}
	return best
}
