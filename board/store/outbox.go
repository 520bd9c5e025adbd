package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"crieur/board"
)

// PendingOutbox returns outbox entries not yet handed to the queue, oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]board.OutboxEntry, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT id, board_id, announcement_id, verb, version, created_at, follow_up, min_gap_ms, changes FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.OutboxEntry
	for rows.Next() {
		var e board.OutboxEntry
		var created, gap int64
		var changes string
		if err := rows.Scan(&e.ID, &e.BoardID, &e.AnnouncementID, &e.Verb, &e.Version, &created, &e.FollowUp, &gap, &changes); err != nil {
			return nil, err
		}
		e.CreatedAt, e.MinGap, e.Changes = fromMS(created), time.Duration(gap)*time.Millisecond, splitChanges(changes)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CountPendingOutbox counts outbox entries not yet handed to the queue.
func (s *Store) CountPendingOutbox(ctx context.Context) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL`).Scan(&n)
	return n, err
}

// OldestPendingOutbox is when the oldest outbox row still to hand to the
// queue was written (ok false: none waits).
func (s *Store) OldestPendingOutbox(ctx context.Context) (t time.Time, ok bool, err error) {
	var v sql.NullInt64
	// Refreshes wait on purpose (a campaign's progress is spaced).
	err = s.read().QueryRowContext(ctx, `SELECT MIN(created_at) FROM outbox WHERE dispatched_at IS NULL AND verb <> 'refresh'`).Scan(&v)
	if err != nil || !v.Valid {
		return t, false, err
	}
	return fromMS(v.Int64), true, nil
}

// board.OutboxEntry returns one outbox entry.
func (s *Store) OutboxEntry(ctx context.Context, id int64) (board.OutboxEntry, error) {
	var e board.OutboxEntry
	var created int64
	var changes string
	err := s.read().QueryRowContext(ctx, `SELECT id, board_id, announcement_id, verb, version, created_at, follow_up, changes FROM outbox WHERE id = ?`, id).
		Scan(&e.ID, &e.BoardID, &e.AnnouncementID, &e.Verb, &e.Version, &created, &e.FollowUp, &changes)
	if errors.Is(err, sql.ErrNoRows) {
		return e, board.ErrNotFound
	}
	e.CreatedAt, e.Changes = fromMS(created), splitChanges(changes)
	return e, err
}

// MarkDispatched records that an outbox entry's fan-out job is queued.
func (s *Store) MarkDispatched(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, `UPDATE outbox SET dispatched_at = ? WHERE id = ?`, ms(time.Now()), id)
	return err
}

// MarkCoalesced records that an outbox entry needs no fan-out of its own
// (a refresh a later one of the same announcement replaces): nothing
// after it waits for it.
func (s *Store) MarkCoalesced(ctx context.Context, id int64) error {
	now := ms(time.Now())
	_, err := s.exec(ctx, `UPDATE outbox SET dispatched_at = ?, fanned_out_at = ? WHERE id = ?`, now, now, id)
	return err
}

// fanOutHorizon bounds how long an earlier entry's fan-out holds up the
// board's later ones. A fan-out takes milliseconds, or one lease when its
// worker died; one that keeps failing must not keep an outage warning
// from going out.
const fanOutHorizon = 5 * time.Minute

// FanOutWaits reports whether an earlier entry of the same board was
// handed to the queue but its deliveries are not written down yet. The
// order of deliveries (DeliveryOrder, CreateUndelivered,
// EarlierUndelivered) is read from those rows: an entry fanned out before
// an earlier one would find nothing to wait for.
func (s *Store) FanOutWaits(ctx context.Context, e board.OutboxEntry) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE board_id = ? AND id < ?
		AND fanned_out_at IS NULL AND dispatched_at > ?`, e.BoardID, e.ID, ms(time.Now().Add(-fanOutHorizon))).Scan(&n)
	return n > 0, err
}

