// Package fault holds the typed errors kubeml's domain packages return
// for what a client caused or must know about: the kind of problem (not
// found, conflict, invalid with the list of every problem, ...) and the
// ARM error detail with its stable code. The domain never names an HTTP
// status; the server alone maps a Kind to one.
package fault

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/provider"
)

// Kind is what sort of problem an Error is.
type Kind uint8

// The kinds of problem.
const (
	// Invalid: the request is wrong; Details list every problem found.
	Invalid Kind = iota + 1
	// NotFound: what the request names does not exist.
	NotFound
	// Conflict: the resource's state (busy, attached elsewhere, in use)
	// refuses the request now.
	Conflict
	// TooLarge: the request's body or model is over a limit.
	TooLarge
	// Unavailable: a cluster or cloud the request needs did not do it.
	Unavailable
	// NotAllowed: the method is not supported on the path.
	NotAllowed
)

// Error is a problem with its kind and ARM error detail.
type Error struct {
	Kind Kind
	api.ErrorDetail
}

func (e *Error) Error() string {
	msgs := []string{e.Message}
	for _, d := range e.Details {
		msgs = append(msgs, d.Message)
	}
	return e.Code + ": " + strings.Join(msgs, "; ")
}

// New returns a problem of kind with code and a formatted message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, ErrorDetail: api.ErrorDetail{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// Is reports whether err is a problem of kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// As returns err's problem, if it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Detail is the ARM error an operation that failed with err reports: a
// problem's own detail, a provider's coded error (Azure's "QuotaExceeded"
// verbatim), or a generic code with err's text.
func Detail(err error) api.ErrorDetail {
	if e, ok := As(err); ok {
		return e.ErrorDetail
	}
	var ce *provider.CodedError
	if errors.As(err, &ce) {
		return api.ErrorDetail{Code: ce.Code, Message: ce.Message}
	}
	code := "OperationFailed"
	if errors.Is(err, provider.ErrInvalid) {
		code = "InvalidClusterSpec"
	}
	return api.ErrorDetail{Code: code, Message: err.Error()}
}
