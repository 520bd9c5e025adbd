package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"crieur/board"
)

// AddFollower stores (or refreshes) a follower of a board.
func (s *Store) AddFollower(ctx context.Context, boardID int64, f board.Follower) error {
	_, err := s.exec(ctx, `INSERT INTO followers (board_id, actor_id, inbox, shared_inbox, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (board_id, actor_id) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox`,
		boardID, f.ActorID, f.Inbox, f.SharedInbox, ms(f.CreatedAt))
	return err
}

// RemoveFollower deletes one follow; it reports whether there was one.
func (s *Store) RemoveFollower(ctx context.Context, boardID int64, actorID string) (bool, error) {
	res, err := s.exec(ctx, `DELETE FROM followers WHERE board_id = ? AND actor_id = ?`, boardID, actorID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveActor forgets a deleted remote account on every board.
func (s *Store) RemoveActor(ctx context.Context, actorID string) error {
	_, err := s.exec(ctx, `DELETE FROM followers WHERE actor_id = ?`, actorID)
	return err
}

// Followers lists a board's followers, oldest first.
func (s *Store) Followers(ctx context.Context, boardID int64) ([]board.Follower, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT actor_id, inbox, shared_inbox, created_at FROM followers WHERE board_id = ? ORDER BY created_at, actor_id`, boardID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Follower
	for rows.Next() {
		var f board.Follower
		var created int64
		if err := rows.Scan(&f.ActorID, &f.Inbox, &f.SharedInbox, &created); err != nil {
			return nil, err
		}
		f.CreatedAt = fromMS(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

// CountFollowers counts a board's followers.
func (s *Store) CountFollowers(ctx context.Context, boardID int64) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM followers WHERE board_id = ?`, boardID).Scan(&n)
	return n, err
}

// AddInteraction records a like, boost or reply once per activity id (and
// once per object id for a reply).
func (s *Store) AddInteraction(ctx context.Context, boardID, announcementID int64, in board.Interaction) error {
	if in.ObjectID != "" {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM interactions WHERE object_id = ?`, in.ObjectID).Scan(&n); err != nil || n > 0 {
			return err
		}
	}
	_, err := s.exec(ctx, `INSERT INTO interactions (board_id, announcement_id, kind, actor, activity_id, object_id, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (activity_id) DO NOTHING`, boardID, announcementID, in.Kind, in.Actor, in.ActivityID, in.ObjectID, in.Content, ms(in.CreatedAt))
	return err
}

// RemoveInteraction forgets what actor did when they undo it or delete it:
// id names the activity (an Undo of a Like) or the object (a Delete of a
// reply).
func (s *Store) RemoveInteraction(ctx context.Context, actor, id string) error {
	_, err := s.exec(ctx, `DELETE FROM interactions WHERE actor = ? AND (activity_id = ? OR object_id = ?)`, actor, id, id)
	return err
}

// ForgetInteraction removes the interaction recorded under id (an event id
// of a Matrix room, whose redaction a moderator may make as well as its
// sender).
func (s *Store) ForgetInteraction(ctx context.Context, id string) error {
	_, err := s.exec(ctx, `DELETE FROM interactions WHERE activity_id = ? OR object_id = ?`, id, id)
	return err
}

// EditInteraction replaces the text of actor's reply objectID after they
// edited it; found is false when no such reply is recorded.
func (s *Store) EditInteraction(ctx context.Context, actor, objectID, content string) (found bool, err error) {
	res, err := s.exec(ctx, `UPDATE interactions SET content = ? WHERE actor = ? AND object_id = ? AND object_id <> ''`, content, actor, objectID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Interactions lists what remote accounts did with an announcement.
func (s *Store) Interactions(ctx context.Context, announcementID int64) ([]board.Interaction, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT kind, actor, activity_id, object_id, content, created_at FROM interactions WHERE announcement_id = ? ORDER BY id`, announcementID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Interaction
	for rows.Next() {
		var in board.Interaction
		var created int64
		if err := rows.Scan(&in.Kind, &in.Actor, &in.ActivityID, &in.ObjectID, &in.Content, &created); err != nil {
			return nil, err
		}
		in.CreatedAt = fromMS(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

// AddMedia records a picture uploaded to a board (again: no change).
func (s *Store) AddMedia(ctx context.Context, boardID int64, im board.Image, now time.Time) error {
	_, err := s.exec(ctx, `INSERT OR IGNORE INTO media (board_id, name, media_type, width, height, blurhash, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		boardID, im.ID, im.MediaType, im.Width, im.Height, im.Blurhash, im.Size, ms(now))
	if err != nil {
		return fmt.Errorf("record picture: %w", err)
	}
	return nil
}

// Media returns what the store knows of a board's uploaded picture.
func (s *Store) Media(ctx context.Context, boardID int64, name string) (board.Image, error) {
	im := board.Image{ID: name}
	err := s.read().QueryRowContext(ctx, `SELECT media_type, width, height, blurhash, size FROM media WHERE board_id = ? AND name = ?`, boardID, name).
		Scan(&im.MediaType, &im.Width, &im.Height, &im.Blurhash, &im.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return im, board.ErrNotFound
	}
	return im, err
}

// board.Follower returns one follower of a board.
func (s *Store) Follower(ctx context.Context, boardID int64, actor string) (board.Follower, error) {
	var f board.Follower
	var created int64
	err := s.read().QueryRowContext(ctx, `SELECT actor_id, inbox, shared_inbox, created_at FROM followers WHERE board_id = ? AND actor_id = ?`, boardID, actor).
		Scan(&f.ActorID, &f.Inbox, &f.SharedInbox, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return f, board.ErrNotFound
	}
	f.CreatedAt = fromMS(created)
	return f, err
}

func (s *Store) AddBlock(ctx context.Context, boardID *int64, domain, actor string, now time.Time) (board.Block, error) {
	res, err := s.exec(ctx, `INSERT INTO blocks (board_id, domain, actor, created_at) VALUES (?, ?, ?, ?)`, boardID, domain, actor, ms(now))
	if err != nil {
		return board.Block{}, fmt.Errorf("store block: %w", err)
	}
	id, err := res.LastInsertId()
	return board.Block{ID: id, BoardID: boardID, Domain: domain, Actor: actor, CreatedAt: now}, err
}

// Blocks lists the blocks for board boardID and every board (nil: all).
func (s *Store) Blocks(ctx context.Context, boardID *int64) ([]board.Block, error) {
	q := `SELECT k.id, k.board_id, COALESCE(b.name, ''), k.domain, k.actor, k.created_at FROM blocks k LEFT JOIN boards b ON b.id = k.board_id`
	var args []any
	if boardID != nil {
		q += ` WHERE k.board_id IS NULL OR k.board_id = ?`
		args = append(args, *boardID)
	}
	rows, err := s.read().QueryContext(ctx, q+` ORDER BY k.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Block
	for rows.Next() {
		var k board.Block
		var bid sql.NullInt64
		var created int64
		if err := rows.Scan(&k.ID, &bid, &k.Board, &k.Domain, &k.Actor, &created); err != nil {
			return nil, err
		}
		if bid.Valid {
			k.BoardID = &bid.Int64
		}
		k.CreatedAt = fromMS(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RemoveBlock lifts block id; boardID, when set, limits it to that
// board's own blocks (a board's editors cannot lift a server-wide one).
func (s *Store) RemoveBlock(ctx context.Context, id int64, boardID *int64) error {
	q, args := `DELETE FROM blocks WHERE id = ?`, []any{id}
	if boardID != nil {
		q += ` AND board_id = ?`
		args = append(args, *boardID)
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return board.ErrNotFound
	}
	return nil
}

// Blocked reports whether raw (an actor or inbox URL) is blocked on board
// boardID (0: only server-wide blocks count).
func (s *Store) Blocked(ctx context.Context, boardID int64, raw string) (bool, error) {
	host := board.HostOf(raw)
	if host == "" {
		return false, nil
	}
	// Every suffix of the host is a domain that may be blocked.
	domains := []any{}
	for h := host; h != ""; {
		domains = append(domains, h)
		_, rest, ok := strings.Cut(h, ".")
		if !ok {
			break
		}
		h = rest
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(domains)), ",")
	args := append([]any{boardID, raw}, domains...)
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM blocks WHERE (board_id IS NULL OR board_id = ?)
		AND (actor = ? OR domain IN (`+marks+`))`, args...).Scan(&n)
	return n > 0, err
}