// Delivered is final: a late outcome of an attempt overtaken by another (a
// worker that lost its lease, a repeat after a crash) cannot undo it.
const recordDeliverySQL = `INSERT INTO deliveries (outbox_id, target, state, attempts, last_error, updated_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (outbox_id, target) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error, updated_at = excluded.updated_at, next_attempt_at = excluded.next_attempt_at
	WHERE deliveries.state <> 'delivered'`

// RecordDelivery stores the latest state of one outbox entry at one target.
func (s *Store) RecordDelivery(ctx context.Context, r board.DeliveryRecord) error {
	_, err := s.exec(ctx, recordDeliverySQL, r.OutboxID, r.Target, r.State, r.Attempts, r.LastError, ms(time.Now()), nextAttempt(r))
	return err
}

// nextAttempt is the column's value: when a retrying delivery is tried
// again, NULL otherwise.
func nextAttempt(r board.DeliveryRecord) any {
	if r.State != board.DeliveryRetrying || r.NextAttempt.IsZero() {
		return nil
	}
	return ms(r.NextAttempt)
}

// RecordDeliveries stores several outcomes, in order, in one transaction:
// results arrive from delivery workers in batches, and one commit per
// batch instead of one per delivery keeps the store's writes few.
func (s *Store) RecordDeliveries(ctx context.Context, recs []board.DeliveryRecord) error {
	if len(recs) == 0 {
		return nil
	}
	prepared, err := s.recordDeliveryStmt(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, prepared)
	now := ms(time.Now())
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, r.OutboxID, r.Target, r.State, r.Attempts, r.LastError, now, nextAttempt(r)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *Store) recordDeliveryStmt(ctx context.Context) (*sql.Stmt, error) {
	s.recordDelivery.Lock()
	defer s.recordDelivery.Unlock()
	if s.recordDelivery.stmt == nil {
		stmt, err := s.db.PrepareContext(ctx, recordDeliverySQL)
		if err != nil {
			return nil, err
		}
		s.recordDelivery.stmt = stmt
	}
	return s.recordDelivery.stmt, nil
}

// AddPendingDeliveries writes a pending row for each destination an outbox
// entry fans out to, so work not yet tried is visible and later entries
// can wait for it; a row already there (a fan-out run again after a
// crash) keeps its state. The entry is then fanned out (FanOutWaits),
// even with no destination.
func (s *Store) AddPendingDeliveries(ctx context.Context, outboxID int64, targets []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (outbox_id, target, state, attempts, last_error, updated_at) VALUES (?, ?, 'pending', 0, '', ?)
		ON CONFLICT (outbox_id, target) DO NOTHING`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	now := ms(time.Now())
	for _, t := range targets {
		if _, err := stmt.ExecContext(ctx, outboxID, t, now); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET fanned_out_at = ? WHERE id = ? AND fanned_out_at IS NULL`, now, outboxID); err != nil {
		return err
	}
	return tx.Commit()
}

// EarlierUndelivered reports whether an earlier live announcement of the
// board still waits to reach target: a destination that shows posts in
// order (a Matrix room) sends them in order.
func (s *Store) EarlierUndelivered(ctx context.Context, boardID, announcementID int64, target string) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox o
		JOIN deliveries d ON d.outbox_id = o.id
		JOIN announcements a ON a.id = o.announcement_id
		WHERE o.board_id = ? AND o.verb = 'create' AND o.announcement_id < ? AND d.target = ?
		AND d.state IN ('pending', 'retrying') AND a.deleted_at IS NULL`, boardID, announcementID, target).Scan(&n)
	return n > 0, err
}

// CreateUndelivered reports whether the announcement's own first message
// is still on its way to target (queued, being sent or retrying): an edit
// must not overtake it.
func (s *Store) CreateUndelivered(ctx context.Context, announcementID int64, target string) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox o JOIN deliveries d ON d.outbox_id = o.id
		WHERE o.announcement_id = ? AND o.verb = 'create' AND d.target = ? AND d.state IN ('pending', 'retrying')`, announcementID, target).Scan(&n)
	return n > 0, err
}

