package fashion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Options configure Train. Zero fields take the DefaultOptions values, so
// the zero Options are the defaults.
type Options struct {
	Epochs       int     `json:"epochs"`
	Hidden       int     `json:"hidden"`
	BatchSize    int     `json:"batch_size"`
	LearningRate float64 `json:"learning_rate"`
	Seed         uint64  `json:"seed"`
	// Samples limits training to the first Samples images (0: all).
	Samples int `json:"samples"`
	// Progress, if set, is called after each epoch with its mean loss.
	Progress func(epoch int, loss float64) `json:"-"`
}

// DefaultOptions reach about 86% test accuracy in about 12 s on one core.
func DefaultOptions() Options {
	return Options{Epochs: 3, Hidden: 128, BatchSize: 32, LearningRate: 0.1, Seed: 0}
}

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.Epochs == 0 {
		o.Epochs = d.Epochs
	}
	if o.Hidden == 0 {
		o.Hidden = d.Hidden
	}
	if o.BatchSize == 0 {
		o.BatchSize = d.BatchSize
	}
	if o.LearningRate == 0 {
		o.LearningRate = d.LearningRate
	}
	if o.Epochs < 0 || o.Hidden < 0 || o.BatchSize < 0 || o.Samples < 0 ||
		!(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0) {
		return o, fmt.Errorf("fashion: invalid options %+v", o)
	}
	return o, nil
}

// seedStream is the second PCG word; Options.Seed is the first.
const seedStream = 0x6b7562656d6c // "kubeml"

// Train fits an MLP with minibatch SGD on softmax cross-entropy. It runs on
// one goroutine and draws all randomness from a PCG seeded with
// opts.Seed, so equal options give bit-identical weights.
func Train(ctx context.Context, data *Dataset, opts Options) (*MLP, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if data == nil || data.Train == nil || data.Train.Len() == 0 {
		return nil, errors.New("fashion: no training data")
	}
	s := data.Train
	n := s.Len()
	if opts.Samples > 0 && opts.Samples < n {
		n = opts.Samples
	}
	rng := rand.New(rand.NewPCG(opts.Seed, seedStream))
	t := newTrainer(s.Size(), opts.Hidden, len(Classes()), rng)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for epoch := 1; epoch <= opts.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		for b := 0; b < n; b += opts.BatchSize {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("fashion: training: %w", err)
			}
			loss += t.batch(s, order[b:min(b+opts.BatchSize, n)], float32(opts.LearningRate))
		}
		if opts.Progress != nil {
			opts.Progress(epoch, loss/float64(n))
		}
	}
	return t.mlp(), nil
}

// trainer keeps W1 transposed (Inputs x Hidden) so that both the forward
// pass and the W1 gradient are sums of contiguous rows over the non-zero
// pixels only.
type trainer struct {
	in, hid, out        int
	w1t, b1, w2, b2     []float32
	gw1t, gb1, gw2, gb2 []float32
	h, dh, p            []float32
	nzIdx               []int
	nzVal               []float32
}

func newTrainer(in, hid, out int, rng *rand.Rand) *trainer {
	t := &trainer{
		in: in, hid: hid, out: out,
		w1t: normal(rng, in*hid, math.Sqrt(2/float64(in))), b1: make([]float32, hid),
		w2: normal(rng, out*hid, math.Sqrt(1/float64(hid))), b2: make([]float32, out),
		gw1t: make([]float32, in*hid), gb1: make([]float32, hid),
		gw2: make([]float32, out*hid), gb2: make([]float32, out),
		h: make([]float32, hid), dh: make([]float32, hid), p: make([]float32, out),
	}
	return t
}

func normal(rng *rand.Rand, n int, std float64) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
	return w
}

// axpy is dst += a*x, unrolled: it is most of the training time.
func axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		d, s := dst[i:i+8:i+8], x[i:i+8:i+8]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
		d[4] += a * s[4]
		d[5] += a * s[5]
		d[6] += a * s[6]
		d[7] += a * s[7]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// batch accumulates the gradient of the summed loss over the samples,
// takes one step of the mean gradient and returns the summed loss.
func (t *trainer) batch(s *Split, idx []int, lr float32) float64 {
	clear(t.gw1t)
	clear(t.gb1)
	clear(t.gw2)
	clear(t.gb2)
	var loss float64
	for _, k := range idx {
		loss += t.sample(s.Pixels[k*t.in:(k+1)*t.in], s.Labels[k])
	}
	step := -lr / float32(len(idx))
	axpy(t.w1t, step, t.gw1t)
	axpy(t.b1, step, t.gb1)
	axpy(t.w2, step, t.gw2)
	axpy(t.b2, step, t.gb2)
	return loss
}

func (t *trainer) sample(px []uint8, label int) float64 {
	hid := t.hid
	h := t.h
	copy(h, t.b1)
	t.nzIdx, t.nzVal = t.nzIdx[:0], t.nzVal[:0]
	for i, p := range px {
		if p != 0 {
			v := pixel(p)
			t.nzIdx = append(t.nzIdx, i)
			t.nzVal = append(t.nzVal, v)
			axpy(h, v, t.w1t[i*hid:(i+1)*hid])
		}
	}
	for j, v := range h {
		h[j] = max(v, 0)
	}
	top := float32(math.Inf(-1))
	for c := range t.p {
		t.p[c] = t.b2[c] + dot(t.w2[c*hid:(c+1)*hid], h)
		top = max(top, t.p[c])
	}
	var sum float64
	for c, z := range t.p {
		e := math.Exp(float64(z - top))
		t.p[c] = float32(e)
		sum += e
	}
	for c := range t.p {
		t.p[c] = float32(float64(t.p[c]) / sum)
	}
	loss := -math.Log(math.Max(float64(t.p[label]), 1e-30))
	t.p[label]-- // p - onehot: gradient of the loss w.r.t. the logits
	clear(t.dh)
	for c, d := range t.p {
		t.gb2[c] += d
		axpy(t.gw2[c*hid:(c+1)*hid], d, h)
		axpy(t.dh, d, t.w2[c*hid:(c+1)*hid])
	}
	for j, v := range h {
		if v <= 0 {
			t.dh[j] = 0
		}
	}
	axpy(t.gb1, 1, t.dh)
	for k, i := range t.nzIdx {
		axpy(t.gw1t[i*hid:(i+1)*hid], t.nzVal[k], t.dh)
	}
	return loss
}

// mlp copies the weights out, transposing W1 back to Hidden x Inputs.
func (t *trainer) mlp() *MLP {
	m := &MLP{
		Inputs: t.in, Hidden: t.hid, Classes: t.out,
		W1: make([]float32, t.in*t.hid),
		B1: append([]float32(nil), t.b1...),
		W2: append([]float32(nil), t.w2...),
		B2: append([]float32(nil), t.b2...),
	}
	for i := 0; i < t.in; i++ {
		for j := 0; j < t.hid; j++ {
			m.W1[j*t.in+i] = t.w1t[i*t.hid+j]
		}
	}
	return m
}
