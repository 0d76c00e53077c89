package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

var testKey = bytes.Repeat([]byte{7}, KeySize)

func openTest(t testing.TB, dir string, key []byte) *SQLite {
	t.Helper()
	s, err := OpenSQLite(filepath.Join(dir, "state.db"), key)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	return s
}

func newTest(t testing.TB) *SQLite {
	s := openTest(t, t.TempDir(), testKey)
	t.Cleanup(func() { s.Close() })
	return s
}

func res(id, typ, parent string) Resource {
	return Resource{ID: id, Type: typ, Parent: parent, Body: []byte(`{"name":"` + id + `"}`)}
}

func TestResources(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, s *SQLite)
	}{
		{"a resource round-trips through create, get, put and delete with case-insensitive ids", func(t *testing.T, s *SQLite) {
			etag, err := s.Create(ctx, res("/Subs/S1/Workspaces/W1", "ws", ""))
			if err != nil || len(etag) != 16 {
				t.Fatalf("Create = %q, %v", etag, err)
			}
			got, err := s.Get(ctx, "/subs/s1/workspaces/w1")
			if err != nil || got.ID != "/Subs/S1/Workspaces/W1" || got.ETag != etag || string(got.Body) != `{"name":"/Subs/S1/Workspaces/W1"}` {
				t.Fatalf("Get = %+v, %v", got, err)
			}
			etag2, err := s.Put(ctx, Resource{ID: "/SUBS/s1/workspaces/W1", Type: "ws", Body: []byte(`{}`)}, etag)
			if err != nil || etag2 == etag {
				t.Fatalf("Put = %q, %v", etag2, err)
			}
			if got, _ := s.Get(ctx, "/subs/S1/workspaces/w1"); string(got.Body) != `{}` || got.ETag != etag2 {
				t.Fatalf("Get after Put = %+v", got)
			}
			if err := s.Delete(ctx, "/subs/s1/WORKSPACES/w1"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get(ctx, "/subs/s1/workspaces/w1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "/subs/s1/workspaces/w1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second Delete: %v, want ErrNotFound", err)
			}
		}},
		{"creating the same id twice is a conflict", func(t *testing.T, s *SQLite) {
			if _, err := s.Create(ctx, res("/a", "t", "")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, res("/A", "t", "")); !errors.Is(err, ErrConflict) {
				t.Fatalf("second Create: %v, want ErrConflict", err)
			}
		}},
		{"put with a stale etag is a conflict and with any etag on a missing id is not found", func(t *testing.T, s *SQLite) {
			old, _ := s.Create(ctx, res("/a", "t", ""))
			if _, err := s.Put(ctx, res("/a", "t", ""), old); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(ctx, res("/a", "t", ""), old); !errors.Is(err, ErrConflict) {
				t.Fatalf("Put stale: %v, want ErrConflict", err)
			}
			if _, err := s.Put(ctx, res("/b", "t", ""), "x"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Put missing: %v, want ErrNotFound", err)
			}
			if _, err := s.Put(ctx, res("/b", "t", ""), ""); err != nil {
				t.Fatalf("unconditional Put: %v", err)
			}
		}},
		{"list filters by type and parent, pages with skip and limit, and counts the total", func(t *testing.T, s *SQLite) {
			for i := range 5 {
				s.Create(ctx, res(fmt.Sprintf("/w/C%d", i), "compute", "/W"))
			}
			s.Create(ctx, res("/w", "ws", ""))
			s.Create(ctx, res("/v/c9", "compute", "/v"))
			for _, c := range []struct {
				typ, parent      string
				skip, limit      int
				wantN, wantTotal int
				wantFirst        string
			}{
				{"compute", "/w", 0, 0, 5, 5, "/w/C0"},
				{"COMPUTE", "/W", 1, 2, 2, 5, "/w/C1"},
				{"compute", "", 0, 0, 6, 6, "/v/c9"},
				{"", "", 6, 10, 1, 7, "/w/C4"},
				{"compute", "/w", 9, 0, 0, 5, ""},
			} {
				got, total, err := s.List(ctx, c.typ, c.parent, c.skip, c.limit)
				if err != nil || len(got) != c.wantN || total != c.wantTotal ||
					(c.wantN > 0 && got[0].ID != c.wantFirst) {
					t.Errorf("List(%+v) = %d items, total %d, %v; first %+v", c, len(got), total, err, got)
				}
			}
		}},
		{"an update whose function fails rolls back every write", func(t *testing.T, s *SQLite) {
			s.Create(ctx, res("/keep", "t", ""))
			boom := errors.New("boom")
			err := s.Update(ctx, func(tx Tx) error {
				tx.Create(ctx, res("/new", "t", ""))
				tx.Delete(ctx, "/keep")
				tx.PutSecret(ctx, "/new/s", []byte("x"))
				tx.CreateOperation(ctx, Operation{ID: "op", Status: "InProgress"})
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("Update = %v, want boom", err)
			}
			if _, err := s.Get(ctx, "/keep"); err != nil {
				t.Errorf("deleted resource not restored: %v", err)
			}
			_, e1 := s.Get(ctx, "/new")
			_, e2 := s.GetSecret(ctx, "/new/s")
			_, e3 := s.GetOperation(ctx, "op")
			if !errors.Is(e1, ErrNotFound) || !errors.Is(e2, ErrNotFound) || !errors.Is(e3, ErrNotFound) {
				t.Errorf("writes survived rollback: %v / %v / %v", e1, e2, e3)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newTest(t)) })
	}
}

func TestReopeningKeepsEverything(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	s := openTest(t, dir, testKey)
	etag, _ := s.Create(ctx, res("/a", "t", "/P"))
	s.CreateOperation(ctx, Operation{ID: "op", Status: "InProgress"})
	s.PutSecret(ctx, "/a/kubeconfig", []byte("kc"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, testKey)
	defer s.Close()
	if r, err := s.Get(ctx, "/A"); err != nil || r.ETag != etag || r.Parent != "/P" {
		t.Errorf("Get after reopen = %+v, %v", r, err)
	}
	if op, err := s.GetOperation(ctx, "op"); err != nil || op.Status != "InProgress" {
		t.Errorf("GetOperation after reopen = %+v, %v", op, err)
	}
	if b, err := s.GetSecret(ctx, "/a/kubeconfig"); err != nil || string(b) != "kc" {
		t.Errorf("GetSecret after reopen = %q, %v", b, err)
	}
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	ctx, s := context.Background(), newTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("/g%d/r%d", g, i)
				if g%2 == 0 {
					if _, err := s.Create(ctx, res(id, "t", fmt.Sprintf("/g%d", g))); err != nil {
						errs <- err
						return
					}
					continue
				}
				if _, _, err := s.List(ctx, "t", "", 0, 10); err != nil {
					errs <- err
					return
				}
				if _, err := s.Get(ctx, "/g0/r0"); err != nil && !errors.Is(err, ErrNotFound) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, total, _ := s.List(ctx, "t", "", 0, 0); total != 200 {
		t.Errorf("total = %d, want 200", total)
	}
}

func BenchmarkGet(b *testing.B) {
	ctx, s := context.Background(), newTest(b)
	for i := range 1000 {
		if _, err := s.Create(ctx, res(fmt.Sprintf("/subs/s/workspaces/w%d", i), "ws", "")); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ {
		if _, err := s.Get(ctx, fmt.Sprintf("/subs/s/workspaces/w%d", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}
