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

type details struct {
	Event  *board.Event  `json:"event,omitempty"`
	Call   *board.Call   `json:"call,omitempty"`
	Outage *board.Outage `json:"outage,omitempty"`
	// PublishZone and ExpiresZone are the offsets (seconds east of UTC)
	// publish_at and expires_at were written in.
	Campaign    *board.Campaign `json:"campaign,omitempty"`
	Training    *board.Training `json:"training,omitempty"`
	PublishZone int             `json:"publish_zone,omitempty"`
	ExpiresZone int             `json:"expires_zone,omitempty"`
	Images      []board.Image   `json:"images,omitempty"`
	// PendingEdit waits for a second publisher (board.Announcement).
	PendingEdit *board.Draft `json:"pending_edit,omitempty"`
}

const annCols = `a.id, b.name, a.kind, a.title, a.body, a.body_html, a.tags, a.content_warning, a.language, a.details, a.version, a.created_at, a.updated_at, a.deleted_at, a.pinned_at, a.status, a.publish_at, a.expires_at, a.requested_by`

func scanAnnouncement(row interface{ Scan(...any) error }) (board.Announcement, error) {
	var a board.Announcement
	var tags, det string
	var created, updated int64
	var deleted, pinned, publishAt, expiresAt, requestedBy sql.NullInt64
	err := row.Scan(&a.ID, &a.Board, &a.Kind, &a.Title, &a.Body, &a.HTML, &tags, &a.ContentWarning, &a.Language, &det, &a.Version, &created, &updated, &deleted, &pinned,
		&a.Status, &publishAt, &expiresAt, &requestedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return a, board.ErrNotFound
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return a, fmt.Errorf("announcement %d tags: %w", a.ID, err)
	}
	var d details
	if err := json.Unmarshal([]byte(det), &d); err != nil {
		return a, fmt.Errorf("announcement %d details: %w", a.ID, err)
	}
	a.Event, a.Call, a.Outage, a.Campaign, a.Training, a.Images = d.Event, d.Call, d.Outage, d.Campaign, d.Training, d.Images
	a.PendingEdit = d.PendingEdit
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	a.Pinned = pinned.Valid
	if requestedBy.Valid {
		a.RequestedBy = &requestedBy.Int64
	}
	a.PublishAt, a.ExpiresAt = nullTime(publishAt, d.PublishZone), nullTime(expiresAt, d.ExpiresZone)
	if deleted.Valid {
		t := fromMS(deleted.Int64)
		a.DeletedAt = &t
	}
	return a, nil
}

func encodeAnnouncement(a *board.Announcement) (tags, det string, err error) {
	t := a.Tags
	if t == nil {
		t = []string{}
	}
	tb, err := json.Marshal(t)
	if err != nil {
		return "", "", err
	}
	call := a.Call
	if call != nil && call.Taken != nil {
		c := *call
		c.Taken, c.Voters = nil, 0 // counted from the sign-ups, never stored
		call = &c
	}
	// The instants have columns of their own (the scheduler looks them
	// up); the offsets they were written in live with the details.
	db, err := json.Marshal(details{Event: a.Event, Call: call, Outage: a.Outage, Campaign: a.Campaign, Training: a.Training, PublishZone: zoneOf(a.PublishAt), ExpiresZone: zoneOf(a.ExpiresAt), Images: a.Images,
		PendingEdit: a.PendingEdit})
	return string(tb), string(db), err
}

// zoneOf is the UTC offset t was written in, in seconds.
func zoneOf(t *time.Time) int {
	if t == nil {
		return 0
	}
	_, off := t.Zone()
	return off
}

// nullTime reads an instant column back in the offset it was written in.
func nullTime(v sql.NullInt64, offset int) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	if offset != 0 {
		t = t.In(time.FixedZone("", offset))
	}
	return &t
}

func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}

// board.Announcement returns one announcement of a board, deleted ones included
// (their pages answer 410).
func (s *Store) Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error) {
	a, err := scanAnnouncement(s.read().QueryRowContext(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id WHERE a.board_id = ? AND a.id = ?`, boardID, id))
	if err != nil {
		return a, err
	}
	return s.WithCounts(ctx, a)
}

// Announcements lists a board's published announcements (not drafts,
// scheduled or expired ones), newest first, at most
// limit of them with ids below before (0: from the newest).
func (s *Store) Announcements(ctx context.Context, boardID int64, before int64, limit int) ([]board.Announcement, error) {
	return s.AnnouncementsTagged(ctx, boardID, "", before, limit)
}

// SearchAnnouncements lists a board's announcements, drafts, scheduled
// and expired ones included, whose title or text contains q (any case),
// newest first, below id before (0: from the newest). For editors looking
// for one to edit.
func (s *Store) SearchAnnouncements(ctx context.Context, boardID int64, q string, before int64, limit int) ([]board.Announcement, error) {
	if before <= 0 {
		before = 1 << 62
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q) + "%"
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.deleted_at IS NULL AND a.id < ? AND (a.title LIKE ? ESCAPE '\' OR a.body LIKE ? ESCAPE '\')
		ORDER BY a.id DESC LIMIT ?`, boardID, before, like, like, limit)
}

// AnnouncementsTagged is Announcements limited to those carrying tag
// (any case; "" for all).
func (s *Store) AnnouncementsTagged(ctx context.Context, boardID int64, tag string, before int64, limit int) ([]board.Announcement, error) {
	if before <= 0 {
		before = 1 << 62
	}
	if tag == "" {
		return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
			WHERE a.board_id = ? AND a.deleted_at IS NULL AND a.status = 'published' AND a.id < ? ORDER BY a.id DESC LIMIT ?`, boardID, before, limit)
	}
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcement_tags t
		JOIN announcements a ON a.id = t.announcement_id JOIN boards b ON b.id = a.board_id
		WHERE t.board_id = ? AND t.tag = ? AND t.announcement_id < ? AND a.deleted_at IS NULL AND a.status = 'published'
		ORDER BY t.announcement_id DESC LIMIT ?`, boardID, strings.ToLower(tag), before, limit)
}

// AnnouncementsOfKinds is Announcements limited to some kinds.
func (s *Store) AnnouncementsOfKinds(ctx context.Context, boardID int64, kinds []board.Kind, before int64, limit int) ([]board.Announcement, error) {
	if before <= 0 {
		before = 1 << 62
	}
	list, err := json.Marshal(kinds)
	if err != nil {
		return nil, err
	}
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind IN (SELECT value FROM json_each(?)) AND a.deleted_at IS NULL AND a.status = 'published' AND a.id < ?
		ORDER BY a.id DESC LIMIT ?`, boardID, string(list), before, limit)
}

// writeTags replaces the tag rows of announcement id.
func writeTags(ctx context.Context, tx *sql.Tx, boardID, id int64, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM announcement_tags WHERE announcement_id = ?`, id); err != nil {
		return fmt.Errorf("write tags: %w", err)
	}
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO announcement_tags (board_id, tag, announcement_id) VALUES (?, ?, ?)`, boardID, strings.ToLower(t), id); err != nil {
			return fmt.Errorf("write tags: %w", err)
		}
	}
	return nil
}

// CountAnnouncements counts a board's published announcements (0 boardID: all boards).
func (s *Store) CountAnnouncements(ctx context.Context, boardID int64) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM announcements WHERE deleted_at IS NULL AND status = 'published' AND (? = 0 OR board_id = ?)`, boardID, boardID).Scan(&n)
	return n, err
}

