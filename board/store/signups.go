package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"crieur/board"
)

func (s *Store) SignupPerson(ctx context.Context, annID int64, tokenHash string) (board.Person, error) {
	var p board.Person
	err := s.read().QueryRowContext(ctx, `SELECT person_kind, person, name, contact FROM signups WHERE announcement_id = ? AND withdraw_hash = ? LIMIT 1`, annID, tokenHash).
		Scan(&p.Kind, &p.ID, &p.Name, &p.Contact)
	if errors.Is(err, sql.ErrNoRows) {
		return p, board.ErrNotFound
	}
	return p, err
}

// board.Signups lists a call's sign-ups, oldest first (for its editors only).
func (s *Store) Signups(ctx context.Context, annID int64) ([]board.Signup, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+signupCols+` FROM signups WHERE announcement_id = ? ORDER BY created_at, id`, annID)
	if err != nil {
		return nil, err
	}
	return scanSignups(rows)
}

// taken counts the confirmed sign-ups of a call per role.
func (s *Store) taken(ctx context.Context, annID int64) (map[string]int, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT role, COUNT(*) FROM signups WHERE announcement_id = ? AND state = 'confirmed' GROUP BY role`, annID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var role string
		var n int
		if err := rows.Scan(&role, &n); err != nil {
			return nil, err
		}
		out[role] = n
	}
	return out, rows.Err()
}

// WithCounts fills a call's Taken from the sign-ups.
func (s *Store) WithCounts(ctx context.Context, a board.Announcement) (board.Announcement, error) {
	if !a.TakesSignups() {
		return a, nil
	}
	t, err := s.taken(ctx, a.ID)
	if err != nil {
		return a, err
	}
	c := *a.Call
	c.Taken = t
	if c.Voters, err = s.VotersCount(ctx, a.ID); err != nil {
		return a, err
	}
	a.Call = &c
	return a, nil
}

const signupCols = `id, announcement_id, role, person_kind, person, name, contact, lang, state, created_at, updated_at`

func scanSignups(rows *sql.Rows) ([]board.Signup, error) {
	defer rows.Close()
	var out []board.Signup
	for rows.Next() {
		var su board.Signup
		var created, updated int64
		if err := rows.Scan(&su.ID, &su.AnnouncementID, &su.Role, &su.Person.Kind, &su.Person.ID, &su.Person.Name, &su.Person.Contact, &su.Person.Lang, &su.State, &created, &updated); err != nil {
			return nil, err
		}
		su.CreatedAt, su.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, su)
	}
	return out, rows.Err()
}

// VotersCount is how many distinct people hold a confirmed place.
func (s *Store) VotersCount(ctx context.Context, annID int64) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(DISTINCT person_kind || ' ' || person) FROM signups WHERE announcement_id = ? AND state = 'confirmed'`, annID).Scan(&n)
	return n, err
}

func (s *Store) CurrentRoles(ctx context.Context, annID int64, p board.Person) ([]string, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT role FROM signups WHERE announcement_id = ? AND person_kind = ? AND person = ? AND state <> 'withdrawn'`, annID, p.Kind, p.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Answers is the ledger of call annID's answers, oldest first: every
// answer from every channel, what became of it, and every withdrawal.
func (s *Store) Answers(ctx context.Context, annID int64) ([]board.Answer, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT origin, board_id, announcement_id, person_kind, person, person_name, roles, given_at, outcome, why, result, recorded_at
		FROM answers WHERE announcement_id = ? ORDER BY recorded_at, rowid`, annID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []board.Answer
	for rows.Next() {
		var a board.Answer
		var roles, result string
		var given, recorded int64
		if err := rows.Scan(&a.ID, &a.BoardID, &a.AnnouncementID, &a.Person.Kind, &a.Person.ID, &a.Person.Name, &roles, &given, &a.Outcome, &a.Why, &result, &recorded); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(roles), &a.Roles); err != nil {
			return nil, fmt.Errorf("answer %s: roles: %w", a.ID, err)
		}
		if err := json.Unmarshal([]byte(result), &a.Result); err != nil {
			return nil, fmt.Errorf("answer %s: result: %w", a.ID, err)
		}
		a.At, a.RecordedAt = fromMS(given), fromMS(recorded)
		out = append(out, a)
	}
	return out, rows.Err()
}
