package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/kubeml/kubeml/api"
)

// Error is an error answer of the server (an ARM error body), or the
// error of a failed long-running operation (StatusCode 0 then).
type Error struct {
	// StatusCode is the HTTP status; 0 for a failed or canceled operation.
	StatusCode int
	Code       string
	Message    string
	Target     string
	// Details holds one entry per problem when a request failed several
	// checks.
	Details []api.ErrorDetail
}

// Error prints "code: message" and then every detail, one per line.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Code != "":
		b.WriteString(e.Code)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	default:
		b.WriteString("Error")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Target != "" {
		fmt.Fprintf(&b, " (target %s)", e.Target)
	}
	writeDetails(&b, e.Details, "  ")
	return b.String()
}

func writeDetails(b *strings.Builder, ds []api.ErrorDetail, indent string) {
	for _, d := range ds {
		b.WriteString("\n" + indent + "- ")
		if d.Code != "" {
			b.WriteString(d.Code + ": ")
		}
		b.WriteString(d.Message)
		if d.Target != "" {
			fmt.Fprintf(b, " (target %s)", d.Target)
		}
		writeDetails(b, d.Details, indent+"  ")
	}
}

// maxErrorText bounds the body text kept for a non-JSON error answer.
const maxErrorText = 512

// newError builds the *Error of a non-2xx answer with body data.
func newError(status int, data []byte) *Error {
	var r api.ErrorResponse
	if json.Unmarshal(data, &r) == nil && (r.Error.Code != "" || r.Error.Message != "") {
		return fromDetail(status, r.Error)
	}
	var bare api.ErrorDetail // some services leave out the "error" wrapper
	if json.Unmarshal(data, &bare) == nil && bare.Code != "" && bare.Message != "" {
		return fromDetail(status, bare)
	}
	text := strings.TrimSpace(string(data))
	if len(text) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	return &Error{StatusCode: status, Message: text}
}

func fromDetail(status int, d api.ErrorDetail) *Error {
	return &Error{StatusCode: status, Code: d.Code, Message: d.Message, Target: d.Target, Details: d.Details}
}

// StatusCode returns the HTTP status of an *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 answer.
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsBadRequest reports whether err is a 400 answer.
func IsBadRequest(err error) bool { return StatusCode(err) == http.StatusBadRequest }

// IsUnauthorized reports whether err is a 401 answer.
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }
