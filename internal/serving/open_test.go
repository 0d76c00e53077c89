package serving

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// Tiny samples of each format's first bytes.
var (
	onnxProto    = []byte{0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h'}
	xgbJSON      = []byte(`{"learner":{"attributes":{},"gradient_booster":{"name":"gbtree"}},"version":[1,7,6]}`)
	xgbJSONLate  = []byte("\ufeff\n {\"version\": [2, 0, 3], \"learner\": {}}")
	lgbText      = []byte("tree\nversion=v4\nnum_class=1\n")
	lgbTextCRLF  = []byte("tree\r\nversion=v3\r\n")
	lgbJSON      = []byte(`{"name":"tree","version":"v4","num_class":1,"feature_names":["a"],"tree_info":[]}`)
	xgbUBJSON    = []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner{")
	xgbLegacyBin = []byte("binf\x00\x00\x00?\x1e\x00\x00\x00\x01\x00\x00\x00")
	xgbOldBin    = []byte("\x00\x00\x00?\x04\x00\x00\x00\x01\x00\x00\x00")
	sklearnPkl   = []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x07sklearn")
)

func TestDetect(t *testing.T) {
	tests := map[string]struct {
		name string
		data []byte
		want string
	}{
		"onnx by extension":                {"model.ONNX", []byte("anything"), ONNX},
		"onnx by content":                  {"model.bin", onnxProto, ONNX},
		"xgboost json":                     {"model.json", xgbJSON, XGBoost},
		"xgboost json, bom, learner later": {"model.json", xgbJSONLate, XGBoost},
		"lightgbm text":                    {"model.txt", lgbText, LightGBM},
		"lightgbm text, CRLF":              {"model.txt", lgbTextCRLF, LightGBM},
		"lightgbm json":                    {"model.json", lgbJSON, LightGBM},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Detect(tc.name, tc.data)
			if err != nil || got != tc.want {
				t.Errorf("Detect = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for name, data := range map[string][]byte{
		"xgboost ubjson": xgbUBJSON, "xgboost legacy binary": xgbLegacyBin, "xgboost old binary": xgbOldBin,
		"pickle": sklearnPkl, "empty": nil, "other json": []byte(`{"a":1}`), "broken json": []byte(`{"a":`),
		"json array": []byte(`[1]`), "text": []byte("hello\n"),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Detect("model.bin", data)
			if err == nil {
				t.Fatalf("Detect = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), "kubeml accepts ONNX models (.onnx), XGBoost models saved as JSON") {
				t.Errorf("error %q does not list the accepted formats", err)
			}
		})
	}
	if _, err := Detect("m.ubj", xgbUBJSON); err == nil || !strings.Contains(err.Error(), "looks like XGBoost UBJSON") {
		t.Errorf("UBJSON: %v", err)
	}
}

// fakeRuntimes loads every framework as the test model, remembering what
// it was given.
func fakeRuntimes(loaded *[]string) Runtimes {
	loader := func(framework string) Loader {
		return func(data []byte) (model.Model, error) {
			if string(data) == "tree\nbroken\n" {
				return nil, model.ErrUnsupported
			}
			*loaded = append(*loaded, framework+":"+string(data[:4]))
			return newLinear(false), nil
		}
	}
	return Runtimes{ONNX: loader(ONNX), XGBoost: loader(XGBoost), LightGBM: loader(LightGBM)}
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpen(t *testing.T) {
	var loaded []string
	rt := fakeRuntimes(&loaded)

	dir := t.TempDir()
	file := write(t, dir, "model.json", xgbJSON)
	write(t, dir, ".model.json.swp", []byte("x"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, framework string }{{dir, ""}, {file, ""}, {dir, "XGBoost"}} {
		m, fw, err := rt.Open(c.path, c.framework)
		if err != nil || fw != XGBoost || m == nil {
			t.Errorf("Open(%s, %q) = %v, %q, %v", c.path, c.framework, m, fw, err)
		}
	}
	if strings.Join(loaded, " ") != "xgboost:{\"le xgboost:{\"le xgboost:{\"le" {
		t.Errorf("loaded %q", loaded)
	}

	// A mounted secret: the visible name is a link into a dot directory.
	secret := t.TempDir()
	if err := os.Mkdir(filepath.Join(secret, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(secret, "..data"), "model.onnx", onnxProto)
	if err := os.Symlink("..data/model.onnx", filepath.Join(secret, "model.onnx")); err != nil {
		t.Fatal(err)
	}
	if _, fw, err := rt.Open(secret, ""); err != nil || fw != ONNX {
		t.Errorf("mounted secret: %q, %v", fw, err)
	}

	several := t.TempDir()
	write(t, several, "b.onnx", onnxProto)
	write(t, several, "a.txt", lgbText)
	broken := t.TempDir()
	write(t, broken, "model.txt", []byte("tree\nbroken\n"))
	for name, c := range map[string]struct{ path, framework, want string }{
		"framework disagrees": {file, "onnx", "model.json looks like xgboost, not onnx"},
		"unknown framework":   {file, "sklearn", `unknown framework "sklearn"`},
		"several files":       {several, "", "holds several files (a.txt, b.onnx)"},
		"no file":             {t.TempDir(), "", "no model file in directory"},
		"missing":             {filepath.Join(dir, "nope"), "", "no such file"},
		"unknown format":      {write(t, t.TempDir(), "m.bin", xgbLegacyBin), "", "kubeml accepts"},
		"loader fails":        {broken, "", "load lightgbm model"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := rt.Open(c.path, c.framework)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, _, err := rt.Open(broken, ""); !errors.Is(err, model.ErrUnsupported) {
		t.Errorf("loader error not wrapped: %v", err)
	}
	if _, _, err := (Runtimes{ONNX: rt[ONNX]}).Open(file, ""); err == nil || !strings.Contains(err.Error(), "no xgboost runtime") {
		t.Errorf("missing runtime: %v", err)
	}
}

func TestFileSHA256(t *testing.T) {
	p := write(t, t.TempDir(), "f", []byte("hello"))
	sum, n, err := FileSHA256(p)
	if err != nil || n != 5 || sum != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Errorf("FileSHA256 = %s, %d, %v", sum, n, err)
	}
	if _, _, err := FileSHA256(p + "x"); err == nil {
		t.Error("no error for a missing file")
	}
}
