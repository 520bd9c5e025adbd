package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/feeds"
	"crieur/board/httpx"
)

func (api *API) listTokens(w http.ResponseWriter, r *http.Request, _ call) {
	list, err := api.store.Tokens(r.Context())
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.Token{}
	}
	httpx.JSON(w, http.StatusOK, list)
}

// tokenRequest asks for a new token: for one board or all, with a label
// and an optional lifetime.
type tokenRequest struct {
	Board     string `json:"board"`
	Label     string `json:"label"`
	ExpiresIn string `json:"expires_in"` // a Go duration or days, e.g. 720h or 90d
	Role      string `json:"role"`       // publisher (default) or editor
}

// ParseLifetime reads a token lifetime: a Go duration (720h) or days (90d).
func ParseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3650 {
			return 0, fmt.Errorf("%q: give a number of days between 1 and 3650, e.g. 90d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: give a duration such as 90d or 720h", s)
	}
	return d, nil
}

func (api *API) createToken(w http.ResponseWriter, r *http.Request, _ call) {
	var req tokenRequest
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 16 << 10, Help: `{"board": ..., "label": ..., "expires_in": "90d"}`}); err != nil {
		api.fail(w, r, err)
		return
	}
	errs := board.Problems{}
	board.CheckText(errs, "label", strings.TrimSpace(req.Label), 200, false)
	var boardID *int64
	if req.Board != "" {
		b, err := api.store.BoardByName(r.Context(), req.Board)
		if err != nil {
			errs["board"] = board.Problemf("problem.no_such_board")
		} else {
			boardID = &b.ID
		}
	}
	var expires *time.Time
	if req.ExpiresIn != "" {
		d, err := ParseLifetime(req.ExpiresIn)
		if err != nil {
			errs["expires_in"] = board.Problemf("problem.lifetime")
		} else {
			t := time.Now().Add(d)
			expires = &t
		}
	}
	if len(errs) > 0 {
		api.fail(w, r, &board.ValidationError{Fields: errs})
		return
	}
	if req.Role == "" {
		req.Role = board.RolePublisher
	}
	plain, id, err := api.store.CreateTokenUntil(r.Context(), boardID, strings.TrimSpace(req.Label), expires, req.Role)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, map[string]any{"id": id, "token": plain, "board": req.Board, "expires_at": expires, "role": req.Role,
		"note": "this is the only time the token is shown"})
}

