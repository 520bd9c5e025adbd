package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"crieur/board"
)

const relayColumns = `id, board_id, url, inbox, actor, follow_id, state, created_at, updated_at`

func scanRelay(sc interface{ Scan(...any) error }) (board.Relay, error) {
	var r board.Relay
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.BoardID, &r.URL, &r.Inbox, &r.Actor, &r.FollowID, &r.State, &created, &updated); err != nil {
		return r, err
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, nil
}

// SubscribeRelay records r as pending under its new Follow id. Subscribing
// again to a relay the board already has starts over with the new Follow,
// as Mastodon's Relay#enable! does: the old Follow's answer no longer
// counts.
func (s *Store) SubscribeRelay(ctx context.Context, r board.Relay) (board.Relay, error) {
	now := ms(r.UpdatedAt)
	err := s.db.QueryRowContext(ctx, `INSERT INTO relays (board_id, url, inbox, actor, follow_id, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (board_id, url) DO UPDATE SET inbox = excluded.inbox, actor = excluded.actor,
			follow_id = excluded.follow_id, state = excluded.state, updated_at = excluded.updated_at
		RETURNING id`,
		r.BoardID, r.URL, r.Inbox, r.Actor, r.FollowID, board.RelayPending, ms(r.CreatedAt), now).Scan(&r.ID)
	if err != nil {
		return board.Relay{}, fmt.Errorf("store relay: %w", err)
	}
	return s.Relay(ctx, r.BoardID, r.ID)
}

// Relays lists a board's relays, oldest first.
func (s *Store) Relays(ctx context.Context, boardID int64) ([]board.Relay, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+relayColumns+` FROM relays WHERE board_id = ? ORDER BY id`, boardID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Relay
	for rows.Next() {
		r, err := scanRelay(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Relay returns one of a board's relays; board.ErrNotFound when it has
// no relay by that id.
func (s *Store) Relay(ctx context.Context, boardID, id int64) (board.Relay, error) {
	r, err := scanRelay(s.db.QueryRowContext(ctx, `SELECT `+relayColumns+` FROM relays WHERE board_id = ? AND id = ?`, boardID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, board.ErrNotFound
	}
	return r, err
}

// RelayByFollow returns the relay whose subscription is the Follow
// followID; board.ErrNotFound when no relay is (any longer) subscribed
// with it.
func (s *Store) RelayByFollow(ctx context.Context, followID string) (board.Relay, error) {
	r, err := scanRelay(s.db.QueryRowContext(ctx, `SELECT `+relayColumns+` FROM relays WHERE follow_id = ?`, followID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, board.ErrNotFound
	}
	return r, err
}

// SetRelayState records the relay's answer (and who gave it, for a
// relay known by its inbox only).
func (s *Store) SetRelayState(ctx context.Context, id int64, state, actor string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE relays SET state = ?, actor = CASE WHEN actor = '' THEN ? ELSE actor END, updated_at = ? WHERE id = ?`,
		state, actor, ms(now), id)
	return err
}

// RemoveRelay forgets one of a board's relays.
func (s *Store) RemoveRelay(ctx context.Context, boardID, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM relays WHERE board_id = ? AND id = ?`, boardID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return board.ErrNotFound
	}
	return nil
}

// IsRelayActor reports whether actor answered for, or is, a relay some
// board subscribes to.
func (s *Store) IsRelayActor(ctx context.Context, actor string) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM relays WHERE actor = ? AND state = ?`, actor, board.RelayAccepted).Scan(&n)
	return n > 0, err
}
