package blob_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/blob"
)

func TestDirPutOpenDelete(t *testing.T) {
	d := blob.Dir{Root: t.TempDir()}
	ctx := context.Background()
	body := strings.Repeat("model bytes ", 1000)
	info, err := d.Put(ctx, "ws/models/m/1", strings.NewReader(body), 1<<20)
	sum := sha256.Sum256([]byte(body))
	if err != nil || info.Size != int64(len(body)) || info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("put: %+v %v", info, err)
	}
	if _, err := d.Put(ctx, "ws/models/m/1", strings.NewReader("x"), 10); !errors.Is(err, blob.ErrExists) {
		t.Errorf("a second put of a key: %v", err)
	}
	r, err := d.Open(ctx, "ws/models/m/1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != body {
		t.Error("read back other bytes")
	}
	if _, err := d.Put(ctx, "big", strings.NewReader(body), 100); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if _, err := d.Open(ctx, "big"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a refused put left a blob: %v", err)
	}
	if _, err := d.Put(ctx, "../escape", strings.NewReader("x"), 10); err == nil {
		t.Error("a key leaving the root was accepted")
	}
	if err := d.Delete(ctx, "ws/models/m/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "ws/models/m/1"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}
