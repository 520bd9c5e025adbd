package web

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"crieur/board"
)

// EditorStore is what the editor reads and keeps of its own (sessions).
type EditorStore interface {
	PageStore
	Authenticate(ctx context.Context, plain string) (board.Token, error)
	CreateSession(ctx context.Context, tokenID int64, ttl time.Duration) (string, error)
	SessionToken(ctx context.Context, plain string) (board.Token, error)
	DeleteSession(ctx context.Context, plain string) error
	SearchAnnouncements(ctx context.Context, boardID int64, q string, before int64, limit int) ([]board.Announcement, error)
	KeyUsed(ctx context.Context, boardID int64, key string) (bool, error)
	Signups(ctx context.Context, annID int64) ([]board.Signup, error)
	Answers(ctx context.Context, annID int64) ([]board.Answer, error)
	Interactions(ctx context.Context, announcementID int64) ([]board.Interaction, error)
	Deliveries(ctx context.Context, announcementID int64) ([]board.Delivery, error)
}

// AddDestinationSetup puts a destination on the editor's set-up page.
func (e *Editor) AddDestinationSetup(d board.DestinationSetup) { e.setups = append(e.setups, d) }

func (e *Editor) setup(key string) (board.DestinationSetup, bool) {
	for _, d := range e.setups {
		if d.Key() == key {
			return d, true
		}
	}
	return nil, false
}

type setupView struct {
	Key, Title string
	Items      []board.SetupItem
	Forms      []board.SetupForm
}

// destinations shows every destination's settings, items and test
// buttons; failed is a form that came back with problems.
func (e *Editor) destinations(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	e.renderDestinations(w, r, s, b, http.StatusOK, "", nil)
}

func (e *Editor) renderDestinations(w http.ResponseWriter, r *http.Request, s session, b board.Board, status int, failedKey string, failed *board.SetupForm) {
	var views []setupView
	for _, d := range e.setups {
		items, err := d.Items(r.Context(), b)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		forms, err := d.Forms(r.Context(), b)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		for i := range forms {
			if failed != nil && d.Key() == failedKey && forms[i].ID == failed.ID {
				forms[i] = *failed
			}
		}
		views = append(views, setupView{Key: d.Key(), Title: d.Title(), Items: items, Forms: forms})
	}
	e.render(w, r, status, "edit_destinations", map[string]any{"Title": requestLocale(r).T("editor.title_destinations", b.DisplayName), "Board": b, "CSRF": s.csrf(),
		"Setups": views, "Notice": e.flash(w, r), "Publisher": s.token.Role != board.RoleEditor})
}

// destinationAction is the handler of one action on a destination's
// set-up: save a form, remove an item (a publisher's), or send a test
// (any member's, as in the API).
func (e *Editor) destinationAction(action string) func(http.ResponseWriter, *http.Request, session, board.Board) {
	return func(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
		e.onDestination(w, r, s, b, action)
	}
}

func (e *Editor) onDestination(w http.ResponseWriter, r *http.Request, s session, b board.Board, action string) {
	back := "/edit/" + b.Name + "/destinations"
	l := requestLocale(r)
	d, ok := e.setup(r.PathValue("key"))
	if !ok {
		NotFound(w, r)
		return
	}
	// arg is the form's id (save) or the item's name (remove, test).
	arg := r.PostFormValue("item")
	switch action {
	case "save":
		forms, err := d.Forms(r.Context(), b)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		form := slices.IndexFunc(forms, func(f board.SetupForm) bool { return f.ID == arg })
		if form < 0 {
			NotFound(w, r) // no such form: a request made by hand
			return
		}
		errs, err := d.Submit(r.Context(), b, arg, r.PostForm)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		if len(errs) > 0 {
			// What was typed comes back, but never a secret: a password
			// is not written into a page.
			f := forms[form]
			for i := range f.Fields {
				if f.Fields[i].Type != "password" {
					f.Fields[i].Value = strings.TrimSpace(r.PostFormValue(f.Fields[i].Name))
				}
			}
			f.Errors = errs
			e.renderDestinations(w, r, s, b, http.StatusBadRequest, d.Key(), &f)
			return
		}
		e.flashRedirect(w, r, back, l.T("editor.setup_saved", l.T(forms[form].Title)))
	case "remove":
		if err := d.Remove(r.Context(), b, arg); err != nil {
			e.refusalRedirect(w, r, back, l.T("editor.not_removed", explain(l, err)))
			return
		}
		e.flashRedirect(w, r, back, l.T("editor.setup_removed", arg, l.T(d.Title())))
	case "test":
		if c, ok := d.(board.SetupChecker); ok {
			found, err := c.CheckSetup(r.Context(), b, arg)
			if err != nil {
				e.flashRedirect(w, r, back, l.T("editor.check_failed", l.T(d.Title()), err))
				return
			}
			e.flashRedirect(w, r, back, l.T(found.Key, found.Args...))
			return
		}
		if err := d.SendTest(r.Context(), b, arg); err != nil {
			e.flashRedirect(w, r, back, l.T("editor.test_failed", arg, err))
			return
		}
		e.flashRedirect(w, r, back, l.T("editor.test_sent", arg))
	default:
		NotFound(w, r)
	}
}

// previewPolicy cleans a destination's rendering once more before the
// editor's page shows it: it is built from sanitised parts, but the page
// should not have to trust every renderer.
var previewPolicy = bluemonday.UGCPolicy()

// shownPreview is a Preview ready for the editor's page.
type shownPreview struct {
	Channel, Text, Warning string
	HTML                   template.HTML
}

func showPreviews(list []board.Preview) []shownPreview {
	out := make([]shownPreview, len(list))
	for i, p := range list {
		out[i] = shownPreview{Channel: p.Channel, Text: p.Text, Warning: p.Warning, HTML: template.HTML(previewPolicy.Sanitize(p.HTML))}
	}
	return out
}
