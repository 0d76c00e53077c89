package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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

// Progress is where long operations show their progress: stderr, as on a
// terminal when it is one, else one line per state (see
// client.ProgressSink).
func (s Streams) Progress() client.ProgressSink {
	return client.ProgressSink{W: s.Err, Terminal: isTerminal(s.Err)}
}

// operation is a started long operation that prints its resource.
type operation[T any] struct {
	poller *client.Poller[T]
	state  string             // the state to show first, e.g. Creating
	now    func() (*T, error) // the resource at once, for --no-wait
	failed func(*T) error     // optional, see client.Poller.Wait
	print  func(*T) error
}

// finish waits for op unless noWait, then prints the resource.
func (op operation[T]) finish(ctx context.Context, s Streams, noWait bool) error {
	var res *T
	var err error
	if noWait {
		res, err = op.now()
	} else {
		res, err = op.poller.Wait(ctx, s.Progress(), op.state, op.failed)
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
	_, err := p.Wait(ctx, s.Progress(), api.StateDeleting, nil)
	return err
}

// Confirm asks before a destructive operation on a terminal, unless yes.
// Without a terminal there is nobody to ask: the command line is the
// intent (so the documented commands work as written in scripts).
func (s Streams) Confirm(yes bool) error {
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
