// Package api is the authenticated admin JSON API under /api/v1/: what the
// CLI, scripts and the tests use to post, edit and manage boards. Every
// route is declared once, in routes, with the access it needs.
//
// It reads requests and writes answers; the board service decides, the
// store is read through the small Store interface. No SQL, no HTML.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/httpx"
)

// QueueInspector reports the delivery queue's state to operators. The
// delivery package implements it.
type QueueInspector interface {
	Stats(ctx context.Context) (map[string]int, error)
}

// Store is what the API reads and keeps itself (tokens).
type Store interface {
	httpx.BoardFinder
	Boards(ctx context.Context) ([]board.Board, error)
	Authenticate(ctx context.Context, plain string) (board.Token, error)
	Tokens(ctx context.Context) ([]board.Token, error)
	CreateTokenUntil(ctx context.Context, boardID *int64, label string, expires *time.Time, role string) (string, int64, error)
	RevokeToken(ctx context.Context, id int64) error
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
	SearchAnnouncements(ctx context.Context, boardID int64, q string, before int64, limit int) ([]board.Announcement, error)
	Deliveries(ctx context.Context, announcementID int64) ([]board.Delivery, error)
	Interactions(ctx context.Context, announcementID int64) ([]board.Interaction, error)
	Followers(ctx context.Context, boardID int64) ([]board.Follower, error)
	Follower(ctx context.Context, boardID int64, actor string) (board.Follower, error)
	Signups(ctx context.Context, annID int64) ([]board.Signup, error)
	Answers(ctx context.Context, annID int64) ([]board.Answer, error)
	Blocks(ctx context.Context, boardID *int64) ([]board.Block, error)
	RemoveBlock(ctx context.Context, id int64, boardID *int64) error
	CountPendingOutbox(ctx context.Context) (int, error)
}

// API is the admin JSON API.
type API struct {
	svc     *board.Service
	store   Store
	queue   QueueInspector
	maxBody int64
	log     *slog.Logger

	server *httpx.Routes // where Register put the routes
	table  []Row
}

// New returns the admin API; queue may be nil.
func New(svc *board.Service, store Store, queue QueueInspector, maxBody int64, log *slog.Logger) *API {
	return &API{svc: svc, store: store, queue: queue, maxBody: maxBody, log: log, server: httpx.NewRoutes()}
}

// Access is what a route asks of the token that calls it (httpx.Access,
// shared with the web editor).
type Access = httpx.Access

// The levels of access, from least to most.
const (
	AnyToken  = httpx.AnyToken
	Member    = httpx.Member
	Publisher = httpx.Publisher
	Admin     = httpx.Admin
)

// call is what a handler gets: who calls, and on which board.
type call struct {
	Token board.Token
	Board board.Board // zero on routes without {board}
}

// actor is who acts: the token's holder.
func (c call) actor() board.Actor { return board.TokenActor(c.Token) }

type handler func(w http.ResponseWriter, r *http.Request, c call)

// route is one line of the authorization table.
type route struct {
	pattern string
	access  Access
	h       handler
}

