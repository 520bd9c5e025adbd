package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDispatcherStuckIsNamed(t *testing.T) {
	ctx := context.Background()
	oldest := func(age time.Duration, ok bool, err error) func(context.Context) (time.Time, bool, error) {
		return func(context.Context) (time.Time, bool, error) { return time.Now().Add(-age), ok, err }
	}
	check := dispatcherMoving(oldest(0, false, nil), time.Minute)
	if err := check(ctx); err != nil {
		t.Errorf("nothing waiting: %v", err)
	}
	if err := dispatcherMoving(oldest(10*time.Second, true, nil), time.Minute)(ctx); err != nil {
		t.Errorf("a row 10 s old: %v", err)
	}
	if err := dispatcherMoving(oldest(3*time.Minute, true, nil), time.Minute)(ctx); err == nil || !strings.Contains(err.Error(), "dispatcher is stuck") {
		t.Errorf("a row 3 min old: %v", err)
	}
	if err := dispatcherMoving(oldest(0, false, errors.New("disk I/O error")), time.Minute)(ctx); err == nil || !strings.Contains(err.Error(), "disk I/O error") {
		t.Errorf("an unreadable outbox: %v", err)
	}
}
