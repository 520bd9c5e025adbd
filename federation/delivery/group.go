package delivery

import (
	"context"
	"sync"

	"crieur/board"
)

// groupCommit sends the requests of concurrent workers to their store in
// one call (group commit): the first worker to arrive flushes its own and
// whatever the others added meanwhile, and goes on while more arrive.
// Under load this cuts round trips, transactions and system calls per
// job; alone, a request goes out at once. Redis's finishes and the
// embedded queue's delivery records go through one.
type groupCommit[T any] struct {
	max int // the largest batch
	// flush stores a batch; it may set results on the items themselves.
	// Its context is the batch's own: the caller's may be another worker's.
	flush func(ctx context.Context, batch []T) error

	mu       sync.Mutex
	pending  []*groupItem[T]
	flushing bool
}

type groupItem[T any] struct {
	v    T
	err  error
	done chan struct{}
}

// do sends v with the others and returns its batch's error.
func (g *groupCommit[T]) do(ctx context.Context, v T) error {
	it := &groupItem[T]{v: v, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, it)
	if g.flushing {
		g.mu.Unlock()
		<-it.done
		return it.err
	}
	g.flushing = true
	for len(g.pending) > 0 {
		batch := g.pending[:min(len(g.pending), g.max)]
		g.pending = g.pending[len(batch):]
		g.mu.Unlock()
		vs := make([]T, len(batch))
		for i, b := range batch {
			vs[i] = b.v
		}
		err := g.flush(context.WithoutCancel(ctx), vs)
		for _, b := range batch {
			b.err = err
			close(b.done)
		}
		g.mu.Lock()
	}
	g.flushing = false
	g.mu.Unlock()
	return it.err
}

// GroupRecorder records the outcomes of concurrent workers in one call of
// a BatchRecorder (the store: one transaction for a batch, where each
// delivery cost a transaction of its own). What the embedded queue's
// pools record through; Redis's go through its results stream instead.
type GroupRecorder struct {
	g groupCommit[board.DeliveryRecord]
}

// NewGroupRecorder records through rec, up to 64 outcomes at a time.
func NewGroupRecorder(rec BatchRecorder) *GroupRecorder {
	return &GroupRecorder{g: groupCommit[board.DeliveryRecord]{max: 64, flush: rec.RecordDeliveries}}
}

// RecordDelivery implements Recorder.
func (r *GroupRecorder) RecordDelivery(ctx context.Context, rec board.DeliveryRecord) error {
	return r.g.do(ctx, rec)
}
