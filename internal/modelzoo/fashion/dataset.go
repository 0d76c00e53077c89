// Package fashion is kubeml's own real model: a 784-128-10 multilayer
// perceptron trained in pure Go on Fashion-MNIST (Debian's
// dataset-fashion-mnist package), exported as an ONNX opset-13 graph.
//
// It serves as a test-fixture generator: Fixture trains the model once (or
// reuses the one already written), writes fashion-mlp.onnx and the MLP's
// own predictions for the first test images, so that serving tests can
// check a runtime against an independent implementation without shipping
// large binaries.
package fashion

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultDataDir is where Debian's dataset-fashion-mnist installs the data.
const DefaultDataDir = "/usr/share/datasets/fashion-mnist"

// ErrNoDataset is returned when the idx files are missing.
var ErrNoDataset = errors.New("Fashion-MNIST not found: apt-get install dataset-fashion-mnist")

// Classes are the Fashion-MNIST label names.
func Classes() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// Split is one part (train or test) of the dataset. Pixels are kept as
// bytes; Image scales them to [0,1].
type Split struct {
	Rows, Cols int
	Pixels     []uint8 // Len()*Rows*Cols, row-major images one after another
	Labels     []int
}

// Len is the number of images.
func (s *Split) Len() int { return len(s.Labels) }

// Size is the number of pixels of one image.
func (s *Split) Size() int { return s.Rows * s.Cols }

// Image returns image i as float32 pixels in [0,1].
func (s *Split) Image(i int) []float32 {
	n := s.Size()
	px := s.Pixels[i*n : (i+1)*n]
	out := make([]float32, n)
	for j, p := range px {
		out[j] = pixel(p)
	}
	return out
}

// Images returns the first n images (all if n exceeds Len).
func (s *Split) Images(n int) [][]float32 {
	n = min(max(n, 0), s.Len())
	out := make([][]float32, n)
	for i := range out {
		out[i] = s.Image(i)
	}
	return out
}

// pixel is the one scaling used for training, Predict and fixtures.
func pixel(p uint8) float32 { return float32(p) / 255 }

// Dataset is Fashion-MNIST: 60,000 training and 10,000 test images.
type Dataset struct {
	Train, Test *Split
}

// Load reads both splits from dir (DefaultDataDir if empty).
func Load(dir string) (*Dataset, error) {
	train, err := LoadSplit(dir, "train")
	if err != nil {
		return nil, err
	}
	test, err := LoadSplit(dir, "t10k")
	if err != nil {
		return nil, err
	}
	return &Dataset{Train: train, Test: test}, nil
}

// LoadSplit reads one split, "train" or "t10k", from dir.
func LoadSplit(dir, name string) (*Split, error) {
	if dir == "" {
		dir = DefaultDataDir
	}
	s := &Split{}
	images := filepath.Join(dir, name+"-images-idx3-ubyte.gz")
	dims, err := readIdx(images, 0x803, &s.Pixels)
	if err != nil {
		return nil, err
	}
	var labels []uint8
	ldims, err := readIdx(filepath.Join(dir, name+"-labels-idx1-ubyte.gz"), 0x801, &labels)
	if err != nil {
		return nil, err
	}
	if len(dims) != 3 || ldims[0] != dims[0] {
		return nil, fmt.Errorf("fashion: %s: %d images but %d labels", images, dims[0], ldims[0])
	}
	s.Rows, s.Cols = dims[1], dims[2]
	s.Labels = make([]int, len(labels))
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("fashion: %s labels: label %d out of range", name, l)
		}
		s.Labels[i] = int(l)
	}
	return s, nil
}

// readIdx reads a gzipped idx file of unsigned bytes with the given magic
// number and returns its dimensions.
func readIdx(path string, magic uint32, data *[]uint8) ([]int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fashion: %s: %w", path, ErrNoDataset)
	}
	if err != nil {
		return nil, fmt.Errorf("fashion: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("fashion: %s: %w", path, err)
	}
	var head [2]uint32
	if err := binary.Read(zr, binary.BigEndian, &head); err != nil {
		return nil, fmt.Errorf("fashion: %s: header: %w", path, err)
	}
	if head[0] != magic {
		return nil, fmt.Errorf("fashion: %s: magic %#x, want %#x", path, head[0], magic)
	}
	ndim := int(magic & 0xff)
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		v := head[1]
		if i > 0 {
			if err := binary.Read(zr, binary.BigEndian, &v); err != nil {
				return nil, fmt.Errorf("fashion: %s: header: %w", path, err)
			}
		}
		if v == 0 || v > 1<<20 {
			return nil, fmt.Errorf("fashion: %s: implausible dimension %d", path, v)
		}
		dims[i] = int(v)
		total *= int(v)
		if total > 1<<28 {
			return nil, fmt.Errorf("fashion: %s: implausibly large (%v...)", path, dims[:i+1])
		}
	}
	*data = make([]uint8, total)
	if _, err := io.ReadFull(zr, *data); err != nil {
		return nil, fmt.Errorf("fashion: %s: data: %w", path, err)
	}
	return dims, nil
}
