package board

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Block keeps a remote server (Domain) or one account (Actor) away from a
// board, or from every board when Board is empty: their follows are
// refused, their follows removed, nothing is delivered to them and nothing
// they send is taken.
type Block struct {
	ID        int64     `json:"id"`
	BoardID   *int64    `json:"-"`
	Board     string    `json:"board,omitempty"`
	Domain    string    `json:"domain,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// FollowerNotifier tells a removed follower's server that the follow is
// over (an ActivityPub Reject), so it stops showing them as following.
type FollowerNotifier interface {
	FollowerRemoved(ctx context.Context, b Board, f Follower) error
}

// SetFollowerNotifier sets who tells removed followers.
func (s *Service) SetFollowerNotifier(n FollowerNotifier) { s.followers = n }

// ParseBlockTarget reads what an operator typed: a domain (example.org)
// or an account's URL (https://example.org/users/bob).
func ParseBlockTarget(s string) (domain, actor string, err error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", "", fmt.Errorf("%q: give a domain (example.org) or an account's URL (https://example.org/users/bob)", s)
		}
		return "", s, nil
	}
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if h, _, err := net.SplitHostPort(d); err == nil {
		d = h // a block is of a host, whatever the port
	}
	if d == "" || strings.ContainsAny(d, "/@ :[]") || !strings.Contains(d, ".") && d != "localhost" {
		return "", "", fmt.Errorf("%q: give a domain (example.org) or an account's URL (https://example.org/users/bob)", s)
	}
	return d, "", nil
}

// hostOf is the lower-case host of an actor or inbox URL, without port.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// domainMatches reports whether host is domain or one of its subdomains.
func domainMatches(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// Block adds a block for board b (nil: every board) and removes the
// follows it covers, telling each removed follower's server.
func (s *Service) Block(ctx context.Context, b *Board, domain, actor string) (Block, []Follower, error) {
	var boardID *int64
	if b != nil {
		boardID = &b.ID
	}
	blk, err := s.store.addBlock(ctx, boardID, domain, actor)
	if err != nil {
		return blk, nil, err
	}
	boards := []Board{}
	if b != nil {
		boards = append(boards, *b)
	} else if boards, err = s.store.Boards(ctx); err != nil {
		return blk, nil, err
	}
	var removed []Follower
	for _, bd := range boards {
		fs, err := s.store.Followers(ctx, bd.ID)
		if err != nil {
			return blk, removed, err
		}
		for _, f := range fs {
			if !blk.Covers(f.ActorID) && !blk.Covers(f.DeliveryInbox()) {
				continue
			}
			if err := s.RemoveFollower(ctx, bd, f); err != nil {
				return blk, removed, err
			}
			removed = append(removed, f)
		}
	}
	return blk, removed, nil
}

// Covers reports whether the block applies to a URL (an actor or inbox).
func (b Block) Covers(raw string) bool {
	if b.Actor != "" {
		return raw == b.Actor
	}
	return domainMatches(hostOf(raw), b.Domain)
}

// RemoveFollower ends f's follow of board b and tells f's server.
func (s *Service) RemoveFollower(ctx context.Context, b Board, f Follower) error {
	removed, err := s.store.RemoveFollower(ctx, b.ID, f.ActorID)
	if err != nil || !removed {
		return err
	}
	if s.followers != nil {
		return s.followers.FollowerRemoved(ctx, b, f)
	}
	return nil
}

// Follower returns one follower of a board.
func (s *Store) Follower(ctx context.Context, boardID int64, actor string) (Follower, error) {
	var f Follower
	var created int64
	err := s.read().QueryRowContext(ctx, `SELECT actor_id, inbox, shared_inbox, created_at FROM followers WHERE board_id = ? AND actor_id = ?`, boardID, actor).
		Scan(&f.ActorID, &f.Inbox, &f.SharedInbox, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	f.CreatedAt = fromMS(created)
	return f, err
}

func (s *Store) addBlock(ctx context.Context, boardID *int64, domain, actor string) (Block, error) {
	now := time.Now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO blocks (board_id, domain, actor, created_at) VALUES (?, ?, ?, ?)`, boardID, domain, actor, ms(now))
	if err != nil {
		return Block{}, fmt.Errorf("store block: %w", err)
	}
	id, err := res.LastInsertId()
	return Block{ID: id, BoardID: boardID, Domain: domain, Actor: actor, CreatedAt: now}, err
}

// Blocks lists the blocks for board boardID and every board (nil: all).
func (s *Store) Blocks(ctx context.Context, boardID *int64) ([]Block, error) {
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
	var out []Block
	for rows.Next() {
		var k Block
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
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Blocked reports whether raw (an actor or inbox URL) is blocked on board
// boardID (0: only server-wide blocks count).
func (s *Store) Blocked(ctx context.Context, boardID int64, raw string) (bool, error) {
	host := hostOf(raw)
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

// blockRequest names what to block: a domain or an account's URL.
type blockRequest struct {
	Target string `json:"target"`
}

func (api *API) decodeBlock(w http.ResponseWriter, r *http.Request) (domain, actor string, ok bool) {
	var req blockRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"body": `send {"target": "example.org"} or {"target": "https://example.org/users/bob"}`}})
		return "", "", false
	}
	domain, actor, err := ParseBlockTarget(req.Target)
	if err != nil {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"target": err.Error()}})
		return "", "", false
	}
	return domain, actor, true
}

// blocks lists (GET) or adds (POST) blocks for one board (b) or, for
// admin tokens on /api/v1/blocks, for every board (b nil).
func (api *API) blocks(w http.ResponseWriter, r *http.Request, b *Board) {
	var boardID *int64
	if b != nil {
		boardID = &b.ID
	}
	if r.Method == http.MethodGet {
		list, err := api.svc.store.Blocks(r.Context(), boardID)
		if err != nil {
			api.fail(w, r, err)
			return
		}
		if list == nil {
			list = []Block{}
		}
		writeJSON(w, http.StatusOK, list)
		return
	}
	domain, actor, ok := api.decodeBlock(w, r)
	if !ok {
		return
	}
	blk, removed, err := api.svc.Block(r.Context(), b, domain, actor)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if b != nil {
		blk.Board = b.Name
	}
	if removed == nil {
		removed = []Follower{}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"block": blk, "removed_followers": removed})
}

func (api *API) unblock(w http.ResponseWriter, r *http.Request, b *Board) {
	id, ok := ParseID(r.PathValue("id"))
	if !ok {
		api.fail(w, r, ErrNotFound)
		return
	}
	var boardID *int64
	if b != nil {
		boardID = &b.ID
	}
	if err := api.svc.store.RemoveBlock(r.Context(), id, boardID); err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeFollower ends one follow (?actor=URL) and sends its server a Reject.
func (api *API) removeFollower(w http.ResponseWriter, r *http.Request, b Board) {
	f, err := api.svc.store.Follower(r.Context(), b.ID, r.URL.Query().Get("actor"))
	if err == nil {
		err = api.svc.RemoveFollower(r.Context(), b, f)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
