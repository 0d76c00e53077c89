package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/blob"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/registry"
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/lightgbm"
	"github.com/kubeml/kubeml/internal/serving/xgboost"
	"github.com/kubeml/kubeml/internal/store"
)

func newRegistry(t *testing.T) (*registry.Registry, api.ResourceID) {
	t.Helper()
	dir := t.TempDir()
	key, err := store.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(filepath.Join(dir, "db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws := api.WorkspaceID("00000000-0000-0000-0000-000000000001", "rg", "ws1")
	b, _ := json.Marshal(api.Workspace{ID: ws.String(), Name: ws.Name})
	if _, err := st.Create(context.Background(), store.Resource{ID: ws.String(), Type: api.TypeWorkspace, Body: b}); err != nil {
		t.Fatal(err)
	}
	r := &registry.Registry{Store: st, Blobs: blob.Dir{Root: filepath.Join(dir, "blobs")},
		Runtimes: serving.Runtimes{"xgboost": xgboost.Load, "lightgbm": lightgbm.Load}}
	return r, ws
}

func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func apiCode(err error) string {
	var ae *fault.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestRegisterVersionsAndChecksModels(t *testing.T) {
	r, ws := newRegistry(t)
	ctx := context.Background()
	xgb := fixture(t, "../serving/xgboost/testdata/binary_logistic.json")
	mv, err := r.Register(ctx, ws, "cancer", registry.Options{FileName: "binary_logistic.json", Description: "breast cancer"}, strings.NewReader(string(xgb)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(xgb)
	p := mv.Properties
	if p.Version != 1 || mv.Name != "1" || p.ModelType != "xgboost" || p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != int64(len(xgb)) ||
		len(p.Inputs) != 1 || p.Inputs[0].Shape[1] != 30 {
		t.Fatalf("version 1: %+v", p)
	}
	mv2, err := r.Register(ctx, ws, "cancer", registry.Options{FileName: "m.json", Framework: "xgboost"}, strings.NewReader(string(xgb)))
	if err != nil || mv2.Properties.Version != 2 {
		t.Fatalf("version 2: %+v %v", mv2, err)
	}
	lgb := fixture(t, "../serving/lightgbm/testdata/lg_rf_iris.model")
	if _, err := r.Register(ctx, ws, "iris", registry.Options{FileName: "iris.txt"}, strings.NewReader(string(lgb))); err != nil {
		t.Fatal(err)
	}

	for name, tc := range map[string]struct {
		file, framework, code, msg string
	}{
		"mismatch":    {"../serving/xgboost/testdata/binary_logistic.json", "lightgbm", "FrameworkMismatch", "xgboost"},
		"unsupported": {"../serving/xgboost/testdata/unsupported_gblinear.json", "", "UnsupportedModel", "gblinear"},
		"unknown fw":  {"../serving/xgboost/testdata/binary_logistic.json", "pytorch", "InvalidModel", "pytorch"},
	} {
		_, err := r.Register(ctx, ws, "bad", registry.Options{FileName: filepath.Base(tc.file), Framework: tc.framework}, strings.NewReader(string(fixture(t, tc.file))))
		if apiCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %s naming %q", name, err, tc.code, tc.msg)
		}
	}
	if _, err := r.Register(ctx, ws, "cancer", registry.Options{FileName: "x.bin"}, strings.NewReader("\x00\x01binary")); apiCode(err) != "UnsupportedModel" {
		t.Errorf("an unknown format: %v", err)
	}
	small := *r
	small.MaxSize = 100
	if _, err := small.Register(ctx, ws, "cancer", registry.Options{FileName: "m.json"}, strings.NewReader(string(xgb))); apiCode(err) != "ModelTooLarge" {
		t.Errorf("too large: %v", err)
	}

	if entries, _ := os.ReadDir(filepath.Join(r.Blobs.(blob.Dir).Root, "models")); len(entries) != 3 {
		t.Errorf("%d model files stored, want the 3 registered: refused files must not stay", len(entries))
	}
	all, err := r.List(ctx, ws, "")
	if err != nil || len(all) != 2 || all[0].Properties.ModelName != "cancer" || all[0].Properties.Version != 2 || all[1].Properties.ModelName != "iris" {
		t.Fatalf("list: %+v %v", all, err)
	}
	if vs, _ := r.List(ctx, ws, "cancer"); len(vs) != 2 {
		t.Errorf("versions of cancer: %d", len(vs))
	}
	rc, got, err := r.Open(ctx, ws, "cancer", 0)
	if err != nil || got.Properties.Version != 2 {
		t.Fatalf("open latest: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != string(xgb) {
		t.Error("download returned other bytes")
	}
}

func TestDeleteIsRefusedWhileDeployed(t *testing.T) {
	r, ws := newRegistry(t)
	ctx := context.Background()
	xgb := fixture(t, "../serving/xgboost/testdata/binary_logistic.json")
	mv, err := r.Register(ctx, ws, "cancer", registry.Options{FileName: "m.json"}, strings.NewReader(string(xgb)))
	if err != nil {
		t.Fatal(err)
	}
	deployed := map[string][]string{strings.ToLower(mv.ID): {"svc1"}}
	r.InUse = func(_ context.Context, _ store.Tx, id string) ([]string, error) {
		return deployed[strings.ToLower(id)], nil
	}
	if err := r.Delete(ctx, ws, "cancer", 1); apiCode(err) != "ModelInUse" || !strings.Contains(err.Error(), "svc1") {
		t.Fatalf("delete while deployed: %v", err)
	}
	delete(deployed, strings.ToLower(mv.ID))
	if err := r.Delete(ctx, ws, "cancer", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, ws, "cancer", 1); apiCode(err) != "ModelNotFound" {
		t.Errorf("after delete: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(r.Blobs.(blob.Dir).Root, "models")); len(entries) != 0 {
		t.Errorf("the model's file is left: %d files", len(entries))
	}
}
