package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"crieur/board"
)

// RedisResults carries delivery outcomes from `crieur deliver` workers,
// which own no store, back to `crieur serve`, which records them. Workers
// add outcomes through their queue (RedisQueue.WithResults, in the script
// that finishes each job); serve runs Drain.
type RedisResults struct {
	rdb    *redis.Client
	stream string
	// grouped: the consumer group is known to exist. It is made once,
	// and again only after Redis said it is gone (a Redis that restarted
	// without its data), not on every pass (once a second when idle).
	grouped bool
}

// NewRedisResults uses the stream prefix+"results".
func NewRedisResults(rdb *redis.Client, prefix string) *RedisResults {
	return &RedisResults{rdb: rdb, stream: prefix + "results"}
}

// BatchRecorder stores delivery outcomes, many at a time: they arrive
// from the workers in batches.
type BatchRecorder interface {
	RecordDeliveries(ctx context.Context, recs []board.DeliveryRecord) error
}

// Drain records every result into rec until ctx is done. A result is
// removed from the stream only after rec has stored it.
func (r *RedisResults) Drain(ctx context.Context, rec BatchRecorder, log *slog.Logger) {
	down := newDownLog("draining delivery results", log, time.Minute)
	for ctx.Err() == nil {
		if err := r.drain(ctx, rec, log); err != nil && ctx.Err() == nil {
			down.failed(ctx, err)
			sleepCtx(ctx, time.Second)
		} else if err == nil {
			down.ok(ctx)
		}
	}
}

const resultsGroup = "serve"

// resultsBatch is how many results one pass reads, records in one
// transaction and removes in one round trip.
const resultsBatch = 200

// drain reads this consumer's pending entries, then waits for new ones.
// The pending entries are read again on every pass, not only at start:
// when Redis dies between running an XREADGROUP and sending its reply,
// go-redis sends the command again, and the entries the first one handed
// out sit in our pending list where a read of ">" never returns them.
func (r *RedisResults) drain(ctx context.Context, rec BatchRecorder, log *slog.Logger) error {
	if !r.grouped {
		err := r.rdb.XGroupCreateMkStream(ctx, r.stream, resultsGroup, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("results stream: %w", err)
		}
		r.grouped = true
	}
	err := r.readAll(ctx, rec, log)
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		r.grouped = false // made again on the next pass
	}
	return err
}

// readAll reads the pending entries, then waits a second for new ones.
func (r *RedisResults) readAll(ctx context.Context, rec BatchRecorder, log *slog.Logger) error {
	for {
		n, err := r.read(ctx, rec, log, "0", -1) // -1: no BLOCK
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	_, err := r.read(ctx, rec, log, ">", time.Second)
	return err
}

// read records the entries read from start and returns how many it read.
func (r *RedisResults) read(ctx context.Context, rec BatchRecorder, log *slog.Logger, start string, block time.Duration) (int, error) {
	args := &redis.XReadGroupArgs{Group: resultsGroup, Consumer: "serve", Streams: []string{r.stream, start}, Count: resultsBatch, Block: block}
	res, err := r.rdb.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read results: %w", err)
	}
	var ids []string
	var recs []board.DeliveryRecord
	for _, s := range res {
		for _, m := range s.Messages {
			ids = append(ids, m.ID)
			raw, _ := m.Values["outcome"].(string)
			var o Outcome
			if err := json.Unmarshal([]byte(raw), &o); err != nil || o.OutboxID == 0 {
				// Not something a worker wrote; keeping it would only
				// block the ones behind it.
				log.Warn("dropping a malformed delivery result", "id", m.ID, "outcome", raw, "err", err)
				continue
			}
			recs = append(recs, board.DeliveryRecord{OutboxID: o.OutboxID, Target: o.Target, State: o.State, Attempts: o.Attempts, LastError: o.Error, NextAttempt: o.NextAttempt})
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := rec.RecordDeliveries(ctx, recs); err != nil {
		// The entries stay pending for the next pass.
		return len(ids), fmt.Errorf("record %d delivery results: %w", len(recs), err)
	}
	pipe := r.rdb.Pipeline()
	pipe.XAck(ctx, r.stream, resultsGroup, ids...)
	pipe.XDel(ctx, r.stream, ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		// Recorded already; recording them again on the next pass is
		// harmless (the latest state wins, delivered stays delivered).
		return len(ids), fmt.Errorf("ack results: %w", err)
	}
	return len(ids), nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
