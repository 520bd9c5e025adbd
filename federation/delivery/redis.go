package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisQueue keeps jobs in Redis so that delivery workers can run in other
// processes and on other machines (`crieur deliver`):
//
//   - one stream per job kind, read through the consumer group "workers";
//     an entry stays pending (leased) until it is acknowledged;
//   - retries wait in the sorted set "delayed" (score: due time in ms) and
//     are moved back to their stream by a Lua script, atomically;
//   - entries of a worker that died are taken over with XAUTOCLAIM once
//     they have been pending longer than the lease;
//   - given-up jobs go to the "dead" stream, where operators list and
//     revive them;
//   - a key per job id (kept a week) makes Enqueue idempotent.
//
// Every state change is one Lua script, so a crash or a Redis restart
// (with AOF) never leaves a job in two places or in none.
type RedisQueue struct {
	rdb      *redis.Client
	prefix   string
	kinds    []string // streams this instance consumes
	consumer string
	block    time.Duration
	now      func() time.Time

	results  string // stream for job outcomes; "" to not carry them
	reader   reader
	finishes groupCommit[*finishReq]

	mu            sync.Mutex
	nextDue       time.Time // earliest retry known to this instance
	lastPromote   time.Time
	lastClaim     time.Time
	groupsReady   bool
	scriptsLoaded bool
}

const (
	redisGroup  = "workers"
	jobKeyTTL   = 7 * 24 * time.Hour
	claimPeriod = time.Second
)

// NewRedisQueue returns a queue on rdb whose Reserve serves the given job
// kinds. prefix namespaces the keys ("crieur:").
func NewRedisQueue(rdb *redis.Client, prefix string, kinds ...string) *RedisQueue {
	host, _ := os.Hostname()
	q := &RedisQueue{
		rdb: rdb, prefix: prefix, kinds: kinds,
		consumer: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()%1e6),
		block:    500 * time.Millisecond,
		now:      time.Now,
		reader:   reader{round: make(chan struct{})},
	}
	q.finishes = groupCommit[*finishReq]{max: maxFinishBatch, flush: q.finishBatch}
	return q
}

// WithResults makes the queue carry the Outcome of each finished job to
// the results stream (see RedisResults), in the same script that finishes
// the job. Workers without a store use it.
func (q *RedisQueue) WithResults() *RedisQueue {
	q.results = q.prefix + "results"
	return q
}

func (q *RedisQueue) stream(kind string) string { return q.prefix + "stream:" + kind }
func (q *RedisQueue) jobKey(id string) string   { return q.prefix + "job:" + id }
func (q *RedisQueue) delayedKey() string        { return q.prefix + "delayed" }
func (q *RedisQueue) deadKey() string           { return q.prefix + "dead" }

// Wake implements Queue: Reserve blocks in Redis, no wake-up needed.
func (q *RedisQueue) Wake() <-chan struct{} { return nil }

func (q *RedisQueue) ensureGroups(ctx context.Context) error {
	q.mu.Lock()
	ready := q.groupsReady
	q.mu.Unlock()
	if ready {
		return nil
	}
	for _, k := range q.kinds {
		err := q.rdb.XGroupCreateMkStream(ctx, q.stream(k), redisGroup, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create consumer group on %s: %w", q.stream(k), err)
		}
	}
	q.mu.Lock()
	q.groupsReady = true
	q.mu.Unlock()
	return nil
}

// entryFields is a job as stream fields; attempts counts earlier tries.
func entryFields(j Job, attempts int) []any {
	return []any{
		"id", j.ID, "kind", j.Kind, "outbox", strconv.FormatInt(j.OutboxID, 10), "target", j.Target,
		"payload", string(j.Payload), "attempts", strconv.Itoa(attempts), "created", strconv.FormatInt(j.CreatedAt.UnixMilli(), 10),
	}
}

