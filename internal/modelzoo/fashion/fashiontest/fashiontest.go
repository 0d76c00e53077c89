// Package fashiontest gives tests the shared Fashion-MNIST fixture. When
// the dataset is not installed a test is skipped, except under CI=true,
// where that is a failure.
package fashiontest

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
)

// Fixture returns the default fixture from fashion.DefaultFixtureDir,
// training it on first use.
func Fixture(tb testing.TB) *fashion.Fixture {
	tb.Helper()
	f, err := fashion.NewFixture(fashion.DefaultFixtureDir())
	check(tb, err)
	return f
}

// Dataset loads Fashion-MNIST from its default place.
func Dataset(tb testing.TB) *fashion.Dataset {
	tb.Helper()
	d, err := fashion.Load("")
	check(tb, err)
	return d
}

// Compare checks a runtime's probabilities for Expected[:n], n rows of 10
// in probs: each row's class must be the MLP's own (an error names the
// runtime, who, and the image). It returns the largest difference of a
// probability.
func Compare(tb testing.TB, f *fashion.Fixture, who string, probs []float32, n int) float64 {
	tb.Helper()
	var worst float64
	for i, c := range f.Expected[:n] {
		p := probs[i*10 : (i+1)*10]
		if fashion.Argmax(p) != c.Predicted {
			tb.Errorf("image %d: %s class %d, MLP class %d", c.Index, who, fashion.Argmax(p), c.Predicted)
		}
		for k, want := range c.Probabilities {
			worst = max(worst, math.Abs(float64(p[k]-want)))
		}
	}
	return worst
}

func check(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, fashion.ErrNoDataset) && os.Getenv("CI") != "true" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
}
