package board

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, one static binary
)

// Store keeps everything Crieur knows in one SQLite file. The SQL is kept
// portable (no SQLite-only types) so a PostgreSQL store can follow.
type Store struct {
	db *sql.DB // the one writer connection
	r  *sql.DB // readers: on WAL, reads never wait behind the writer
}

// UseReader makes the store read through r, a pool of read-only
// connections to the same file (OpenReadDB), so that pages and counts are
// not queued behind a fan-out's writes on the single writer connection.
func (s *Store) UseReader(r *sql.DB) { s.r = r }

func (s *Store) read() *sql.DB {
	if s.r != nil {
		return s.r
	}
	return s.db
}

// OpenDB opens (creating if needed) the SQLite file at path, tuned for one
// writer process: WAL so readers never block, a busy timeout instead of
// SQLITE_BUSY errors.
func OpenDB(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection serialises writers in-process, which SQLite needs
	// anyway, and keeps the busy timeout for other processes (the CLI).
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// OpenReadDB opens a pool of read-only connections to the SQLite file at
// path, which OpenDB made (and put in WAL mode).
func OpenReadDB(path string, conns int) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// NewStore migrates db and returns a store on it.
func NewStore(ctx context.Context, db *sql.DB) (*Store, error) {
	for i, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("migrate store (statement %d): %w", i, err)
		}
	}
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// migrations change the schema of a store made by an earlier release, in
// order; PRAGMA user_version counts those already applied. Append only:
// a released step never changes.
var migrations = []string{
	// 1: pinned announcements (the actor's featured collection).
	`ALTER TABLE announcements ADD COLUMN pinned_at BIGINT`,
	// 2: a reply is known by its object's id (what Update and Delete name),
	// the Create's id kept aside.
	`ALTER TABLE interactions ADD COLUMN object_id TEXT NOT NULL DEFAULT ''`,
	`CREATE INDEX IF NOT EXISTS interactions_object ON interactions(object_id) WHERE object_id <> ''`,
	// 4: deliveries still to make to one destination (a room's order).
	`CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries(target, state) WHERE state IN ('pending', 'retrying')`,
	// 5, 6: tags in a table of their own, so ?tag= is an exact, indexed
	// look-up (a LIKE over the JSON list took _ and % as wildcards and
	// read every row).
	`CREATE TABLE IF NOT EXISTS announcement_tags (
		board_id BIGINT NOT NULL,
		tag TEXT NOT NULL,
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		PRIMARY KEY (board_id, tag, announcement_id))`,
	`INSERT OR IGNORE INTO announcement_tags (board_id, tag, announcement_id)
		SELECT a.board_id, LOWER(j.value), a.id FROM announcements a, json_each(a.tags) j`,
	// 7, 8: when a token was last used, and until when it is valid.
	`ALTER TABLE tokens ADD COLUMN last_used_at BIGINT`,
	`ALTER TABLE tokens ADD COLUMN expires_at BIGINT`,
	// 9: blocked domains and accounts, per board or server-wide (NULL).
	`CREATE TABLE IF NOT EXISTS blocks (
		id INTEGER PRIMARY KEY,
		board_id BIGINT REFERENCES boards(id),
		domain TEXT NOT NULL,
		actor TEXT NOT NULL,
		created_at BIGINT NOT NULL)`,
	// 10: answers to calls for volunteers, one per person and role.
	`CREATE TABLE IF NOT EXISTS signups (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		role TEXT NOT NULL,
		person_kind TEXT NOT NULL,
		person TEXT NOT NULL,
		name TEXT NOT NULL,
		contact TEXT NOT NULL,
		state TEXT NOT NULL,
		withdraw_hash TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		UNIQUE (announcement_id, role, person_kind, person))`,
	`CREATE INDEX IF NOT EXISTS signups_role ON signups(announcement_id, role, state)`,
	// 12: a board's language: its pages' default (en, fr).
	`ALTER TABLE boards ADD COLUMN language TEXT NOT NULL DEFAULT ''`,
	// 13: a board's time zone (IANA name) for its calendars.
	`ALTER TABLE boards ADD COLUMN time_zone TEXT NOT NULL DEFAULT ''`,
	// 14-17: drafts, scheduled publication and expiry; the index serves
	// the scheduler's "what is due next".
	`ALTER TABLE announcements ADD COLUMN status TEXT NOT NULL DEFAULT 'published'`,
	`ALTER TABLE announcements ADD COLUMN publish_at BIGINT`,
	`ALTER TABLE announcements ADD COLUMN expires_at BIGINT`,
	`CREATE INDEX IF NOT EXISTS announcements_due ON announcements(status, publish_at, expires_at)`,
	// 18: pictures uploaded to a board (the files are in the media folder).
	`CREATE TABLE IF NOT EXISTS media (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		name TEXT NOT NULL,
		media_type TEXT NOT NULL,
		width INTEGER NOT NULL,
		height INTEGER NOT NULL,
		blurhash TEXT NOT NULL,
		size INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, name))`,
	// 19-21: who may publish. A token's role (publisher or editor); a
	// board's rule that a second publisher approves each publication; who
	// asked for an announcement awaiting that approval.
	`ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'publisher'`,
	`ALTER TABLE boards ADD COLUMN approval INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE announcements ADD COLUMN requested_by BIGINT`,
	// 22: an edit the editor wants announced where messages cannot be
	// edited (a Mattermost channel, a mailing list): a short follow-up.
	`ALTER TABLE outbox ADD COLUMN follow_up INTEGER NOT NULL DEFAULT 0`,
	// 23: the least time between two refreshes of an announcement (a
	// campaign's progress: not one Update per gift).
	`ALTER TABLE outbox ADD COLUMN min_gap_ms BIGINT NOT NULL DEFAULT 0`,
}