func jobFromFields(id string, v map[string]any) (Job, error) {
	str := func(k string) string { s, _ := v[k].(string); return s }
	j := Job{ID: str("id"), Kind: str("kind"), Target: str("target"), Payload: []byte(str("payload")), Receipt: id}
	var err1, err2, err3 error
	j.OutboxID, err1 = strconv.ParseInt(str("outbox"), 10, 64)
	j.Attempts, err2 = strconv.Atoi(str("attempts"))
	created, err3 := strconv.ParseInt(str("created"), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || j.ID == "" || j.Kind == "" {
		return j, fmt.Errorf("malformed queue entry %s: %v", id, err)
	}
	j.CreatedAt = time.UnixMilli(created)
	return j, nil
}

// enqueueScript adds each job unless its id is known, and returns how
// many it added. KEYS: per job: job key, stream. ARGV: ttl ms, then per
// job: the number of its fields, its fields.
var enqueueScript = redis.NewScript(`
local added = 0
local a = 2
for i = 1, #KEYS / 2 do
  local n = tonumber(ARGV[a])
  if redis.call('SET', KEYS[2 * i - 1], 'queued', 'NX', 'PX', ARGV[1]) then
    redis.call('XADD', KEYS[2 * i], '*', unpack(ARGV, a + 1, a + n))
    added = added + 1
  end
  a = a + 1 + n
end
return added`)

// enqueueBatch is how many jobs one enqueue script call adds: a fan-out
// costs Redis one call per hundred jobs instead of one per job, while a
// call still runs for well under a millisecond.
const enqueueBatch = 100

// loadScripts makes sure Redis has the scripts, so a pipelined EVALSHA
// does not fail with NOSCRIPT (after a Redis restart, for one).
func (q *RedisQueue) loadScripts(ctx context.Context, force bool) error {
	q.mu.Lock()
	loaded := q.scriptsLoaded
	q.mu.Unlock()
	if loaded && !force {
		return nil
	}
	for _, s := range []*redis.Script{enqueueScript, promoteScript, finishScript, reviveScript} {
		if err := s.Load(ctx, q.rdb).Err(); err != nil {
			return fmt.Errorf("load script: %w", err)
		}
	}
	q.mu.Lock()
	q.scriptsLoaded = true
	q.mu.Unlock()
	return nil
}

// Enqueue implements Queue.
func (q *RedisQueue) Enqueue(ctx context.Context, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := q.loadScripts(ctx, false); err != nil {
		return err
	}
	now := q.now()
	run := func() ([]redis.Cmder, error) {
		pipe := q.rdb.Pipeline()
		for batch := range slices.Chunk(jobs, enqueueBatch) {
			keys := make([]string, 0, 2*len(batch))
			args := make([]any, 0, 1+16*len(batch))
			args = append(args, jobKeyTTL.Milliseconds())
			for _, j := range batch {
				j.CreatedAt = now
				fields := entryFields(j, 0)
				keys = append(keys, q.jobKey(j.ID), q.stream(j.Kind))
				args = append(append(args, len(fields)), fields...)
			}
			enqueueScript.EvalSha(ctx, pipe, keys, args...)
		}
		cmds, err := pipe.Exec(ctx)
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return cmds, err
	}
	cmds, err := run()
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		// Redis restarted and forgot the script; the enqueue is idempotent,
		// so running the whole batch again is safe.
		if err := q.loadScripts(ctx, true); err != nil {
			return err
		}
		cmds, err = run()
	}
	if err != nil {
		for _, c := range cmds {
			if c.Err() != nil {
				return fmt.Errorf("enqueue: %w", c.Err())
			}
		}
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// promoteScript moves due retries back to their streams and returns how
// many it moved and the due time (ms) of the next one, or -1.
// KEYS: delayed; ARGV: now ms, max count, stream prefix.
var promoteScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  local e = cjson.decode(m)
  redis.call('XADD', ARGV[3] .. e.kind, '*', 'id', e.id, 'kind', e.kind, 'outbox', e.outbox, 'target', e.target,
    'payload', e.payload, 'attempts', e.attempts, 'created', e.created)
  redis.call('ZREM', KEYS[1], m)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nxt == 0 then return {#due, -1} end
return {#due, tonumber(nxt[2])}`)

func (q *RedisQueue) promote(ctx context.Context) error {
	q.mu.Lock()
	if q.now().Sub(q.lastPromote) < 20*time.Millisecond {
		q.mu.Unlock()
		return nil
	}
	q.lastPromote = q.now()
	q.mu.Unlock()
	for {
		res, err := promoteScript.Run(ctx, q.rdb, []string{q.delayedKey()}, q.now().UnixMilli(), 500, q.prefix+"stream:").Int64Slice()
		if err != nil || len(res) != 2 {
			return err
		}
		next := time.Time{}
		if res[1] >= 0 {
			next = time.UnixMilli(res[1])
		}
		q.mu.Lock()
		// A retry this instance scheduled a moment ago may not be in the
		// set yet (its finish is still in flight): keep the nearer time.
		if !(q.nextDue.After(q.now()) && (next.IsZero() || q.nextDue.Before(next))) {
			q.nextDue = next
		}
		q.mu.Unlock()
		if res[0] < 500 {
			return nil
		}
	}
}

// noteDue remembers a retry this instance scheduled, so Reserve does not
// block in Redis past its due time.
func (q *RedisQueue) noteDue(at time.Time) {
	q.mu.Lock()
	if q.nextDue.IsZero() || at.Before(q.nextDue) {
		q.nextDue = at
	}
	q.mu.Unlock()
}

// blockFor is how long Reserve may wait for new entries: no longer than
// until the next known retry is due (promotion happens between reads).
func (q *RedisQueue) blockFor() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.nextDue.IsZero() {
		return q.block
	}
	return min(q.block, max(q.nextDue.Sub(q.now()), 5*time.Millisecond))
}

// Reserve implements Queue: due retries first become stream entries, then
// entries of dead consumers are claimed, then new entries are read,
// blocking up to half a second.
//
// The workers of one queue share a single reader: whoever comes first
// reads (or claims) as many entries as there are workers waiting, in one
// command, while the others wait for that read. That keeps one blocking
// connection per process instead of one per worker (so the Redis client's
// connection pool never runs dry) and one round trip for many jobs under
// load. Only waiting workers are counted, so jobs are not read ahead to
// sit out their lease (a read over several kinds' streams may return up to
// that many per kind: the extra ones go to the next worker that is free).
func (q *RedisQueue) Reserve(ctx context.Context, lease time.Duration) (Job, bool, error) {
	r := &q.reader
	r.mu.Lock()
	if j, ok := r.take(); ok {
		r.mu.Unlock()
		return j, true, nil
	}
	r.waiting++
	if r.reading {
		round := r.round
		r.mu.Unlock()
		select {
		case <-round:
		case <-ctx.Done():
		}
		r.mu.Lock()
		r.waiting--
		j, ok := r.take()
		r.mu.Unlock()
		return j, ok, nil // nothing: the caller asks again, and may read next
	}
	r.reading = true
	n := r.waiting
	r.mu.Unlock()

	jobs, err := q.fetch(ctx, lease, n)

	r.mu.Lock()
	r.waiting--
	r.reading = false
	r.ready = append(r.ready, jobs...)
	close(r.round)
	r.round = make(chan struct{})
	j, ok := r.take()
	r.mu.Unlock()
	return j, ok, err
}

// Release hands back the jobs read for workers that stopped before taking
// them (a shutdown while a read was under way): they become claimable at
// once instead of when their lease runs out.
func (q *RedisQueue) Release(ctx context.Context) error {
	r := &q.reader
	r.mu.Lock()
	left := r.ready
	r.ready = nil
	r.mu.Unlock()
	var errs []error
	for _, j := range left {
		// XCLAIM to ourselves with an idle time past any lease: the next
		// XAUTOCLAIM of any worker takes it. JUSTID leaves its delivery
		// count alone: it was never tried.
		idle := (24 * time.Hour).Milliseconds()
		if err := q.rdb.Do(ctx, "XCLAIM", q.stream(j.Kind), redisGroup, q.consumer, 0, j.Receipt, "IDLE", idle, "JUSTID").Err(); err != nil {
			errs = append(errs, fmt.Errorf("hand back job %s: %w", j.ID, err))
		}
	}
	return errors.Join(errs...)
}

// reader is the state of the shared reader; see Reserve.
type reader struct {
	mu      sync.Mutex
	waiting int           // workers in Reserve
	reading bool          // one of them is reading
	round   chan struct{} // closed when a read ends
	ready   []Job         // read for workers that have not taken them yet
}

func (r *reader) take() (Job, bool) {
	if len(r.ready) == 0 {
		return Job{}, false
	}
	j := r.ready[0]
	r.ready = r.ready[1:]
	return j, true
}

// fetch reserves up to n jobs.
func (q *RedisQueue) fetch(ctx context.Context, lease time.Duration, n int) ([]Job, error) {
	if err := q.ensureGroups(ctx); err != nil {
		return nil, err
	}
	if err := q.promote(ctx); err != nil {
		return nil, fmt.Errorf("promote retries: %w", err)
	}
	if js, err := q.claim(ctx, lease, n); len(js) > 0 || err != nil {
		return js, err
	}
	streams := make([]string, 0, 2*len(q.kinds))
	for _, k := range q.kinds {
		streams = append(streams, q.stream(k))
	}
	for range q.kinds {
		streams = append(streams, ">")
	}
	res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: redisGroup, Consumer: q.consumer, Streams: streams, Count: int64(n), Block: q.blockFor(),
	}).Result()
	if errors.Is(err, redis.Nil) || (err != nil && ctx.Err() != nil) {
		return nil, nil
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			q.mu.Lock()
			q.groupsReady = false // Redis lost its data; make the groups again
			q.mu.Unlock()
		}
		return nil, fmt.Errorf("read queue: %w", err)
	}
	var jobs []Job
	for _, s := range res {
		for _, m := range s.Messages {
			if j, ok := q.reserved(ctx, s.Stream, m); ok {
				jobs = append(jobs, j)
			}
		}
	}
	return jobs, nil
}

