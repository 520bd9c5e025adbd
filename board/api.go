package board

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"crieur/board/media"
)

// QueueInspector reports the delivery queue's state to operators. The
// delivery package implements it; board only declares what it shows.
type QueueInspector interface {
	Stats(ctx context.Context) (map[string]int, error)
}

// API is the authenticated admin JSON API under /api/v1/.
type API struct {
	svc     *Service
	queue   QueueInspector
	maxBody int64
	log     *slog.Logger
}

// NewAPI returns the admin API; queue may be nil.
func NewAPI(svc *Service, queue QueueInspector, maxBody int64, log *slog.Logger) *API {
	return &API{svc: svc, queue: queue, maxBody: maxBody, log: log}
}

// Register adds the API's routes to mux.
func (api *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/boards", api.auth(api.listBoards))
	mux.HandleFunc("GET /api/v1/queue", api.admin(api.queueStats))
	mux.HandleFunc("GET /api/v1/tokens", api.admin(api.listTokens))
	mux.HandleFunc("POST /api/v1/tokens", api.admin(api.createToken))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", api.admin(api.revokeToken))
	mux.HandleFunc("POST /api/v1/boards/{board}/announcements", api.onBoard(api.create))
	mux.HandleFunc("GET /api/v1/boards/{board}/announcements", api.onBoard(api.list))
	mux.HandleFunc("POST /api/v1/boards/{board}/preview", api.onBoard(api.preview))
	mux.HandleFunc("POST /api/v1/boards/{board}/media", api.onBoard(api.upload))
	mux.HandleFunc("POST /api/v1/boards/{board}/announcements/{id}/approve", api.onBoard(api.approve))
	mux.HandleFunc("PUT /api/v1/boards/{board}/announcements/{id}/raised", api.onBoard(api.raised))
	mux.HandleFunc("POST /api/v1/boards/{board}/announcements/{id}/preview", api.onBoard(api.preview))
	mux.HandleFunc("GET /api/v1/boards/{board}/announcements/{id}", api.onBoard(api.get))
	mux.HandleFunc("PATCH /api/v1/boards/{board}/announcements/{id}", api.onBoard(api.edit(true)))
	mux.HandleFunc("PUT /api/v1/boards/{board}/announcements/{id}", api.onBoard(api.edit(false)))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/announcements/{id}", api.onBoard(api.delete))
	mux.HandleFunc("PUT /api/v1/boards/{board}/announcements/{id}/pin", api.onBoard(api.pin(true)))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/announcements/{id}/pin", api.onBoard(api.pin(false)))
	mux.HandleFunc("GET /api/v1/boards/{board}/announcements/{id}/deliveries", api.onBoard(api.deliveries))
	mux.HandleFunc("GET /api/v1/boards/{board}/announcements/{id}/interactions", api.onBoard(api.interactions))
	mux.HandleFunc("GET /api/v1/boards/{board}/followers", api.onBoard(api.followers))
	mux.HandleFunc("GET /api/v1/boards/{board}/announcements/{id}/signups", api.onBoard(api.signups))
	mux.HandleFunc("GET /api/v1/boards/{board}/announcements/{id}/signups.csv", api.onBoard(api.signupsCSV))
	mux.HandleFunc("POST /api/v1/boards/{board}/announcements/{id}/signups", api.onBoard(api.addSignup))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/announcements/{id}/signups/{signup}", api.onBoard(api.removeSignup))
	mux.HandleFunc("PUT /api/v1/boards/{board}/announcements/{id}/resolved", api.onBoard(api.resolve))
	mux.HandleFunc("PUT /api/v1/boards/{board}/announcements/{id}/closed", api.onBoard(api.setClosed(true)))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/announcements/{id}/closed", api.onBoard(api.setClosed(false)))
	mux.HandleFunc("PUT /api/v1/boards/{board}/announcements/{id}/cancelled", api.onBoard(api.cancel(true)))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/announcements/{id}/cancelled", api.onBoard(api.cancel(false)))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/followers", api.onBoard(api.removeFollower))
	mux.HandleFunc("GET /api/v1/boards/{board}/blocks", api.onBoard(func(w http.ResponseWriter, r *http.Request, b Board) { api.blocks(w, r, &b) }))
	mux.HandleFunc("POST /api/v1/boards/{board}/blocks", api.onBoard(func(w http.ResponseWriter, r *http.Request, b Board) { api.blocks(w, r, &b) }))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/blocks/{id}", api.onBoard(func(w http.ResponseWriter, r *http.Request, b Board) { api.unblock(w, r, &b) }))
	mux.HandleFunc("GET /api/v1/blocks", api.admin(func(w http.ResponseWriter, r *http.Request) { api.blocks(w, r, nil) }))
	mux.HandleFunc("POST /api/v1/blocks", api.admin(func(w http.ResponseWriter, r *http.Request) { api.blocks(w, r, nil) }))
	mux.HandleFunc("DELETE /api/v1/blocks/{id}", api.admin(func(w http.ResponseWriter, r *http.Request) { api.unblock(w, r, nil) }))
}

