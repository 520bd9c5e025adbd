package activitypub

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crieur/board"
	"crieur/board/httpx"
	"crieur/federation/delivery"
)

const (
	contentTypeAP   = "application/activity+json"
	contentTypeJRD  = "application/jrd+json"
	outboxPageSize  = 20
	defaultInboxMax = 256 << 10
)

// Store is what the ActivityPub side reads and keeps of the board store:
// boards, announcements, followers, interactions, blocks.
type Store interface {
	BoardFinder
	BoardByID(ctx context.Context, id int64) (board.Board, error)
	Boards(ctx context.Context) ([]board.Board, error)
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
	Announcements(ctx context.Context, boardID int64, before int64, limit int) ([]board.Announcement, error)
	Pinned(ctx context.Context, boardID int64) ([]board.Announcement, error)
	CountAnnouncements(ctx context.Context, boardID int64) (int, error)
	AddFollower(ctx context.Context, boardID int64, f board.Follower) error
	RemoveFollower(ctx context.Context, boardID int64, actorID string) (bool, error)
	RemoveActor(ctx context.Context, actorID string) error
	Followers(ctx context.Context, boardID int64) ([]board.Follower, error)
	CountFollowers(ctx context.Context, boardID int64) (int, error)
	AddInteraction(ctx context.Context, boardID, announcementID int64, in board.Interaction) error
	RemoveInteraction(ctx context.Context, actor, id string) error
	EditInteraction(ctx context.Context, actor, objectID, content string) (bool, error)
	Blocked(ctx context.Context, boardID int64, raw string) (bool, error)
	Blocks(ctx context.Context, boardID *int64) ([]board.Block, error)
	ProfileSent(ctx context.Context, boardID int64) (string, error)
	SetProfileSent(ctx context.Context, boardID int64, hash string, at time.Time) error
}

// BoardFinder finds a board by its name.
type BoardFinder interface {
	BoardByName(ctx context.Context, name string) (board.Board, error)
}

// Signups records answers to calls for volunteers (board.Service).
type Signups interface {
	SignUp(ctx context.Context, b board.Board, annID int64, p board.Person, roles []string, o board.Origin) (board.SignupResult, error)
}

// Enqueuer is the part of the queue the inbox uses to answer follows.
type Enqueuer interface {
	Enqueue(ctx context.Context, jobs ...delivery.Job) error
}

// Options configure a Server.
type Options struct {
	AllowPrivateAddresses bool
	FetchTimeout          time.Duration
	// KeyFetchTimeout bounds a fetch made to check an inbox signature
	// (default 5 s): the sender waits for it.
	KeyFetchTimeout time.Duration
	// Metrics, if set, receives the inbox's counters.
	Metrics       prometheus.Registerer
	MaxInboxBytes int64
	Version       string
	// Signups takes poll answers as sign-ups (the board service).
	Signups Signups
	// Replays, if set, remembers accepted signatures across restarts;
	// without it they are remembered in memory.
	Replays ReplayLedger
	// Relays, if set, keeps the boards' relay subscriptions (relays.go).
	Relays RelayStore
}

// Server serves the ActivityPub side of every board and builds the
// delivery jobs for announcements.
type Server struct {
	urls    URLs
	store   Store
	pages   HTMLPages
	queue   Enqueuer
	fetch   *fetcher
	keys    *KeyStore
	maxBody int64
	version string
	log     *slog.Logger

	replays replays
	refused *refusals
	signups Signups
	relays  RelayStore
}

