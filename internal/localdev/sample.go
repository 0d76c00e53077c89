package localdev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/app"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
)

// SampleName names the sample model and the web service up deploys.
const SampleName = "fashion"

// sample is the sample web service up deploys and how to call it.
type sample struct {
	Service *api.Service `json:"service"`
	Request string       `json:"requestFile"`
	Curl    string       `json:"curl"`
}

// ensureSample registers kubeml's own fashion-mnist model (trained here
// on first use, about 15 s) and deploys it on the local compute, unless
// both exist, and returns a working scoring command.
func ensureSample(ctx context.Context, s app.Streams, c *client.Client, ws api.ResourceID, dataDir string) (*sample, error) {
	dir := filepath.Join(dataDir, "samples")
	mv, err := c.GetModel(ctx, ws, SampleName, 0)
	if client.IsNotFound(err) {
		fmt.Fprintln(s.Err, "Training the sample model (a fashion-mnist MLP) ...")
		fx, ferr := fashion.NewFixture(dir)
		if ferr != nil {
			return nil, ferr
		}
		f, ferr := os.Open(fx.ModelPath)
		if ferr != nil {
			return nil, ferr
		}
		defer f.Close()
		mv, err = c.RegisterModel(ctx, ws, SampleName, f, client.RegisterModelOptions{FileName: filepath.Base(fx.ModelPath),
			Description: fmt.Sprintf("fashion-mnist MLP trained by kubeml up (test accuracy %.1f%%)", 100*fx.TestAccuracy)})
	}
	if err != nil {
		return nil, fmt.Errorf("failed to register the sample model: %w", err)
	}
	svc, err := c.GetService(ctx, ws, SampleName)
	if client.IsNotFound(err) || err == nil && svc.Properties.ProvisioningState == api.StateFailed {
		fmt.Fprintf(s.Err, "Deploying model %s:%d as web service %s on %s ...\n", SampleName, mv.Properties.Version, SampleName, DefaultCompute)
		p, derr := c.BeginDeployService(ctx, ws, SampleName, api.Service{Properties: api.ServiceProperties{ComputeName: DefaultCompute,
			ServiceVersion: api.ServiceVersion{Models: []api.ModelRef{{Name: SampleName, Version: mv.Properties.Version}}}}})
		if derr != nil {
			return nil, derr
		}
		svc, err = p.Wait(ctx, s.Progress(), "Transitioning", app.ServiceFailed)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to deploy the sample model: %w", err)
	}
	keys, err := c.ServiceKeys(ctx, ws, SampleName)
	if err != nil {
		return nil, err
	}
	req, err := sampleRequest(dir)
	if err != nil {
		return nil, err
	}
	curl := fmt.Sprintf("curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' --data @%s %s",
		keys.PrimaryKey, req, svc.Properties.ScoringURI)
	return &sample{Service: svc, Request: req, Curl: curl}, nil
}

// sampleRequest writes a scoring request with the first test image.
func sampleRequest(dir string) (string, error) {
	path := filepath.Join(dir, "fashion-request.json")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	split, err := fashion.LoadSplit(fashion.DefaultDataDir, "t10k")
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(map[string]any{"data": [][]float32{split.Image(0)}})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, b, 0o644)
}

// sampleSkipped says whether the sample cannot be made on this machine.
func sampleSkipped(err error) bool { return errors.Is(err, fashion.ErrNoDataset) }
