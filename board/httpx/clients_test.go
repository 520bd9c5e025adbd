package httpx

import (
	"testing"
	"time"
)

// Times that reach the allowance out of order (goroutines read the clock
// before they take) do not count the time between twice: seen as one
// fetch over the budget under load.
func TestAllowanceTakesTimesInOrder(t *testing.T) {
	a := NewAllowance(1, 1)
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		at time.Duration
		ok bool
	}{{0, true}, {2 * time.Second, true}, {time.Second, false}, {2 * time.Second, false}} {
		if _, ok := a.Take("host", t0.Add(c.at)); ok != c.ok {
			t.Errorf("take %d at +%v: %v, want %v", i, c.at, ok, c.ok)
		}
	}
}
