package delivery

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"crieur/board"
)

// batches is a BatchRecorder that holds its first call until let is
// closed, so that the records arriving meanwhile wait for the next call.
type batches struct {
	mu      sync.Mutex
	sizes   []int
	err     error
	entered chan struct{}
	let     chan struct{}
}

func (b *batches) RecordDeliveries(_ context.Context, recs []board.DeliveryRecord) error {
	b.mu.Lock()
	first := len(b.sizes) == 0
	b.sizes = append(b.sizes, len(recs))
	b.mu.Unlock()
	if first {
		close(b.entered)
		<-b.let
	}
	return b.err
}

// The outcomes that arrive while one batch is being stored go together in
// the next: 1 + 9 deliveries cost two transactions, not ten; each caller
// gets its batch's error.
func TestGroupRecorderStoresConcurrentOutcomesTogether(t *testing.T) {
	b := &batches{entered: make(chan struct{}), let: make(chan struct{}), err: errors.New("disk full")}
	r := NewGroupRecorder(b)
	ctx := context.Background()
	errs := make(chan error, 10)
	go func() { errs <- r.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: 1, Target: "first"}) }()
	<-b.entered
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Go(func() { errs <- r.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: int64(i + 2), Target: "next"}) })
	}
	// Wait until the nine are queued behind the first batch.
	for {
		r.g.mu.Lock()
		n := len(r.g.pending)
		r.g.mu.Unlock()
		if n == 9 {
			break
		}
		runtime.Gosched()
	}
	close(b.let)
	wg.Wait()
	for range 10 {
		if err := <-errs; !errors.Is(err, b.err) {
			t.Fatalf("a record's error: %v", err)
		}
	}
	if len(b.sizes) != 2 || b.sizes[0] != 1 || b.sizes[1] != 9 {
		t.Fatalf("batches of %v, want [1 9]", b.sizes)
	}
	// Alone, a record goes at once, in a batch of its own.
	b.err = nil
	if err := r.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: 11}); err != nil || b.sizes[2] != 1 {
		t.Fatalf("alone: %v, batches %v", err, b.sizes)
	}
}
