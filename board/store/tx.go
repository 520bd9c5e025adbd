package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"crieur/board"
)

// InTx runs fn in one transaction on the writer connection: what fn writes
// through its board.Tx is committed together, or not at all when fn
// returns an error.
func (s *Store) InTx(ctx context.Context, fn func(board.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(txStore{tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.wrote()
	return nil
}

// txStore is the store inside one transaction: board.Tx.
type txStore struct{ tx *sql.Tx }

var (
	_ board.Tx         = txStore{}
	_ board.Repository = (*Store)(nil)
)

// Announcement reads an announcement inside a transaction that will
// change it (without counts).
func (t txStore) Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error) {
	return scanAnnouncement(t.tx.QueryRowContext(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id WHERE a.board_id = ? AND a.id = ?`, boardID, id))
}

func (t txStore) IdempotencyKey(ctx context.Context, boardID int64, key string) (annID int64, requestHash string, err error) {
	err = t.tx.QueryRowContext(ctx, `SELECT announcement_id, request_hash FROM idempotency_keys WHERE board_id = ? AND idem_key = ?`, boardID, key).Scan(&annID, &requestHash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", board.ErrNotFound
	}
	return annID, requestHash, err
}

func (t txStore) AddIdempotencyKey(ctx context.Context, boardID int64, key, requestHash string, annID int64, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (board_id, idem_key, request_hash, announcement_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		boardID, key, requestHash, annID, ms(at)); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

func (t txStore) InsertAnnouncement(ctx context.Context, boardID int64, a *board.Announcement) error {
	tags, det, err := encodeAnnouncement(a)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO announcements (board_id, kind, title, body, body_html, tags, content_warning, language, details, version, created_at, updated_at,
		status, publish_at, expires_at, requested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		boardID, a.Kind, a.Title, a.Body, a.HTML, tags, a.ContentWarning, a.Language, det, a.Version, ms(a.CreatedAt), ms(a.UpdatedAt),
		a.Status, nullMS(a.PublishAt), nullMS(a.ExpiresAt), a.RequestedBy)
	if err != nil {
		return fmt.Errorf("insert announcement: %w", err)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	return writeTags(ctx, t.tx, boardID, a.ID, a.Tags)
}

func (t txStore) UpdateAnnouncement(ctx context.Context, boardID int64, a *board.Announcement, prevVersion int, prevUpdated time.Time) error {
	tags, det, err := encodeAnnouncement(a)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE announcements SET kind = ?, title = ?, body = ?, body_html = ?, tags = ?, content_warning = ?, language = ?, details = ?, version = ?,
		created_at = ?, updated_at = ?, status = ?, publish_at = ?, expires_at = ?, requested_by = ?
		WHERE board_id = ? AND id = ? AND version = ? AND updated_at = ? AND deleted_at IS NULL`,
		a.Kind, a.Title, a.Body, a.HTML, tags, a.ContentWarning, a.Language, det, a.Version, ms(a.CreatedAt), ms(a.UpdatedAt),
		a.Status, nullMS(a.PublishAt), nullMS(a.ExpiresAt), a.RequestedBy, boardID, a.ID, prevVersion, ms(prevUpdated))
	if err != nil {
		return fmt.Errorf("update announcement: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("announcement %d changed while it was being edited; try again: %w", a.ID, board.ErrNotFound)
	}
	return writeTags(ctx, t.tx, boardID, a.ID, a.Tags)
}

func (t txStore) SaveDetails(ctx context.Context, a board.Announcement) error {
	_, det, err := encodeAnnouncement(&a)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `UPDATE announcements SET details = ? WHERE id = ?`, det, a.ID)
	return err
}

func (t txStore) MarkDeleted(ctx context.Context, id int64, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE announcements SET deleted_at = ?, updated_at = ?, pinned_at = NULL WHERE id = ?`, ms(at), ms(at), id); err != nil {
		return fmt.Errorf("delete announcement: %w", err)
	}
	return nil
}

func (t txStore) SetPinned(ctx context.Context, id int64, pinned bool, at time.Time) error {
	var v any
	if pinned {
		v = ms(at)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE announcements SET pinned_at = ? WHERE id = ?`, v, id); err != nil {
		return fmt.Errorf("pin announcement: %w", err)
	}
	return nil
}

func (t txStore) AddOutbox(ctx context.Context, e board.OutboxEntry) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO outbox (board_id, announcement_id, verb, version, created_at, follow_up, min_gap_ms, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.BoardID, e.AnnouncementID, e.Verb, e.Version, ms(e.CreatedAt), e.FollowUp, e.MinGap.Milliseconds(), strings.Join(e.Changes, ","))
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}

func (t txStore) SignupsOf(ctx context.Context, annID int64, p board.Person) ([]board.Signup, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+signupCols+` FROM signups WHERE announcement_id = ? AND person_kind = ? AND person = ? ORDER BY id`, annID, p.Kind, p.ID)
	if err != nil {
		return nil, err
	}
	return scanSignups(rows)
}

