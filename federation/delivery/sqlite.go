package delivery

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SQLiteQueue is the embedded queue: a table in the store's SQLite file, so
// `crieur serve` needs nothing else. Only the serve process works on it,
// which is why it may release, at start, the leases a crashed run left.
type SQLiteQueue struct {
	db   *sql.DB
	r    *sql.DB // read-only pool for Stats, so counting never holds the writer
	wake chan struct{}
	now  func() time.Time

	// stmts are the statements each job runs (Reserve's, set's), prepared
	// once: SQLite compiling Reserve's UPDATE again for every call cost
	// more than running it.
	prepare sync.Mutex
	stmts   map[string]*sql.Stmt

	// changes counts this process's changes to what is due (signal); idle
	// is what the last Reserve that found nothing learnt. Idle workers
	// wake every Poll (16 of them, every 20 ms to 1 s): while idle holds,
	// they are told "nothing" without asking SQLite.
	changes atomic.Int64
	idle    atomic.Pointer[idleState]

	// sets are the workers' finishes (Ack, Retry, Postpone, Bury), those
	// that end together written in one transaction: one each cost a
	// transaction of its own, and with it the WAL's locks (fcntl calls)
	// and a commit, 65 µs of each delivery in crieur-bench's profile.
	sets groupCommit[*setReq]
	// reserves are the workers' Reserve calls, those that arrive
	// together leased in one statement, as Redis's workers share one
	// reader: one each was a transaction of its own.
	reserves groupCommit[*reserveReq]
}

// reserveReq is one worker's Reserve: the lease it asks for, and the job
// its batch gave it, if any.
type reserveReq struct {
	lease time.Duration
	job   Job
	ok    bool
}

// setReq is one finish; err is its own outcome (a job another worker or
// process finished already), apart from its batch's.
type setReq struct {
	id, state    string
	runAt        int64
	lastErr      string
	attemptDelta int
	err          error
}

// idleState says nothing is due before until, as read while changes was
// at a count: true while no change followed.
type idleState struct {
	changes int64
	until   int64 // Unix milliseconds
}

// IdleRecheck bounds how long an empty queue is trusted without a look:
// how late a job another process adds (`crieur deliveries retry` on the data
// folder) may start. Due times and leases ending are read, not waited for.
const IdleRecheck = time.Second

// UseReader makes Stats read through r (board.OpenReadDB).
func (q *SQLiteQueue) UseReader(r *sql.DB) { q.r = r }

// NewSQLiteQueue is the queue in db (the board store's file, whose
// registry made its table).
func NewSQLiteQueue(db *sql.DB) *SQLiteQueue {
	q := &SQLiteQueue{db: db, wake: make(chan struct{}, 1), now: time.Now}
	q.sets = groupCommit[*setReq]{max: 64, flush: q.setBatch}
	q.reserves = groupCommit[*reserveReq]{max: 64, flush: q.reserveBatch}
	return q
}

// ReleaseLeases makes every leased job due now. Only the process that runs
// the workers may call it, at start: jobs a crashed run held are then
// retried at once instead of after their lease.
func (q *SQLiteQueue) ReleaseLeases(ctx context.Context) error {
	_, err := q.db.ExecContext(ctx, `UPDATE queue_jobs SET leased_until = 0 WHERE state = 'ready'`)
	q.signal()
	return err
}

