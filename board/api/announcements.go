package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"crieur/board"
	"crieur/board/httpx"
	"crieur/board/media"
)

// draftDecoding reads an announcement as the API takes it.
func (api *API) draftDecoding() httpx.Decoding {
	return httpx.Decoding{Max: api.maxBody, RequireJSON: true, What: "an announcement"}
}

func (api *API) create(w http.ResponseWriter, r *http.Request, c call) {
	var d board.Draft
	if err := httpx.DecodeJSON(w, r, &d, api.draftDecoding()); err != nil {
		api.fail(w, r, err)
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > 200 {
		api.fail(w, r, board.Invalid("Idempotency-Key", "problem.at_most_chars", 200))
		return
	}
	a, replayed, err := api.svc.Create(r.Context(), c.actor(), c.Board, d, key)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/boards/%s/announcements/%d", c.Board.Name, a.ID))
	a.Warnings = httpx.Say(r, api.svc.Warnings(r.Context(), c.Board, a))
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		httpx.JSON(w, http.StatusOK, a)
		return
	}
	httpx.JSON(w, http.StatusCreated, a)
}

func (api *API) list(w http.ResponseWriter, r *http.Request, c call) {
	limit, err := httpx.QueryInt(r, "limit", 20, 1, 100)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	before, err := httpx.QueryInt(r, "before", 0, 0, 1<<62)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	// Editors see drafts, scheduled and expired ones too, each with its
	// status; ?q= searches titles and texts.
	list, err := api.store.SearchAnnouncements(r.Context(), c.Board.ID, strings.TrimSpace(r.URL.Query().Get("q")), before, int(limit))
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.Announcement{}
	}
	httpx.JSON(w, http.StatusOK, list)
}

// announcement is the one the request's {id} names on the board.
func (api *API) announcement(r *http.Request, c call) (board.Announcement, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return board.Announcement{}, err
	}
	return api.store.Announcement(r.Context(), c.Board.ID, id)
}

func (api *API) get(w http.ResponseWriter, r *http.Request, c call) {
	a, err := api.announcement(r, c)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}

// edit handles PATCH (merge the given fields into the current draft) and
// PUT (replace the whole draft). The body is read before the service is
// asked; the service merges it into the draft it holds.
func (api *API) edit(merge bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c call) {
		id, err := httpx.PathID(r, "id")
		var raw []byte
		if err == nil {
			raw, err = httpx.ReadJSON(w, r, api.draftDecoding())
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		a, err := api.svc.Update(r.Context(), c.actor(), c.Board, id, func(d *board.Draft) error {
			if !merge {
				*d = board.Draft{}
			}
			return httpx.Decode(raw, d, api.draftDecoding())
		})
		if err != nil {
			api.fail(w, r, err)
			return
		}
		a.Warnings = httpx.Say(r, api.svc.Warnings(r.Context(), c.Board, a))
		httpx.JSON(w, http.StatusOK, a)
	}
}

// preview answers what publishing the draft in the body would show, in
// each destination, saving and sending nothing. Under an announcement's
// path the body is merged into its current draft, like PATCH.
func (api *API) preview(w http.ResponseWriter, r *http.Request, c call) {
	var id int64
	var d board.Draft
	if r.PathValue("id") != "" {
		a, err := api.announcement(r, c)
		if err == nil && a.DeletedAt != nil {
			err = board.ErrGone
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		id, d = a.ID, board.DraftOf(a)
	}
	if err := httpx.DecodeJSON(w, r, &d, api.draftDecoding()); err != nil {
		api.fail(w, r, err)
		return
	}
	a, err := api.svc.PreviewOf(r.Context(), c.Board, id, d)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	previews := api.svc.Previews(r.Context(), c.Board, a)
	if previews == nil {
		previews = []board.Preview{}
	}
	for i := range previews {
		// A destination names its channel by the catalogue's key.
		previews[i].Channel = httpx.ClientLocale(r).T(previews[i].Channel)
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"announcement": a, "previews": previews, "warnings": httpx.Say(r, api.svc.Warnings(r.Context(), c.Board, a))})
}

// onAnnouncement answers what act does to the announcement of {id}.
func (api *API) onAnnouncement(act func(r *http.Request, c call, id int64) (board.Announcement, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, c call) {
		id, err := httpx.PathID(r, "id")
		var a board.Announcement
		if err == nil {
			a, err = act(r, c, id)
		}
		if err != nil {
			api.fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, a)
	}
}

// approve publishes what another publisher asked to publish, on a board
// that wants two.
func (api *API) approve(w http.ResponseWriter, r *http.Request, c call) {
	api.onAnnouncement(func(r *http.Request, c call, id int64) (board.Announcement, error) {
		return api.svc.Approve(r.Context(), c.actor(), c.Board, id)
	})(w, r, c)
}

