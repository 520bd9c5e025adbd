package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"crieur/board"
)

// Render executes the template name of t with data into a buffer and only
// then writes the status and the page: a template that fails is an error
// the caller answers, never a truncated 200. A page answered 200 to a GET
// carries an ETag, so a reader's cache asks again cheaply (ServeWithETag).
func Render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name string, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if status == http.StatusOK && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		ServeWithETag(w, r, "text/html; charset=utf-8", buf.Bytes())
		return nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// QueryInt reads the query parameter name as a whole number from min to
// max; absent, it is def. Anything else is a 400 that names it.
func QueryInt(r *http.Request, name string, def, min, max int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < min || v > max {
		return 0, &board.ValidationError{Fields: board.Problems{name: board.Problemf("problem.between", min, max)}, What: "query"}
	}
	return v, nil
}

// BoardFinder finds a board by its name (the store).
type BoardFinder interface {
	BoardByName(ctx context.Context, name string) (board.Board, error)
}

// PathBoard finds the board the request's {board} names: the one lookup
// every surface (API, editor, pages, ActivityPub) makes.
func PathBoard(r *http.Request, f BoardFinder) (board.Board, error) {
	name := r.PathValue("board")
	b, err := f.BoardByName(r.Context(), name)
	if errors.Is(err, board.ErrNotFound) {
		return b, &Error{Status: http.StatusNotFound, Safe: fmt.Sprintf("there is no board %q on this server; crieur board list shows them", name), Err: err}
	}
	return b, err
}

// PathID reads the request's {name} as an id in its one canonical form.
func PathID(r *http.Request, name string) (int64, error) {
	id, ok := board.ParseID(r.PathValue(name))
	if !ok {
		return 0, board.ErrNotFound
	}
	return id, nil
}

// Guard is the admin API's check of a route another package adds under
// /api/v1/boards/{board}/ (a destination's set-up): the token, its board,
// the role the route needs (board.RolePublisher, or board.RoleEditor for
// any member). The error a handler returns is answered, and logged once,
// as every API error is.
type Guard interface {
	// OnBoard registers the route pattern behind the check (and in the
	// API's authorization table).
	OnBoard(pattern, role string, h func(w http.ResponseWriter, r *http.Request, b board.Board) error)
}

// ServeWithETag answers body (of contentType) with a strong ETag made from
// its bytes, and 304 Not Modified when the request's If-None-Match names
// it: a dashboard polling a document that did not change gets no body.
// The conditional headers are read by net/http (http.ServeContent), the
// one parser of them; callers set Cache-Control.
func ServeWithETag(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	w.Header().Set("Content-Type", contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
