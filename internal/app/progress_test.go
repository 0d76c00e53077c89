package app

import (
	"bytes"
	"os"
	"testing"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// On a terminal, progress prints like the Python SDK: the state, a dot
// per poll, each new state on its own line, then the verdict.
func TestCLIProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, true, api.StateCreating)
	for _, st := range []string{api.StatusInProgress, api.StatusInProgress, api.StatusSucceeded} {
		p.poll(st)
	}
	p.finish(api.StatusSucceeded, nil)
	if want := "Creating...\nSucceeded\nProvisioning operation finished, operation \"Succeeded\"\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}

	b.Reset()
	p = newProgress(&b, true, api.StateDeleting)
	p.poll(api.StatusInProgress)
	p.finish(api.StatusCanceled, &client.Error{Code: "OperationCanceled"})
	if want := "Deleting.\nCanceled\nProvisioning operation finished, operation \"Canceled\"\n"; b.String() != want {
		t.Errorf("canceled: got %q, want %q", b.String(), want)
	}

	// A wait that failed by itself (not the operation) gives no verdict.
	b.Reset()
	p = newProgress(&b, true, api.StateCreating)
	p.poll(api.StatusInProgress)
	p.finish(api.StatusInProgress, &client.Error{StatusCode: 500, Code: "InternalError"})
	if want := "Creating.\n"; b.String() != want {
		t.Errorf("interrupted: got %q, want %q", b.String(), want)
	}
}

func TestCLIIsTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) || isTerminal(nil) {
		t.Error("a null device, a buffer or nil counted as a terminal")
	}
}
