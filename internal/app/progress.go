package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
)

// isTerminal reports whether v is an *os.File on a terminal. A character
// device is not enough (/dev/null is one): the terminal must answer the
// termios ioctl, as isatty does.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progress shows a long operation on stderr. On a terminal it prints like
// the Python SDK's wait_for_completion(show_output=True): the state, a dot
// per poll, each new state on its own line. Otherwise (a log, a pipe) it
// prints one clean line per state. Both end with
// `Provisioning operation finished, operation "Succeeded"`.
type progress struct {
	w        io.Writer
	tty      bool
	shown    string
	lastStep string
}

func newProgress(w io.Writer, tty bool, state string) *progress {
	p := &progress{w: w, tty: tty, shown: state}
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

// finish prints the verdict. An err that is not the operation's own
// verdict (a network error, an interrupt) ends the output with no verdict.
func (p *progress) finish(status string, err error) {
	var e *client.Error
	if err != nil && (!errors.As(err, &e) || e.StatusCode != 0) {
		if p.tty {
			fmt.Fprintln(p.w)
		}
		return
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
}

// await waits for the operation of poller, showing progress from state.
// failed, when not nil, turns a result whose provisioning failed into
// the error.
func await[T any](ctx context.Context, s Streams, state string, poller *client.Poller[T], failed func(*T) error) (*T, error) {
	if poller.Done() {
		state = poller.Status()
	}
	pr := newProgress(s.Err, isTerminal(s.Err), state)
	res, err := poller.PollUntilDone(ctx, func(status string) {
		pr.step(poller.Progress())
		pr.poll(status)
	})
	for _, w := range poller.Warnings() {
		pr.step("Warning: " + w)
	}
	status := poller.Status()
	if err == nil && res != nil && failed != nil {
		if err = failed(res); err != nil {
			status = api.StatusFailed
		}
	}
	pr.finish(status, err)
	return res, err
}

// operation is a started long operation that prints its resource.
type operation[T any] struct {
	poller *client.Poller[T]
	state  string             // the state to show first, e.g. Creating
	now    func() (*T, error) // the resource at once, for --no-wait
	failed func(*T) error     // optional, see await
	print  func(*T) error
}

// finish waits for op unless noWait, then prints the resource.
func (op operation[T]) finish(ctx context.Context, s Streams, noWait bool) error {
	var res *T
	var err error
	if noWait {
		res, err = op.now()
	} else {
		res, err = await(ctx, s, op.state, op.poller, op.failed)
	}
	if err != nil || res == nil {
		return err
	}
	return op.print(res)
}

// finishDelete waits for a delete unless noWait; it prints no resource.
func finishDelete(ctx context.Context, s Streams, p *client.Poller[struct{}], noWait bool) error {
	if noWait {
		return nil
	}
	_, err := await(ctx, s, api.StateDeleting, p, nil)
	return err
}

// confirm asks before a destructive operation on a terminal, unless yes.
// Without a terminal there is nobody to ask: the command line is the
// intent (so the documented commands work as written in scripts).
func confirm(s Streams, yes bool) error {
	if yes || !isTerminal(s.In) {
		return nil
	}
	fmt.Fprint(s.Err, "Are you sure you want to perform this operation? (y/n): ")
	line, _ := bufio.NewReader(s.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("operation cancelled")
}
