// Package httpx is the one place HTTP requests are read and answers written
// for Crieur's handlers (admin API, editor, pages, ActivityPub, destination
// set-ups): errors that carry their status and a safe message, JSON written
// one way, strict JSON decoding, pages rendered into a buffer before the
// status goes out, checked context values and query parameters.
//
// It holds plumbing only: no routes, no templates of its own, no SQL.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"crieur/board"
)

// Error is an answer to a failed request: the status, what the client may
// be told (Safe, Fields) and the cause, which is logged, never sent.
type Error struct {
	Status int
	Safe   string
	Fields board.Problems
	Err    error
	// RetryAfter, when set, is sent as Retry-After (seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Safe + ": " + e.Err.Error()
	}
	return e.Safe
}

func (e *Error) Unwrap() error { return e.Err }

// NewError is an answer with status and a message the client reads.
func NewError(status int, safe string) *Error { return &Error{Status: status, Safe: safe} }

// Classify gives err its status and safe message: the one place domain
// errors become HTTP answers. Anything it does not know is a 500 whose
// cause stays in the log.
func Classify(err error) *Error {
	var he *Error
	var ve *board.ValidationError
	var mbe *http.MaxBytesError
	var later *board.TryLater
	var storage *board.StorageError
	// First: a write that failed for the disk is the server's, whatever
	// answer a handler had in mind (serverError's 500).
	if errors.As(board.DiagnoseStorage(err, ""), &storage) {
		return storageError(storage)
	}
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &ve):
		return &Error{Status: http.StatusBadRequest, Safe: "some fields need fixing", Fields: ve.Fields, Err: err}
	case errors.As(err, &later):
		status := http.StatusServiceUnavailable
		if errors.Is(err, board.ErrTooMany) {
			status = http.StatusTooManyRequests
		}
		return &Error{Status: status, Safe: later.Error(), Err: err, RetryAfter: later.Seconds()}
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Safe: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit), Err: err}
	case errors.Is(err, board.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Safe: err.Error(), Err: err}
	case errors.Is(err, board.ErrIdempotencyConflict):
		return &Error{Status: http.StatusUnprocessableEntity, Safe: err.Error() + "; use a new key for a new announcement", Err: err}
	case errors.Is(err, board.ErrGone):
		return &Error{Status: http.StatusGone, Safe: "this announcement was deleted", Err: err}
	case errors.Is(err, board.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Safe: "not found", Err: err}
	case errors.Is(err, board.ErrNotACall), errors.Is(err, board.ErrCallClosed), errors.As(err, new(*board.NotPendingError)):
		return &Error{Status: http.StatusConflict, Safe: err.Error(), Err: err}
	case errors.Is(err, board.ErrNoMedia):
		return &Error{Status: http.StatusServiceUnavailable, Safe: err.Error(), Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Safe: "internal error; the server log has details", Err: err}
}

// storageError answers a write the store could not take: 507 for a full
// disk (the request may succeed once there is room), 503 for a store
// Crieur may not write. Only the administrator can act: the safe text
// says so, the log says what to do (the cause is e).
func storageError(e *board.StorageError) *Error {
	if e.Problem == board.StorageFull {
		return &Error{Status: http.StatusInsufficientStorage, Safe: "the server's disk is full, so nothing was saved; its administrator must free space", Err: e}
	}
	return &Error{Status: http.StatusServiceUnavailable, Safe: "the server cannot write its data, so nothing was saved; its administrator must check the data folder's owner and mount", Err: e}
}

type ctxKey[T any] struct{}

// With stores v in ctx, one value per type (a token, a session).
func With[T any](ctx context.Context, v T) context.Context {
	return context.WithValue(ctx, ctxKey[T]{}, v)
}

// From reads the value of type T a middleware stored; ok is false when
// none did, which handlers answer as an error rather than a panic.
func From[T any](ctx context.Context) (v T, ok bool) {
	v, ok = ctx.Value(ctxKey[T]{}).(T)
	return v, ok
}

// ErrNoContext is a handler reached without the middleware that sets
// what it needs: a wiring mistake, answered 500.
var ErrNoContext = errors.New("handler reached without its middleware")

// Must reads the value of type T a middleware stored, or ErrNoContext.
func Must[T any](r *http.Request) (T, error) {
	v, ok := From[T](r.Context())
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w: no %T in the request", ErrNoContext, zero)
	}
	return v, nil
}