type apiError struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (api *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, apiError{Error: "some fields need fixing", Fields: ve.Fields})
	case errors.As(err, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)})
	case errors.Is(err, ErrForbidden):
		writeJSON(w, http.StatusForbidden, apiError{Error: err.Error()})
	case errors.Is(err, ErrIdempotencyConflict):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: err.Error() + "; use a new key for a new announcement"})
	case errors.Is(err, ErrGone):
		writeJSON(w, http.StatusGone, apiError{Error: "this announcement was deleted"})
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
	case errors.Is(err, ErrNotACall), errors.Is(err, ErrCallClosed):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error()})
	default:
		api.log.ErrorContext(r.Context(), "admin api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error; the server log has details"})
	}
}

type tokenKey struct{}

func (api *API) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		plain, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || plain == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crieur"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "send an admin token as 'Authorization: Bearer <token>'"})
			return
		}
		tok, err := api.svc.store.Authenticate(r.Context(), strings.TrimSpace(plain))
		if errors.Is(err, ErrTokenExpired) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crieur", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: err.Error()})
			return
		}
		if errors.Is(err, ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crieur", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "this token is not valid; create one with 'crieur token create'"})
			return
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		next(w, r.WithContext(WithActor(context.WithValue(r.Context(), tokenKey{}, tok), tok)))
	}
}

// admin lets only tokens for every board through: the queue and the
// metrics speak of all boards at once.
func (api *API) admin(next http.HandlerFunc) http.HandlerFunc {
	return api.auth(func(w http.ResponseWriter, r *http.Request) {
		if tok, _ := r.Context().Value(tokenKey{}).(Token); tok.BoardID != nil {
			writeJSON(w, http.StatusForbidden, apiError{Error: "this needs an admin token (crieur token create, without --board)"})
			return
		}
		next(w, r)
	})
}

// AdminOnly wraps h (the /metrics handler) with the admin check.
func (api *API) AdminOnly(h http.Handler) http.Handler { return api.admin(h.ServeHTTP) }

type boardHandler func(w http.ResponseWriter, r *http.Request, b Board)

