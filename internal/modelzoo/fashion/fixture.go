package fashion

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files a fixture directory holds.
const (
	ModelFile    = "fashion-mlp.onnx"
	ExpectedFile = "expected.json"
)

// fixtureVersion changes whenever training or the file format does, so
// that stale fixtures are retrained.
const fixtureVersion = 1

// FixtureConfig configures NewFixtureWith; zero fields take defaults.
type FixtureConfig struct {
	DataDir string  // DefaultDataDir
	Options Options // DefaultOptions
	Cases   int     // 1000: how many test images Expected covers
}

// Case is the MLP's own prediction for one test image. The image itself is
// test image Index of the dataset.
type Case struct {
	Index         int       `json:"index"`
	Label         int       `json:"label"`
	Predicted     int       `json:"predicted"`
	Probabilities []float32 `json:"probabilities"`
}

// expectedFile is the layout of expected.json.
type expectedFile struct {
	Key          string  `json:"key"`
	ModelSHA256  string  `json:"model_sha256"`
	Options      Options `json:"options"`
	Input        string  `json:"input"`
	Output       string  `json:"output"`
	TestAccuracy float64 `json:"test_accuracy"`
	Cases        []Case  `json:"cases"`
}

// Fixture is a trained model on disk with the predictions it must give.
type Fixture struct {
	ModelPath    string // fashion-mlp.onnx
	ExpectedPath string // expected.json
	Options      Options
	TestAccuracy float64 // on the whole test split
	Expected     []Case  // the first Cases test images, in order
	Reused       bool    // the files were already there
	test         *Split
}

// Images returns the input vectors of Expected[:n] (all if n is larger).
func (f *Fixture) Images(n int) [][]float32 {
	n = min(max(n, 0), len(f.Expected))
	out := make([][]float32, n)
	for i, c := range f.Expected[:n] {
		out[i] = f.test.Image(c.Index)
	}
	return out
}

// Batch returns Images(n) as one row-major [n, 784] slice, a batch's data.
func (f *Fixture) Batch(n int) []float32 {
	var x []float32
	for _, img := range f.Images(n) {
		x = append(x, img...)
	}
	return x
}

// DefaultFixtureDir is where tests share the default fixture:
// $KUBEML_FIXTURE_DIR/fashion, else the user cache directory.
func DefaultFixtureDir() string {
	if d := os.Getenv("KUBEML_FIXTURE_DIR"); d != "" {
		return filepath.Join(d, "fashion")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kubeml", "fixtures", "fashion")
	}
	return filepath.Join(os.TempDir(), "kubeml-fixtures", "fashion")
}

// NewFixture returns the default fixture in dir, training it (about 15 s)
// unless dir already holds one made with the same options.
func NewFixture(dir string) (*Fixture, error) {
	return NewFixtureWith(context.Background(), dir, FixtureConfig{})
}

// NewFixtureWith is NewFixture with explicit data, options and size.
// Fixtures are keyed by a hash of the options: other options retrain.
func NewFixtureWith(ctx context.Context, dir string, cfg FixtureConfig) (*Fixture, error) {
	opts, err := cfg.Options.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Cases <= 0 {
		cfg.Cases = 1000
	}
	key, err := fixtureKey(opts, cfg.Cases)
	if err != nil {
		return nil, err
	}
	f := &Fixture{ModelPath: filepath.Join(dir, ModelFile), ExpectedPath: filepath.Join(dir, ExpectedFile)}
	if exp, ok := f.cached(key); ok {
		f.test, err = LoadSplit(cfg.DataDir, "t10k")
		if err != nil {
			return nil, err
		}
		f.Options, f.TestAccuracy, f.Expected, f.Reused = exp.Options, exp.TestAccuracy, exp.Cases, true
		return f, nil
	}
	data, err := Load(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	mlp, err := Train(ctx, data, opts)
	if err != nil {
		return nil, err
	}
	model, err := mlp.ONNX()
	if err != nil {
		return nil, err
	}
	exp := expectedFile{Key: key, Options: opts, Input: InputName, Output: OutputName}
	sum := sha256.Sum256(model)
	exp.ModelSHA256 = hex.EncodeToString(sum[:])
	exp.TestAccuracy = mlp.Accuracy(data.Test.Images(data.Test.Len()), data.Test.Labels)
	for i := range min(cfg.Cases, data.Test.Len()) {
		p := mlp.Predict(data.Test.Image(i))
		exp.Cases = append(exp.Cases, Case{Index: i, Label: data.Test.Labels[i], Predicted: Argmax(p), Probabilities: p})
	}
	js, err := json.Marshal(exp)
	if err != nil {
		return nil, fmt.Errorf("fashion: encoding %s: %w", ExpectedFile, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fashion: fixture: %w", err)
	}
	// The model first: expected.json names its hash, so a crash in
	// between leaves a fixture that is retrained, never a mismatched one.
	if err := writeAtomic(f.ModelPath, model); err != nil {
		return nil, err
	}
	if err := writeAtomic(f.ExpectedPath, js); err != nil {
		return nil, err
	}
	f.Options, f.TestAccuracy, f.Expected, f.test = opts, exp.TestAccuracy, exp.Cases, data.Test
	return f, nil
}

// fixtureKey hashes what determines a fixture's content.
func fixtureKey(opts Options, cases int) (string, error) {
	js, err := json.Marshal(struct {
		Version int
		Options Options
		Cases   int
	}{fixtureVersion, opts, cases})
	if err != nil {
		return "", fmt.Errorf("fashion: fixture key: %w", err)
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:8]), nil
}

// cached returns the expected file if dir holds a complete fixture made
// with key.
func (f *Fixture) cached(key string) (*expectedFile, bool) {
	js, err := os.ReadFile(f.ExpectedPath)
	if err != nil {
		return nil, false
	}
	var exp expectedFile
	if json.Unmarshal(js, &exp) != nil || exp.Key != key {
		return nil, false
	}
	model, err := os.ReadFile(f.ModelPath)
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(model)
	want, err := hex.DecodeString(exp.ModelSHA256)
	if err != nil || !bytes.Equal(sum[:], want) {
		return nil, false
	}
	return &exp, true
}

// writeAtomic writes through a temporary file and a rename, so that
// concurrent writers and readers never see a partial file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("fashion: fixture: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("fashion: fixture: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("fashion: fixture: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fashion: fixture: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("fashion: fixture: %w", err)
	}
	return nil
}
