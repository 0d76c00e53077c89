package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCheckpointsAreKeptPerOperationAndOutliveUpdates(t *testing.T) {
	ctx, s := context.Background(), newTest(t)
	if err := s.CreateOperation(ctx, Operation{ID: "op1", Kind: "k", ResourceID: "/R", Status: "InProgress", Input: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"token", "t1"}, {"kubeml.progress", "step 1"}, {"token", "t2"}} {
		if err := s.SaveCheckpoint(ctx, "op1", kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	op, err := s.GetOperation(ctx, "op1")
	if err != nil {
		t.Fatal(err)
	}
	op.Status = "Succeeded"
	if err := s.UpdateOperation(ctx, op); err != nil { // an update of the row keeps them
		t.Fatal(err)
	}
	got, err := s.Checkpoints(ctx, "op1")
	if want := map[string]string{"token": "t2", "kubeml.progress": "step 1"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Checkpoints = %v, %v; want %v", got, err, want)
	}
	if err := s.SaveCheckpoint(ctx, "missing", "k", "v"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SaveCheckpoint of a missing operation: %v", err)
	}
	if got, err := s.Checkpoints(ctx, "missing"); err != nil || len(got) != 0 {
		t.Fatalf("Checkpoints of a missing operation = %v, %v", got, err)
	}
}

// TestADatabaseOfTheFirstSchemaIsUpgradedInPlace makes a database as the
// code before the checkpoints table did (schema version 1, checkpoints in
// the operation's input) and opens it with this code.
func TestADatabaseOfTheFirstSchemaIsUpgradedInPlace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kubeml.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
		`INSERT INTO schema_version (version) VALUES (1)`,
		`INSERT INTO operations (id, kind, resource_key, status, input, attempts, created, updated) VALUES
			('running', 'managedCluster.create', '/r1', 'InProgress',
				CAST('{"clusterId":"/r1","checkpoints":{"aks.create":"tok","kubeml.progress":"Creating nodes","n":5,"n":6}}' AS BLOB), 1, 1, 1),
			('plain', 'compute.attach', '/r2', 'Succeeded', CAST('{"computeId":"/r2"}' AS BLOB), 1, 2, 2),
			('empty', 'service.delete', '/r3', 'Failed', NULL, 1, 3, 3)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("making the old database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(path, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Checkpoints(ctx, "running")
	if want := map[string]string{"aks.create": "tok", "kubeml.progress": "Creating nodes", "n": "6"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("checkpoints after the upgrade = %v, %v; want %v", got, err, want)
	}
	for id, input := range map[string]string{"running": `{"clusterId":"/r1"}`, "plain": `{"computeId":"/r2"}`, "empty": ``} {
		op, err := s.GetOperation(ctx, id)
		if err != nil || string(op.Input) != input {
			t.Errorf("operation %s after the upgrade: input %q, %v; want %q", id, op.Input, err, input)
		}
	}
	if ops, err := s.Operations(ctx, "InProgress"); err != nil || len(ops) != 1 || ops[0].ID != "running" || ops[0].Attempts != 1 {
		t.Errorf("unfinished operations after the upgrade = %+v, %v", ops, err)
	}
}
