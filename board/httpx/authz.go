package httpx

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"crieur/board"
)

// Access is what a route asks of whoever calls it: one scale for the
// admin API and the web editor, decided by Authorize alone.
type Access int

// The levels of access, from least to most.
const (
	// AnyToken: any valid token (what it sees is limited to its boards).
	AnyToken Access = iota
	// Member: a token of the route's {board} (or of every board), any role.
	Member
	// Publisher: as Member, with the publisher's role.
	Publisher
	// Admin: a token of every board (the queue, tokens, server-wide blocks).
	Admin
	// Public: anyone, signed in or not (the editor's sign-in page, the
	// public pages and documents, the public forms).
	Public
	// Signed: a server whose request carries a valid HTTP signature (the
	// inboxes); tokens play no part.
	Signed
)

func (a Access) String() string {
	switch a {
	case AnyToken:
		return "any token"
	case Member:
		return "a member of the board"
	case Publisher:
		return "a publisher of the board"
	case Admin:
		return "an admin"
	case Public:
		return "anyone"
	case Signed:
		return "a signed request"
	}
	return fmt.Sprintf("access %d", int(a))
}

// Route is one line of an authorization table: a route and the access
// it needs.
type Route struct {
	Pattern string
	Access  Access
	// Cached: a public GET whose answers the page cache keeps.
	Cached bool
}

// Refusals of Authorize, by cause: the API answers them as they are; the
// editor answers another board as a page that does not exist.
var (
	ErrNeedAdmin     = NewError(http.StatusForbidden, "this needs an admin token (crieur token create, without --board)")
	ErrNeedPublisher = NewError(http.StatusForbidden, "an editor's token cannot change this: ask a publisher of this board")
)

// ErrOtherBoard is a token of another board than the route's.
type ErrOtherBoard struct{ Board string }

func (e *ErrOtherBoard) Error() string {
	return fmt.Sprintf("this token may not manage board %q", e.Board)
}

// Authorize decides whether tok may use a route needing need, on board b
// (nil for a route without one): the one rule behind both tables.
func Authorize(tok board.Token, need Access, b *board.Board) error {
	switch need {
	case Public, Signed, AnyToken:
		return nil
	case Admin:
		if tok.BoardID != nil {
			return ErrNeedAdmin
		}
		return nil
	}
	if b != nil && tok.BoardID != nil && *tok.BoardID != b.ID {
		return &ErrOtherBoard{Board: b.Name}
	}
	if need == Publisher && tok.Role == board.RoleEditor {
		return ErrNeedPublisher
	}
	return nil
}

// Routes is every route the server answers, on one mux, each written in
// the one table with what it asks of its caller: the API's and the
// editor's guarded routes, the public pages, documents and forms, the
// inboxes. Registering through it is the only way onto the server, so the
// authorization test walks every route there is.
type Routes struct {
	mux      *http.ServeMux
	rows     []Route
	cache    Keeper
	notFound http.Handler
}

// takesPost says whether req's address takes a POST (an inbox, a form):
// a GET there is answered 405 by the mux, not "not found".
func (r *Routes) takesPost(req *http.Request) bool {
	post := req.Clone(req.Context())
	post.Method = http.MethodPost
	_, pattern := r.mux.Handler(post)
	return pattern != ""
}

// NotFoundPage makes h the answer to a page nobody registered (a mistyped
// address under a board, an old link): the pages' own "not found" in the
// reader's language, rather than net/http's bare "404 page not found".
// The API keeps its plain answers.
func (r *Routes) NotFoundPage(h http.Handler) { r.notFound = h }

// Keeper keeps rendered public answers until what they show changes (the
// page cache, board/pagecache).
type Keeper interface {
	Wrap(http.Handler) http.Handler
}

// UseCache makes the routes registered with Cached from now on answer
// through k.
func (r *Routes) UseCache(k Keeper) { r.cache = k }

// Cached registers h for pattern, a public GET whose answer is the same
// for every reader of an address (in a language, a representation): the
// page cache, when there is one, keeps it.
func (r *Routes) Cached(pattern string, h http.Handler) {
	if r.cache != nil {
		h = r.cache.Wrap(h)
	}
	r.rows = append(r.rows, Route{Pattern: pattern, Access: Public, Cached: true})
	r.mux.Handle(pattern, h)
}

// NewRoutes returns an empty table on a new mux.
func NewRoutes() *Routes { return &Routes{mux: http.NewServeMux()} }

// Handle registers h for pattern as needing need. Enforcing it is the
// registering package's guard (the API's, the editor's, the inbox's
// signature check): the table says what each must enforce.
func (r *Routes) Handle(pattern string, need Access, h http.Handler) {
	r.rows = append(r.rows, Route{Pattern: pattern, Access: need})
	r.mux.Handle(pattern, h)
}

// Table is every route registered, in order.
func (r *Routes) Table() []Route { return slices.Clone(r.rows) }

// ServeHTTP answers with the route the request matches.
func (r *Routes) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.notFound != nil && (req.Method == http.MethodGet || req.Method == http.MethodHead) && !strings.HasPrefix(req.URL.Path, "/api/") {
		if _, pattern := r.mux.Handler(req); pattern == "" && !r.takesPost(req) {
			// A page's address typed or pasted with a slash at the end
			// (/boards/news/) is that page: send the reader there.
			if trimmed := strings.TrimRight(req.URL.Path, "/"); trimmed != "" && trimmed != req.URL.Path {
				to := *req
				u := *req.URL
				u.Path, u.RawPath = trimmed, ""
				to.URL = &u
				if _, pattern := r.mux.Handler(&to); pattern != "" {
					http.Redirect(w, req, u.RequestURI(), http.StatusMovedPermanently)
					return
				}
			}
			r.notFound.ServeHTTP(w, req)
			return
		}
	}
	r.mux.ServeHTTP(w, req)
}
