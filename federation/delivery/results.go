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
	const group = "serve"
	for ctx.Err() == nil {
		err := r.rdb.XGroupCreateMkStream(ctx, r.stream, group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			log.Warn("results stream", "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		// Our own pending entries first (after a crash), then new ones.
		for _, start := range []string{"0", ">"} {
			for ctx.Err() == nil {
				res, err := r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "serve", Streams: []string{r.stream, start}, Count: 100, Block: time.Second}).Result()
				if errors.Is(err, redis.Nil) {
					if start == "0" {
						break
					}
					continue
				}
				if err != nil {
					if ctx.Err() == nil {
						log.Warn("read results", "err", err)
						sleepCtx(ctx, time.Second)
					}
					break
				}
				n := 0
				for _, s := range res {
					for _, m := range s.Messages {
						n++
						if err := r.record(ctx, rec, m); err != nil {
							log.Error("record delivery result", "err", err)
							if !errors.Is(err, errMalformed) {
								continue // the store failed: keep it for the next pass
							}
						}
						r.rdb.XAck(ctx, r.stream, group, m.ID)
						r.rdb.XDel(ctx, r.stream, m.ID)
					}
				}
				if start == "0" && n == 0 {
					break
				}
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
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
