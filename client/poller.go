package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kubeml/kubeml/api"
)

// DefaultPollInterval is the wait between polls when the server sends no
// Retry-After.
const DefaultPollInterval = 2 * time.Second

// maxPollInterval caps a Retry-After.
const maxPollInterval = time.Minute

// Poller follows a long-running operation started by a PUT or DELETE.
// It polls the Azure-AsyncOperation URL; when the operation succeeds it
// GETs the resource (for a PUT) and returns it. A Poller is not safe for
// concurrent use.
type Poller[T any] struct {
	c            *Client
	opURL        string        // Azure-AsyncOperation (or, lacking it, Location)
	location     bool          // opURL is a Location URL: 202 while running
	resourcePath string        // final GET; "" for a DELETE
	wait         time.Duration // the last Retry-After; -1 when none
	done         bool
	status       string
	result       *T
	initial      *T // the body of the answer that started the operation
	err          error
	props        api.OperationProperties
}

// newPoller makes the poller of resp, the answer to a PUT or DELETE of
// resourcePath ("" for DELETE). body is resp's decoded body: the result
// when no operation was started.
func newPoller[T any](c *Client, resp *http.Response, resourcePath string, body *T) *Poller[T] {
	p := &Poller[T]{c: c, resourcePath: resourcePath, wait: retryAfter(resp.Header), initial: body}
	switch op := resp.Header.Get("Azure-AsyncOperation"); {
	case op != "":
		p.opURL, p.status = op, api.StatusInProgress
	case resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") != "":
		p.opURL, p.location, p.status = resp.Header.Get("Location"), true, api.StatusInProgress
	default:
		p.done, p.status, p.result = true, api.StatusSucceeded, body
	}
	return p
}

// ResumePoller continues waiting for an operation, given its URL (from
// OperationURL) and the resource's path (from ResourcePath; "" for a
// DELETE), e.g. in a CLI started again.
func ResumePoller[T any](c *Client, operationURL, resourcePath string) *Poller[T] {
	return &Poller[T]{c: c, opURL: operationURL, resourcePath: resourcePath, status: api.StatusInProgress, wait: 0}
}

// Progress is the operation's latest step, as the server last reported it.
func (p *Poller[T]) Progress() string { return p.props.Progress }

// Warnings are what the server's provider ignored of the request.
func (p *Poller[T]) Warnings() []string { return p.props.Warnings }

// Done reports whether the operation has ended.
func (p *Poller[T]) Done() bool { return p.done }

// Status is the last status seen: InProgress, Succeeded, Failed or Canceled.
func (p *Poller[T]) Status() string { return p.status }

// OperationURL is the operation status URL; "" when none was started.
func (p *Poller[T]) OperationURL() string { return p.opURL }

// ResourcePath is the path of the resource read when the operation succeeds.
func (p *Poller[T]) ResourcePath() string { return p.resourcePath }

// Poll asks for the operation's status once and returns it. When the
// operation failed or was canceled, err is an *Error with its code and
// message. After the end, Poll returns the final status without asking.
func (p *Poller[T]) Poll(ctx context.Context) (status string, err error) {
	if p.done {
		return p.status, p.err
	}
	var op api.Operation
	resp, err := p.c.Do(ctx, http.MethodGet, p.opURL, nil, nil, &op)
	if err != nil {
		return p.status, err
	}
	p.wait = retryAfter(resp.Header)
	if op.Properties != nil {
		p.props = *op.Properties
	}
	if p.location {
		op.Status = api.StatusSucceeded
		if resp.StatusCode == http.StatusAccepted {
			op.Status = api.StatusInProgress
		}
	}
	switch op.Status {
	case api.StatusSucceeded:
		if p.resourcePath != "" {
			var v T
			if _, err := p.c.Do(ctx, http.MethodGet, p.resourcePath, nil, nil, &v); err != nil {
				return op.Status, err
			}
			p.result = &v
		}
	case api.StatusFailed, api.StatusCanceled:
		p.err = operationError(op)
	case "":
		return p.status, errors.New("operation status answer has no status")
	default: // InProgress, or a provider-specific running state
		p.status = op.Status
		return p.status, nil
	}
	p.done, p.status = true, op.Status
	return p.status, p.err
}

// operationError is the *Error of a failed or canceled operation.
func operationError(op api.Operation) *Error {
	if op.Error != nil && (op.Error.Code != "" || op.Error.Message != "") {
		return fromDetail(0, *op.Error)
	}
	if op.Status == api.StatusCanceled {
		return &Error{Code: "OperationCanceled", Message: "the operation was canceled"}
	}
	return &Error{Code: "OperationFailed", Message: "the operation failed without saying why"}
}

// PollUntilDone polls, waiting Retry-After (or the client's interval)
// between polls, until the operation ends, calling onStatus (when not
// nil) with each status seen. It returns the resource (nil for a DELETE)
// or the operation's *Error.
func (p *Poller[T]) PollUntilDone(ctx context.Context, onStatus func(status string)) (*T, error) {
	for !p.done {
		if err := p.c.sleep(ctx, p.c.pollWait(p.wait)); err != nil {
			return nil, err
		}
		status, err := p.Poll(ctx)
		if onStatus != nil {
			onStatus(status)
		}
		if err != nil {
			return nil, err
		}
	}
	return p.result, p.err
}

// pollWait is the wait before the next poll given the server's Retry-After.
func (c *Client) pollWait(retry time.Duration) time.Duration {
	switch {
	case c.interval > 0:
		return c.interval
	case retry >= 0:
		return min(retry, maxPollInterval)
	}
	return DefaultPollInterval
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); -1
// when absent or bad.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}