func migrate(ctx context.Context, db *sql.DB) error {
	var done int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&done); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for i := done; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate store to version %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate store to version %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate store to version %d: %w", i+1, err)
		}
	}
	return nil
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS boards (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		display_name TEXT NOT NULL,
		summary TEXT NOT NULL DEFAULT '',
		private_key_pem TEXT NOT NULL,
		public_key_pem TEXT NOT NULL,
		created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tokens (
		id INTEGER PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		board_id BIGINT REFERENCES boards(id),
		label TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS announcements (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		kind TEXT NOT NULL,
		title TEXT NOT NULL,
		body TEXT NOT NULL,
		body_html TEXT NOT NULL,
		tags TEXT NOT NULL,
		content_warning TEXT NOT NULL,
		language TEXT NOT NULL,
		details TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		deleted_at BIGINT)`,
	`CREATE INDEX IF NOT EXISTS announcements_board ON announcements(board_id, id)`,
	`CREATE TABLE IF NOT EXISTS outbox (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		verb TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		dispatched_at BIGINT)`,
	`CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(dispatched_at, id)`,
	`CREATE TABLE IF NOT EXISTS idempotency_keys (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		idem_key TEXT NOT NULL,
		request_hash TEXT NOT NULL,
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		created_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, idem_key))`,
	`CREATE TABLE IF NOT EXISTS followers (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		actor_id TEXT NOT NULL,
		inbox TEXT NOT NULL,
		shared_inbox TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, actor_id))`,
	`CREATE TABLE IF NOT EXISTS deliveries (
		outbox_id BIGINT NOT NULL,
		target TEXT NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		last_error TEXT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (outbox_id, target))`,
	`CREATE TABLE IF NOT EXISTS sessions (
		hash TEXT PRIMARY KEY,
		token_id BIGINT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
		expires_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS interactions (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		kind TEXT NOT NULL,
		actor TEXT NOT NULL,
		activity_id TEXT NOT NULL UNIQUE,
		content TEXT NOT NULL,
		created_at BIGINT NOT NULL)`,
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// CreateBoard stores a new board with its key pair.
func (s *Store) CreateBoard(ctx context.Context, b Board) (Board, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO boards (name, display_name, summary, private_key_pem, public_key_pem, created_at, time_zone) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.Name, b.DisplayName, b.Summary, b.PrivateKeyPEM, b.PublicKeyPEM, ms(b.CreatedAt), b.TimeZone)
	if err != nil {
		return b, fmt.Errorf("create board %q: %w", b.Name, err)
	}
	b.ID, err = res.LastInsertId()
	return b, err
}

const boardCols = `id, name, display_name, summary, private_key_pem, public_key_pem, created_at, language, time_zone, approval`

func scanBoard(row interface{ Scan(...any) error }) (Board, error) {
	var b Board
	var created int64
	err := row.Scan(&b.ID, &b.Name, &b.DisplayName, &b.Summary, &b.PrivateKeyPEM, &b.PublicKeyPEM, &created, &b.Language, &b.TimeZone, &b.Approval)
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	b.CreatedAt = fromMS(created)
	return b, err
}

// BoardByName returns the board called name, or ErrNotFound.
func (s *Store) BoardByName(ctx context.Context, name string) (Board, error) {
	return scanBoard(s.read().QueryRowContext(ctx, `SELECT `+boardCols+` FROM boards WHERE name = ?`, name))
}

// UpdateBoard saves a board's display name, summary, language and zone.
func (s *Store) UpdateBoard(ctx context.Context, b Board) error {
	res, err := s.db.ExecContext(ctx, `UPDATE boards SET display_name = ?, summary = ?, language = ?, time_zone = ?, approval = ? WHERE id = ?`,
		b.DisplayName, b.Summary, b.Language, b.TimeZone, b.Approval, b.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// BoardByID returns the board with id, or ErrNotFound.
func (s *Store) BoardByID(ctx context.Context, id int64) (Board, error) {
	return scanBoard(s.read().QueryRowContext(ctx, `SELECT `+boardCols+` FROM boards WHERE id = ?`, id))
}

// Boards lists every board by name.
func (s *Store) Boards(ctx context.Context) ([]Board, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+boardCols+` FROM boards ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Board
	for rows.Next() {
		b, err := scanBoard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Token is an admin credential; BoardID nil means every board.
type Token struct {
	ID         int64      `json:"id"`
	BoardID    *int64     `json:"-"`
	Board      string     `json:"board,omitempty"` // its board's name; empty: every board
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// Role is what the token may do: RolePublisher or RoleEditor.
	Role string `json:"role"`
}

// The roles of a token.
const (
	// RolePublisher writes, publishes, edits and deletes.
	RolePublisher = "publisher"
	// RoleEditor writes drafts, which a publisher publishes.
	RoleEditor = "editor"
)

// ErrTokenExpired is returned for a token past its expiry.
var ErrTokenExpired = errors.New("this token has expired; ask for a new one ('crieur token create')")

func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a new admin token and returns its only plain copy.
func (s *Store) CreateToken(ctx context.Context, boardID *int64, label string) (string, error) {
	plain, _, err := s.CreateTokenUntil(ctx, boardID, label, nil, RolePublisher)
	return plain, err
}

// CreateTokenUntil makes a token valid until expires (nil: until revoked)
// and returns its only plain copy and its id.
func (s *Store) CreateTokenUntil(ctx context.Context, boardID *int64, label string, expires *time.Time, role string) (string, int64, error) {
	if role != RolePublisher && role != RoleEditor {
		return "", 0, &ValidationError{Fields: map[string]string{"role": "a token is a publisher's (publishes) or an editor's (writes drafts)"}, What: "token"}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", 0, err
	}
	plain := "crieur_" + base64.RawURLEncoding.EncodeToString(raw)
	var exp any
	if expires != nil {
		exp = ms(*expires)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO tokens (hash, board_id, label, created_at, expires_at, role) VALUES (?, ?, ?, ?, ?, ?)`,
		hashToken(plain), boardID, label, ms(time.Now()), exp, role)
	if err != nil {
		return "", 0, fmt.Errorf("store token: %w", err)
	}
	id, err := res.LastInsertId()
	return plain, id, err
}

// Tokens lists every token (never their secrets), oldest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT t.id, t.board_id, COALESCE(b.name, ''), t.label, t.created_at, t.last_used_at, t.expires_at, t.role
		FROM tokens t LEFT JOIN boards b ON b.id = t.board_id ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var boardID, used, expires sql.NullInt64
		var created int64
		if err := rows.Scan(&t.ID, &boardID, &t.Board, &t.Label, &created, &used, &expires, &t.Role); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMS(created)
		if boardID.Valid {
			t.BoardID = &boardID.Int64
		}
		if used.Valid {
			u := fromMS(used.Int64)
			t.LastUsedAt = &u
		}
		if expires.Valid {
			e := fromMS(expires.Int64)
			t.ExpiresAt = &e
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes token id; its editor sessions end with it.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_id = ?`, id); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return tx.Commit()
}

// CountTokens tells whether anyone can administer the server yet.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n)
	return n, err
}

// Authenticate finds the token matching plain, or ErrNotFound.
func (s *Store) Authenticate(ctx context.Context, plain string) (Token, error) {
	want := hashToken(plain)
	var t Token
	var hash string
	var boardID, used, expires sql.NullInt64
	err := s.read().QueryRowContext(ctx, `SELECT id, hash, board_id, label, last_used_at, expires_at, role FROM tokens WHERE hash = ?`, want).
		Scan(&t.ID, &hash, &boardID, &t.Label, &used, &expires, &t.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	// The lookup is by hash, so this compare is belt and braces against a
	// collation surprise, done in constant time as the design asks.
	if subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 {
		return t, ErrNotFound
	}
	now := time.Now()
	if expires.Valid && now.UnixMilli() >= expires.Int64 {
		return t, ErrTokenExpired
	}
	if boardID.Valid {
		t.BoardID = &boardID.Int64
	}
	// Last use, at most once a minute: one write per request would put
	// every API call behind the delivery workers' writes.
	if !used.Valid || now.UnixMilli()-used.Int64 > time.Minute.Milliseconds() {
		if _, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, ms(now), t.ID); err != nil {
			return t, err
		}
	}
	return t, nil
}

// CreateSession opens a web session for a token and returns its only
// plain copy (the cookie value); the store keeps a hash.
func (s *Store) CreateSession(ctx context.Context, tokenID int64, ttl time.Duration) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	plain := base64.RawURLEncoding.EncodeToString(raw)
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, token_id, expires_at) VALUES (?, ?, ?)`, hashToken(plain), tokenID, ms(time.Now().Add(ttl)))
	return plain, err
}

// SessionToken returns the token behind a live session, or ErrNotFound.
func (s *Store) SessionToken(ctx context.Context, plain string) (Token, error) {
	var t Token
	var boardID sql.NullInt64
	now := ms(time.Now())
	err := s.read().QueryRowContext(ctx, `SELECT t.id, t.board_id, t.label, t.role FROM sessions s JOIN tokens t ON t.id = s.token_id
		WHERE s.hash = ? AND s.expires_at > ? AND (t.expires_at IS NULL OR t.expires_at > ?)`, hashToken(plain), now, now).Scan(&t.ID, &boardID, &t.Label, &t.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if boardID.Valid {
		t.BoardID = &boardID.Int64
	}
	return t, err
}

// DeleteSession ends a web session.
func (s *Store) DeleteSession(ctx context.Context, plain string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ? OR expires_at < ?`, hashToken(plain), ms(time.Now()))
	return err
}

