package board

import (
	"errors"
	"fmt"
	"time"
)

// Causes of a TryLater: the server is at its limit for everyone (busy),
// or the sender is over its own allowance (too many).
var (
	ErrBusy    = errors.New("the server is busy")
	ErrTooMany = errors.New("too many requests")
)

// TryLater is a refusal that is not the request's fault: the same request
// will succeed after After. The API answers it 503 (ErrBusy) or 429
// (ErrTooMany) with Retry-After; the editor and the public forms say when
// to come back. Say is the catalogue key of what to tell a person (its
// one argument is the wait in minutes or seconds, as the key says).
type TryLater struct {
	Err   error
	After time.Duration
	Say   string
}

func (e *TryLater) Error() string {
	return fmt.Sprintf("%v; try again in %s", e.Err, e.After.Round(time.Second))
}

func (e *TryLater) Unwrap() error { return e.Err }

// Seconds is After in whole seconds, at least one: Retry-After's unit.
func (e *TryLater) Seconds() int { return max(1, int((e.After+time.Second-1)/time.Second)) }

// Minutes is After in whole minutes, at least one: what people are told.
func (e *TryLater) Minutes() int { return max(1, int((e.After+time.Minute-1)/time.Minute)) }