// NewServer wires the ActivityPub server.
func NewServer(urls URLs, store Store, pages HTMLPages, queue Enqueuer, opts Options, log *slog.Logger) *Server {
	if opts.MaxInboxBytes <= 0 {
		opts.MaxInboxBytes = defaultInboxMax
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 10 * time.Second
	}
	if opts.KeyFetchTimeout <= 0 {
		opts.KeyFetchTimeout = 5 * time.Second
	}
	s := &Server{
		urls: urls, store: store, pages: pages, queue: queue,
		keys: NewKeyStore(store), maxBody: opts.MaxInboxBytes, version: opts.Version, log: log,
		replays: newReplayCache(200_000), refused: newRefusals(opts.Metrics), signups: opts.Signups,
		relays: opts.Relays,
	}
	if opts.Replays != nil {
		s.replays = ledgerReplays{opts.Replays}
	}
	s.fetch = &fetcher{
		userAgent:  "Crieur/" + opts.Version + " (+" + urls.Scheme() + "://" + urls.Host() + ")",
		client:     NewHTTPClient(opts.FetchTimeout, opts.AllowPrivateAddresses),
		sign:       s.signGet,
		ttl:        time.Hour,
		keyTimeout: opts.KeyFetchTimeout,
		actors:     map[string]*remoteActor{},
		failures:   map[string]failedFetch{},
	}
	return s
}

// signGet signs an outgoing GET as the first board: the instance speaks
// through one of its actors, as authorized-fetch servers require.
func (s *Server) signGet(ctx context.Context, r *http.Request) error {
	boards, err := s.store.Boards(ctx)
	if err != nil || len(boards) == 0 {
		return fmt.Errorf("no board to sign fetches with: %w", err)
	}
	key, err := s.keys.PrivateKey(ctx, boards[0].Name)
	if err != nil {
		return err
	}
	return signRequest(r, key, s.urls.KeyID(boards[0].Name), nil)
}

// KeyStore hands out boards' private keys, parsed once.
type KeyStore struct {
	store BoardFinder
	mu    sync.Mutex
	keys  map[string]*rsa.PrivateKey
}

// NewKeyStore returns a key source reading from store.
func NewKeyStore(store BoardFinder) *KeyStore {
	return &KeyStore{store: store, keys: map[string]*rsa.PrivateKey{}}
}

// PrivateKey returns the signing key of board name.
func (k *KeyStore) PrivateKey(ctx context.Context, name string) (*rsa.PrivateKey, error) {
	k.mu.Lock()
	key, ok := k.keys[name]
	k.mu.Unlock()
	if ok {
		return key, nil
	}
	b, err := k.store.BoardByName(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("key of board %q: %w", name, err)
	}
	key, err = parsePrivateKey(b.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("key of board %q: %w", name, err)
	}
	k.mu.Lock()
	k.keys[name] = key
	k.mu.Unlock()
	return key, nil
}

// HTMLPages are what a board's and an announcement's own addresses show a
// browser rather than a fediverse server (the web package's pages).
type HTMLPages interface {
	Board(w http.ResponseWriter, r *http.Request, b board.Board)
	Announcement(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement)
	NotFound(w http.ResponseWriter, r *http.Request)
}

// Register adds the federation routes; a board's and an
// announcement's own addresses answer HTML pages to browsers.
func (s *Server) Register(routes *httpx.Routes) {
	// Every document here is the same for whoever asks: kept rendered
	// by the page cache.
	cached := func(pattern string, h http.HandlerFunc) { routes.Cached(pattern, h) }
	cached("GET /.well-known/webfinger", s.webfinger)
	cached("GET /.well-known/nodeinfo", s.nodeinfoLinks)
	cached("GET /nodeinfo/2.1", s.nodeinfo)
	cached("GET /boards/{board}", s.withBoard(s.serveActor))
	cached("GET /boards/{board}/outbox", s.withBoard(s.serveOutbox))
	cached("GET /boards/{board}/followers", s.withBoard(s.serveFollowers))
	cached("GET /boards/{board}/featured", s.withBoard(s.serveFeatured))
	cached("GET /boards/{board}/a/{id}", s.withBoard(s.withAnnouncement(s.serveObject)))
	routes.Handle("POST /boards/{board}/inbox", httpx.Signed, s.withBoard(func(w http.ResponseWriter, r *http.Request, b board.Board) {
		s.serveInbox(w, r, &b)
	}))
	routes.Handle("POST /inbox", httpx.Signed, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveInbox(w, r, nil) }))
}