type details struct {
	Event  *Event  `json:"event,omitempty"`
	Call   *Call   `json:"call,omitempty"`
	Outage *Outage `json:"outage,omitempty"`
	// PublishZone and ExpiresZone are the offsets (seconds east of UTC)
	// publish_at and expires_at were written in.
	Campaign    *Campaign `json:"campaign,omitempty"`
	Training    *Training `json:"training,omitempty"`
	PublishZone int       `json:"publish_zone,omitempty"`
	ExpiresZone int       `json:"expires_zone,omitempty"`
	Images      []Image   `json:"images,omitempty"`
}

const annCols = `a.id, b.name, a.kind, a.title, a.body, a.body_html, a.tags, a.content_warning, a.language, a.details, a.version, a.created_at, a.updated_at, a.deleted_at, a.pinned_at, a.status, a.publish_at, a.expires_at, a.requested_by`

func scanAnnouncement(row interface{ Scan(...any) error }) (Announcement, error) {
	var a Announcement
	var tags, det string
	var created, updated int64
	var deleted, pinned, publishAt, expiresAt, requestedBy sql.NullInt64
	err := row.Scan(&a.ID, &a.Board, &a.Kind, &a.Title, &a.Body, &a.HTML, &tags, &a.ContentWarning, &a.Language, &det, &a.Version, &created, &updated, &deleted, &pinned,
		&a.Status, &publishAt, &expiresAt, &requestedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
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

func encodeAnnouncement(a *Announcement) (tags, det string, err error) {
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
	db, err := json.Marshal(details{Event: a.Event, Call: call, Outage: a.Outage, Campaign: a.Campaign, Training: a.Training, PublishZone: zoneOf(a.PublishAt), ExpiresZone: zoneOf(a.ExpiresAt), Images: a.Images})
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

// Announcement returns one announcement of a board, deleted ones included
// (their pages answer 410).
func (s *Store) Announcement(ctx context.Context, boardID, id int64) (Announcement, error) {
	a, err := scanAnnouncement(s.read().QueryRowContext(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id WHERE a.board_id = ? AND a.id = ?`, boardID, id))
	if err != nil {
		return a, err
	}
	return s.withCounts(ctx, a)
}

// Announcements lists a board's published announcements (not drafts,
// scheduled or expired ones), newest first, at most
// limit of them with ids below before (0: from the newest).
func (s *Store) Announcements(ctx context.Context, boardID int64, before int64, limit int) ([]Announcement, error) {
	return s.AnnouncementsTagged(ctx, boardID, "", before, limit)
}

// SearchAnnouncements lists a board's announcements, drafts, scheduled
// and expired ones included, whose title or text contains q (any case),
// newest first, below id before (0: from the newest). For editors looking
// for one to edit.
func (s *Store) SearchAnnouncements(ctx context.Context, boardID int64, q string, before int64, limit int) ([]Announcement, error) {
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
func (s *Store) AnnouncementsTagged(ctx context.Context, boardID int64, tag string, before int64, limit int) ([]Announcement, error) {
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

func insertOutbox(ctx context.Context, tx *sql.Tx, boardID, annID int64, verb Verb, version int, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (board_id, announcement_id, verb, version, created_at) VALUES (?, ?, ?, ?, ?)`,
		boardID, annID, verb, version, ms(now))
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}

// insertAnnouncement stores a new announcement, its outbox row and, when
// given, its idempotency key, all in one transaction: either everything is
// there to be published or nothing is.
//
// verb is VerbCreate for a published announcement and "" for a draft or a
// scheduled one, which is sent nowhere yet.
func (s *Store) insertAnnouncement(ctx context.Context, boardID int64, a *Announcement, idemKey, reqHash string, verb Verb) (existing int64, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if idemKey != "" {
		var prevHash string
		err := tx.QueryRowContext(ctx, `SELECT announcement_id, request_hash FROM idempotency_keys WHERE board_id = ? AND idem_key = ?`, boardID, idemKey).Scan(&existing, &prevHash)
		switch {
		case err == nil && prevHash != reqHash:
			return 0, ErrIdempotencyConflict
		case err == nil:
			return existing, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, err
		}
	}
	tags, det, err := encodeAnnouncement(a)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO announcements (board_id, kind, title, body, body_html, tags, content_warning, language, details, version, created_at, updated_at,
		status, publish_at, expires_at, requested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		boardID, a.Kind, a.Title, a.Body, a.HTML, tags, a.ContentWarning, a.Language, det, a.Version, ms(a.CreatedAt), ms(a.UpdatedAt),
		a.Status, nullMS(a.PublishAt), nullMS(a.ExpiresAt), a.RequestedBy)
	if err != nil {
		return 0, fmt.Errorf("insert announcement: %w", err)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return 0, err
	}
	if err := writeTags(ctx, tx, boardID, a.ID, a.Tags); err != nil {
		return 0, err
	}
	if idemKey != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (board_id, idem_key, request_hash, announcement_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			boardID, idemKey, reqHash, a.ID, ms(a.CreatedAt)); err != nil {
			return 0, fmt.Errorf("store idempotency key: %w", err)
		}
	}
	if verb != "" {
		if err := insertOutbox(ctx, tx, boardID, a.ID, verb, a.Version, a.CreatedAt); err != nil {
			return 0, err
		}
	}
	return 0, tx.Commit()
}

// updateAnnouncement replaces an announcement's content, status and times,
// with the outbox row of verb (none when "": a draft's edit, a new expiry)
// in the same transaction. prevVersion and prevUpdated guard against two
// editors, or an editor and the scheduler, overwriting each other.
func (s *Store) updateAnnouncement(ctx context.Context, boardID int64, a *Announcement, prevVersion int, prevUpdated time.Time, verb Verb, followUp bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tags, det, err := encodeAnnouncement(a)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE announcements SET kind = ?, title = ?, body = ?, body_html = ?, tags = ?, content_warning = ?, language = ?, details = ?, version = ?,
		created_at = ?, updated_at = ?, status = ?, publish_at = ?, expires_at = ?, requested_by = ?
		WHERE board_id = ? AND id = ? AND version = ? AND updated_at = ? AND deleted_at IS NULL`,
		a.Kind, a.Title, a.Body, a.HTML, tags, a.ContentWarning, a.Language, det, a.Version, ms(a.CreatedAt), ms(a.UpdatedAt),
		a.Status, nullMS(a.PublishAt), nullMS(a.ExpiresAt), a.RequestedBy, boardID, a.ID, prevVersion, ms(prevUpdated))
	if err != nil {
		return fmt.Errorf("update announcement: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("announcement %d changed while it was being edited; try again: %w", a.ID, ErrNotFound)
	}
	if err := writeTags(ctx, tx, boardID, a.ID, a.Tags); err != nil {
		return err
	}
	if verb != "" {
		if err := insertOutbox(ctx, tx, boardID, a.ID, verb, a.Version, a.UpdatedAt); err != nil {
			return err
		}
		if followUp && verb == VerbUpdate {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET follow_up = 1 WHERE id = (SELECT MAX(id) FROM outbox WHERE announcement_id = ?)`, a.ID); err != nil {
				return fmt.Errorf("write outbox: %w", err)
			}
		}
	}
	return tx.Commit()
}

