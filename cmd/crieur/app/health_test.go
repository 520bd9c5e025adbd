package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
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

// A check that does not return (a Redis that takes connections and never
// answers) is reported by the deadline, the others' sentences with it,
// before the prober gives up.
func TestReadinessAnswersByItsDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	rd := &readiness{within: 200 * time.Millisecond}
	rd.add("store", func(context.Context) error { return nil })
	rd.add("redis", func(context.Context) error { <-release; return nil }) // deaf to its context
	rd.add("dispatcher", func(context.Context) error { return errors.New("an announcement has waited 3m0s") })
	start := time.Now()
	rec := httptest.NewRecorder()
	rd.ready(rec, httptest.NewRequest("GET", "/readyz", nil))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %v, want about 200ms", took)
	}
	var got struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"store": "ok", "redis": "no answer within 200ms", "dispatcher": "an announcement has waited 3m0s"}
	if rec.Code != 503 || got.Status != "not ready" || fmt.Sprint(got.Checks) != fmt.Sprint(want) {
		t.Errorf("%d %+v, want 503 not ready %v", rec.Code, got, want)
	}
}