// reannounce posts an outage notice again, as a fresh post that links it
// (201 with the new announcement).
func (api *API) reannounce(w http.ResponseWriter, r *http.Request, c call) {
	id, err := httpx.PathID(r, "id")
	var a board.Announcement
	if err == nil {
		a, err = api.svc.Reannounce(r.Context(), c.actor(), c.Board, id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, a)
}

// raised records what a campaign has raised ({"raised": 1240}).
func (api *API) raised(w http.ResponseWriter, r *http.Request, c call) {
	api.onAnnouncement(func(r *http.Request, c call, id int64) (board.Announcement, error) {
		var req struct {
			Raised *float64 `json:"raised"`
		}
		if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 4 << 10}); err != nil || req.Raised == nil {
			return board.Announcement{}, board.Invalid("raised", "problem.send", `{"raised": AMOUNT}`)
		}
		return api.svc.SetRaised(r.Context(), c.actor(), c.Board, id, *req.Raised)
	})(w, r, c)
}

// upload takes a picture as multipart/form-data (field "file") and
// answers its id, to name in an announcement's images with a description.
func (api *API) upload(w http.ResponseWriter, r *http.Request, c call) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		api.fail(w, r, httpx.NewError(http.StatusUnsupportedMediaType, "send the picture as multipart/form-data in a field named file (curl -F file=@photo.jpg)"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, media.MaxUpload+64<<10)
	f, _, err := r.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) {
		api.fail(w, r, &board.ValidationError{Fields: board.Problems{"file": board.Problemf("problem.file_field")}, What: "picture"})
		return
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			api.fail(w, r, httpx.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the picture is larger than %d MB", media.MaxUpload>>20)))
			return
		}
		api.fail(w, r, &board.ValidationError{Fields: board.Problems{"file": board.Problemf("problem.upload_unreadable")}, What: "picture"})
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	im, err := api.svc.Upload(r.Context(), c.Board, data)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, map[string]any{"id": im.ID, "media_type": im.MediaType, "width": im.Width, "height": im.Height,
		"blurhash": im.Blurhash, "size": im.Size, "path": "/boards/" + c.Board.Name + board.MediaPath(im.ID)})
}

func (api *API) delete(w http.ResponseWriter, r *http.Request, c call) {
	id, err := httpx.PathID(r, "id")
	if err == nil {
		err = api.svc.Delete(r.Context(), c.actor(), c.Board, id)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pin features an announcement (PUT .../pin) or stops featuring it
// (DELETE .../pin); repeating either changes nothing.
func (api *API) pin(pin bool) handler {
	return api.onAnnouncement(func(r *http.Request, c call, id int64) (board.Announcement, error) {
		return api.svc.Pin(r.Context(), c.actor(), c.Board, id, pin)
	})
}

// setClosed closes a call early (PUT .../closed) or reopens it (DELETE).
func (api *API) setClosed(closed bool) handler {
	return api.onAnnouncement(func(r *http.Request, c call, id int64) (board.Announcement, error) {
		return api.svc.SetClosed(r.Context(), c.actor(), c.Board, id, closed)
	})
}

// cancel cancels a training (PUT .../cancelled) or calls the cancellation
// off (DELETE).
func (api *API) cancel(cancelled bool) handler {
	return api.onAnnouncement(func(r *http.Request, c call, id int64) (board.Announcement, error) {
		return api.svc.Cancel(r.Context(), c.actor(), c.Board, id, cancelled)
	})
}

// resolve marks an outage over now (PUT .../resolved).
func (api *API) resolve(w http.ResponseWriter, r *http.Request, c call) {
	api.onAnnouncement(func(r *http.Request, c call, id int64) (board.Announcement, error) {
		return api.svc.ResolveOutage(r.Context(), c.actor(), c.Board, id)
	})(w, r, c)
}

func (api *API) deliveries(w http.ResponseWriter, r *http.Request, c call) {
	a, err := api.announcement(r, c)
	var list []board.Delivery
	if err == nil {
		list, err = api.store.Deliveries(r.Context(), a.ID)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, board.SummarizeDeliveries(a, list))
}

func (api *API) interactions(w http.ResponseWriter, r *http.Request, c call) {
	a, err := api.announcement(r, c)
	var list []board.Interaction
	if err == nil {
		list, err = api.store.Interactions(r.Context(), a.ID)
	}
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.Interaction{}
	}
	httpx.JSON(w, http.StatusOK, list)
}

func (api *API) followers(w http.ResponseWriter, r *http.Request, c call) {
	list, err := api.store.Followers(r.Context(), c.Board.ID)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.Follower{}
	}
	httpx.JSON(w, http.StatusOK, list)
}
