package email

import (
	"encoding/json"
	"errors"
	"net/http"

	"crieur/board"
)

// Register adds the e-mail set-up routes to the admin API.
func (d *Destination) Register(mux *http.ServeMux, api *board.API) {
	mux.HandleFunc("GET /api/v1/boards/{board}/email", api.OnBoard(d.get))
	mux.HandleFunc("PUT /api/v1/boards/{board}/email", api.OnBoard(d.put))
	mux.HandleFunc("DELETE /api/v1/boards/{board}/email", api.OnBoard(d.delete))
	mux.HandleFunc("POST /api/v1/boards/{board}/email/test", api.OnBoard(d.test))
}

// setupView is the set-up as the API shows it: the password only as set
// or not.
type setupView struct {
	Setup
	PasswordSet bool `json:"password_set"`
}

func (d *Destination) get(w http.ResponseWriter, r *http.Request, b board.Board) {
	s, err := d.Setup(r.Context(), b.ID)
	if errors.Is(err, ErrNoSetup) {
		board.WriteError(w, http.StatusNotFound, "this board mails nothing yet: PUT a set-up", nil)
		return
	}
	if err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	board.WriteJSON(w, http.StatusOK, setupView{Setup: s, PasswordSet: s.SMTP.Password != ""})
}

func (d *Destination) put(w http.ResponseWriter, r *http.Request, b board.Board) {
	if err := board.RequirePublisher(r.Context(), "change the board's e-mail set-up"); err != nil {
		board.WriteError(w, http.StatusForbidden, err.Error(), nil)
		return
	}
	var req struct {
		SMTP struct {
			SMTP
			Password string `json:"password"`
		} `json:"smtp"`
		Lists []List `json:"lists"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		board.WriteError(w, http.StatusBadRequest, `send {"smtp": {"host", "port", "security", "username", "password", "from"}, "lists": [{"name", "to", "kinds", "list_unsubscribe"}]}: `+err.Error(), nil)
		return
	}
	s := Setup{SMTP: req.SMTP.SMTP, Lists: req.Lists}
	s.SMTP.Password = req.SMTP.Password
	if errs := Check(&s); len(errs) > 0 {
		board.WriteError(w, http.StatusBadRequest, "some fields need fixing", errs)
		return
	}
	if err := d.Save(r.Context(), b.ID, s); err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	d.get(w, r, b)
}

func (d *Destination) delete(w http.ResponseWriter, r *http.Request, b board.Board) {
	if err := board.RequirePublisher(r.Context(), "change the board's e-mail set-up"); err != nil {
		board.WriteError(w, http.StatusForbidden, err.Error(), nil)
		return
	}
	if err := d.Delete(r.Context(), b.ID); err != nil {
		board.WriteError(w, http.StatusInternalServerError, "internal error", nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// test mails a test message to one list and answers the SMTP server's
// exact words when it fails.
func (d *Destination) test(w http.ResponseWriter, r *http.Request, b board.Board) {
	var req struct {
		List string `json:"list"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		board.WriteError(w, http.StatusBadRequest, `send {"list": "NAME"}`, nil)
		return
	}
	s, err := d.Setup(r.Context(), b.ID)
	if err != nil {
		board.WriteError(w, http.StatusNotFound, "this board mails nothing yet: PUT a set-up", nil)
		return
	}
	if _, ok := list(s, req.List); !ok {
		board.WriteError(w, http.StatusNotFound, "this board has no list called "+req.List, nil)
		return
	}
	if err := d.SendTest(r.Context(), b, req.List); err != nil {
		board.WriteJSON(w, http.StatusBadGateway, map[string]any{"sent": false, "error": err.Error()})
		return
	}
	board.WriteJSON(w, http.StatusOK, map[string]any{"sent": true})
}
