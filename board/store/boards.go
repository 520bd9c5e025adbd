package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"crieur/board"
)

// CreateBoard stores a new board with its key pair.
func (s *Store) CreateBoard(ctx context.Context, b board.Board) (board.Board, error) {
	res, err := s.exec(ctx, `INSERT INTO boards (name, display_name, summary, private_key_pem, public_key_pem, created_at, time_zone) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.Name, b.DisplayName, b.Summary, b.PrivateKeyPEM, b.PublicKeyPEM, ms(b.CreatedAt), b.TimeZone)
	if err != nil {
		return b, fmt.Errorf("create board %q: %w", b.Name, err)
	}
	b.ID, err = res.LastInsertId()
	return b, err
}

const boardCols = `id, name, display_name, summary, private_key_pem, public_key_pem, created_at, language, time_zone, approval, accent, logo`

func scanBoard(row interface{ Scan(...any) error }) (board.Board, error) {
	var b board.Board
	var created int64
	err := row.Scan(&b.ID, &b.Name, &b.DisplayName, &b.Summary, &b.PrivateKeyPEM, &b.PublicKeyPEM, &created, &b.Language, &b.TimeZone, &b.Approval, &b.AccentColour, &b.Logo)
	if errors.Is(err, sql.ErrNoRows) {
		return b, board.ErrNotFound
	}
	b.CreatedAt = fromMS(created)
	return b, err
}

// BoardByName returns the board called name, or board.ErrNotFound.
func (s *Store) BoardByName(ctx context.Context, name string) (board.Board, error) {
	return scanBoard(s.read().QueryRowContext(ctx, `SELECT `+boardCols+` FROM boards WHERE name = ?`, name))
}

// UpdateBoard saves a board's display name, summary, language, zone,
// approval, accent and logo.
func (s *Store) UpdateBoard(ctx context.Context, b board.Board) error {
	res, err := s.exec(ctx, `UPDATE boards SET display_name = ?, summary = ?, language = ?, time_zone = ?, approval = ?, accent = ?, logo = ? WHERE id = ?`,
		b.DisplayName, b.Summary, b.Language, b.TimeZone, b.Approval, b.AccentColour, b.Logo, b.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return board.ErrNotFound
	}
	return nil
}

// BoardByID returns the board with id, or board.ErrNotFound.
func (s *Store) BoardByID(ctx context.Context, id int64) (board.Board, error) {
	return scanBoard(s.read().QueryRowContext(ctx, `SELECT `+boardCols+` FROM boards WHERE id = ?`, id))
}

// Boards lists every board by name.
func (s *Store) Boards(ctx context.Context) ([]board.Board, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+boardCols+` FROM boards ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Board
	for rows.Next() {
		b, err := scanBoard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// CreateToken makes a new admin token and returns its only plain copy.
func (s *Store) CreateToken(ctx context.Context, boardID *int64, label string) (string, error) {
	plain, _, err := s.CreateTokenUntil(ctx, boardID, label, nil, board.RolePublisher)
	return plain, err
}

// CreateTokenUntil makes a token valid until expires (nil: until revoked)
// and returns its only plain copy and its id.
func (s *Store) CreateTokenUntil(ctx context.Context, boardID *int64, label string, expires *time.Time, role string) (string, int64, error) {
	if role != board.RolePublisher && role != board.RoleEditor {
		return "", 0, &board.ValidationError{Fields: board.Problems{"role": board.Problemf("problem.token_role")}, What: "token"}
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
	res, err := s.exec(ctx, `INSERT INTO tokens (hash, board_id, label, created_at, expires_at, role) VALUES (?, ?, ?, ?, ?, ?)`,
		board.HashToken(plain), boardID, label, ms(time.Now()), exp, role)
	if err != nil {
		return "", 0, fmt.Errorf("store token: %w", err)
	}
	id, err := res.LastInsertId()
	return plain, id, err
}

// Tokens lists every token (never their secrets), oldest first.
func (s *Store) Tokens(ctx context.Context) ([]board.Token, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT t.id, t.board_id, COALESCE(b.name, ''), t.label, t.created_at, t.last_used_at, t.expires_at, t.role
		FROM tokens t LEFT JOIN boards b ON b.id = t.board_id ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Token
	for rows.Next() {
		var t board.Token
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
		return board.ErrNotFound
	}
	return tx.Commit()
}

// CountTokens tells whether anyone can administer the server yet.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n)
	return n, err
}

// Authenticate finds the token matching plain, or board.ErrNotFound.
func (s *Store) Authenticate(ctx context.Context, plain string) (board.Token, error) {
	want := board.HashToken(plain)
	var t board.Token
	var hash string
	var boardID, used, expires sql.NullInt64
	err := s.read().QueryRowContext(ctx, `SELECT id, hash, board_id, label, last_used_at, expires_at, role FROM tokens WHERE hash = ?`, want).
		Scan(&t.ID, &hash, &boardID, &t.Label, &used, &expires, &t.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return t, board.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	// The lookup is by hash, so this compare is belt and braces against a
	// collation surprise, done in constant time as the design asks.
	if subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 {
		return t, board.ErrNotFound
	}
	now := time.Now()
	if expires.Valid && now.UnixMilli() >= expires.Int64 {
		return t, board.ErrTokenExpired
	}
	if boardID.Valid {
		t.BoardID = &boardID.Int64
	}
	// Last use, at most once a minute: one write per request would put
	// every API call behind the delivery workers' writes.
	if !used.Valid || now.UnixMilli()-used.Int64 > time.Minute.Milliseconds() {
		if _, err := s.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, ms(now), t.ID); err != nil {
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
	_, err := s.exec(ctx, `INSERT INTO sessions (hash, token_id, expires_at) VALUES (?, ?, ?)`, board.HashToken(plain), tokenID, ms(time.Now().Add(ttl)))
	return plain, err
}

// SessionToken returns the token behind a live session, or board.ErrNotFound.
func (s *Store) SessionToken(ctx context.Context, plain string) (board.Token, error) {
	var t board.Token
	var boardID sql.NullInt64
	now := ms(time.Now())
	err := s.read().QueryRowContext(ctx, `SELECT t.id, t.board_id, t.label, t.role FROM sessions s JOIN tokens t ON t.id = s.token_id
		WHERE s.hash = ? AND s.expires_at > ? AND (t.expires_at IS NULL OR t.expires_at > ?)`, board.HashToken(plain), now, now).Scan(&t.ID, &boardID, &t.Label, &t.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return t, board.ErrNotFound
	}
	if boardID.Valid {
		t.BoardID = &boardID.Int64
	}
	return t, err
}

// DeleteSession ends a web session.
func (s *Store) DeleteSession(ctx context.Context, plain string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE hash = ? OR expires_at < ?`, board.HashToken(plain), ms(time.Now()))
	return err
}

// Secret is the server's secret called name: 32 random bytes made on first
// use and the same ever after (a restart must not void what it signed).
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, fresh); err != nil {
		return nil, fmt.Errorf("make secret %s: %w", name, err)
	}
	var v []byte
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}

// ProfileSent is the hash of the profile a board's followers were last
// sent ("" when none was recorded yet).
func (s *Store) ProfileSent(ctx context.Context, boardID int64) (string, error) {
	var h string
	err := s.read().QueryRowContext(ctx, `SELECT hash FROM profiles_sent WHERE board_id = ?`, boardID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return h, err
}

// SetProfileSent records the profile a board's followers were sent.
func (s *Store) SetProfileSent(ctx context.Context, boardID int64, hash string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO profiles_sent (board_id, hash, sent_at) VALUES (?, ?, ?)
		ON CONFLICT (board_id) DO UPDATE SET hash = excluded.hash, sent_at = excluded.sent_at`, boardID, hash, ms(at))
	return err
}
