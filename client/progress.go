package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kubeml/kubeml/api"
)

// ProgressSink is where a wait shows a long operation's progress. On a
// terminal (Terminal true) it prints as the Python SDK's
// wait_for_completion(show_output=True) does: the state, a dot per poll,
// each new state on its own line. Otherwise (a log, a pipe) it prints one
// clean line per state. Both end with `Provisioning operation finished,
// operation "Succeeded"` (or "Failed", "Canceled"). The zero ProgressSink
// shows nothing.
type ProgressSink struct {
	W        io.Writer
	Terminal bool
}

// progress is the one printer of a wait's progress, on a ProgressSink.
type progress struct {
	w        io.Writer
	tty      bool
	shown    string
	lastStep string
}

// start shows the first state and returns the printer of the rest.
func (s ProgressSink) start(state string) *progress {
	p := &progress{w: s.W, tty: s.Terminal, shown: state}
	if p.w == nil {
		p.w = io.Discard
	}
	if p.tty {
		fmt.Fprint(p.w, state)
	} else {
		fmt.Fprintln(p.w, state)
	}
	return p
}

// poll records one poll that saw status.
func (p *progress) poll(status string) {
	if p.tty {
		fmt.Fprint(p.w, ".")
	}
	if status != "" && status != api.StatusInProgress && status != p.shown {
		p.show(status)
	}
}

// step shows a new progress step of the server's provider on its own line.
func (p *progress) step(s string) {
	if s == "" || s == p.lastStep {
		return
	}
	p.lastStep = s
	if p.tty {
		fmt.Fprint(p.w, "\n  "+s+"\n"+p.shown)
	} else {
		fmt.Fprintln(p.w, "  "+s)
	}
}

func (p *progress) show(state string) {
	if p.tty {
		fmt.Fprint(p.w, "\n"+state)
	} else {
		fmt.Fprintln(p.w, state)
	}
	p.shown = state
}

// finish prints the verdict and reports whether it did. An err that is
// not the operation's own verdict (a network error, an interrupt) ends
// the output with no verdict.
func (p *progress) finish(status string, err error) bool {
	if !isVerdict(err) {
		if p.tty {
			fmt.Fprintln(p.w)
		}
		return false
	}
	final := api.StatusSucceeded
	if err != nil {
		final = api.StatusFailed
		if status == api.StatusCanceled {
			final = api.StatusCanceled
		}
	}
	if final != p.shown {
		p.show(final)
	}
	if p.tty {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "Provisioning operation finished, operation %q\n", final)
	return true
}

// isVerdict reports whether err (nil included) is the operation's own
// outcome rather than a failure to wait for it: nil, or an *Error that
// came from the operation or the resource, not from an HTTP answer.
func isVerdict(err error) bool {
	var e *Error
	return err == nil || errors.As(err, &e) && e.StatusCode == 0
}

// Wait waits for the operation as PollUntilDone does, showing its
// progress on sink from state (the state to show first, e.g. Creating;
// the final status when the operation has ended already), with the
// server's progress steps and warnings on their own lines. failed, when
// not nil, turns a result whose provisioning failed into the error.
func (p *Poller[T]) Wait(ctx context.Context, sink ProgressSink, state string, failed func(*T) error) (*T, error) {
	if p.Done() {
		state = p.Status()
	}
	pr := sink.start(state)
	res, err := p.PollUntilDone(ctx, func(status string) {
		pr.step(p.Progress())
		pr.poll(status)
	})
	for _, w := range p.Warnings() {
		pr.step("Warning: " + w)
	}
	status := p.Status()
	if err == nil && res != nil && failed != nil {
		if err = failed(res); err != nil {
			status = api.StatusFailed
		}
	}
	pr.finish(status, err)
	return res, err
}
