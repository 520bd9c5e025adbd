package store_test

import (
	"context"
	"testing"
	"time"

	"crieur/board/boardtest"
)

// A signature is a replay while it is remembered, and new again once its
// time is over (its Date would be refused anyway).
func TestFirstSeenRemembersUntilItsTime(t *testing.T) {
	ctx := context.Background()
	s := boardtest.New(t).Store
	seen := func(digest string, until time.Time) bool {
		t.Helper()
		first, err := s.FirstSeen(ctx, []byte(digest), until)
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	later := time.Now().Add(time.Hour)
	if !seen("a", later) || seen("a", later) {
		t.Error("a signature is not first once, then a replay")
	}
	if !seen("b", later) {
		t.Error("another signature is taken for a replay")
	}
	if !seen("c", time.Now().Add(-time.Second)) || !seen("c", later) || seen("c", later) {
		t.Error("a signature whose time is over is not new again, or not remembered anew")
	}
}
