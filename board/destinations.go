package board

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// DestinationSetup is a channel editors set up from the web page
// (Mattermost hooks, mailing lists). The federation package that sends to
// it implements it; the editor only lays out its forms.
type DestinationSetup interface {
	// Key names it in addresses ("mattermost"); Title on the page.
	Key() string
	Title() string
	// Items are what is set up (hooks, lists), each with a line saying
	// what it is; a test message can go to each.
	Items(ctx context.Context, b Board) ([]SetupItem, error)
	// Forms are its settings, filled with the current values; a secret
	// comes back empty, with Set saying whether one is kept.
	Forms(ctx context.Context, b Board) ([]SetupForm, error)
	// Submit saves one form; problems come back by field name.
	Submit(ctx context.Context, b Board, form string, values url.Values) (map[string]string, error)
	Remove(ctx context.Context, b Board, item string) error
	SendTest(ctx context.Context, b Board, item string) error
}

// SetupItem is one hook or list.
type SetupItem struct{ Name, Summary string }

// SetupForm is one form of a destination's settings.
type SetupForm struct {
	ID, Title, Help string
	Fields          []SetupField
	Errors          map[string]string
}

// SetupField is one input.
type SetupField struct {
	Name, Label, Help, Value string
	// Type is the input's type (text, url, email, number, password).
	Type string
	// Set says a secret is kept (its value is never shown).
	Set bool
}

// AddDestinationSetup puts a destination on the editor's set-up page.
func (e *Editor) AddDestinationSetup(d DestinationSetup) { e.setups = append(e.setups, d) }

func (e *Editor) setup(key string) (DestinationSetup, bool) {
	for _, d := range e.setups {
		if d.Key() == key {
			return d, true
		}
	}
	return nil, false
}

type setupView struct {
	Key, Title string
	Items      []SetupItem
	Forms      []SetupForm
}

// destinations shows every destination's settings, items and test
// buttons; failed is a form that came back with problems.
func (e *Editor) destinations(w http.ResponseWriter, r *http.Request, s session, b Board) {
	e.renderDestinations(w, r, s, b, http.StatusOK, "", nil)
}

func (e *Editor) renderDestinations(w http.ResponseWriter, r *http.Request, s session, b Board, status int, failedKey string, failed *SetupForm) {
	var views []setupView
	for _, d := range e.setups {
		items, err := d.Items(r.Context(), b)
		if err != nil {
			e.serverError(w, r, err)
			return
		}
		forms, err := d.Forms(r.Context(), b)
		if err != nil {
			e.serverError(w, r, err)
			return
		}
		for i := range forms {
			if failed != nil && d.Key() == failedKey && forms[i].ID == failed.ID {
				forms[i] = *failed
			}
		}
		views = append(views, setupView{Key: d.Key(), Title: d.Title(), Items: items, Forms: forms})
	}
	e.render(w, r, status, "edit_destinations", map[string]any{"Title": "Channels and lists – " + b.DisplayName, "Board": b, "CSRF": s.csrf(),
		"Setups": views, "Notice": e.flash(w, r), "Publisher": s.token.Role != RoleEditor})
}

func (e *Editor) destinationAction(w http.ResponseWriter, r *http.Request, s session, b Board) {
	back := "/edit/" + b.Name + "/destinations"
	if err := RequirePublisher(r.Context(), "change where announcements are sent"); err != nil {
		e.flashRedirect(w, r, back, err.Error())
		return
	}
	d, ok := e.setup(r.PathValue("key"))
	if !ok {
		NotFound(w, r)
		return
	}
	// arg is the form's id (save) or the item's name (remove, test).
	action, arg := r.PathValue("action"), r.PostFormValue("item")
	switch action {
	case "save":
		errs, err := d.Submit(r.Context(), b, arg, r.PostForm)
		if err != nil {
			e.serverError(w, r, err)
			return
		}
		if len(errs) > 0 {
			forms, _ := d.Forms(r.Context(), b)
			for _, f := range forms {
				if f.ID == arg {
					for i := range f.Fields {
						if !f.Fields[i].Set || f.Fields[i].Type != "password" {
							f.Fields[i].Value = strings.TrimSpace(r.PostFormValue(f.Fields[i].Name))
						}
					}
					f.Errors = errs
					e.renderDestinations(w, r, s, b, http.StatusBadRequest, d.Key(), &f)
					return
				}
			}
		}
		e.flashRedirect(w, r, back, "Saved: "+d.Title()+".")
	case "remove":
		if err := d.Remove(r.Context(), b, arg); err != nil {
			e.flashRedirect(w, r, back, "Not removed: "+err.Error())
			return
		}
		e.flashRedirect(w, r, back, fmt.Sprintf("Removed %s from %s.", arg, d.Title()))
	case "test":
		if err := d.SendTest(r.Context(), b, arg); err != nil {
			e.flashRedirect(w, r, back, fmt.Sprintf("The test message to %s was not sent: %v", arg, err))
			return
		}
		e.flashRedirect(w, r, back, fmt.Sprintf("Test message sent to %s: look for it there.", arg))
	default:
		NotFound(w, r)
	}
}