// OnBoard wraps a handler of /api/v1/boards/{board}/... with the API's
// authentication and board lookup, for routes other packages add (Matrix).
func (api *API) OnBoard(next func(w http.ResponseWriter, r *http.Request, b Board)) http.HandlerFunc {
	return api.onBoard(next)
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteError answers a JSON error the way the admin API does.
func WriteError(w http.ResponseWriter, status int, msg string, fields map[string]string) {
	writeJSON(w, status, apiError{Error: msg, Fields: fields})
}

func (api *API) onBoard(next boardHandler) http.HandlerFunc {
	return api.auth(func(w http.ResponseWriter, r *http.Request) {
		b, err := api.svc.store.BoardByName(r.Context(), r.PathValue("board"))
		if errors.Is(err, ErrNotFound) {
			writeJSON(w, http.StatusNotFound, apiError{Error: fmt.Sprintf("there is no board %q on this server; crieur board list shows them", r.PathValue("board"))})
			return
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		tok := r.Context().Value(tokenKey{}).(Token)
		if tok.BoardID != nil && *tok.BoardID != b.ID {
			writeJSON(w, http.StatusForbidden, apiError{Error: fmt.Sprintf("this token may not manage board %q", b.Name)})
			return
		}
		next(w, r, b)
	})
}

func (api *API) listBoards(w http.ResponseWriter, r *http.Request) {
	boards, err := api.svc.store.Boards(r.Context())
	if err != nil {
		api.fail(w, r, err)
		return
	}
	tok := r.Context().Value(tokenKey{}).(Token)
	out := []Board{}
	for _, b := range boards {
		if tok.BoardID == nil || *tok.BoardID == b.ID {
			out = append(out, b)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// queueStats shows the queue's counts plus the outbox entries not yet
// handed to it, so "0 ready, 0 outbox_pending" means all work is done or dead.
func (api *API) queueStats(w http.ResponseWriter, r *http.Request) {
	st := map[string]int{}
	if api.queue != nil {
		var err error
		if st, err = api.queue.Stats(r.Context()); err != nil {
			api.fail(w, r, err)
			return
		}
	}
	n, err := api.svc.store.CountPendingOutbox(r.Context())
	if err != nil {
		api.fail(w, r, err)
		return
	}
	st["outbox_pending"] = n
	writeJSON(w, http.StatusOK, st)
}

// decodeDraft reads a JSON body into d strictly: unknown fields, wrong types
// and trailing data are errors that name the field.
func (api *API) decodeDraft(w http.ResponseWriter, r *http.Request, d *Draft) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "send the announcement as JSON with 'Content-Type: application/json'"})
		return errHandled
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, api.maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(d); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &ValidationError{Fields: map[string]string{"body": "must hold exactly one JSON object"}}
	}
	return nil
}

var errHandled = errors.New("response already written")

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &syn):
		return &ValidationError{Fields: map[string]string{"body": fmt.Sprintf("is not valid JSON (at byte %d)", syn.Offset)}}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &ValidationError{Fields: map[string]string{field: "must be " + jsonTypeName(typ.Type.Kind().String())}}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ValidationError{Fields: map[string]string{"body": "is empty or cut short; send a JSON object"}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &ValidationError{Fields: map[string]string{name: "is not a field of an announcement"}}
	case strings.Contains(err.Error(), "parsing time"):
		return &ValidationError{Fields: map[string]string{"time": "times must be RFC 3339, e.g. 2026-12-05T14:00:00+01:00"}}
	default:
		return &ValidationError{Fields: map[string]string{"body": err.Error()}}
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64":
		return "a whole number"
	case "slice":
		return "a list"
	case "struct", "ptr":
		return "an object"
	default:
		return "a " + kind
	}
}

func (api *API) create(w http.ResponseWriter, r *http.Request, b Board) {
	var d Draft
	if err := api.decodeDraft(w, r, &d); err != nil {
		if err != errHandled {
			api.fail(w, r, err)
		}
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > 200 {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"Idempotency-Key": "at most 200 characters"}})
		return
	}
	a, replayed, err := api.svc.Create(r.Context(), b, d, key)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/boards/%s/announcements/%d", b.Name, a.ID))
	a.Warnings = api.svc.Warnings(r.Context(), b, a)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, a)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (api *API) list(w http.ResponseWriter, r *http.Request, b Board) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	// Editors see drafts, scheduled and expired ones too, each with its
	// status; ?q= searches titles and texts.
	list, err := api.svc.store.SearchAnnouncements(r.Context(), b.ID, strings.TrimSpace(r.URL.Query().Get("q")), before, limit)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Announcement{}
	}
	writeJSON(w, http.StatusOK, list)
}

func pathID(r *http.Request) (int64, error) {
	id, ok := ParseID(r.PathValue("id"))
	if !ok {
		return 0, ErrNotFound
	}
	return id, nil
}