func (q *SQLiteQueue) signal() {
	q.changes.Add(1)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Wake implements Queue.
func (q *SQLiteQueue) Wake() <-chan struct{} { return q.wake }

// Enqueue implements Queue.
func (q *SQLiteQueue) Enqueue(ctx context.Context, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO queue_jobs (id, kind, outbox_id, target, payload, state, attempts, run_at, leased_until, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'ready', 0, ?, 0, '', ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	now := q.now().UnixMilli()
	for _, j := range jobs {
		if j.Payload == nil {
			j.Payload = []byte{}
		}
		if _, err := stmt.ExecContext(ctx, j.ID, j.Kind, j.OutboxID, j.Target, j.Payload, now, now, now); err != nil {
			return fmt.Errorf("enqueue %s: %w", j.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	q.signal()
	return nil
}

// Reserve implements Queue.
func (q *SQLiteQueue) Reserve(ctx context.Context, lease time.Duration) (Job, bool, error) {
	now := q.now().UnixMilli()
	changes := q.changes.Load()
	if idle := q.idle.Load(); idle != nil && idle.changes == changes && now < idle.until {
		return Job{}, false, nil
	}
	r := &reserveReq{lease: lease}
	if err := q.reserves.do(ctx, r); err != nil {
		return Job{}, false, fmt.Errorf("reserve job: %w", err)
	}
	if !r.ok {
		q.noteIdle(ctx, now, changes)
	}
	return r.job, r.ok, nil
}

// reserveBatch leases the first due jobs, one per request, in one
// statement, the earliest to the first request; the requests it finds
// no job for are told so. Requests for different leases (pools that
// differ) go in one statement per lease.
func (q *SQLiteQueue) reserveBatch(ctx context.Context, batch []*reserveReq) error {
	now := q.now().UnixMilli()
	for len(batch) > 0 {
		same := 1
		for same < len(batch) && batch[same].lease == batch[0].lease {
			same++
		}
		if err := q.reserveSome(ctx, now, batch[:same]); err != nil {
			return err
		}
		batch = batch[same:]
	}
	return nil
}

func (q *SQLiteQueue) reserveSome(ctx context.Context, now int64, reqs []*reserveReq) error {
	stmt, err := q.stmt(ctx, reserveQuery)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, now+reqs[0].lease.Milliseconds(), now, now, now, len(reqs))
	if err != nil {
		return err
	}
	defer rows.Close()
	type leased struct {
		job        Job
		runAt, seq int64
	}
	var got []leased
	for rows.Next() {
		var l leased
		var created int64
		if err := rows.Scan(&l.job.ID, &l.job.Kind, &l.job.OutboxID, &l.job.Target, &l.job.Payload, &l.job.Attempts, &created, &l.runAt, &l.seq); err != nil {
			return err
		}
		l.job.CreatedAt = time.UnixMilli(created)
		got = append(got, l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// RETURNING follows no order: the queue's is restored.
	slices.SortFunc(got, func(a, b leased) int { return cmp.Or(cmp.Compare(a.runAt, b.runAt), cmp.Compare(a.seq, b.seq)) })
	for i, l := range got {
		reqs[i].job, reqs[i].ok = l.job, true
	}
	return nil
}

// reserveQuery leases the first due jobs, as many as asked.
const reserveQuery = `UPDATE queue_jobs SET leased_until = ?, attempts = attempts + 1, updated_at = ?
	WHERE seq IN (SELECT seq FROM queue_jobs WHERE state = 'ready' AND run_at <= ? AND leased_until <= ? ORDER BY run_at, seq LIMIT ?)
	RETURNING id, kind, outbox_id, target, payload, attempts, created_at, run_at, seq`

// stmt is query prepared, once per queue (database/sql prepares it again
// on each connection that runs it, once).
func (q *SQLiteQueue) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	q.prepare.Lock()
	defer q.prepare.Unlock()
	if st := q.stmts[query]; st != nil {
		return st, nil
	}
	st, err := q.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if q.stmts == nil {
		q.stmts = map[string]*sql.Stmt{}
	}
	q.stmts[query] = st
	return st, nil
}

// noteIdle records, after a Reserve found nothing due at now, when the
// next job will be: the earliest due time or end of lease among the
// waiting jobs, IdleRecheck at most. If that cannot be read, nothing is
// recorded: the next Reserve asks SQLite again (and reports its error).
func (q *SQLiteQueue) noteIdle(ctx context.Context, now, changes int64) {
	var next sql.NullInt64
	if err := q.db.QueryRowContext(ctx, `SELECT MIN(MAX(run_at, leased_until)) FROM queue_jobs WHERE state = 'ready'`).Scan(&next); err != nil {
		return
	}
	until := now + IdleRecheck.Milliseconds()
	if next.Valid && next.Int64 < until {
		until = next.Int64
	}
	q.idle.Store(&idleState{changes: changes, until: until})
}

func (q *SQLiteQueue) set(ctx context.Context, id, state string, runAt time.Time, lastErr string, attemptDelta int) error {
	r := &setReq{id: id, state: state, runAt: runAt.UnixMilli(), lastErr: lastErr, attemptDelta: attemptDelta}
	if err := q.sets.do(ctx, r); err != nil {
		return fmt.Errorf("mark job %s %s: %w", id, state, err)
	}
	return r.err
}

const setQuery = `UPDATE queue_jobs SET state = ?, run_at = ?, leased_until = 0, last_error = ?, attempts = attempts + ?, updated_at = ? WHERE id = ?`

// setBatch writes a batch of finishes in one transaction.
func (q *SQLiteQueue) setBatch(ctx context.Context, batch []*setReq) error {
	stmt, err := q.stmt(ctx, setQuery)
	if err != nil {
		return err
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st := tx.StmtContext(ctx, stmt)
	now := q.now().UnixMilli()
	for _, r := range batch {
		res, err := st.ExecContext(ctx, r.state, r.runAt, r.lastErr, r.attemptDelta, now, r.id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			r.err = fmt.Errorf("mark job %s %s: %w", r.id, r.state, ErrNoSuchJob)
		}
	}
	return tx.Commit()
}

// Ack implements Queue. Done jobs stay a while so that a repeated fan-out
// (after a crash between enqueue and bookkeeping) finds their ids and does
// not deliver twice; Purge removes them.
func (q *SQLiteQueue) Ack(ctx context.Context, job Job) error {
	return q.set(ctx, job.ID, "done", q.now(), "", 0)
}

// Retry implements Queue.
func (q *SQLiteQueue) Retry(ctx context.Context, job Job, at time.Time, lastErr string) error {
	if err := q.set(ctx, job.ID, "ready", at, lastErr, 0); err != nil {
		return err
	}
	q.signal()
	return nil
}

// Postpone implements Queue: the attempt Reserve counted is given back.
func (q *SQLiteQueue) Postpone(ctx context.Context, job Job, at time.Time) error {
	if err := q.set(ctx, job.ID, "ready", at, "", -1); err != nil {
		return err
	}
	q.signal()
	return nil
}

// Hurry implements Queue.
func (q *SQLiteQueue) Hurry(ctx context.Context, kind, target string) (int, error) {
	now := q.now().UnixMilli()
	res, err := q.db.ExecContext(ctx, `UPDATE queue_jobs SET run_at = ? WHERE state = 'ready' AND kind = ? AND target = ? AND run_at > ? AND leased_until <= ?`,
		now, kind, target, now, now)
	if err != nil {
		return 0, fmt.Errorf("hurry %s jobs for %s: %w", kind, target, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		q.signal()
	}
	return int(n), nil
}

// Bury implements Queue.
func (q *SQLiteQueue) Bury(ctx context.Context, job Job, lastErr string) error {
	return q.set(ctx, job.ID, "dead", q.now(), lastErr, 0)
}

// Dead implements Queue.
func (q *SQLiteQueue) Dead(ctx context.Context, limit int) ([]DeadJob, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, kind, outbox_id, target, payload, attempts, created_at, last_error, updated_at
		FROM queue_jobs WHERE state = 'dead' ORDER BY updated_at, seq LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeadJob
	for rows.Next() {
		var d DeadJob
		var created, died int64
		if err := rows.Scan(&d.ID, &d.Kind, &d.OutboxID, &d.Target, &d.Payload, &d.Attempts, &created, &d.Error, &died); err != nil {
			return nil, err
		}
		d.CreatedAt, d.DiedAt = time.UnixMilli(created), time.UnixMilli(died)
		d.Handle = d.ID
		out = append(out, d)
	}
	return out, rows.Err()
}

// Revive implements Queue.
func (q *SQLiteQueue) Revive(ctx context.Context, id string) error {
	now := q.now().UnixMilli()
	res, err := q.db.ExecContext(ctx, `UPDATE queue_jobs SET state = 'ready', attempts = 0, run_at = ?, leased_until = 0, created_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'`,
		now, now, now, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revive %s: %w", id, ErrNoSuchJob)
	}
	q.signal()
	return nil
}

// Purge deletes done jobs older than age.
func (q *SQLiteQueue) Purge(ctx context.Context, age time.Duration) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM queue_jobs WHERE state = 'done' AND updated_at < ?`, q.now().Add(-age).UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Stats implements Queue: ready (waiting, due or not), due, leased, dead, done.
func (q *SQLiteQueue) Stats(ctx context.Context) (map[string]int, error) {
	now := q.now().UnixMilli()
	st := map[string]int{"ready": 0, "due": 0, "leased": 0, "dead": 0, "done": 0}
	var ready, due, leased, dead, done int
	db := q.db
	if q.r != nil {
		db = q.r
	}
	err := db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN state = 'ready' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'ready' AND run_at <= ? AND leased_until <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'ready' AND leased_until > ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0)
		FROM queue_jobs`, now, now, now).Scan(&ready, &due, &leased, &dead, &done)
	if err != nil {
		return nil, err
	}
	st["ready"], st["due"], st["leased"], st["dead"], st["done"] = ready, due, leased, dead, done
	return st, nil
}
