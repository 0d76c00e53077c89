package router

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Queued requests get freed slots first come, first served, and a full
// queue refuses at once.
func TestPoolQueue(t *testing.T) {
	p := newPool()
	p.setEndpoints([]string{"10.0.0.1:5001"})
	ctx := context.Background()
	e, err := p.acquire(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 2)
	for i := range 2 {
		go func() {
			got, err := p.acquire(ctx, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			p.release(got)
		}()
		eventually(t, 5*time.Second, "the request queues", func() bool { _, q := p.load(); return q == i+1 })
	}
	for range minQueue - 2 {
		go func() { _, _ = p.acquire(ctx, time.Second) }()
	}
	eventually(t, 5*time.Second, "the queue fills", func() bool { _, q := p.load(); return q == minQueue })
	start := time.Now()
	if _, err := p.acquire(ctx, time.Minute); !errors.Is(err, errBusy) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("acquire on a full queue = %v after %s, want errBusy at once", err, time.Since(start))
	}
	eventually(t, 5*time.Second, "the short waits expire", func() bool { _, q := p.load(); return q == 2 })
	p.release(e)
	if a, b := <-order, <-order; a != 0 || b != 1 {
		t.Errorf("served in order %d, %d; want 0, 1", a, b)
	}
	if in, q := p.load(); in != 0 || q != 0 {
		t.Errorf("after all: %d in flight, %d queued", in, q)
	}
}

// Requests spread over the least-loaded endpoints, and endpoints that
// stay keep their load when the set changes.
func TestPoolLeastLoaded(t *testing.T) {
	p := newPool()
	p.setMax(2)
	p.setEndpoints([]string{"a:1", "b:1"})
	ctx := context.Background()
	got := map[string]int{}
	var held []*endpoint
	for range 4 {
		e, err := p.acquire(ctx, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got[e.addr]++
		held = append(held, e)
	}
	if got["a:1"] != 2 || got["b:1"] != 2 {
		t.Fatalf("load = %v, want 2 each", got)
	}
	p.setEndpoints([]string{"b:1", "c:1"}) // a goes, c comes
	e, err := p.acquire(ctx, time.Millisecond)
	if err != nil || e.addr != "c:1" {
		t.Fatalf("acquire = %v %v, want c:1 (b is full)", e, err)
	}
	for _, e := range append(held, e) {
		p.release(e)
	}
	if in, _ := p.load(); in != 0 {
		t.Errorf("in flight after release = %d", in)
	}
}

// A request queued when the last endpoint goes waits for a new one.
func TestPoolLosesEndpoints(t *testing.T) {
	p := newPool()
	p.setEndpoints([]string{"a:1"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, _ := p.acquire(ctx, time.Second)
	got := make(chan string, 1)
	go func() {
		e, err := p.acquire(ctx, 50*time.Millisecond)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- e.addr
	}()
	eventually(t, 5*time.Second, "queued", func() bool { _, q := p.load(); return q == 1 })
	p.setEndpoints(nil)
	time.Sleep(100 * time.Millisecond) // longer than the queue wait: it waits for endpoints now
	p.setEndpoints([]string{"b:1"})
	if a := <-got; a != "b:1" {
		t.Fatalf("the request got %q, want b:1", a)
	}
	p.release(first)
}
