package client

import (
	"bytes"
	"testing"

	"github.com/kubeml/kubeml/api"
)

// On a terminal, progress prints like the Python SDK: the state, a dot
// per poll, each new state on its own line, then the verdict.
func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	sink := ProgressSink{W: &b, Terminal: true}
	p := sink.start(api.StateCreating)
	for _, st := range []string{api.StatusInProgress, api.StatusInProgress, api.StatusSucceeded} {
		p.poll(st)
	}
	p.finish(api.StatusSucceeded, nil)
	if want := "Creating...\nSucceeded\nProvisioning operation finished, operation \"Succeeded\"\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}

	b.Reset()
	p = sink.start(api.StateDeleting)
	p.poll(api.StatusInProgress)
	p.finish(api.StatusCanceled, &Error{Code: "OperationCanceled"})
	if want := "Deleting.\nCanceled\nProvisioning operation finished, operation \"Canceled\"\n"; b.String() != want {
		t.Errorf("canceled: got %q, want %q", b.String(), want)
	}

	// A wait that failed by itself (not the operation) gives no verdict.
	b.Reset()
	p = sink.start(api.StateCreating)
	p.poll(api.StatusInProgress)
	p.finish(api.StatusInProgress, &Error{StatusCode: 500, Code: "InternalError"})
	if want := "Creating.\n"; b.String() != want {
		t.Errorf("interrupted: got %q, want %q", b.String(), want)
	}
}