func (t txStore) SignupsOfKind(ctx context.Context, annID int64, kind string) ([]board.Signup, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+signupCols+` FROM signups WHERE announcement_id = ? AND person_kind = ? ORDER BY id`, annID, kind)
	if err != nil {
		return nil, err
	}
	return scanSignups(rows)
}

func (t txStore) CountSignups(ctx context.Context, annID int64, role, state string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM signups WHERE announcement_id = ? AND role = ? AND state = ?`, annID, role, state).Scan(&n)
	return n, err
}

func (t txStore) AddSignup(ctx context.Context, boardID int64, su board.Signup, tokenHash string) error {
	p := su.Person
	_, err := t.tx.ExecContext(ctx, `INSERT INTO signups (board_id, announcement_id, role, person_kind, person, name, contact, lang, state, withdraw_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		boardID, su.AnnouncementID, su.Role, p.Kind, p.ID, p.Name, p.Contact, p.Lang, su.State, tokenHash, ms(su.CreatedAt), ms(su.UpdatedAt))
	if err != nil {
		return fmt.Errorf("record sign-up: %w", err)
	}
	return nil
}

func (t txStore) SetSignupState(ctx context.Context, id int64, state string, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE signups SET state = ?, updated_at = ? WHERE id = ?`, state, ms(at), id)
	return err
}

func (t txStore) FirstWaiting(ctx context.Context, annID int64, role string) (board.Signup, bool, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+signupCols+` FROM signups WHERE announcement_id = ? AND role = ? AND state = 'waiting' ORDER BY created_at, id LIMIT 1`, annID, role)
	if err != nil {
		return board.Signup{}, false, err
	}
	next, err := scanSignups(rows)
	if err != nil || len(next) == 0 {
		return board.Signup{}, false, err
	}
	return next[0], true, nil
}

func (t txStore) AnswerSeen(ctx context.Context, origin string, annID int64, p board.Person) (bool, time.Time, error) {
	var seen int
	var latest sql.NullInt64
	err := t.tx.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM answers WHERE origin = ?),
		(SELECT MAX(given_at) FROM answers WHERE announcement_id = ? AND person_kind = ? AND person = ?)`,
		origin, annID, p.Kind, p.ID).Scan(&seen, &latest)
	if err != nil || !latest.Valid {
		return seen > 0, time.Time{}, err
	}
	return seen > 0, time.UnixMilli(latest.Int64), nil
}

func (t txStore) AddAnswer(ctx context.Context, a board.Answer) error {
	roles, err := json.Marshal(a.Roles)
	if err != nil {
		return err
	}
	result, err := json.Marshal(a.Result)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO answers (origin, board_id, announcement_id, person_kind, person, person_name, roles, given_at, outcome, recorded_at, why, result)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.BoardID, a.AnnouncementID, a.Person.Kind, a.Person.ID, a.Person.Name, string(roles), ms(a.At), a.Outcome, ms(a.RecordedAt), a.Why, string(result))
	if err != nil {
		return fmt.Errorf("record an answer: %w", err)
	}
	return nil
}
