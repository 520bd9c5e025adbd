package web

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"crieur/board"
	"crieur/board/locale"
)

// The editor's page of a board's services: every member sees them, a
// publisher adds, changes and removes them, one form per service and one
// to add a new one.

// serviceForm is one service's form as typed, with its problems by field.
type serviceForm struct {
	board.HostedService
	// New: the form that adds a service (its slug is typed, not fixed).
	New bool
	// Position as typed, kept verbatim when it cannot be read.
	Position string
	// PublicURL is the service's public page.
	PublicURL string
	// Errors are the problems to fix by field (slug, name, …), in the
	// editor's words.
	Errors map[string]string
}

// Key keeps the form's ids unique on the page.
func (f serviceForm) Key() string {
	if f.New {
		return "svc-new"
	}
	return "svc-" + f.Slug
}

// Invalid marks a field that holds a problem, tied to its message.
func (f serviceForm) Invalid(name string) template.HTMLAttr {
	if _, ok := f.Errors[name]; !ok {
		return ""
	}
	return template.HTMLAttr(` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(f.Key()+"-"+name) + `-error"`)
}

// ErrorFor is the message shown next to a field.
func (f serviceForm) ErrorFor(name string) template.HTML {
	msg, ok := f.Errors[name]
	if !ok {
		return ""
	}
	return template.HTML(`<span class="field-error" id="` + template.HTMLEscapeString(f.Key()+"-"+name) + `-error">` + template.HTMLEscapeString(msg) + `</span>`)
}

func (e *Editor) services(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	e.renderServices(w, r, s, b, http.StatusOK, nil)
}

// renderServices shows the page; failed is a form that came back with
// problems, shown in place of the saved service (or of the empty form).
func (e *Editor) renderServices(w http.ResponseWriter, r *http.Request, s session, b board.Board, status int, failed *serviceForm) {
	list, err := e.svc.HostedServices(r.Context(), b)
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	forms := make([]serviceForm, 0, len(list)+1)
	for _, h := range list {
		f := serviceForm{HostedService: h, Position: strconv.Itoa(h.Position)}
		if failed != nil && !failed.New && failed.Slug == h.Slug {
			f = *failed
		}
		f.PublicURL = e.links.BoardURL(b.Name) + "/services/" + h.Slug
		forms = append(forms, f)
	}
	add := serviceForm{New: true, Position: strconv.Itoa(len(list) + 1)}
	if failed != nil && failed.New {
		add = *failed
	}
	l := e.locale(r, b)
	e.render(w, r, status, "edit_services", map[string]any{"Title": l.T("service.services_of", b.DisplayName), "Board": b, "CSRF": s.csrf(),
		"Services": forms, "Add": add, "Notice": e.flash(w, r), "Publisher": s.token.Role != board.RoleEditor,
		"MaxDescription": board.MaxServiceDescription})
}

// saveService adds or changes a service from its form.
func (e *Editor) saveService(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := serviceForm{New: r.PostFormValue("new") == "yes", Position: v("position"),
		HostedService: board.HostedService{Slug: v("slug"), Name: v("name"), Description: v("description"), Address: v("address"), Logo: v("logo")}}
	l := e.locale(r, b)
	back := "/edit/" + b.Name + "/services"
	problems := board.Problems{}
	if f.Position != "" {
		n, err := strconv.Atoi(f.Position)
		if err != nil {
			problems["position"] = board.Problemf("problem.between", 0, 1000)
		}
		f.HostedService.Position = n
	}
	if f.New {
		// A new slug must not replace a service that has it: the add
		// form is not the way to change one.
		list, err := e.svc.HostedServices(r.Context(), b)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		for _, h := range list {
			if h.Slug == f.Slug {
				problems["slug"] = board.Problemf("problem.service_exists", f.Slug)
			}
		}
	}
	if r.PostFormValue("remove_logo") == "on" {
		f.Logo = ""
	}
	if file, _, err := r.FormFile("logo_file"); err == nil {
		data, err := io.ReadAll(file)
		file.Close()
		if err == nil && len(data) > 0 {
			im, err := e.svc.Upload(r.Context(), b, data)
			var ve *board.ValidationError
			var later *board.TryLater
			switch {
			case errors.As(err, &ve):
				for _, p := range ve.Fields {
					problems["logo"] = p
				}
			case errors.As(err, &later):
				problems["logo"] = board.Problemf(later.Say, later.Seconds())
			case err != nil:
				e.log.ErrorContext(r.Context(), "editor logo upload", "err", err)
				problems["logo"] = board.Problemf("editor.p.picture_not_kept")
			default:
				f.Logo = im.ID
			}
		}
	}
	if len(problems) == 0 {
		saved, _, err := e.svc.SetHostedService(r.Context(), s.actor(), b, f.HostedService)
		var ve *board.ValidationError
		switch {
		case err == nil:
			e.flashRedirect(w, r, back, l.T("service.saved", saved.Name))
			return
		case errors.As(err, &ve):
			problems = ve.Fields
		case errors.Is(err, board.ErrForbidden):
			errorPage(w, r, http.StatusForbidden, "page.not_allowed", "editor.p.forbidden")
			return
		default:
			serverError(w, r, e.log, err)
			return
		}
	}
	f.Errors = inWordsOf(l, problems)
	e.renderServices(w, r, s, b, http.StatusBadRequest, &f)
}

// inWordsOf says each field's problem in l's words.
func inWordsOf(l locale.Locale, problems board.Problems) map[string]string {
	out := make(map[string]string, len(problems))
	for k, p := range problems {
		out[k] = l.Problem(p)
	}
	return out
}

// removeService takes a service off the board.
func (e *Editor) removeService(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	back := "/edit/" + b.Name + "/services"
	l := e.locale(r, b)
	slug := r.PathValue("slug")
	name := slug
	if list, err := e.svc.HostedServices(r.Context(), b); err == nil {
		for _, h := range list {
			if h.Slug == slug {
				name = h.Name
			}
		}
	}
	if err := e.svc.RemoveHostedService(r.Context(), s.actor(), b, slug); err != nil {
		why := explain(l, err)
		if errors.Is(err, board.ErrNotFound) {
			why = l.T("service.gone") // removed already: a second click
		}
		e.refusalRedirect(w, r, back, l.T("editor.not_removed", why))
		return
	}
	e.flashRedirect(w, r, back, l.T("service.removed", name))
}