func (q *RedisQueue) reserved(ctx context.Context, stream string, m redis.XMessage) (Job, bool) {
	j, err := jobFromFields(m.ID, m.Values)
	if err != nil {
		// Unreadable: park it in the dead letters rather than loop on it.
		q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.deadKey(), Values: append(mapFields(m.Values), "error", err.Error(), "died", strconv.FormatInt(q.now().UnixMilli(), 10))})
		q.rdb.XAck(ctx, stream, redisGroup, m.ID)
		q.rdb.XDel(ctx, stream, m.ID)
		return Job{}, false
	}
	j.Attempts++
	return j, true
}

func mapFields(v map[string]any) []any {
	out := make([]any, 0, 2*len(v))
	for k, x := range v {
		out = append(out, k, x)
	}
	return out
}

// claim takes over up to n entries pending longer than lease (their
// worker died).
func (q *RedisQueue) claim(ctx context.Context, lease time.Duration, n int) ([]Job, error) {
	q.mu.Lock()
	if q.now().Sub(q.lastClaim) < claimPeriod {
		q.mu.Unlock()
		return nil, nil
	}
	q.lastClaim = q.now()
	q.mu.Unlock()
	var jobs []Job
	for _, k := range q.kinds {
		msgs, _, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: q.stream(k), Group: redisGroup, Consumer: q.consumer, MinIdle: lease, Start: "0-0", Count: int64(n),
		}).Result()
		if err != nil {
			return jobs, fmt.Errorf("reclaim: %w", err)
		}
		for _, m := range msgs {
			if j, ok := q.reserved(ctx, q.stream(k), m); ok {
				jobs = append(jobs, j)
			}
		}
	}
	if len(jobs) > 0 {
		// More may be waiting: look again at the next read.
		q.mu.Lock()
		q.lastClaim = time.Time{}
		q.mu.Unlock()
	}
	return jobs, nil
}

