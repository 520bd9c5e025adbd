package mattermost

import (
	"encoding/json"
	"net/http"

	"crieur/board"
)

// Register adds the webhook set-up routes to the admin API.
func (d *Destination) Register(mux *http.ServeMux, api *board.API) {
	mux.HandleFunc("GET /api/v1/boards/{board}/mattermost", api.OnBoard(d.get))
	mux.HandleFunc("PUT /api/v1/boards/{board}/mattermost", api.OnBoard(d.put))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/mattermost", api.OnBoard(d.delete))
	mux.HandleFunc("POST /api/v1/boards/{board}/mattermost/test", api.OnBoard(d.test))
}

// hookView is a hook as the API shows it: everything but the URL.
type hookView struct {
	Hook
	URLSet bool `json:"url_set"`
}

func (d *Destination) view(w http.ResponseWriter, r *http.Request, b board.Board) {
	hooks, err := d.Hooks(r.Context(), b.ID)
	if err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	out := make([]hookView, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, hookView{Hook: h, URLSet: h.URL != ""})
	}
	board.WriteJSON(w, http.StatusOK, map[string]any{"hooks": out})
}

func (d *Destination) get(w http.ResponseWriter, r *http.Request, b board.Board) { d.view(w, r, b) }

func (d *Destination) put(w http.ResponseWriter, r *http.Request, b board.Board) {
	if err := board.RequirePublisher(r.Context(), "change the board's Mattermost hooks"); err != nil {
		board.WriteError(w, http.StatusForbidden, err.Error(), nil)
		return
	}
	var req struct {
		Hooks []struct {
			Name     string `json:"name"`
			URL      string `json:"url"`
			Channel  string `json:"channel"`
			Username string `json:"username"`
			IconURL  string `json:"icon_url"`
		} `json:"hooks"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		board.WriteError(w, http.StatusBadRequest, "send {\"hooks\": [{\"name\", \"url\", \"channel\", \"username\", \"icon_url\"}]}: "+err.Error(), nil)
		return
	}
	old, err := d.Hooks(r.Context(), b.ID)
	if err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	known := map[string]bool{}
	for _, h := range old {
		known[h.Name] = true
	}
	hooks := make([]Hook, 0, len(req.Hooks))
	for _, h := range req.Hooks {
		hooks = append(hooks, Hook{Name: h.Name, URL: h.URL, Channel: h.Channel, Username: h.Username, IconURL: h.IconURL})
	}
	if errs := Check(hooks, known); len(errs) > 0 {
		board.WriteError(w, http.StatusBadRequest, "some fields need fixing", errs)
		return
	}
	if err := d.SetHooks(r.Context(), b.ID, hooks); err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	d.view(w, r, b)
}

func (d *Destination) delete(w http.ResponseWriter, r *http.Request, b board.Board) {
	if err := board.RequirePublisher(r.Context(), "change the board's Mattermost hooks"); err != nil {
		board.WriteError(w, http.StatusForbidden, err.Error(), nil)
		return
	}
	if err := d.SetHooks(r.Context(), b.ID, nil); err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// test sends a test message and answers the exact error (without the
// webhook's URL).
func (d *Destination) test(w http.ResponseWriter, r *http.Request, b board.Board) {
	var req struct {
		Hook string `json:"hook"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		board.WriteError(w, http.StatusBadRequest, "send {\"hook\": \"NAME\"}", nil)
		return
	}
	if _, err := d.hook(r.Context(), b.ID, req.Hook); err != nil {
		board.WriteError(w, http.StatusNotFound, "this board has no Mattermost hook called "+req.Hook, nil)
		return
	}
	if err := d.SendTest(r.Context(), b, req.Hook); err != nil {
		board.WriteJSON(w, http.StatusBadGateway, map[string]any{"sent": false, "error": err.Error()})
		return
	}
	board.WriteJSON(w, http.StatusOK, map[string]any{"sent": true})
}