// Due is an announcement the scheduler must look at.
type Due struct{ BoardID, ID int64 }

// dueAnnouncements lists scheduled announcements whose time has come and
// published ones past their expiry, oldest first.
func (s *Store) dueAnnouncements(ctx context.Context, now time.Time, limit int) ([]Due, error) {
	return s.queryDue(ctx, `SELECT board_id, id FROM announcements WHERE deleted_at IS NULL AND
		((status = 'scheduled' AND publish_at <= ?) OR (status = 'published' AND expires_at <= ?)) ORDER BY id LIMIT ?`, ms(now), ms(now), limit)
}

// queryDue runs a query of (board_id, id) rows.
func (s *Store) queryDue(ctx context.Context, query string, args ...any) ([]Due, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var d Due
		if err := rows.Scan(&d.BoardID, &d.ID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// nextDue is the earliest time the scheduler has something to do (ok
// false: nothing is scheduled or due to expire).
func (s *Store) nextDue(ctx context.Context) (t time.Time, ok bool, err error) {
	var v sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT MIN(t) FROM (
		SELECT MIN(publish_at) AS t FROM announcements WHERE deleted_at IS NULL AND status = 'scheduled'
		UNION ALL SELECT MIN(expires_at) FROM announcements WHERE deleted_at IS NULL AND status = 'published')`).Scan(&v)
	if err != nil || !v.Valid {
		return t, false, err
	}
	return fromMS(v.Int64), true, nil
}

// deleteAnnouncement marks an announcement deleted, with its Delete outbox row.
func (s *Store) deleteAnnouncement(ctx context.Context, boardID, id int64, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	var deleted sql.NullInt64
	var status Status
	err = tx.QueryRowContext(ctx, `SELECT version, deleted_at, status FROM announcements WHERE board_id = ? AND id = ?`, boardID, id).Scan(&version, &deleted, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if deleted.Valid {
		return ErrGone
	}
	if _, err := tx.ExecContext(ctx, `UPDATE announcements SET deleted_at = ?, updated_at = ?, pinned_at = NULL WHERE id = ?`, ms(now), ms(now), id); err != nil {
		return fmt.Errorf("delete announcement: %w", err)
	}
	if (Announcement{Status: status}).Public() { // a draft was sent nowhere: nothing to take back
		if err := insertOutbox(ctx, tx, boardID, id, VerbDelete, version, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// setPinned pins or unpins a live announcement, with the outbox row that
// tells followers; changed is false when it already was as asked.
func (s *Store) setPinned(ctx context.Context, boardID, id int64, pin bool, now time.Time) (changed bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var version int
	var deleted, pinned sql.NullInt64
	var status Status
	err = tx.QueryRowContext(ctx, `SELECT version, deleted_at, pinned_at, status FROM announcements WHERE board_id = ? AND id = ?`, boardID, id).Scan(&version, &deleted, &pinned, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, err
	}
	if deleted.Valid {
		return false, ErrGone
	}
	if pin && status != StatusPublished {
		return false, &ValidationError{Fields: map[string]string{"pinned": "only a published announcement can be pinned (this one is " + string(status) + ")"}}
	}
	if pinned.Valid == pin {
		return false, nil
	}
	var at any
	verb := VerbUnpin
	if pin {
		at, verb = ms(now), VerbPin
	}
	if _, err := tx.ExecContext(ctx, `UPDATE announcements SET pinned_at = ? WHERE id = ?`, at, id); err != nil {
		return false, fmt.Errorf("pin announcement: %w", err)
	}
	if err := insertOutbox(ctx, tx, boardID, id, verb, version, now); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// Pinned lists a board's pinned live announcements, most recently pinned first.
func (s *Store) Pinned(ctx context.Context, boardID int64) ([]Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.deleted_at IS NULL AND a.status = 'published' AND a.pinned_at IS NOT NULL ORDER BY a.pinned_at DESC LIMIT 20`, boardID)
}

func (s *Store) queryAnnouncements(ctx context.Context, query string, args ...any) ([]Announcement, error) {
	rows, err := s.read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Announcement
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
		if out[i], err = s.withCounts(ctx, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PendingOutbox returns outbox entries not yet handed to the queue, oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT id, board_id, announcement_id, verb, version, created_at, follow_up, min_gap_ms FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var created, gap int64
		if err := rows.Scan(&e.ID, &e.BoardID, &e.AnnouncementID, &e.Verb, &e.Version, &created, &e.FollowUp, &gap); err != nil {
			return nil, err
		}
		e.CreatedAt, e.MinGap = fromMS(created), time.Duration(gap)*time.Millisecond
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

// OutboxEntry returns one outbox entry.
func (s *Store) OutboxEntry(ctx context.Context, id int64) (OutboxEntry, error) {
	var e OutboxEntry
	var created int64
	err := s.read().QueryRowContext(ctx, `SELECT id, board_id, announcement_id, verb, version, created_at, follow_up FROM outbox WHERE id = ?`, id).
		Scan(&e.ID, &e.BoardID, &e.AnnouncementID, &e.Verb, &e.Version, &created, &e.FollowUp)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	e.CreatedAt = fromMS(created)
	return e, err
}

// MarkDispatched records that an outbox entry's fan-out job is queued.
func (s *Store) MarkDispatched(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET dispatched_at = ? WHERE id = ?`, ms(time.Now()), id)
	return err
}

// AddFollower stores (or refreshes) a follower of a board.
func (s *Store) AddFollower(ctx context.Context, boardID int64, f Follower) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO followers (board_id, actor_id, inbox, shared_inbox, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (board_id, actor_id) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox`,
		boardID, f.ActorID, f.Inbox, f.SharedInbox, ms(f.CreatedAt))
	return err
}

// RemoveFollower deletes one follow; it reports whether there was one.
func (s *Store) RemoveFollower(ctx context.Context, boardID int64, actorID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM followers WHERE board_id = ? AND actor_id = ?`, boardID, actorID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveActor forgets a deleted remote account on every board.
func (s *Store) RemoveActor(ctx context.Context, actorID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM followers WHERE actor_id = ?`, actorID)
	return err
}

// Followers lists a board's followers, oldest first.
func (s *Store) Followers(ctx context.Context, boardID int64) ([]Follower, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT actor_id, inbox, shared_inbox, created_at FROM followers WHERE board_id = ? ORDER BY created_at, actor_id`, boardID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Follower
	for rows.Next() {
		var f Follower
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

// DeliveryRecord is the latest state of one outbox entry at one target.
type DeliveryRecord struct {
	OutboxID  int64
	Target    string
	State     string
	Attempts  int
	LastError string
}

// Delivered is final: a late outcome of an attempt overtaken by another (a
// worker that lost its lease, a repeat after a crash) cannot undo it.
const recordDeliverySQL = `INSERT INTO deliveries (outbox_id, target, state, attempts, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (outbox_id, target) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error, updated_at = excluded.updated_at
	WHERE deliveries.state <> 'delivered'`

// RecordDelivery stores the latest state of one outbox entry at one target.
func (s *Store) RecordDelivery(ctx context.Context, outboxID int64, target, state string, attempts int, lastErr string) error {
	_, err := s.db.ExecContext(ctx, recordDeliverySQL, outboxID, target, state, attempts, lastErr, ms(time.Now()))
	return err
}

// RecordDeliveries stores several outcomes, in order, in one transaction:
// results arrive from delivery workers in batches, and one commit per
// batch instead of one per delivery keeps the store's writes few.
func (s *Store) RecordDeliveries(ctx context.Context, recs []DeliveryRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, recordDeliverySQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	now := ms(time.Now())
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, r.OutboxID, r.Target, r.State, r.Attempts, r.LastError, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// AddPendingDeliveries writes a pending row for each destination an outbox
// entry fans out to, so work not yet tried is visible; a row already there
// (a fan-out run again after a crash) keeps its state.
func (s *Store) AddPendingDeliveries(ctx context.Context, outboxID int64, targets []string) error {
	if len(targets) == 0 {
		return nil
	}
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
func (s *Store) Deliveries(ctx context.Context, announcementID int64) ([]Delivery, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT d.outbox_id, o.verb, o.version, d.target, d.state, d.attempts, d.last_error, d.updated_at
		FROM deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE o.announcement_id = ? ORDER BY d.outbox_id, d.target`, announcementID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var updated int64
		if err := rows.Scan(&d.OutboxID, &d.Verb, &d.Version, &d.Target, &d.State, &d.Attempts, &d.LastError, &updated); err != nil {
			return nil, err
		}
		d.UpdatedAt = fromMS(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// AddInteraction records a like, boost or reply once per activity id (and
// once per object id for a reply).
func (s *Store) AddInteraction(ctx context.Context, boardID, announcementID int64, in Interaction) error {
	if in.ObjectID != "" {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM interactions WHERE object_id = ?`, in.ObjectID).Scan(&n); err != nil || n > 0 {
			return err
		}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO interactions (board_id, announcement_id, kind, actor, activity_id, object_id, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (activity_id) DO NOTHING`, boardID, announcementID, in.Kind, in.Actor, in.ActivityID, in.ObjectID, in.Content, ms(in.CreatedAt))
	return err
}

// RemoveInteraction forgets what actor did when they undo it or delete it:
// id names the activity (an Undo of a Like) or the object (a Delete of a
// reply).
func (s *Store) RemoveInteraction(ctx context.Context, actor, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM interactions WHERE actor = ? AND (activity_id = ? OR object_id = ?)`, actor, id, id)
	return err
}

// ForgetInteraction removes the interaction recorded under id (an event id
// of a Matrix room, whose redaction a moderator may make as well as its
// sender).
func (s *Store) ForgetInteraction(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM interactions WHERE activity_id = ? OR object_id = ?`, id, id)
	return err
}

// EditInteraction replaces the text of actor's reply objectID after they
// edited it; found is false when no such reply is recorded.
func (s *Store) EditInteraction(ctx context.Context, actor, objectID, content string) (found bool, err error) {
	res, err := s.db.ExecContext(ctx, `UPDATE interactions SET content = ? WHERE actor = ? AND object_id = ? AND object_id <> ''`, content, actor, objectID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Interactions lists what remote accounts did with an announcement.
func (s *Store) Interactions(ctx context.Context, announcementID int64) ([]Interaction, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT kind, actor, activity_id, object_id, content, created_at FROM interactions WHERE announcement_id = ? ORDER BY id`, announcementID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Interaction
	for rows.Next() {
		var in Interaction
		var created int64
		if err := rows.Scan(&in.Kind, &in.Actor, &in.ActivityID, &in.ObjectID, &in.Content, &created); err != nil {
			return nil, err
		}
		in.CreatedAt = fromMS(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// addMedia records a picture uploaded to a board (again: no change).
func (s *Store) addMedia(ctx context.Context, boardID int64, im Image, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO media (board_id, name, media_type, width, height, blurhash, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		boardID, im.ID, im.MediaType, im.Width, im.Height, im.Blurhash, im.Size, ms(now))
	if err != nil {
		return fmt.Errorf("record picture: %w", err)
	}
	return nil
}

// Media returns what the store knows of a board's uploaded picture.
func (s *Store) Media(ctx context.Context, boardID int64, name string) (Image, error) {
	im := Image{ID: name}
	err := s.read().QueryRowContext(ctx, `SELECT media_type, width, height, blurhash, size FROM media WHERE board_id = ? AND name = ?`, boardID, name).
		Scan(&im.MediaType, &im.Width, &im.Height, &im.Blurhash, &im.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return im, ErrNotFound
	}
	return im, err
}

// setRaised records what a campaign has raised, with a refresh for its
// followers and rooms spaced by gap (the dispatcher keeps the last).
func (s *Store) setRaised(ctx context.Context, boardID, id int64, raised float64, gap time.Duration, now time.Time) (Announcement, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Announcement{}, err
	}
	defer tx.Rollback()
	a, err := announcementInTx(ctx, tx, boardID, id)
	if err != nil {
		return a, err
	}
	if a.DeletedAt != nil {
		return a, ErrGone
	}
	if a.Kind != KindCampaign || a.Campaign == nil {
		return a, &ValidationError{Fields: map[string]string{"raised": "only a campaign has an amount raised"}}
	}
	if a.Campaign.Raised == raised {
		return a, nil
	}
	a.Campaign.Raised = raised
	_, det, err := encodeAnnouncement(&a)
	if err != nil {
		return a, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE announcements SET details = ? WHERE id = ?`, det, id); err != nil {
		return a, fmt.Errorf("record the amount raised: %w", err)
	}
	if a.Public() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (board_id, announcement_id, verb, version, created_at, min_gap_ms) VALUES (?, ?, ?, ?, ?, ?)`,
			boardID, id, VerbRefresh, a.Version, ms(now), gap.Milliseconds()); err != nil {
			return a, fmt.Errorf("write outbox: %w", err)
		}
	}
	return a, tx.Commit()
}

// pinnedCampaigns lists the campaigns featured on their boards, to end
// those whose time or goal has come.
func (s *Store) pinnedCampaigns(ctx context.Context) ([]Due, error) {
	return s.queryDue(ctx, `SELECT board_id, id FROM announcements WHERE kind = 'campaign' AND pinned_at IS NOT NULL AND deleted_at IS NULL`)
}

// RunningCampaigns lists the published campaigns of every board, for the
// pollers that read their totals from a donation platform.
func (s *Store) RunningCampaigns(ctx context.Context) ([]Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.kind = 'campaign' AND a.status = 'published' AND a.deleted_at IS NULL ORDER BY a.id`)
}

// updateDetails changes an announcement's own bookkeeping (milestones
// announced, thanks or reminders sent): not what readers see, so nothing
// is sent. what names the change in an error.
func (s *Store) updateDetails(ctx context.Context, boardID, id int64, what string, change func(*Announcement)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	a, err := announcementInTx(ctx, tx, boardID, id)
	if err != nil {
		return err
	}
	change(&a)
	_, det, err := encodeAnnouncement(&a)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE announcements SET details = ? WHERE id = ?`, det, id); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return tx.Commit()
}

// announcementInTx reads an announcement inside a transaction that will
// change it.
func announcementInTx(ctx context.Context, tx *sql.Tx, boardID, id int64) (Announcement, error) {
	return scanAnnouncement(tx.QueryRowContext(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id WHERE a.board_id = ? AND a.id = ?`, boardID, id))
}