// finishScript ends a batch of reserved entries, each atomically: XACK
// and XDEL it, add its outcome to the results stream if one is given,
// then, by mode, leave it done (the job key set at enqueue still makes a
// second enqueue of the id a no-op), put it in the delayed set, or add it
// to the dead stream. One call for a batch saves Redis most of the cost
// of a script call per job. An entry another worker has taken over gives
// 0, a failed one its error, without stopping the others.
// KEYS: delayed, dead, results, then per entry: stream, job key.
// ARGV: ttl ms, then per entry: entry id, mode, outcome JSON or "", the
// number of mode's arguments, mode's arguments.
var finishScript = redis.NewScript(`
local function finish(stream, job, id, mode, outcome, extra)
  local acked = redis.call('XACK', stream, 'workers', id)
  redis.call('XDEL', stream, id)
  if acked == 0 then return 0 end
  if outcome ~= '' then
    redis.call('XADD', KEYS[3], '*', 'outcome', outcome)
  end
  if mode == 'delay' then
    redis.call('ZADD', KEYS[1], extra[1], extra[2])
  elseif mode == 'dead' then
    redis.call('SET', job, 'dead', 'PX', ARGV[1])
    redis.call('XADD', KEYS[2], '*', unpack(extra))
  end
  return 1
end
local out = {}
local a = 2
for i = 1, (#KEYS - 3) / 2 do
  local n = tonumber(ARGV[a + 3])
  local extra = {}
  for k = 1, n do extra[k] = ARGV[a + 3 + k] end
  local ok, res = pcall(finish, KEYS[2 * i + 2], KEYS[2 * i + 3], ARGV[a], ARGV[a + 1], ARGV[a + 2], extra)
  if ok then
    out[i] = res
  else
    out[i] = redis.error_reply(type(res) == 'table' and res.err or tostring(res))
  end
  a = a + 4 + n
end
return out`)

