package podcmd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/podcmd"
)

const xgbFixture = "../serving/xgboost/testdata/binary_logistic"

// xgbCase returns the fixture model's bytes, a /score body of its first
// complete rows and XGBoost's predictions for them.
func xgbCase(t *testing.T) (model []byte, body []byte, want []float64) {
	t.Helper()
	model, err := os.ReadFile(xgbFixture + ".json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(xgbFixture + ".expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Inputs  [][]*float64 `json:"inputs"`
		Outputs []float64    `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
rows:
	for i, in := range e.Inputs {
		var row []float64
		for _, v := range in {
			if v == nil {
				continue rows
			}
			row = append(row, *v)
		}
		rows, want = append(rows, row), append(want, e.Outputs[i])
		if len(rows) == 3 {
			break
		}
	}
	body, _ = json.Marshal(map[string]any{"data": rows})
	return model, body, want
}

// run runs the in-cluster command of args as kubeml does, with errw as
// its stderr.
func run(ctx context.Context, errw io.Writer, args []string) error {
	root := &cobra.Command{Use: "kubeml", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(podcmd.Commands(io.Discard, errw, "dev")...)
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(errw)
	return root.ExecuteContext(ctx)
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServeModel runs `kubeml serve-model args...` in-process until the
// returned stop is called; stop returns the command's error.
func startServeModel(t *testing.T, args ...string) (base string, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &logs, append([]string{"serve-model", "--listen", addr, "--drain", "300ms"}, args...))
	}()
	base = "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve-model exited: %v", err)
		default:
		}
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("serve-model did not listen")
		}
	}
	return base, func() error {
		cancel()
		// Draining: still answering.
		if resp, err := http.Get(base + "/"); err != nil || resp.StatusCode != 200 {
			t.Errorf("GET / while draining: %v", err)
		} else {
			resp.Body.Close()
		}
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("serve-model did not stop")
			return nil
		}
	}
}

func checkScore(t *testing.T, base string, body []byte, want []float64) {
	t.Helper()
	resp, err := http.Post(base+"/score", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var got [][]float64
	if resp.StatusCode != 200 || json.Unmarshal(raw, &got) != nil || len(got) != len(want) {
		t.Fatalf("POST /score: %d %s, want %d predictions", resp.StatusCode, raw, len(want))
	}
	for i := range want {
		if len(got[i]) != 1 || math.Abs(got[i][0]-want[i]) > 1e-5 {
			t.Errorf("row %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// writeParts splits data into n parts part-0000... in a new directory.
func writeParts(t *testing.T, data []byte, n int) string {
	t.Helper()
	dir := t.TempDir()
	step := (len(data) + n - 1) / n
	for i := range n {
		part := data[min(i*step, len(data)):min((i+1)*step, len(data))]
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%04d", i)), part, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestServeModelScoresFromAFileAndFromParts(t *testing.T) {
	model, body, want := xgbCase(t)
	sum := sha256.Sum256(model)
	sha := hex.EncodeToString(sum[:])
	for name, args := range map[string][]string{
		"file":  {"--model", xgbFixture + ".json"},
		"parts": {"--parts-dir", writeParts(t, model, 2), "--sha256", sha, "--size", strconv.Itoa(len(model)), "--framework", "xgboost", "--name", "cancer", "--version", "v1"},
	} {
		t.Run(name, func(t *testing.T) {
			base, stop := startServeModel(t, args...)
			checkScore(t, base, body, want)
			if err := stop(); err != nil {
				t.Errorf("serve-model stopped with %v", err)
			}
		})
	}
}

func TestServeModelRefusesWrongBytes(t *testing.T) {
	model, _, _ := xgbCase(t)
	sum := sha256.Sum256(append([]byte("x"), model...))
	other := hex.EncodeToString(sum[:])
	dir := writeParts(t, model, 2)
	missing := writeParts(t, model, 3)
	os.Remove(filepath.Join(missing, "part-0001"))
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"a wrong sha256":           {[]string{"--parts-dir", dir, "--sha256", other}, []string{"failed to load the model", "SHA-256", other}},
		"a wrong size":             {[]string{"--parts-dir", dir, "--sha256", other, "--size", "12"}, []string{"failed to load the model", "want 12"}},
		"parts without sha256":     {[]string{"--parts-dir", dir}, []string{"--parts-dir needs --sha256"}},
		"a missing part":           {[]string{"--parts-dir", missing, "--sha256", other}, []string{"part 1 is missing"}},
		"a framework mismatch":     {[]string{"--model", xgbFixture + ".json", "--framework", "lightgbm"}, []string{"failed to load the model", "looks like xgboost"}},
		"both model and parts":     {[]string{"--model", "x", "--parts-dir", dir}, []string{"one of --model and --parts-dir"}},
		"a model that is no model": {[]string{"--model", "servemodel_test.go"}, []string{"failed to load the model", "cannot tell the format"}},
	} {
		t.Run(name, func(t *testing.T) {
			addr := freeAddr(t)
			err := run(t.Context(), io.Discard, append([]string{"serve-model", "--listen", addr}, tc.args...))
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to mention %q", err, w)
				}
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Error("serve-model listened without a model")
			}
		})
	}
}