func (api *API) get(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	if err == nil {
		var a Announcement
		if a, err = api.svc.store.Announcement(r.Context(), b.ID, id); err == nil {
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	api.fail(w, r, err)
}

// edit handles PATCH (merge the given fields into the current draft) and
// PUT (replace the whole draft).
func (api *API) edit(merge bool) boardHandler {
	return func(w http.ResponseWriter, r *http.Request, b Board) {
		id, err := pathID(r)
		if err != nil {
			api.fail(w, r, err)
			return
		}
		var decodeErr error
		a, err := api.svc.Update(r.Context(), b, id, func(d *Draft) error {
			if !merge {
				*d = Draft{}
			}
			decodeErr = api.decodeDraft(w, r, d)
			return decodeErr
		})
		if errors.Is(err, errHandled) {
			return
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		a.Warnings = api.svc.Warnings(r.Context(), b, a)
		writeJSON(w, http.StatusOK, a)
	}
}

// preview answers what publishing the draft in the body would show, in
// each destination, saving and sending nothing. Under an announcement's
// path the body is merged into its current draft, like PATCH.
func (api *API) preview(w http.ResponseWriter, r *http.Request, b Board) {
	var id int64
	var d Draft
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err == nil {
			var a Announcement
			if a, err = api.svc.store.Announcement(r.Context(), b.ID, id); err == nil && a.DeletedAt != nil {
				err = ErrGone
			}
			d = DraftOf(a)
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
	}
	if err := api.decodeDraft(w, r, &d); err != nil {
		if err != errHandled {
			api.fail(w, r, err)
		}
		return
	}
	a, err := api.svc.PreviewOf(r.Context(), b, id, d)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	previews := api.svc.Previews(r.Context(), b, a)
	if previews == nil {
		previews = []Preview{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"announcement": a, "previews": previews, "warnings": api.svc.Warnings(r.Context(), b, a)})
}

// approve publishes what another publisher asked to publish, on a board
// that wants two.
func (api *API) approve(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	var a Announcement
	if err == nil {
		a, err = api.svc.Approve(r.Context(), b, id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// raised records what a campaign has raised ({"raised": 1240}).
func (api *API) raised(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	var req struct {
		Raised *float64 `json:"raised"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Raised == nil {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"raised": `send {"raised": AMOUNT}, the total given so far`}})
		return
	}
	a, err := api.svc.SetRaised(r.Context(), b, id, *req.Raised)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// upload takes a picture as multipart/form-data (field "file") and
// answers its id, to name in an announcement's images with a description.
func (api *API) upload(w http.ResponseWriter, r *http.Request, b Board) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "send the picture as multipart/form-data in a field named file (curl -F file=@photo.jpg)"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, media.MaxUpload+64<<10)
	f, _, err := r.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"file": "send the picture in a field named file"}, What: "picture"})
		return
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("the picture is larger than %d MB", media.MaxUpload>>20)})
			return
		}
		api.fail(w, r, &ValidationError{Fields: map[string]string{"file": "the upload could not be read: " + err.Error()}, What: "picture"})
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	im, err := api.svc.Upload(r.Context(), b, data)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": im.ID, "media_type": im.MediaType, "width": im.Width, "height": im.Height,
		"blurhash": im.Blurhash, "size": im.Size, "path": "/boards/" + b.Name + MediaPath(im.ID)})
}

func (api *API) delete(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	if err == nil {
		err = api.svc.Delete(r.Context(), b, id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pin features an announcement (PUT .../pin) or stops featuring it
// (DELETE .../pin); repeating either changes nothing.
func (api *API) pin(pin bool) boardHandler {
	return func(w http.ResponseWriter, r *http.Request, b Board) {
		id, err := pathID(r)
		var a Announcement
		if err == nil {
			a, err = api.svc.Pin(r.Context(), b, id, pin)
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

// DeliverySummary is what the deliveries endpoint shows: counts overall,
// per kind of destination and per host, with each host's last error.
type DeliverySummary struct {
	Counts        map[string]int            `json:"counts"`
	ByDestination map[string]map[string]int `json:"by_destination"`
	Hosts         []HostSummary             `json:"hosts"`
	Deliveries    []Delivery                `json:"deliveries"`
}

// HostSummary is one destination host's share of an announcement's deliveries.
type HostSummary struct {
	Host        string         `json:"host"`
	Counts      map[string]int `json:"counts"`
	LastError   string         `json:"last_error,omitempty"`
	LastErrorAt *time.Time     `json:"last_error_at,omitempty"`
}

// deliveryStatus is a row's state as counted. Rows recorded before the
// retrying state existed say pending with an error.
func deliveryStatus(d Delivery) string {
	if d.State == DeliveryPending && d.LastError != "" {
		return DeliveryRetrying
	}
	return d.State
}

func newCounts() map[string]int {
	return map[string]int{DeliveryPending: 0, DeliveryRetrying: 0, DeliveryDelivered: 0, DeliveryDead: 0}
}

// destination tells ActivityPub inboxes (URLs) from Matrix rooms (!id, #alias).
func destination(target string) (kind, host string) {
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		return "activitypub", u.Host
	}
	if _, server, ok := strings.Cut(target, ":"); ok && (strings.HasPrefix(target, "!") || strings.HasPrefix(target, "#")) {
		return "matrix", server
	}
	return "other", target
}

// SummarizeDeliveries builds the summary of list.
func SummarizeDeliveries(list []Delivery) DeliverySummary {
	sum := DeliverySummary{Counts: newCounts(), ByDestination: map[string]map[string]int{}, Hosts: []HostSummary{}, Deliveries: list}
	if sum.Deliveries == nil {
		sum.Deliveries = []Delivery{}
	}
	hosts := map[string]*HostSummary{}
	var order []string
	for i, d := range list {
		st := deliveryStatus(d)
		sum.Deliveries[i].State = st
		kind, host := destination(d.Target)
		sum.Counts[st]++
		if sum.ByDestination[kind] == nil {
			sum.ByDestination[kind] = newCounts()
		}
		sum.ByDestination[kind][st]++
		h := hosts[host]
		if h == nil {
			h = &HostSummary{Host: host, Counts: newCounts()}
			hosts[host] = h
			order = append(order, host)
		}
		h.Counts[st]++
		if d.LastError != "" && (h.LastErrorAt == nil || d.UpdatedAt.After(*h.LastErrorAt)) {
			at := d.UpdatedAt
			h.LastError, h.LastErrorAt = d.LastError, &at
		}
	}
	slices.Sort(order)
	for _, host := range order {
		sum.Hosts = append(sum.Hosts, *hosts[host])
	}
	return sum
}

func (api *API) deliveries(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	if err == nil {
		_, err = api.svc.store.Announcement(r.Context(), b.ID, id)
	}
	var list []Delivery
	if err == nil {
		list, err = api.svc.store.Deliveries(r.Context(), id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SummarizeDeliveries(list))
}

func (api *API) interactions(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	if err == nil {
		_, err = api.svc.store.Announcement(r.Context(), b.ID, id)
	}
	var list []Interaction
	if err == nil {
		list, err = api.svc.store.Interactions(r.Context(), id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Interaction{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (api *API) followers(w http.ResponseWriter, r *http.Request, b Board) {
	list, err := api.svc.store.Followers(r.Context(), b.ID)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Follower{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (api *API) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := api.svc.store.Tokens(r.Context())
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Token{}
	}
	writeJSON(w, http.StatusOK, list)
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

func (api *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"body": "send {\"board\": ..., \"label\": ..., \"expires_in\": \"90d\"}"}})
		return
	}
	errs := map[string]string{}
	checkText(errs, "label", strings.TrimSpace(req.Label), 200, false)
	var boardID *int64
	if req.Board != "" {
		b, err := api.svc.store.BoardByName(r.Context(), req.Board)
		if err != nil {
			errs["board"] = "no such board"
		} else {
			boardID = &b.ID
		}
	}
	var expires *time.Time
	if req.ExpiresIn != "" {
		d, err := ParseLifetime(req.ExpiresIn)
		if err != nil {
			errs["expires_in"] = err.Error()
		} else {
			t := time.Now().Add(d)
			expires = &t
		}
	}
	if len(errs) > 0 {
		api.fail(w, r, &ValidationError{Fields: errs})
		return
	}
	if req.Role == "" {
		req.Role = RolePublisher
	}
	plain, id, err := api.svc.store.CreateTokenUntil(r.Context(), boardID, strings.TrimSpace(req.Label), expires, req.Role)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "token": plain, "board": req.Board, "expires_at": expires, "role": req.Role,
		"note": "this is the only time the token is shown"})
}

func (api *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, ok := ParseID(r.PathValue("id"))
	if !ok {
		api.fail(w, r, ErrNotFound)
		return
	}
	if err := api.svc.store.RevokeToken(r.Context(), id); err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// signups lists who answered a call, from where and when: for the board's
// editors only (the public sees counts).
func (api *API) signups(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	var a Announcement
	if err == nil {
		a, err = api.svc.store.Announcement(r.Context(), b.ID, id)
	}
	if err == nil && !a.TakesSignups() {
		err = ErrNotACall
	}
	var list []Signup
	if err == nil {
		list, err = api.svc.store.Signups(r.Context(), id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Signup{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"taken": a.Call.Taken, "roles": a.Call.Roles, "signups": list})
}

// signupsCSV exports a call's sign-ups for a spreadsheet.
func (api *API) signupsCSV(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	var list []Signup
	if err == nil {
		_, err = api.svc.store.Announcement(r.Context(), b.ID, id)
	}
	if err == nil {
		list, err = api.svc.store.Signups(r.Context(), id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeSignupsCSV(w, id, list)
}

// writeSignupsCSV writes a call's sign-ups as CSV, for a spreadsheet.
func writeSignupsCSV(w http.ResponseWriter, id int64, list []Signup) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="signups-%d.csv"`, id))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"role", "state", "from", "who", "name", "contact", "signed up at"})
	for _, su := range list {
		// A leading = + - @ would make a spreadsheet run a formula.
		cell := func(s string) string {
			if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
				return "'" + s
			}
			return s
		}
		_ = cw.Write([]string{cell(su.Role), su.State, su.Person.Kind, cell(su.Person.ID), cell(su.Person.Name), cell(su.Person.Contact), su.CreatedAt.Format(time.RFC3339)})
	}
	cw.Flush()
}

// addSignup records a sign-up an editor took another way (by phone).
func (api *API) addSignup(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	var req struct {
		Name    string   `json:"name"`
		Contact string   `json:"contact"`
		Roles   []string `json:"roles"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		api.fail(w, r, &ValidationError{Fields: map[string]string{"body": `send {"name": "...", "contact": "...", "roles": ["cook"]}`}})
		return
	}
	errs := map[string]string{}
	req.Name, req.Contact = strings.TrimSpace(req.Name), strings.TrimSpace(req.Contact)
	checkText(errs, "name", req.Name, 100, true)
	checkText(errs, "contact", req.Contact, 200, false)
	if len(req.Roles) == 0 {
		errs["roles"] = "name at least one role"
	}
	if len(errs) > 0 {
		api.fail(w, r, &ValidationError{Fields: errs})
		return
	}
	p := Person{Kind: PersonEditor, ID: "editor:" + newWithdrawToken(), Name: req.Name, Contact: req.Contact}
	res, err := api.svc.SignUp(r.Context(), b, id, p, req.Roles)
	var unknown *UnknownRoleError
	if errors.As(err, &unknown) {
		err = &ValidationError{Fields: map[string]string{"roles": unknown.Error()}}
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (api *API) removeSignup(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	sid, ok := ParseID(r.PathValue("signup"))
	if err == nil && !ok {
		err = ErrNotFound
	}
	if err == nil {
		err = api.svc.RemoveSignup(r.Context(), b, id, sid)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setClosed closes a call early (PUT .../closed) or reopens it (DELETE).
func (api *API) setClosed(closed bool) boardHandler {
	return func(w http.ResponseWriter, r *http.Request, b Board) {
		id, err := pathID(r)
		var a Announcement
		if err == nil {
			a, err = api.svc.SetClosed(r.Context(), b, id, closed)
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

// cancel cancels a training (PUT .../cancelled) or calls the cancellation
// off (DELETE).
func (api *API) cancel(cancelled bool) boardHandler {
	return func(w http.ResponseWriter, r *http.Request, b Board) {
		id, err := pathID(r)
		var a Announcement
		if err == nil {
			a, err = api.svc.CancelTraining(r.Context(), b, id, cancelled)
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

// resolve marks an outage over now (PUT .../resolved).
func (api *API) resolve(w http.ResponseWriter, r *http.Request, b Board) {
	id, err := pathID(r)
	var a Announcement
	if err == nil {
		a, err = api.svc.ResolveOutage(r.Context(), b, id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