// routes is every route of the admin API with the access it needs: the
// one table to read to know who may do what. The service checks the rest
// of the rules (an editor's token writes drafts; a second publisher
// approves).
func (api *API) routes() []route {
	return []route{
		{"GET /api/v1/boards", AnyToken, api.listBoards},
		{"GET /api/v1/boards/{board}", Member, api.getBoard},
		// A board's name, look and language are its publishers' to change.
		{"PATCH /api/v1/boards/{board}", Publisher, api.patchBoard},
		{"GET /api/v1/queue", Admin, api.queueStats},
		{"GET /api/v1/tokens", Admin, api.listTokens},
		{"POST /api/v1/tokens", Admin, api.createToken},
		{"DELETE /api/v1/tokens/{id}", Admin, api.revokeToken},
		{"POST /api/v1/boards/{board}/announcements", Member, api.create},
		{"GET /api/v1/boards/{board}/announcements", Member, api.list},
		{"POST /api/v1/boards/{board}/preview", Member, api.preview},
		{"POST /api/v1/boards/{board}/media", Member, api.upload},
		{"POST /api/v1/boards/{board}/announcements/{id}/approve", Member, api.approve},
		{"POST /api/v1/boards/{board}/announcements/{id}/reannounce", Member, api.reannounce},
		{"PUT /api/v1/boards/{board}/announcements/{id}/raised", Member, api.raised},
		{"POST /api/v1/boards/{board}/announcements/{id}/preview", Member, api.preview},
		{"GET /api/v1/boards/{board}/announcements/{id}", Member, api.get},
		{"PATCH /api/v1/boards/{board}/announcements/{id}", Member, api.edit(true)},
		{"PUT /api/v1/boards/{board}/announcements/{id}", Member, api.edit(false)},
		{"DELETE /api/v1/boards/{board}/announcements/{id}", Member, api.delete},
		{"PUT /api/v1/boards/{board}/announcements/{id}/pin", Member, api.pin(true)},
		{"DELETE /api/v1/boards/{board}/announcements/{id}/pin", Member, api.pin(false)},
		{"GET /api/v1/boards/{board}/announcements/{id}/deliveries", Member, api.deliveries},
		{"GET /api/v1/boards/{board}/announcements/{id}/interactions", Member, api.interactions},
		{"GET /api/v1/boards/{board}/followers", Member, api.followers},
		{"GET /api/v1/boards/{board}/announcements/{id}/signups", Member, api.signups},
		{"GET /api/v1/boards/{board}/announcements/{id}/signups.csv", Member, api.signupsCSV},
		{"POST /api/v1/boards/{board}/announcements/{id}/signups", Member, api.addSignup},
		{"DELETE /api/v1/boards/{board}/announcements/{id}/signups/{signup}", Member, api.removeSignup},
		{"PUT /api/v1/boards/{board}/announcements/{id}/resolved", Member, api.resolve},
		{"PUT /api/v1/boards/{board}/announcements/{id}/closed", Member, api.setClosed(true)},
		{"DELETE /api/v1/boards/{board}/announcements/{id}/closed", Member, api.setClosed(false)},
		{"PUT /api/v1/boards/{board}/announcements/{id}/cancelled", Member, api.cancel(true)},
		{"DELETE /api/v1/boards/{board}/announcements/{id}/cancelled", Member, api.cancel(false)},
		{"DELETE /api/v1/boards/{board}/followers", Member, api.removeFollower},
		{"GET /api/v1/boards/{board}/blocks", Member, api.listBlocks},
		{"POST /api/v1/boards/{board}/blocks", Member, api.addBlock},
		{"DELETE /api/v1/boards/{board}/blocks/{id}", Member, api.unblock},
		{"GET /api/v1/boards/{board}/services", Member, api.listServices},
		{"GET /api/v1/boards/{board}/services/{slug}", Member, api.getService},
		{"PUT /api/v1/boards/{board}/services/{slug}", Publisher, api.putService},
		{"DELETE /api/v1/boards/{board}/services/{slug}", Publisher, api.removeService},
		{"GET /api/v1/blocks", Admin, api.listBlocks},
		{"POST /api/v1/blocks", Admin, api.addBlock},
		{"DELETE /api/v1/blocks/{id}", Admin, api.unblock},
	}
}

// Row is one line of the authorization table as registered.
type Row = httpx.Route

// Register adds the API's routes to the server's; the destinations'
// set-up routes (OnBoard) and /metrics (AdminOnly) are added the same way.
func (api *API) Register(routes *httpx.Routes) {
	api.server = routes
	for _, rt := range api.routes() {
		api.handle(rt.pattern, rt.access, rt.h)
	}
}

// handle registers one guarded route and writes it in the table.
func (api *API) handle(pattern string, access Access, h handler) {
	api.table = append(api.table, Row{Pattern: pattern, Access: access})
	api.server.Handle(pattern, access, api.guard(access, h))
}