func (s *Server) withBoard(next func(http.ResponseWriter, *http.Request, board.Board)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := httpx.PathBoard(r, s.store)
		if errors.Is(err, board.ErrNotFound) {
			s.pages.NotFound(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		next(w, r, b)
	}
}

// withAnnouncement finds the announcement of a page's URL.
func (s *Server) withAnnouncement(next func(http.ResponseWriter, *http.Request, board.Board, board.Announcement)) func(http.ResponseWriter, *http.Request, board.Board) {
	return func(w http.ResponseWriter, r *http.Request, b board.Board) {
		id, ok := board.ParseID(r.PathValue("id"))
		if !ok {
			s.pages.NotFound(w, r)
			return
		}
		a, err := s.store.Announcement(r.Context(), b.ID, id)
		if errors.Is(err, board.ErrNotFound) || err == nil && !a.Public() {
			s.pages.NotFound(w, r) // a draft is nobody's business yet
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		next(w, r, b, a)
	}
}

// serverError logs err once, as every handler does (httpx), and answers
// peers in the plain text of the protocol's answers.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	e := &httpx.Error{Status: http.StatusInternalServerError, Safe: "internal error", Err: err}
	httpx.LogServerError(r, s.log, e)
	http.Error(w, e.Safe, e.Status)
}

// wantsActivityJSON reports whether the client asked for ActivityStreams
// rather than a web page.
func wantsActivityJSON(r *http.Request) bool {
	for mt, params := range httpx.AcceptedTypes(r) {
		if mt == contentTypeAP || mt == "application/json" ||
			(mt == "application/ld+json" && (params["profile"] == "" || strings.Contains(params["profile"], "activitystreams"))) {
			return true
		}
	}
	return false
}

// writeAP answers an ActivityStreams document; the same address answers
// HTML to a browser, so caches keep one per Accept.
func writeAP(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Vary", "Accept")
	httpx.JSONAs(w, status, contentTypeAP+"; charset=utf-8", v)
}

func (s *Server) serveActor(w http.ResponseWriter, r *http.Request, b board.Board) {
	if !wantsActivityJSON(r) {
		w.Header().Set("Vary", "Accept")
		s.pages.Board(w, r, b)
		return
	}
	doc, err := s.actor(b)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeAP(w, http.StatusOK, doc)
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement) {
	if !wantsActivityJSON(r) {
		w.Header().Set("Vary", "Accept")
		s.pages.Announcement(w, r, b, a)
		return
	}
	status, build := http.StatusOK, s.note
	if a.DeletedAt != nil {
		status, build = http.StatusGone, s.tombstone
	}
	doc, err := build(b, a)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeAP(w, status, doc)
}

func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request, b board.Board) {
	ctx := r.Context()
	outbox := s.urls.Outbox(b.Name)
	if r.URL.Query().Get("page") == "" {
		n, err := s.store.CountAnnouncements(ctx, b.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		writeAP(w, http.StatusOK, map[string]any{
			"@context": jsonLDContext, "id": outbox, "type": "OrderedCollection",
			"totalItems": n, "first": outbox + "?page=true",
		})
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	list, err := s.store.Announcements(ctx, b.ID, before, outboxPageSize)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	items := make([]any, 0, len(list))
	for _, a := range list {
		act, err := s.activity(b, a, board.VerbCreate, 1, a.CreatedAt)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		delete(act, "@context")
		items = append(items, act)
	}
	id := outbox + "?page=true"
	if before > 0 {
		id += "&before=" + strconv.FormatInt(before, 10)
	}
	page := map[string]any{
		"@context": jsonLDContext, "id": id, "type": "OrderedCollectionPage",
		"partOf": outbox, "orderedItems": items,
	}
	if len(list) == outboxPageSize {
		page["next"] = fmt.Sprintf("%s?page=true&before=%d", outbox, list[len(list)-1].ID)
	}
	writeAP(w, http.StatusOK, page)
}

// serveFollowers shows only the count: who follows a board is the
// followers' business, as on Mastodon with hidden follows.
func (s *Server) serveFollowers(w http.ResponseWriter, r *http.Request, b board.Board) {
	n, err := s.store.CountFollowers(r.Context(), b.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeAP(w, http.StatusOK, map[string]any{
		"@context": jsonLDContext, "id": s.urls.Followers(b.Name), "type": "OrderedCollection", "totalItems": n,
	})
}

// serveFeatured lists the pinned announcements with their full objects,
// which Mastodon fetches when it resolves the board and shows on its profile.
func (s *Server) serveFeatured(w http.ResponseWriter, r *http.Request, b board.Board) {
	list, err := s.store.Pinned(r.Context(), b.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Ids, not objects: Mastodon keeps an item only if it is a string or
	// a Note (fetch_featured_collection_service.rb, process_note_items),
	// so an embedded call (a Question) would be unpinned at the board's
	// next refresh. It pins the items in the order listed and shows the
	// last pinned first (status_pins created_at desc): oldest pin first
	// here, so the newest shows on top there.
	items := make([]any, 0, len(list))
	for _, a := range slices.Backward(list) {
		items = append(items, s.urls.AnnouncementURL(a.Board, a.ID))
	}
	writeAP(w, http.StatusOK, map[string]any{
		"@context": jsonLDContext, "id": s.urls.Featured(b.Name), "type": "OrderedCollection",
		"totalItems": len(items), "orderedItems": items,
	})
}

func (s *Server) webfinger(w http.ResponseWriter, r *http.Request) {
	res := r.URL.Query().Get("resource")
	var name string
	if acct, ok := strings.CutPrefix(res, "acct:"); ok {
		user, host, found := strings.Cut(strings.TrimPrefix(acct, "@"), "@")
		if !found {
			http.Error(w, "resource must be acct:board@"+s.urls.Host()+" or a board URL", http.StatusBadRequest)
			return
		}
		if !strings.EqualFold(host, s.urls.Host()) {
			// Said for the administrator who typed the address by hand;
			// a server reads only the status.
			http.Error(w, "this server is "+s.urls.Host()+": it has no accounts on "+strconv.Quote(host), http.StatusNotFound)
			return
		}
		name = strings.ToLower(user)
	} else if n, ok := s.urls.parseBoardURL(res); ok {
		name = n
	} else {
		http.Error(w, "resource must be acct:board@"+s.urls.Host()+" or a board URL", http.StatusBadRequest)
		return
	}
	b, err := s.store.BoardByName(r.Context(), name)
	if errors.Is(err, board.ErrNotFound) {
		http.Error(w, "no board named "+strconv.Quote(name)+" on "+s.urls.Host(), http.StatusNotFound)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	actor := s.urls.BoardURL(b.Name)
	w.Header().Set("Content-Type", contentTypeJRD)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": res,
		"aliases": []string{actor},
		"links": []map[string]string{
			{"rel": "self", "type": contentTypeAP, "href": actor},
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor},
		},
	})
}

func (s *Server) nodeinfoLinks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"links": []map[string]string{{
		"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": s.urls.Base + "/nodeinfo/2.1",
	}}})
}

func (s *Server) nodeinfo(w http.ResponseWriter, r *http.Request) {
	boards, err := s.store.Boards(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	posts, err := s.store.CountAnnouncements(r.Context(), 0)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"`)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"version":           "2.1",
		"software":          map[string]string{"name": "crieur", "version": s.version},
		"protocols":         []string{"activitypub"},
		"services":          map[string][]string{"inbound": {}, "outbound": {}},
		"openRegistrations": false,
		"usage":             map[string]any{"users": map[string]int{"total": len(boards)}, "localPosts": posts},
		"metadata":          map[string]any{},
	})
}

// Keys returns the boards' signing keys, for delivery workers.
func (s *Server) Keys() *KeyStore { return s.keys }
