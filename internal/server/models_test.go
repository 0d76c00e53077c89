package server_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

func (s *testServer) client() *client.Client {
	s.t.Helper()
	cl, err := client.New(client.Config{Server: s.url, Token: s.token})
	if err != nil {
		s.t.Fatal(err)
	}
	return cl
}

func TestModelRegistryThroughTheAPI(t *testing.T) {
	s := newTestServer(t)
	s.workspace("modelsws")
	cl := s.client()
	ctx := context.Background()
	ws := api.WorkspaceID(sub, rg, "modelsws")
	xgb, err := os.ReadFile("../serving/xgboost/testdata/multi_softprob.json")
	if err != nil {
		t.Fatal(err)
	}
	mv, err := cl.RegisterModel(ctx, ws, "iris", bytes.NewReader(xgb), client.RegisterModelOptions{FileName: "iris.json", Tags: map[string]string{"team": "ml"}})
	if err != nil {
		t.Fatal(err)
	}
	if mv.Properties.Version != 1 || mv.Properties.ModelType != "xgboost" || mv.Properties.Size != int64(len(xgb)) || mv.Properties.Tags["team"] != "ml" ||
		!strings.HasSuffix(mv.ID, "/models/iris/versions/1") {
		t.Fatalf("registered: %+v", mv)
	}
	if _, err := cl.RegisterModel(ctx, ws, "iris", bytes.NewReader(xgb), client.RegisterModelOptions{FileName: "iris.json"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	got, err := cl.DownloadModel(ctx, ws, "iris", 0, &buf)
	if err != nil || got.Properties.Version != 2 || !bytes.Equal(buf.Bytes(), xgb) {
		t.Fatalf("download latest: %v, %d bytes", err, buf.Len())
	}
	if list, err := cl.ListModels(ctx, ws, "iris"); err != nil || len(list) != 2 {
		t.Fatalf("versions: %d %v", len(list), err)
	}
	bad, _ := os.ReadFile("../serving/xgboost/testdata/unsupported_dart.json")
	_, err = cl.RegisterModel(ctx, ws, "iris", bytes.NewReader(bad), client.RegisterModelOptions{FileName: "dart.json"})
	var ce *client.Error
	if !asClientError(err, &ce) || ce.StatusCode != 400 || ce.Code != "UnsupportedModel" || !strings.Contains(ce.Message, "dart") {
		t.Errorf("unsupported model: %v", err)
	}
	if _, err := cl.RegisterModel(ctx, api.WorkspaceID(sub, rg, "nows"), "iris", bytes.NewReader(xgb), client.RegisterModelOptions{}); !client.IsNotFound(err) {
		t.Errorf("register in a missing workspace: %v", err)
	}
	if err := cl.DeleteModel(ctx, ws, "iris", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetModel(ctx, ws, "iris", 1); !client.IsNotFound(err) {
		t.Errorf("deleted version: %v", err)
	}
	if code, _, body := s.call("GET", wsPath("modelsws")+"/models/iris/versions/x"+av, nil); code != 400 || !strings.Contains(string(body), "InvalidModelVersion") {
		t.Errorf("bad version: %d %s", code, body)
	}
}

func asClientError(err error, target **client.Error) bool { return errors.As(err, target) }
