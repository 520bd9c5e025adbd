package mattermost

import (
	"net/http"

	"crieur/board"
	"crieur/board/httpx"
)

// Register adds the webhook set-up routes to the admin API: any member of
// the board reads them and sends a test; only a publisher changes them.
func (d *Destination) Register(api httpx.Guard) {
	api.OnBoard("GET /api/v1/boards/{board}/mattermost", board.RoleEditor, d.get)
	api.OnBoard("PUT /api/v1/boards/{board}/mattermost", board.RolePublisher, d.put)
	api.OnBoard("DELETE /api/v1/boards/{board}/mattermost", board.RolePublisher, d.delete)
	api.OnBoard("POST /api/v1/boards/{board}/mattermost/test", board.RoleEditor, d.test)
}

// hookView is a hook as the API shows it: everything but the URL.
type hookView struct {
	Hook
	URLSet bool `json:"url_set"`
}

func (d *Destination) get(w http.ResponseWriter, r *http.Request, b board.Board) error {
	hooks, err := d.Hooks(r.Context(), b.ID)
	if err != nil {
		return err
	}
	out := make([]hookView, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, hookView{Hook: h, URLSet: h.URL != ""})
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"hooks": out})
	return nil
}

func (d *Destination) put(w http.ResponseWriter, r *http.Request, b board.Board) error {
	var req struct {
		Hooks []struct {
			Name     string `json:"name"`
			URL      string `json:"url"`
			Channel  string `json:"channel"`
			Username string `json:"username"`
			IconURL  string `json:"icon_url"`
		} `json:"hooks"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 64 << 10, What: "the hooks' set-up",
		Help: `{"hooks": [{"name", "url", "channel", "username", "icon_url"}]}`}); err != nil {
		return err
	}
	old, err := d.Hooks(r.Context(), b.ID)
	if err != nil {
		return err
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
		return &board.ValidationError{Fields: errs, What: "Mattermost hooks"}
	}
	if err := d.SetHooks(r.Context(), b.ID, hooks); err != nil {
		return err
	}
	return d.get(w, r, b)
}

func (d *Destination) delete(w http.ResponseWriter, r *http.Request, b board.Board) error {
	if err := d.SetHooks(r.Context(), b.ID, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// test sends a test message and answers the exact error (without the
// webhook's URL).
func (d *Destination) test(w http.ResponseWriter, r *http.Request, b board.Board) error {
	var req struct {
		Hook string `json:"hook"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 4 << 10, Help: `{"hook": "NAME"}`}); err != nil {
		return err
	}
	if _, err := d.hook(r.Context(), b.ID, req.Hook); err != nil {
		return httpx.NewError(http.StatusNotFound, "this board has no Mattermost hook called "+req.Hook)
	}
	if err := d.SendTest(r.Context(), b, req.Hook); err != nil {
		httpx.JSON(w, http.StatusBadGateway, map[string]any{"sent": false, "error": err.Error()})
		return nil
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"sent": true})
	return nil
}