// Table is every guarded route registered, with the access it needs: the
// one authorization table of the admin API, its destinations' set-ups
// included (what the authorization test walks).
func (api *API) Table() []Row { return slices.Clone(api.table) }

// OnBoard registers a route another package adds under
// /api/v1/boards/{board}/ (a destination's set-up): role is what the
// token's role must be (board.RolePublisher, or board.RoleEditor for any
// member of the board).
func (api *API) OnBoard(pattern, role string, next func(w http.ResponseWriter, r *http.Request, b board.Board) error) {
	access := Member
	if role == board.RolePublisher {
		access = Publisher
	}
	api.handle(pattern, access, func(w http.ResponseWriter, r *http.Request, c call) {
		if err := next(w, r, c.Board); err != nil {
			api.fail(w, r, err)
		}
	})
}

// AdminOnly registers h (the /metrics handler) for admin tokens only.
func (api *API) AdminOnly(pattern string, h http.Handler) {
	api.handle(pattern, Admin, func(w http.ResponseWriter, r *http.Request, _ call) { h.ServeHTTP(w, r) })
}

func (api *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Fail(w, r, api.log, err)
}

// guard authenticates the token, finds the route's board, and lets the
// request through only with the access it needs.
func (api *API) guard(need Access, next handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		plain, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || plain == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crieur"`)
			api.fail(w, r, httpx.NewError(http.StatusUnauthorized, "send a token (crieur token create) as 'Authorization: Bearer <token>'"))
			return
		}
		tok, err := api.store.Authenticate(r.Context(), strings.TrimSpace(plain))
		switch {
		case errors.Is(err, board.ErrTokenExpired):
			w.Header().Set("WWW-Authenticate", `Bearer realm="crieur", error="invalid_token"`)
			api.fail(w, r, httpx.NewError(http.StatusUnauthorized, err.Error()))
			return
		case errors.Is(err, board.ErrNotFound):
			w.Header().Set("WWW-Authenticate", `Bearer realm="crieur", error="invalid_token"`)
			api.fail(w, r, httpx.NewError(http.StatusUnauthorized, "this token is not valid; create one with 'crieur token create'"))
			return
		case err != nil:
			api.fail(w, r, err)
			return
		}
		c := call{Token: tok}
		var on *board.Board
		if need == Member || need == Publisher {
			if c.Board, err = httpx.PathBoard(r, api.store); err != nil {
				api.fail(w, r, err)
				return
			}
			on = &c.Board
		}
		if err := httpx.Authorize(tok, need, on); err != nil {
			var other *httpx.ErrOtherBoard
			if errors.As(err, &other) {
				err = httpx.NewError(http.StatusForbidden, other.Error())
			}
			api.fail(w, r, err)
			return
		}
		next(w, r, c)
	}
}

func (api *API) listBoards(w http.ResponseWriter, r *http.Request, c call) {
	boards, err := api.store.Boards(r.Context())
	if err != nil {
		api.fail(w, r, err)
		return
	}
	out := []board.Board{}
	for _, b := range boards {
		if c.Token.BoardID == nil || *c.Token.BoardID == b.ID {
			out = append(out, b)
		}
	}
	httpx.JSON(w, http.StatusOK, out)
}

// queueStats shows the queue's counts plus the outbox entries not yet
// handed to it, so "0 ready, 0 outbox_pending" means all work is done or dead.
// The outbox is counted first: the dispatcher enqueues an entry's job
// before it marks the entry dispatched, and a fan-out enqueues its
// deliveries before it ends, so work that moves between the two reads is
// seen in the second. Counted the other way round, an entry handed over
// meanwhile was in neither count.
func (api *API) queueStats(w http.ResponseWriter, r *http.Request, _ call) {
	n, err := api.store.CountPendingOutbox(r.Context())
	if err != nil {
		api.fail(w, r, err)
		return
	}
	st := map[string]int{}
	if api.queue != nil {
		if st, err = api.queue.Stats(r.Context()); err != nil {
			api.fail(w, r, err)
			return
		}
	}
	st["outbox_pending"] = n
	httpx.JSON(w, http.StatusOK, st)
}
