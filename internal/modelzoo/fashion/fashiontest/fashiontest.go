// Package fashiontest gives tests the shared Fashion-MNIST fixture. When
// the dataset is not installed a test is skipped, except under CI=true,
// where that is a failure.
package fashiontest

import (
	"errors"
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

func check(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, fashion.ErrNoDataset) && os.Getenv("CI") != "true" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
}