func (q *RedisQueue) finish(ctx context.Context, j Job, mode string, args ...any) error {
	r, err := q.finishRequest(j, mode, args...)
	if err != nil {
		return err
	}
	_ = q.finishes.do(ctx, r) // finishBatch sets r's own result
	n, err := r.n, r.err
	if err != nil {
		return fmt.Errorf("%s job %s: %w", mode, j.ID, err)
	}
	if n == 0 {
		// Another worker took it over after our lease ran out; its outcome wins.
		return fmt.Errorf("%s job %s: %w (lease lost)", mode, j.ID, ErrNoSuchJob)
	}
	return nil
}

func (q *RedisQueue) finishRequest(j Job, mode string, args ...any) (*finishReq, error) {
	if j.Receipt == "" {
		return nil, fmt.Errorf("job %s: %w (not reserved)", j.ID, ErrNoSuchJob)
	}
	outcome := ""
	if q.results != "" && j.Outcome != nil {
		b, err := json.Marshal(j.Outcome)
		if err != nil {
			return nil, err
		}
		outcome = string(b)
	}
	return &finishReq{
		keys: [2]string{q.stream(j.Kind), q.jobKey(j.ID)},
		args: append([]any{j.Receipt, mode, outcome, len(args)}, args...),
	}, nil
}

type finishReq struct {
	keys [2]string // stream, job key
	args []any     // entry id, mode, outcome, number of mode's arguments, mode's arguments
	n    int
	err  error
}

// maxFinishBatch bounds the finishes sent in one script call (group
// commit: see groupCommit).
const maxFinishBatch = 64

// finishBatch runs the finish script once for the whole batch; each
// request gets its own result.
func (q *RedisQueue) finishBatch(ctx context.Context, batch []*finishReq) error {
	results := q.results
	if results == "" {
		results = q.prefix + "results"
	}
	keys := make([]string, 0, 3+2*len(batch))
	keys = append(keys, q.delayedKey(), q.deadKey(), results)
	args := make([]any, 0, 1+6*len(batch))
	args = append(args, jobKeyTTL.Milliseconds())
	for _, r := range batch {
		keys = append(keys, r.keys[:]...)
		args = append(args, r.args...)
	}
	// Run sends the script's body only if Redis has forgotten it (after a
	// restart without the script cache).
	res, err := finishScript.Run(ctx, q.rdb, keys, args...).Slice()
	if err == nil && len(res) != len(batch) {
		err = fmt.Errorf("finish script answered %d results for %d jobs", len(res), len(batch))
	}
	for i, r := range batch {
		if err != nil {
			r.err = err
			continue
		}
		switch v := res[i].(type) {
		case int64:
			r.n = int(v)
		case error:
			r.err = v
		default:
			r.err = fmt.Errorf("finish script answered %T", v)
		}
	}
	return nil
}

