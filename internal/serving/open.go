package serving

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubeml/kubeml/internal/serving/model"
)

// Frameworks kubeml serves.
const (
	ONNX     = "onnx"
	XGBoost  = "xgboost"
	LightGBM = "lightgbm"
)

// accepted is what Detect's errors tell the user to send.
const accepted = "kubeml accepts ONNX models (.onnx), XGBoost models saved as JSON " +
	`(booster.save_model("model.json")) and LightGBM models saved as text or JSON ` +
	"(booster.save_model or dump_model)"

// ModelLoadFailedText starts `kubeml serve-model`'s error when the model's
// bytes are wrong or fail to load; the workspace server looks for it in a
// failed model container's last words.
const ModelLoadFailedText = "failed to load the model"

// ONNX Runtime's shared library, which a kubeml built with the ort build
// tag loads at run time: from $ORTLibraryEnv, else ORTLibraryName beside
// the executable (where kubeml's image puts it), else the loader's path.
const (
	ORTLibraryEnv  = "KUBEML_ORT_LIB"
	ORTLibraryName = "libonnxruntime.so.1"
)

// Loader loads a model of one framework from its file's bytes.
type Loader func(data []byte) (model.Model, error)

// Runtimes maps a framework ("onnx", "xgboost", "lightgbm") to its loader.
type Runtimes map[string]Loader

// Detect tells a model file's framework from its name and content. It
// never guesses: a file it does not recognise (an XGBoost binary or
// UBJSON file among them, which a LightGBM reader could crash on) is an
// error that says which formats are accepted.
func Detect(name string, data []byte) (string, error) {
	if strings.EqualFold(filepath.Ext(name), ".onnx") {
		return ONNX, nil
	}
	// A serialised ModelProto starts with field 1, ir_version, a varint.
	if len(data) >= 2 && data[0] == 0x08 && data[1] > 0 && data[1] < 0x80 {
		return ONNX, nil
	}
	text := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(text, []byte("tree\n")) || bytes.HasPrefix(text, []byte("tree\r\n")) {
		return LightGBM, nil
	}
	if len(text) > 0 && text[0] == '{' {
		switch jsonKeys(text) {
		case "learner":
			return XGBoost, nil
		case "tree_info":
			return LightGBM, nil
		}
		// JSON has a key or '}' next; UBJSON has a type marker.
		if rest := bytes.TrimLeft(text[1:], " \t\r\n"); len(rest) > 0 && rest[0] != '"' && rest[0] != '}' {
			return "", fmt.Errorf("model file %s looks like XGBoost UBJSON; %s", name, accepted)
		}
	}
	return "", fmt.Errorf("cannot tell the format of model file %s; %s", name, accepted)
}

// jsonKeys walks the top-level keys of the JSON object text until one of
// "learner" (XGBoost) or "tree_info" (LightGBM) and returns it, or "".
func jsonKeys(text []byte) string {
	dec := json.NewDecoder(bytes.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if key, _ := tok.(string); key == "learner" || key == "tree_info" {
			return key
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// Open loads the model at path, a model file or a directory holding
// exactly one (dotfiles and directories ignored). A non-empty framework
// must agree with what the file looks like. It returns the model and its
// framework.
func (r Runtimes) Open(path, framework string) (model.Model, string, error) {
	file, err := modelFile(path)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read model: %w", err)
	}
	return r.Load(data, file, framework)
}

// Load loads a model from its file's bytes; name is the file's name, for
// detection and messages. A non-empty framework must agree with what the
// bytes look like. It returns the model and its framework.
func (r Runtimes) Load(data []byte, name, framework string) (model.Model, string, error) {
	detected, err := Detect(name, data)
	if err != nil {
		return nil, "", err
	}
	if framework = strings.ToLower(framework); framework != "" && framework != detected {
		if framework != ONNX && framework != XGBoost && framework != LightGBM {
			return nil, "", fmt.Errorf("unknown framework %q; want onnx, xgboost or lightgbm", framework)
		}
		return nil, "", fmt.Errorf("%s looks like %s, not %s", name, detected, framework)
	}
	load := r[detected]
	if load == nil {
		return nil, "", fmt.Errorf("%s is a %s model, but this build has no %s runtime", name, detected, detected)
	}
	m, err := load(data)
	if err != nil {
		return nil, "", fmt.Errorf("load %s model %s: %w", detected, name, err)
	}
	return m, detected, nil
}

// modelFile resolves path to the one model file it is or holds.
func modelFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("open model: %w", err)
	}
	if !fi.IsDir() {
		return path, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", fmt.Errorf("open model: %w", err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		// Stat follows links, as mounted config maps and secrets use.
		if fi, err := os.Stat(filepath.Join(path, e.Name())); err == nil && fi.Mode().IsRegular() {
			files = append(files, e.Name())
		}
	}
	switch len(files) {
	case 0:
		return "", fmt.Errorf("open model: no model file in directory %s", path)
	case 1:
		return filepath.Join(path, files[0]), nil
	}
	slices.Sort(files)
	return "", fmt.Errorf("open model: directory %s holds several files (%s); point at one of them",
		path, strings.Join(files, ", "))
}

// FileSHA256 returns the hex SHA-256 digest and the size of the file at
// path.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash model file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash model file %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
