package onnx

import (
	"context"
	"errors"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
)

func TestPoolBound(t *testing.T) {
	built := 0
	build := func() (*gonnx.Model, error) { built++; return &gonnx.Model{}, nil }
	p := newPool(2, &gonnx.Model{}, build)
	a, _ := p.get(context.Background())
	b, err := p.get(context.Background())
	if err != nil || built != 1 || a == b {
		t.Fatalf("second get: built %d, err %v", built, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("get beyond the bound: %v", err)
	}
	p.put(a)
	if c, _ := p.get(context.Background()); c != a || built != 1 {
		t.Fatal("an idle instance was not reused")
	}
	p.discard() // b's run panicked
	if _, err := p.get(context.Background()); err != nil || built != 2 {
		t.Fatalf("a discarded slot was not rebuilt: built %d, %v", built, err)
	}
	failing := newPool(2, &gonnx.Model{}, func() (*gonnx.Model, error) { return nil, errors.New("boom") })
	failing.get(context.Background())
	if _, err := failing.get(context.Background()); err == nil || len(failing.slots) != 1 {
		t.Fatalf("failed build: %v, %d slots held", err, len(failing.slots))
	}
}
