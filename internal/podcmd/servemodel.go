package podcmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeml/kubeml/internal/routing"
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/runtimes"
)

// serveModelFlags are serve-model's options.
type serveModelFlags struct {
	model, partsDir, sha, framework string
	name, version, listen, fileName string
	podTokens                       string
	size                            int64
	drain                           time.Duration
}

// newServeModel runs one model as an HTTP scoring server: the program of
// every model pod kubeml deploys.
func newServeModel(s env) *cobra.Command {
	f := &serveModelFlags{}
	cmd := &cobra.Command{
		Use:   "serve-model",
		Short: "Serve one model over HTTP (the program of kubeml's model pods)",
		Long: `Serve one model over HTTP, speaking Azure ML scoring (GET /, POST /score,
GET /swagger.json) and the Open Inference Protocol v2 (/v2/...).

The model is a file (--model) or the numbered parts of one (--parts-dir:
part-0000, part-0001, ... concatenated in order), checked against --sha256
and --size before it is loaded. The server listens only once the model has
loaded. On SIGTERM it keeps serving for --drain, so that routers stop
sending requests first, then finishes the requests in flight and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveModel(cmd.Context(), slog.New(slog.NewTextHandler(s.err, nil)), f, s.version)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model file")
	fl.StringVar(&f.partsDir, "parts-dir", "", "directory of model parts part-0000, part-0001, ... (needs --sha256)")
	fl.StringVar(&f.sha, "sha256", "", "hex SHA-256 the model's bytes must have")
	fl.Int64Var(&f.size, "size", 0, "size in bytes the model must have (0: not checked)")
	fl.StringVar(&f.framework, "framework", "", "onnx, xgboost or lightgbm (default: detected)")
	fl.StringVar(&f.fileName, "file-name", "", "the model file's original name, for detection and messages (with --parts-dir)")
	fl.StringVar(&f.name, "name", "model", "the model's name in the Open Inference Protocol (the service name)")
	fl.StringVar(&f.version, "version", "", "the model's version")
	fl.StringVar(&f.listen, "listen", ":"+strconv.Itoa(routing.ModelPort), "address to listen on")
	fl.DurationVar(&f.drain, "drain", 3*time.Second, "how long to keep serving after SIGTERM")
	fl.StringVar(&f.podTokens, "pod-token-dir", "", "directory of the pod tokens (files current and next) that every request but the health probes must carry in "+routing.PodTokenHeader+" (default: none required)")
	return cmd
}

// shutdownTimeout bounds how long requests in flight may finish after the
// drain.
const shutdownTimeout = 2 * time.Minute

// serveModel loads the model, then serves it until ctx ends.
func serveModel(ctx context.Context, log *slog.Logger, f *serveModelFlags, serverVersion string) error {
	start := time.Now()
	data, name, err := readModel(f)
	if err != nil {
		return err
	}
	m, framework, err := runtimes.All().Load(data, name, f.framework)
	if err != nil {
		return fmt.Errorf("%s: %w", serving.ModelLoadFailedText, err)
	}
	defer m.Close()
	opts := serving.Options{Name: f.name, Version: f.version, Logger: log, ServerVersion: serverVersion}
	if f.podTokens != "" {
		if opts.PodTokens, err = serving.LoadPodTokens(f.podTokens); err != nil {
			return err
		}
		go opts.PodTokens.Refresh(ctx, 5*time.Second)
	}
	h := serving.NewHandler(m, opts)
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", f.listen, err)
	}
	log.Info("serving model", "name", f.name, "version", f.version, "framework", framework, "onnx_engine", runtimes.ONNXEngine,
		"addr", ln.Addr().String(), "loaded_in", time.Since(start).Round(time.Millisecond))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("failed to serve: %w", err)
	case <-ctx.Done():
	}
	// Endpoints drop a terminating pod soon, not at once: keep answering
	// meanwhile, but close connections after each reply so that clients
	// reconnect elsewhere.
	log.Info("stopping: draining", "drain", f.drain)
	srv.SetKeepAlivesEnabled(false)
	select {
	case <-time.After(f.drain):
	case err := <-served:
		return fmt.Errorf("failed to serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("failed to finish the requests in flight: %w", err)
	}
	log.Info("stopped")
	return nil
}

// readModel returns the model's bytes, checked against --sha256 and
// --size, and a name for detection and messages.
func readModel(f *serveModelFlags) ([]byte, string, error) {
	var data []byte
	var name string
	var err error
	switch {
	case (f.model == "") == (f.partsDir == ""):
		return nil, "", errors.New("give one of --model and --parts-dir")
	case f.model != "":
		name = f.model
		if data, err = os.ReadFile(f.model); err != nil {
			return nil, "", fmt.Errorf("failed to read the model: %w", err)
		}
	default:
		if f.sha == "" {
			return nil, "", errors.New("--parts-dir needs --sha256")
		}
		name = "model"
		if f.fileName != "" {
			name = filepath.Base(f.fileName)
		}
		if data, err = readParts(f.partsDir); err != nil {
			return nil, "", err
		}
	}
	if f.size > 0 && int64(len(data)) != f.size {
		return nil, "", fmt.Errorf("%s: the model has %d bytes, want %d (incomplete parts?)", serving.ModelLoadFailedText, len(data), f.size)
	}
	if f.sha != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, f.sha) {
			return nil, "", fmt.Errorf("%s: its SHA-256 is %s, want %s", serving.ModelLoadFailedText, got, strings.ToLower(f.sha))
		}
	}
	return data, name, nil
}

// readParts concatenates dir's part-NNNN files in order; the numbers must
// run from 0 without a gap.
func readParts(dir string) ([]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to read the model parts: %w", err)
	}
	parts := map[int]string{}
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "part-")
		if n, err := strconv.Atoi(num); ok && err == nil && n >= 0 {
			parts[n] = filepath.Join(dir, e.Name())
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("failed to read the model parts: no part-NNNN file in %s", dir)
	}
	var total int64
	for i := range len(parts) {
		// Stat follows links, as mounted config maps use.
		fi, err := os.Stat(parts[i])
		if parts[i] == "" || err != nil {
			return nil, fmt.Errorf("failed to read the model parts: part %d is missing in %s", i, dir)
		}
		total += fi.Size()
	}
	data := make([]byte, 0, total)
	for i := range len(parts) {
		b, err := os.ReadFile(parts[i])
		if err != nil {
			return nil, fmt.Errorf("failed to read the model parts: %w", err)
		}
		data = append(data, b...)
	}
	return data, nil
}
