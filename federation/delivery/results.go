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
)

// RedisResults carries delivery outcomes from `crieur deliver` workers,
// which own no store, back to `crieur serve`, which records them. Workers
// add outcomes through their queue (RedisQueue.WithResults, in the script
// that finishes each job); serve runs Drain.
type RedisResults struct {
	rdb    *redis.Client
	stream string
}

// NewRedisResults uses the stream prefix+"results".
func NewRedisResults(rdb *redis.Client, prefix string) *RedisResults {
	return &RedisResults{rdb: rdb, stream: prefix + "results"}
}

// Drain records every result into rec until ctx is done. A result is
// removed from the stream only after rec has stored it.
func (r *RedisResults) Drain(ctx context.Context, rec Recorder, log *slog.Logger) {
	for ctx.Err() == nil {
		if err := r.drain(ctx, rec); err != nil && ctx.Err() == nil {
			log.Warn("drain delivery results", "err", err)
			sleepCtx(ctx, time.Second)
		}
	}
}

const resultsGroup = "serve"

// drain reads this consumer's pending entries, then waits for new ones.
// The pending entries are read again on every pass, not only at start:
// when Redis dies between running an XREADGROUP and sending its reply,
// go-redis sends the command again, and the entries the first one handed
// out sit in our pending list where a read of ">" never returns them.
func (r *RedisResults) drain(ctx context.Context, rec Recorder) error {
	err := r.rdb.XGroupCreateMkStream(ctx, r.stream, resultsGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("results stream: %w", err)
	}
	for {
		n, err := r.read(ctx, rec, "0", -1) // -1: no BLOCK
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	_, err = r.read(ctx, rec, ">", time.Second)
	return err
}

// read records up to 100 entries read from start and returns how many
// it read.
func (r *RedisResults) read(ctx context.Context, rec Recorder, start string, block time.Duration) (int, error) {
	args := &redis.XReadGroupArgs{Group: resultsGroup, Consumer: "serve", Streams: []string{r.stream, start}, Count: 100, Block: block}
	res, err := r.rdb.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read results: %w", err)
	}
	n := 0
	for _, s := range res {
		for _, m := range s.Messages {
			n++
			if err := r.record(ctx, rec, m); err != nil && !errors.Is(err, errMalformed) {
				// The store failed: the entry stays pending for the next pass.
				return n, err
			}
			if err := r.rdb.XAck(ctx, r.stream, resultsGroup, m.ID).Err(); err != nil {
				return n, fmt.Errorf("ack result: %w", err)
			}
			r.rdb.XDel(ctx, r.stream, m.ID)
		}
	}
	return n, nil
}

func (r *RedisResults) record(ctx context.Context, rec Recorder, m redis.XMessage) error {
	raw, _ := m.Values["outcome"].(string)
	var o Outcome
	if err := json.Unmarshal([]byte(raw), &o); err != nil || o.OutboxID == 0 {
		return fmt.Errorf("%w %s: %v", errMalformed, m.ID, err)
	}
	return rec.RecordDelivery(ctx, o.OutboxID, o.Target, o.State, o.Attempts, o.Error)
}

var errMalformed = errors.New("malformed result")

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
