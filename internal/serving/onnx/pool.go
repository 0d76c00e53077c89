package onnx

import (
	"context"
	"fmt"

	"github.com/advancedclimatesystems/gonnx"
)

// pool hands out gonnx instances, one per concurrent Predict. gonnx
// rebuilds its operators on every run and makes no promise about
// concurrent use, so an instance serves one run at a time. Instances are
// created lazily, at most cap(slots) of them.
type pool struct {
	idle  chan *gonnx.Model
	slots chan struct{} // one token per live instance
	build func() (*gonnx.Model, error)
}

func newPool(size int, first *gonnx.Model, build func() (*gonnx.Model, error)) *pool {
	if size < 1 {
		size = 1
	}
	p := &pool{
		idle:  make(chan *gonnx.Model, size),
		slots: make(chan struct{}, size),
		build: build,
	}
	p.slots <- struct{}{}
	p.idle <- first
	return p
}

// get returns an idle instance, builds one if fewer than the bound exist,
// or waits for one to be returned.
func (p *pool) get(ctx context.Context) (*gonnx.Model, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	select {
	case inst := <-p.idle:
		return inst, nil
	case p.slots <- struct{}{}:
		inst, err := p.build()
		if err != nil {
			<-p.slots
			return nil, err
		}
		return inst, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("onnx: waiting for a free model instance: %w", ctx.Err())
	}
}

// put returns an instance; it never blocks since at most cap(idle)
// instances exist.
func (p *pool) put(inst *gonnx.Model) { p.idle <- inst }

// discard forgets an instance that may be in a bad state (its run
// panicked), freeing its slot.
func (p *pool) discard() { <-p.slots }

// drain drops the idle instances.
func (p *pool) drain() {
	for {
		select {
		case <-p.idle:
			<-p.slots
		default:
			return
		}
	}
}