func delayedMember(j Job, attempts int) (string, error) {
	// cjson in the promote script decodes this; all values are strings.
	m := map[string]string{
		"id": j.ID, "kind": j.Kind, "outbox": strconv.FormatInt(j.OutboxID, 10), "target": j.Target,
		"payload": string(j.Payload), "attempts": strconv.Itoa(attempts), "created": strconv.FormatInt(j.CreatedAt.UnixMilli(), 10),
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// Ack implements Queue.
func (q *RedisQueue) Ack(ctx context.Context, j Job) error { return q.finish(ctx, j, "done") }

// Retry implements Queue.
func (q *RedisQueue) Retry(ctx context.Context, j Job, at time.Time, _ string) error {
	m, err := delayedMember(j, j.Attempts)
	if err != nil {
		return err
	}
	q.noteDue(at)
	return q.finish(ctx, j, "delay", at.UnixMilli(), m)
}

// Postpone implements Queue.
func (q *RedisQueue) Postpone(ctx context.Context, j Job, at time.Time) error {
	m, err := delayedMember(j, j.Attempts-1)
	if err != nil {
		return err
	}
	q.noteDue(at)
	return q.finish(ctx, j, "delay", at.UnixMilli(), m)
}

// Bury implements Queue.
func (q *RedisQueue) Bury(ctx context.Context, j Job, lastErr string) error {
	fields := append(entryFields(j, j.Attempts), "error", lastErr, "died", strconv.FormatInt(q.now().UnixMilli(), 10))
	return q.finish(ctx, j, "dead", fields...)
}

// Stats implements Queue.
func (q *RedisQueue) Stats(ctx context.Context) (map[string]int, error) {
	st := map[string]int{"ready": 0, "due": 0, "leased": 0, "dead": 0}
	for _, k := range q.kinds {
		n, err := q.rdb.XLen(ctx, q.stream(k)).Result()
		if err != nil {
			return nil, err
		}
		pending, err := q.rdb.XPending(ctx, q.stream(k), redisGroup).Result()
		if err != nil && !strings.HasPrefix(err.Error(), "NOGROUP") {
			return nil, err
		}
		var leased int64
		if pending != nil {
			leased = pending.Count
		}
		st["ready"] += int(n)
		st["due"] += int(n - leased)
		st["leased"] += int(leased)
	}
	delayed, err := q.rdb.ZCard(ctx, q.delayedKey()).Result()
	if err != nil {
		return nil, err
	}
	due, err := q.rdb.ZCount(ctx, q.delayedKey(), "-inf", strconv.FormatInt(q.now().UnixMilli(), 10)).Result()
	if err != nil {
		return nil, err
	}
	dead, err := q.rdb.XLen(ctx, q.deadKey()).Result()
	if err != nil {
		return nil, err
	}
	st["ready"] += int(delayed)
	st["due"] += int(due)
	st["dead"] = int(dead)
	return st, nil
}

// Dead implements Queue; a dead letter's id is its entry id in the dead stream.
func (q *RedisQueue) Dead(ctx context.Context, limit int) ([]DeadJob, error) {
	msgs, err := q.rdb.XRangeN(ctx, q.deadKey(), "-", "+", int64(limit)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]DeadJob, 0, len(msgs))
	for _, m := range msgs {
		j, err := jobFromFields(m.ID, m.Values)
		if err != nil {
			j = Job{ID: m.ID, Receipt: m.ID}
		}
		d := DeadJob{Job: j, Handle: m.ID}
		d.Error, _ = m.Values["error"].(string)
		if ms, err := strconv.ParseInt(fmt.Sprint(m.Values["died"]), 10, 64); err == nil {
			d.DiedAt = time.UnixMilli(ms)
		}
		out = append(out, d)
	}
	return out, nil
}

// reviveScript moves a dead entry back to its stream with a fresh window.
// KEYS: dead, stream prefix (as ARGV). ARGV: entry id, now ms, ttl ms.
var reviveScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
local f = {}
local v = e[1][2]
for i = 1, #v, 2 do f[v[i]] = v[i+1] end
if not f.kind or not f.id then return -1 end
redis.call('XADD', ARGV[4] .. f.kind, '*', 'id', f.id, 'kind', f.kind, 'outbox', f.outbox, 'target', f.target,
  'payload', f.payload, 'attempts', '0', 'created', ARGV[2])
redis.call('SET', ARGV[5] .. f.id, 'queued', 'PX', ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1`)

// hurryScript makes the delayed jobs of one kind and target due at once.
// It reads the whole delayed set: an operator's action, not a hot path.
// KEYS: delayed. ARGV: kind, target, now ms.
var hurryScript = redis.NewScript(`
local n = 0
local now = tonumber(ARGV[3])
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local e = cjson.decode(all[i])
  if e.kind == ARGV[1] and e.target == ARGV[2] and tonumber(all[i+1]) > now then
    redis.call('ZADD', KEYS[1], 'XX', now, all[i])
    n = n + 1
  end
end
return n`)

// Hurry implements Queue.
func (q *RedisQueue) Hurry(ctx context.Context, kind, target string) (int, error) {
	n, err := hurryScript.Run(ctx, q.rdb, []string{q.delayedKey()}, kind, target, q.now().UnixMilli()).Int()
	if err != nil {
		return 0, fmt.Errorf("hurry %s jobs for %s: %w", kind, target, err)
	}
	if n > 0 {
		q.noteDue(q.now())
	}
	return n, nil
}

// Revive implements Queue; id is the dead letter's entry id (see Dead).
func (q *RedisQueue) Revive(ctx context.Context, id string) error {
	n, err := reviveScript.Run(ctx, q.rdb, []string{q.deadKey()}, id, q.now().UnixMilli(), jobKeyTTL.Milliseconds(), q.prefix+"stream:", q.prefix+"job:").Int()
	switch {
	case err != nil:
		return fmt.Errorf("revive %s: %w", id, err)
	case n == 0:
		return fmt.Errorf("revive %s: %w", id, ErrNoSuchJob)
	case n < 0:
		return fmt.Errorf("revive %s: the dead letter is malformed", id)
	}
	return nil
}

func (q *RedisQueue) parkedKey() string { return q.prefix + "parked" }

// parkScript parks a host (hash field: host, value: until, ms) unless it
// is parked longer. KEYS: parked. ARGV: host, until ms.
var parkScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if cur < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`)

// parkedScript lists the hosts parked after now and forgets the others.
// KEYS: parked. ARGV: now ms.
var parkedScript = redis.NewScript(`
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out`)

// ParkHost implements SharedHosts.
func (q *RedisQueue) ParkHost(ctx context.Context, host string, until time.Time) error {
	return parkScript.Run(ctx, q.rdb, []string{q.parkedKey()}, host, until.UnixMilli()).Err()
}

// UnparkHost implements SharedHosts.
func (q *RedisQueue) UnparkHost(ctx context.Context, host string) error {
	return q.rdb.HDel(ctx, q.parkedKey(), host).Err()
}

// ParkedHosts implements SharedHosts.
func (q *RedisQueue) ParkedHosts(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	res, err := parkedScript.Run(ctx, q.rdb, []string{q.parkedKey()}, now.UnixMilli()).StringSlice()
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		ms, err := strconv.ParseInt(res[i+1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parked host %s: %w", res[i], err)
		}
		out[res[i]] = time.UnixMilli(ms)
	}
	return out, nil
}
