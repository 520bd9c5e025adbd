package media

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"crieur/board"
)

// maxDecodeBytes is the memory one decode may take: what the pixel limit
// allows an ordinary picture (8 bits per channel, 4 bytes a pixel, plus
// as much again for the copy turning it upright). A picture with deeper
// colours gets fewer pixels for the same memory.
const maxDecodeBytes = maxPixels * (4 + 4)

// decodeCost is the memory decoding a picture of cfg takes, from its size
// and its pixels' format (what image.Decode allocates for it), plus the
// 8-bit copy the processing makes.
func decodeCost(cfg image.Config) int64 {
	return int64(cfg.Width) * int64(cfg.Height) * int64(bytesPerPixel(cfg.ColorModel)+4)
}

func bytesPerPixel(m color.Model) int {
	switch m {
	case color.Gray16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.GrayModel, color.AlphaModel, color.YCbCrModel:
		return 3 // YCbCr at worst 4:4:4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// Budget bounds the decoding of uploads, which costs seconds of a
// processor and hundreds of megabytes for a large picture: one decode
// per processor at a time, all of them together within the memory one
// maximal picture takes, a few more waiting their turn, and beyond that
// a TryLater (503 with Retry-After) rather than a server that swaps.
type Budget struct {
	cpu, mem   *semaphore.Weighted
	waiting    atomic.Int64
	maxWaiting int64
	wait       time.Duration
}

// NewBudget makes a budget of decoders decodes at once (at most one per
// processor; 0 means one per processor), with twice as many waiting at
// most wait each.
func NewBudget(decoders int, wait time.Duration) *Budget {
	if n := runtime.GOMAXPROCS(0); decoders <= 0 || decoders > n {
		decoders = n
	}
	return &Budget{
		cpu:        semaphore.NewWeighted(int64(decoders)),
		mem:        semaphore.NewWeighted(maxDecodeBytes),
		maxWaiting: 2 * int64(decoders),
		wait:       wait,
	}
}

var errBusyDecoding = fmt.Errorf("%w reading other pictures", board.ErrBusy)

// acquire waits for a decode slot and cost bytes of memory; release gives
// them back.
func (b *Budget) acquire(ctx context.Context, cost int64) (release func(), err error) {
	if b.waiting.Add(1) > b.maxWaiting {
		b.waiting.Add(-1)
		return nil, b.busy()
	}
	defer b.waiting.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	if err := b.cpu.Acquire(ctx, 1); err != nil {
		return nil, b.timedOut(ctx, err)
	}
	if err := b.mem.Acquire(ctx, cost); err != nil {
		b.cpu.Release(1)
		return nil, b.timedOut(ctx, err)
	}
	return func() { b.mem.Release(cost); b.cpu.Release(1) }, nil
}

func (b *Budget) busy() error {
	return &board.TryLater{Err: errBusyDecoding, After: b.wait, Say: "problem.busy_pictures"}
}

// timedOut tells a wait that ran out (busy) from a caller that gave up.
func (b *Budget) timedOut(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return b.busy()
	}
	return err
}

// Limited is a picture folder whose uploads are decoded within a Budget:
// what the server gives the board service.
type Limited struct {
	Dir
	Budget *Budget
}

// Keep processes an upload within the budget and saves it.
func (l Limited) Keep(ctx context.Context, data []byte) (board.Image, error) {
	return l.Dir.keep(ctx, l.Budget, data)
}
