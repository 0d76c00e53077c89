package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestOperationsAreCreatedUpdatedAndListedByStatusOldestFirst(t *testing.T) {
	ctx, s := context.Background(), newTest(t)
	base := time.Unix(1700000000, 0)
	for i, id := range []string{"c", "a", "b"} {
		op := Operation{ID: id, Kind: "compute.create", ResourceID: "/R", Status: "InProgress",
			Input: []byte(`{"i":1}`), Created: base.Add(time.Duration(i) * time.Second)}
		if err := s.CreateOperation(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateOperation(ctx, Operation{ID: "a"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate CreateOperation: %v", err)
	}
	op, err := s.GetOperation(ctx, "a")
	if err != nil || !op.Created.Equal(base.Add(time.Second)) || string(op.Input) != `{"i":1}` {
		t.Fatalf("GetOperation = %+v, %v", op, err)
	}
	op.Status, op.Error, op.Attempts = "Failed", []byte(`{"code":"X"}`), 2
	if err := s.UpdateOperation(ctx, op); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateOperation(ctx, Operation{ID: "zz"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateOperation missing: %v", err)
	}
	ids := func(status string) (out string) {
		ops, err := s.Operations(ctx, status)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			out += o.ID
		}
		return out
	}
	if got := ids("InProgress"); got != "cb" {
		t.Errorf("in progress = %q, want cb", got)
	}
	if got := ids(""); got != "cab" {
		t.Errorf("all = %q, want cab", got)
	}
	if got, _ := s.GetOperation(ctx, "a"); got.Attempts != 2 || string(got.Error) != `{"code":"X"}` || !got.Created.Equal(op.Created) {
		t.Errorf("updated op = %+v", got)
	}
}
