package email

import (
	"errors"
	"net/http"

	"crieur/board"
	"crieur/board/httpx"
)

// Register adds the e-mail set-up routes to the admin API: any member of
// the board reads them and sends a test; only a publisher changes them.
func (d *Destination) Register(api httpx.Guard) {
	api.OnBoard("GET /api/v1/boards/{board}/email", board.RoleEditor, d.get)
	api.OnBoard("PUT /api/v1/boards/{board}/email", board.RolePublisher, d.put)
	api.OnBoard("DELETE /api/v1/boards/{board}/email", board.RolePublisher, d.delete)
	api.OnBoard("POST /api/v1/boards/{board}/email/test", board.RoleEditor, d.test)
}

// setupView is the set-up as the API shows it: the password only as set
// or not.
type setupView struct {
	Setup
	PasswordSet bool `json:"password_set"`
}

var errNoSetup = httpx.NewError(http.StatusNotFound, "this board mails nothing yet: PUT a set-up")

func (d *Destination) get(w http.ResponseWriter, r *http.Request, b board.Board) error {
	s, err := d.Setup(r.Context(), b.ID)
	if errors.Is(err, ErrNoSetup) {
		return errNoSetup
	}
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, setupView{Setup: s, PasswordSet: s.SMTP.Password != ""})
	return nil
}

func (d *Destination) put(w http.ResponseWriter, r *http.Request, b board.Board) error {
	var req struct {
		SMTP struct {
			SMTP
			Password string `json:"password"`
		} `json:"smtp"`
		Lists []List `json:"lists"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 64 << 10, What: "the e-mail set-up",
		Help: `{"smtp": {"host", "port", "security", "username", "password", "from"}, "lists": [{"name", "to", "kinds", "list_unsubscribe"}]}`}); err != nil {
		return err
	}
	s := Setup{SMTP: req.SMTP.SMTP, Lists: req.Lists}
	s.SMTP.Password = req.SMTP.Password
	if errs := Check(&s); len(errs) > 0 {
		return &board.ValidationError{Fields: errs, What: "e-mail set-up"}
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

// test mails a test message to one list and answers the SMTP server's
// exact words when it fails.
func (d *Destination) test(w http.ResponseWriter, r *http.Request, b board.Board) error {
	var req struct {
		List string `json:"list"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 4 << 10, Help: `{"list": "NAME"}`}); err != nil {
		return err
	}
	s, err := d.Setup(r.Context(), b.ID)
	if err != nil {
		return errNoSetup
	}
	if _, ok := list(s, req.List); !ok {
		return httpx.NewError(http.StatusNotFound, "this board has no list called "+req.List)
	}
	if err := d.SendTest(r.Context(), b, req.List); err != nil {
		httpx.JSON(w, http.StatusBadGateway, map[string]any{"sent": false, "error": err.Error()})
		return nil
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"sent": true})
	return nil
}