func (api *API) revokeToken(w http.ResponseWriter, r *http.Request, _ call) {
	id, err := httpx.PathID(r, "id")
	if err == nil {
		err = api.store.RevokeToken(r.Context(), id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// signups lists who answered a call, from where and when, and the ledger
// of every answer and what became of it: for the board's editors only (the
// public sees counts).
func (api *API) signups(w http.ResponseWriter, r *http.Request, c call) {
	a, err := api.announcement(r, c)
	if err == nil && !a.TakesSignups() {
		err = board.ErrNotACall
	}
	var list []board.Signup
	var answers []board.Answer
	if err == nil {
		list, err = api.store.Signups(r.Context(), a.ID)
	}
	if err == nil {
		answers, err = api.store.Answers(r.Context(), a.ID)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.Signup{}
	}
	if answers == nil {
		answers = []board.Answer{}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"taken": a.Call.Taken, "roles": a.Call.Roles, "signups": list, "answers": answers})
}

// signupsCSV exports a call's sign-ups for a spreadsheet.
func (api *API) signupsCSV(w http.ResponseWriter, r *http.Request, c call) {
	a, err := api.announcement(r, c)
	var list []board.Signup
	if err == nil {
		list, err = api.store.Signups(r.Context(), a.ID)
	}
	var buf bytes.Buffer
	if err == nil {
		err = feeds.SignupsCSV(&buf, list)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="signups-%d.csv"`, a.ID))
	_, _ = w.Write(buf.Bytes())
}

// addSignup records a sign-up an editor took another way (by phone).
func (api *API) addSignup(w http.ResponseWriter, r *http.Request, c call) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		api.fail(w, r, err)
		return
	}
	var req struct {
		Name    string   `json:"name"`
		Contact string   `json:"contact"`
		Roles   []string `json:"roles"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 16 << 10, Help: `{"name": "...", "contact": "...", "roles": ["cook"]}`}); err != nil {
		api.fail(w, r, err)
		return
	}
	errs := board.Problems{}
	req.Name, req.Contact = strings.TrimSpace(req.Name), strings.TrimSpace(req.Contact)
	board.CheckText(errs, "name", req.Name, 100, true)
	board.CheckText(errs, "contact", req.Contact, 200, false)
	if len(req.Roles) == 0 {
		errs["roles"] = board.Problemf("problem.no_roles")
	}
	if len(errs) > 0 {
		api.fail(w, r, &board.ValidationError{Fields: errs})
		return
	}
	who := board.PhonePerson(req.Name, req.Contact)
	res, err := api.svc.SignUp(r.Context(), c.Board, id, who, req.Roles, board.Origin{ID: who.ID})
	var unknown *board.UnknownRoleError
	if errors.As(err, &unknown) {
		err = board.Invalid("roles", "problem.unknown_role", unknown.Role)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, res)
}

func (api *API) removeSignup(w http.ResponseWriter, r *http.Request, c call) {
	id, err := httpx.PathID(r, "id")
	var sid int64
	if err == nil {
		sid, err = httpx.PathID(r, "signup")
	}
	if err == nil {
		err = api.svc.RemoveSignup(r.Context(), c.actor(), c.Board, id, sid)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// scope is the board a block route is about: nil on /api/v1/blocks (every
// board, admin tokens only).
func scope(c call) *board.Board {
	if c.Board.ID == 0 {
		return nil
	}
	b := c.Board
	return &b
}

// listBlocks lists the blocks of one board (and the server-wide ones), or
// every block for admin tokens on /api/v1/blocks.
func (api *API) listBlocks(w http.ResponseWriter, r *http.Request, c call) {
	var boardID *int64
	if b := scope(c); b != nil {
		boardID = &b.ID
	}
	list, err := api.store.Blocks(r.Context(), boardID)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.Block{}
	}
	httpx.JSON(w, http.StatusOK, list)
}

// addBlock blocks a domain or an account on one board or every board.
func (api *API) addBlock(w http.ResponseWriter, r *http.Request, c call) {
	var req struct {
		Target string `json:"target"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 16 << 10, Help: `{"target": "example.org"}`}); err != nil {
		api.fail(w, r, err)
		return
	}
	domain, actor, err := board.ParseBlockTarget(req.Target)
	if err != nil {
		api.fail(w, r, board.Invalid("target", "problem.block_target"))
		return
	}
	b := scope(c)
	blk, removed, err := api.svc.Block(r.Context(), b, domain, actor)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if b != nil {
		blk.Board = b.Name
	}
	if removed == nil {
		removed = []board.Follower{}
	}
	httpx.JSON(w, http.StatusCreated, map[string]any{"block": blk, "removed_followers": removed})
}

func (api *API) unblock(w http.ResponseWriter, r *http.Request, c call) {
	id, err := httpx.PathID(r, "id")
	if err == nil {
		var boardID *int64
		if b := scope(c); b != nil {
			boardID = &b.ID
		}
		err = api.store.RemoveBlock(r.Context(), id, boardID)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeFollower ends one follow (?actor=URL) and sends its server a Reject.
func (api *API) removeFollower(w http.ResponseWriter, r *http.Request, c call) {
	f, err := api.store.Follower(r.Context(), c.Board.ID, r.URL.Query().Get("actor"))
	if err == nil {
		err = api.svc.RemoveFollower(r.Context(), c.Board, f)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