// Due lists scheduled announcements whose time has come and
// published ones past their expiry, oldest first.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]board.Due, error) {
	return s.queryDue(ctx, `SELECT board_id, id FROM announcements WHERE deleted_at IS NULL AND
		((status = 'scheduled' AND publish_at <= ?) OR (status = 'published' AND expires_at <= ?)) ORDER BY id LIMIT ?`, ms(now), ms(now), limit)
}

// queryDue runs a query of (board_id, id) rows.
func (s *Store) queryDue(ctx context.Context, query string, args ...any) ([]board.Due, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Due
	for rows.Next() {
		var d board.Due
		if err := rows.Scan(&d.BoardID, &d.ID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDue is the earliest time the scheduler has something to do (ok
// false: nothing is scheduled or due to expire).
func (s *Store) NextDue(ctx context.Context) (t time.Time, ok bool, err error) {
	var v sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT MIN(t) FROM (
		SELECT MIN(publish_at) AS t FROM announcements WHERE deleted_at IS NULL AND status = 'scheduled'
		UNION ALL SELECT MIN(expires_at) FROM announcements WHERE deleted_at IS NULL AND status = 'published')`).Scan(&v)
	if err != nil || !v.Valid {
		return t, false, err
	}
	return fromMS(v.Int64), true, nil
}

// Pinned lists a board's pinned live announcements, most recently pinned first.
func (s *Store) Pinned(ctx context.Context, boardID int64) ([]board.Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.deleted_at IS NULL AND a.status = 'published' AND a.pinned_at IS NOT NULL ORDER BY a.pinned_at DESC LIMIT 20`, boardID)
}

func (s *Store) queryAnnouncements(ctx context.Context, query string, args ...any) ([]board.Announcement, error) {
	rows, err := s.read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Announcement
	for rows.Next() {
		a, err := scanAnnouncement(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		if out[i], err = s.WithCounts(ctx, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunningCampaigns lists the published campaigns of every board, for the
// pollers that read their totals from a donation platform.
func (s *Store) RunningCampaigns(ctx context.Context) ([]board.Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.kind = 'campaign' AND a.status = 'published' AND a.deleted_at IS NULL ORDER BY a.id`)
}

// Outages lists a board's published outage notices, newest announced
// first. Like every public list it leaves out drafts, scheduled and
// expired notices: its callers are public pages and documents.
func (s *Store) Outages(ctx context.Context, boardID int64, limit int) ([]board.Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind = 'outage' AND a.deleted_at IS NULL AND a.status = 'published' ORDER BY a.id DESC LIMIT ?`, boardID, limit)
}

// Events lists a board's published events and trainings, newest announced
// first (not drafts: the calendar feed serves this list as it is).
func (s *Store) Events(ctx context.Context, boardID int64, limit int) ([]board.Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind IN ('event', 'training') AND a.deleted_at IS NULL AND a.status = 'published' ORDER BY a.id DESC LIMIT ?`, boardID, limit)
}

// TrainingsToRemind lists, in one query, the published trainings that
// asked for a reminder and are not cancelled (reminderDue says which
// still need it).
func (s *Store) CallsWithDeadline(ctx context.Context) ([]board.Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.kind IN ('call', 'training') AND a.status = 'published' AND a.deleted_at IS NULL
		AND json_extract(a.details, '$.call.deadline') IS NOT NULL AND NOT coalesce(json_extract(a.details, '$.call.closed'), 0)`)
}

func (s *Store) TrainingsToRemind(ctx context.Context) ([]board.Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.kind = 'training' AND a.status = 'published' AND a.deleted_at IS NULL
		AND json_extract(a.details, '$.training.reminder') AND NOT coalesce(json_extract(a.details, '$.training.cancelled'), 0)`)
}

// KeyUsed says whether key (a form's, an API request's) already created
// an announcement on the board.
func (s *Store) KeyUsed(ctx context.Context, boardID int64, key string) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM idempotency_keys WHERE board_id = ? AND idem_key = ?`, boardID, key).Scan(&n)
	return n > 0, err
}