// Deliveries lists every delivery of every version of an announcement.
func (s *Store) Deliveries(ctx context.Context, announcementID int64) ([]board.Delivery, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT d.outbox_id, o.verb, o.version, d.target, d.state, d.attempts, d.last_error, d.updated_at, d.next_attempt_at
		FROM deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE o.announcement_id = ? ORDER BY d.outbox_id, d.target`, announcementID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Delivery
	for rows.Next() {
		var d board.Delivery
		var updated int64
		var next sql.NullInt64
		if err := rows.Scan(&d.OutboxID, &d.Verb, &d.Version, &d.Target, &d.State, &d.Attempts, &d.LastError, &updated, &next); err != nil {
			return nil, err
		}
		d.UpdatedAt = fromMS(updated)
		if next.Valid && d.State == board.DeliveryRetrying {
			t := fromMS(next.Int64)
			d.NextAttemptAt = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// verbFamily groups the verbs whose activities about one announcement
// must reach a destination in order, and of which a later one carries the
// whole state (an Update has the whole object; a pin or unpin the place
// in the featured list).
func verbFamily(verb board.Verb) []string {
	switch verb {
	case board.VerbPin, board.VerbUnpin:
		return []string{string(board.VerbPin), string(board.VerbUnpin)}
	default:
		return []string{string(board.VerbCreate), string(board.VerbUpdate), string(board.VerbRefresh), string(board.VerbDelete)}
	}
}

// supersededBy lists the verbs of which a later delivered activity leaves
// nothing for verb to say. Only a Delete does for a Create: an Update
// of a post the receiver never had is dropped (Mastodon's
// app/lib/activitypub/activity/update.rb looks the status up by URI and
// returns when it has none), so the Create is still owed.
func supersededBy(verb board.Verb) []string {
	if verb == board.VerbCreate {
		return []string{string(board.VerbDelete)}
	}
	return verbFamily(verb)
}

// orderHorizon is how long an undelivered activity holds up later ones
// about the same announcement to the same destination.
const orderHorizon = 24 * time.Hour

// DeliveryOrder says where the delivery of outbox entry outboxID to
// target stands among the same announcement's other activities to that
// target: wait, while an earlier one is still to be delivered (the
// destination was down: they go in the order they were made); superseded,
// when a later one that carries the whole state already arrived
// (supersededBy): the older one has nothing left to say.
func (s *Store) DeliveryOrder(ctx context.Context, outboxID int64, target string) (wait, superseded bool, err error) {
	var annID int64
	var verb string
	if err := s.read().QueryRowContext(ctx, `SELECT announcement_id, verb FROM outbox WHERE id = ?`, outboxID).Scan(&annID, &verb); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, false, nil // not an announcement's (a direct note)
		}
		return false, false, err
	}
	// An earlier delivery untouched for a day (its job lost, its host
	// parked) holds nothing up any more: order is worth a wait, not a
	// post that never goes.
	args := []any{outboxID, ms(time.Now().Add(-orderHorizon)), outboxID}
	by := supersededBy(board.Verb(verb))
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(by)), ", ")
	for _, v := range by {
		args = append(args, v)
	}
	args = append(args, annID, target)
	var earlier, later int
	err = s.read().QueryRowContext(ctx, `SELECT
		COALESCE(SUM(d.outbox_id < ? AND d.state IN ('pending', 'retrying') AND d.updated_at > ?), 0),
		COALESCE(SUM(d.outbox_id > ? AND d.state = 'delivered' AND o.verb IN (`+marks+`)), 0)
		FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
		WHERE o.announcement_id = ? AND d.target = ?`, args...).Scan(&earlier, &later)
	return earlier > 0, later > 0, err
}

// splitChanges reads the outbox's changes column (fact keys, comma-separated).
func splitChanges(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
