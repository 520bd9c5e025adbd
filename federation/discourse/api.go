package discourse

import (
	"errors"
	"net/http"

	"crieur/board"
	"crieur/board/httpx"
)

// Register adds the forum's set-up routes to the admin API: any member of
// the board reads it and tests it; only a publisher changes it.
func (d *Destination) Register(api httpx.Guard) {
	api.OnBoard("GET /api/v1/boards/{board}/discourse", board.RoleEditor, d.get)
	api.OnBoard("PUT /api/v1/boards/{board}/discourse", board.RolePublisher, d.put)
	api.OnBoard("DELETE /api/v1/boards/{board}/discourse", board.RolePublisher, d.delete)
	api.OnBoard("POST /api/v1/boards/{board}/discourse/test", board.RoleEditor, d.test)
}

// setupView is the set-up as the API shows it: the key only as set or not.
type setupView struct {
	Setup
	APIKeySet bool `json:"api_key_set"`
}

var errNoSetup = httpx.NewError(http.StatusNotFound, "this board posts to no Discourse forum yet: PUT a set-up")

func (d *Destination) get(w http.ResponseWriter, r *http.Request, b board.Board) error {
	s, err := d.Setup(r.Context(), b.ID)
	if errors.Is(err, ErrNoSetup) {
		return errNoSetup
	}
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, setupView{Setup: s, APIKeySet: s.APIKey != ""})
	return nil
}

func (d *Destination) put(w http.ResponseWriter, r *http.Request, b board.Board) error {
	var req struct {
		URL      string `json:"url"`
		APIKey   string `json:"api_key"`
		Username string `json:"username"`
		Category string `json:"category"`
		OnDelete string `json:"on_delete"`
		Replies  bool   `json:"replies"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 16 << 10, What: "the Discourse set-up",
		Help: `{"url", "api_key", "username", "category" (id or slug), "on_delete" (unlist or close), "replies" (true or false)}`}); err != nil {
		return err
	}
	old, err := d.Setup(r.Context(), b.ID)
	if err != nil && !errors.Is(err, ErrNoSetup) {
		return err
	}
	s := Setup{URL: req.URL, APIKey: req.APIKey, Username: req.Username, Category: req.Category, OnDelete: req.OnDelete, Replies: req.Replies}
	if errs := Check(s, old.APIKey != ""); len(errs) > 0 {
		return &board.ValidationError{Fields: errs, What: "Discourse set-up"}
	}
	if err := d.Save(r.Context(), b.ID, s); err != nil {
		return err
	}
	return d.get(w, r, b)
}

func (d *Destination) delete(w http.ResponseWriter, r *http.Request, b board.Board) error {
	if err := d.Delete(r.Context(), b.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// test checks the set-up against the forum, posting nothing, and answers
// where topics will go, or the forum's exact refusal (never the key).
func (d *Destination) test(w http.ResponseWriter, r *http.Request, b board.Board) error {
	c, err := d.Test(r.Context(), b)
	if errors.Is(err, ErrNoSetup) {
		return errNoSetup
	}
	if err != nil {
		httpx.JSON(w, http.StatusBadGateway, map[string]any{"ok": false, "error": err.Error()})
		return nil
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"ok": true, "posted": false, "checked": c})
	return nil
}
