package web

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"crieur/board"
	"crieur/board/httpx"
	"crieur/board/locale"
	"crieur/board/media"
)

// Editor is the web page where members who do not use the API or the CLI
// publish, edit and delete announcements. They sign in once with a token;
// the page keeps a session (cookie) so the token is typed only once.
type Editor struct {
	svc    *board.Service
	store  EditorStore
	links  board.Links
	loc    *time.Location
	tmpl   map[string]*template.Template
	log    *slog.Logger
	secure bool
	setups []board.DestinationSetup
	table  []httpx.Route // what Register registered, with the access each needs
}

const (
	sessionCookie = "crieur_session"
	// A week: long enough for a volunteer's evening of posts and edits,
	// short enough that a forgotten session on a shared computer ends.
	sessionTTL = 7 * 24 * time.Hour
	formTime   = "2006-01-02T15:04" // <input type="datetime-local">
)

// NewEditor returns the editor pages; times typed in forms are read in loc.
// secure marks the session cookie Secure (public URL on https).
func NewEditor(svc *board.Service, store EditorStore, links board.Links, loc *time.Location, secure bool, log *slog.Logger) *Editor {
	e := &Editor{svc: svc, store: store, links: links, loc: loc, secure: secure, log: log, tmpl: map[string]*template.Template{}}
	funcs := template.FuncMap{"formTime": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.In(loc).Format(formTime)
	}, "statusNote": statusNote, "prefixed": func(f formData, b boardView) formData {
		f.Prefix, f.Board, f.Services = b.Name+"-", b.Name, b.Services
		return f
	}, "dict": func(kv ...any) map[string]any {
		// A sub-template's arguments, by name: dict "F" $form "Page" $.
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	}}
	for name, f := range loadAssets().funcs() {
		funcs[name] = f
	}
	for _, name := range []string{"edit_login", "edit_home", "edit_form", "edit_delete", "edit_list", "edit_destinations", "edit_settings", "edit_services"} {
		e.tmpl[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/edit_form_fields.html", "templates/"+name+".html"))
	}
	return e
}

// statusNote says where an announcement stands, its status in bold; times
// in l's zone (the board's).
func statusNote(l locale.Locale, a board.Announcement) template.HTML {
	status := func(key string, args ...any) template.HTML {
		return template.HTML(`<span class="status">` + template.HTMLEscapeString(l.T("editor.status_"+string(a.Status))) + `</span>` +
			template.HTMLEscapeString(l.T(key, args...)))
	}
	switch a.Status {
	case board.StatusDraft:
		return status("editor.note_draft")
	case board.StatusScheduled:
		return status("editor.note_scheduled", l.Time(*a.PublishAt))
	case board.StatusExpired:
		return status("editor.note_expired", l.Time(*a.ExpiresAt))
	case board.StatusPending:
		return status("editor.note_pending")
	}
	s := l.T("editor.note_published", l.Date(a.CreatedAt))
	if a.ExpiresAt != nil && a.ExpiresAt.After(time.Now()) {
		s = l.T("editor.note_to_be_taken_down", s, l.Time(*a.ExpiresAt))
	} else if a.ExpiresAt != nil {
		s = l.T("editor.note_taken_down", s, l.Time(*a.ExpiresAt))
	}
	if a.PendingEdit != nil {
		s += l.T("editor.note_edit_pending")
	}
	return template.HTML(template.HTMLEscapeString(s))
}

// Register adds the editor's routes.
func (e *Editor) Register(routes *httpx.Routes) {
	e.table = nil
	handle := func(pattern string, need httpx.Access, h http.HandlerFunc) {
		e.table = append(e.table, httpx.Route{Pattern: pattern, Access: need})
		routes.Handle(pattern, need, h)
	}
	on := func(pattern string, need httpx.Access, h func(http.ResponseWriter, *http.Request, session, board.Board)) {
		handle(pattern, need, e.signedIn(e.onBoard(need, h)))
	}
	handle("GET /edit", httpx.Public, e.home)
	handle("POST /edit/login", httpx.Public, e.login)
	handle("POST /edit/logout", httpx.AnyToken, e.signedIn(e.logout))
	on("POST /edit/{board}/new", httpx.Member, e.create)
	on("GET /edit/{board}/all", httpx.Member, e.list)
	on("GET /edit/{board}/destinations", httpx.Member, e.destinations)
	on("GET /edit/{board}/settings", httpx.Member, e.settings)
	on("POST /edit/{board}/settings", httpx.Publisher, e.saveSettings)
	on("POST /edit/{board}/destinations/{key}/save", httpx.Publisher, e.destinationAction("save"))
	on("POST /edit/{board}/destinations/{key}/remove", httpx.Publisher, e.destinationAction("remove"))
	on("POST /edit/{board}/destinations/{key}/test", httpx.Member, e.destinationAction("test"))
	on("GET /edit/{board}/services", httpx.Member, e.services)
	on("POST /edit/{board}/services", httpx.Publisher, e.saveService)
	on("POST /edit/{board}/services/{slug}/remove", httpx.Publisher, e.removeService)
	on("GET /edit/{board}/{id}", httpx.Member, e.editForm)
	on("POST /edit/{board}/{id}", httpx.Member, e.update)
	on("POST /edit/{board}/{id}/delete", httpx.Member, e.delete)
	on("GET /edit/{board}/{id}/signups.csv", httpx.Member, e.signupsCSV)
	on("POST /edit/{board}/{id}/signups", httpx.Member, e.addSignup)
	on("POST /edit/{board}/{id}/signups/{signup}/remove", httpx.Member, e.removeSignup)
	on("POST /edit/{board}/{id}/closed", httpx.Member, e.setClosed)
	on("POST /edit/{board}/{id}/resolved", httpx.Member, e.resolve)
	on("POST /edit/{board}/{id}/reannounce", httpx.Member, e.reannounce)
	on("POST /edit/{board}/{id}/cancelled", httpx.Member, e.cancelTraining)
	on("POST /edit/{board}/{id}/approve", httpx.Member, e.approve)
	on("POST /edit/{board}/{id}/raised", httpx.Member, e.setRaised)
}

// Table is the editor's authorization table as registered: each route
// and the access it needs (httpx.Authorize decides, as for the API).
func (e *Editor) Table() []httpx.Route { return slices.Clone(e.table) }

type session struct {
	plain string
	token board.Token
}

func (e *Editor) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return session{}, false
	}
	tok, err := e.store.SessionToken(r.Context(), c.Value)
	if err != nil {
		return session{}, false
	}
	return session{plain: c.Value, token: tok}, true
}

// actor is who acts: the signed-in token's holder.
func (s session) actor() board.Actor { return board.TokenActor(s.token) }

// csrf is the form token of a session: a form posted from another site
// cannot know it (the cookie is also SameSite=Strict).
func (s session) csrf() string {
	sum := sha256.Sum256([]byte("crieur-form:" + s.plain))
	return hex.EncodeToString(sum[:16])
}

// zone is where the board's editors live: typed times are read there and
// stored times shown there. The server's timezone setting when the board
// has none.
func (e *Editor) zone(b board.Board) *time.Location {
	if b.TimeZone != "" {
		return b.Location()
	}
	return e.loc
}

// locale is the editor's language (the switcher's choice, else the
// browser's), with the times of board b: in its zone.
func (e *Editor) locale(r *http.Request, b board.Board) locale.Locale {
	return requestLocale(r).InZone(e.zone(b))
}

// zoneName is the board's zone as its editors say it ("Paris time").
func (e *Editor) zoneName(r *http.Request, b board.Board) string {
	return e.locale(r, b).Zone(time.Now())
}

// maxEditorForm is far above the longest text an announcement may have,
// so only a mistake (a pasted file) reaches it.
const maxEditorForm = 256 << 10

func (e *Editor) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := e.session(r)
		if !ok {
			http.Redirect(w, r, "/edit", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			limit, parse, tooLong, size := int64(maxEditorForm), r.ParseForm, "page.too_long_text", maxEditorForm>>10
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				// A form with a picture: the picture may be large, the rest
				// is checked field by field.
				limit, tooLong, size = maxEditorForm+media.MaxUpload, "page.too_long_picture", media.MaxUpload>>20
				parse = func() error { return r.ParseMultipartForm(1 << 20) }
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := parse(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					errorPage(w, r, http.StatusRequestEntityTooLarge, "page.too_long", tooLong, size)
					return
				}
				errorPage(w, r, http.StatusBadRequest, "page.not_understood", "page.not_understood_text")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf())) != 1 {
				errorPage(w, r, http.StatusForbidden, "page.expired", "page.expired_text")
				return
			}
		}
		next(w, r.WithContext(httpx.With(r.Context(), s)))
	}
}

func (e *Editor) onBoard(need httpx.Access, next func(http.ResponseWriter, *http.Request, session, board.Board)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := httpx.Must[session](r)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		b, err := httpx.PathBoard(r, e.store)
		if err != nil {
			fail(w, r, e.log, err)
			return
		}
		var other *httpx.ErrOtherBoard
		switch err := httpx.Authorize(s.token, need, &b); {
		case errors.As(err, &other):
			NotFound(w, r) // another board's token: as if it did not exist
			return
		case err != nil:
			errorPage(w, r, http.StatusForbidden, "page.not_allowed", "editor.p.forbidden")
			return
		}
		next(w, r, s, b)
	}
}

// render shows an editor's page in the editor's language; a page about one
// board (data's Board) tells times in its zone. The forms on it speak the
// same language.
func (e *Editor) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	w.Header().Set("Cache-Control", "no-store") // pages of a signed-in editor
	l := requestLocale(r)
	if b, ok := data["Board"].(board.Board); ok {
		l = e.locale(r, b)
	}
	data["L"], data["BodyClass"] = l, "editor"
	if b, ok := data["Board"].(board.Board); ok && b.Name != "" {
		data["Icons"] = iconLinks(e.links, b)
	}
	for _, k := range []string{"Form", "Empty"} {
		if f, ok := data[k].(formData); ok {
			f.L = l
			data[k] = f
		}
	}
	if _, ok := data["Title"]; !ok {
		data["Title"] = l.T("editor.title_" + name)
	}
	// The switcher reloads a page that was shown; a form's answer (a
	// POST) has no page of its own to reload.
	data["LangPath"] = "/edit"
	if r.Method == http.MethodGet {
		data["LangPath"] = r.URL.Path
	}
	writePage(w, r, e.log, e.tmpl, cspEditor, status, name, data)
}

func (e *Editor) home(w http.ResponseWriter, r *http.Request) {
	s, ok := e.session(r)
	if !ok {
		e.render(w, r, http.StatusOK, "edit_login", map[string]any{})
		return
	}
	e.renderHome(w, r, s, http.StatusOK, nil, formData{Kind: string(board.KindNews), Role: s.token.Role}, e.flash(w, r), nil)
}

type boardView struct {
	board.Board
	// L is the editor's language with the board's zone: its times.
	L             locale.Locale
	Zone          string
	URL           string
	Handle        string
	Announcements []board.Announcement
	// Services are the board's, which its outage notices name.
	Services []board.HostedService
}

// renderHome shows the boards, their latest announcements and the form;
// failed is the board whose form came back with errors.
func (e *Editor) renderHome(w http.ResponseWriter, r *http.Request, s session, status int, failed *board.Board, f formData, notice flashNotice, preview map[string]any) {
	boards, err := e.store.Boards(r.Context())
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	var views []boardView
	for _, b := range boards {
		if s.token.BoardID != nil && *s.token.BoardID != b.ID {
			continue
		}
		list, err := e.store.SearchAnnouncements(r.Context(), b.ID, "", 0, 10)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		services, err := e.svc.HostedServices(r.Context(), b)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		views = append(views, boardView{Board: b, L: e.locale(r, b), Zone: e.zoneName(r, b), URL: e.links.BoardURL(b.Name), Handle: e.links.Handle(b.Name),
			Announcements: list, Services: services})
	}
	target := ""
	if failed != nil {
		target = failed.Name
	} else if len(views) > 0 {
		target = views[0].Name
	}
	data := map[string]any{
		"Boards": views, "CSRF": s.csrf(), "Form": f, "Empty": formData{Kind: string(board.KindNews), Role: s.token.Role},
		"Target": target, "Notice": notice, "Key": newFormKey(),
	}
	for k, v := range preview {
		data[k] = v
	}
	e.render(w, r, status, "edit_home", data)
}

func (e *Editor) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if crossSite(r) {
		http.Error(w, requestLocale(r).T("editor.sign_in_here"), http.StatusForbidden)
		return
	}
	tok, err := e.store.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		msg := "editor.token_invalid"
		if errors.Is(err, board.ErrTokenExpired) {
			msg = "editor.token_expired"
		}
		e.render(w, r, http.StatusUnauthorized, "edit_login", map[string]any{"Error": requestLocale(r).T(msg)})
		return
	}
	plain, err := e.store.CreateSession(r.Context(), tok.ID, sessionTTL)
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: plain, Path: "/edit", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/edit", http.StatusSeeOther)
}

func (e *Editor) logout(w http.ResponseWriter, r *http.Request) {
	s, err := httpx.Must[session](r)
	if err == nil {
		err = e.store.DeleteSession(r.Context(), s.plain)
	}
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/edit", MaxAge: -1, HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/edit", http.StatusSeeOther)
}

// takeUpload keeps a picture sent with the form, so that it stays with the
// form even when the rest needs fixing. It reports a problem to show by the
// picture field.
func (e *Editor) takeUpload(r *http.Request, b board.Board, f *formData) board.Problems {
	file, _, err := r.FormFile("image")
	if err != nil {
		return nil // none sent (or not a multipart form)
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return board.Problems{"file": board.Problemf("editor.p.picture_unreadable")}
	}
	if len(data) == 0 {
		return nil
	}
	im, err := e.svc.Upload(r.Context(), b, data)
	var ve *board.ValidationError
	var later *board.TryLater
	switch {
	case errors.As(err, &ve):
		return ve.Fields
	case errors.As(err, &later):
		return board.Problems{"file": board.Problemf(later.Say, later.Seconds())}
	case err != nil:
		e.log.ErrorContext(r.Context(), "editor upload", "err", err)
		return board.Problems{"file": board.Problemf("editor.p.picture_not_kept")}
	}
	f.ImageID, f.RemoveImage = im.ID, false
	return nil
}

func (e *Editor) create(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	f := readForm(r)
	f.typedTimes(e.zone(b))
	f.Board, f.Role = b.Name, s.token.Role
	upErrs := e.takeUpload(r, b, &f)
	d, errs := f.draft(e.zone(b))
	errs = mergeErrors(errs, upErrs)
	if errs == nil && f.Action == "preview" {
		err := e.preview(r, b, 0, d, func(pv map[string]any) { e.renderHome(w, r, s, http.StatusOK, &b, f, flashNotice{}, pv) })
		if err == nil {
			return
		}
		if errs = e.formErrors(w, r, err); errs == nil {
			return
		}
	}
	if errs == nil && f.Action != "draft" && !f.Again {
		// Back after publishing, then Publish: the browser shows the
		// form as it was typed, with a new key. The same title and text
		// published a moment ago is most likely that, so it is asked.
		same, err := e.sameAsRecent(r.Context(), b, d, r.PostFormValue("key"))
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		if same != nil {
			// A question, not a mistake to fix: asked above the form,
			// which a second press publishes.
			l := e.locale(r, b)
			f.Again, f.Ask = true, l.T("editor.p.same_as_recent", same.Title, l.Clock(same.CreatedAt))
			e.renderHome(w, r, s, http.StatusConflict, &b, f, flashNotice{}, nil)
			return
		}
	}
	if errs == nil {
		// The form carries a key made when it was shown, so a double click
		// or a resubmitted page does not publish twice.
		a, replayed, err := e.svc.Create(r.Context(), s.actor(), b, d, r.PostFormValue("key"))
		if err == nil && replayed {
			// Back and send again: say what is true, not "Published".
			e.flashRedirect(w, r, "/edit", e.locale(r, b).T("editor.already_published", a.Title))
			return
		}
		if err == nil {
			e.flashRedirect(w, r, "/edit", withWarnings(e.locale(r, b), e.saved(e.locale(r, b), a), e.svc.Warnings(r.Context(), b, a)))
			return
		}
		errs = e.formErrors(w, r, err)
		if errs == nil {
			return
		}
	}
	f.Errors = byField(e.locale(r, b), errs, f.roleLines())
	e.renderHome(w, r, s, http.StatusBadRequest, &b, f, flashNotice{}, nil)
}

// sameAsRecent finds an announcement of b published within the last hour
// with d's kind, title and text, if there is one, unless the form's key
// made it (the same form sent twice is one announcement, said as such).
func (e *Editor) sameAsRecent(ctx context.Context, b board.Board, d board.Draft, key string) (*board.Announcement, error) {
	title := strings.TrimSpace(d.Title)
	if title == "" {
		return nil, nil
	}
	if used, err := e.store.KeyUsed(ctx, b.ID, key); err != nil || used {
		return nil, err
	}
	list, err := e.store.SearchAnnouncements(ctx, b.ID, title, 0, 20)
	if err != nil {
		return nil, err
	}
	body := strings.TrimSpace(strings.ReplaceAll(d.Body, "\r\n", "\n"))
	kind := cmp.Or(d.Kind, board.KindNews)
	for _, a := range list {
		if a.Public() && a.Kind == kind && a.Title == title && strings.TrimSpace(a.Body) == body && time.Since(a.CreatedAt) < time.Hour {
			return &a, nil
		}
	}
	return nil, nil
}

// saved is the notice after a save: what became of the announcement.
func (e *Editor) saved(l locale.Locale, a board.Announcement) string {
	if a.PendingEdit != nil {
		return l.T("editor.saved_edit_pending", a.Title)
	}
	switch a.Status {
	case board.StatusDraft:
		return l.T("editor.saved_draft", a.Title)
	case board.StatusScheduled:
		return l.T("editor.saved_scheduled", l.Time(*a.PublishAt), a.Title)
	case board.StatusExpired:
		return l.T("editor.saved_expired", a.Title)
	case board.StatusPending:
		return l.T("editor.saved_pending", a.Title)
	}
	return l.T("editor.saved_published", a.Title)
}

// preview shows the form again with what each destination would show,
// saving and sending nothing; show renders the page with the preview's
// data.
func (e *Editor) preview(r *http.Request, b board.Board, id int64, d board.Draft, show func(map[string]any)) error {
	a, err := e.svc.PreviewOf(r.Context(), b, id, d)
	if err != nil {
		return err
	}
	l := boardLocale(r, b)
	item := itemOf(e.links, a, l)
	// Pictures from this server, whatever name the editor reached it by
	// (the page's CSP allows only its own origin).
	item.BoardURL = "/boards/" + b.Name
	show(map[string]any{"WebPreview": item, "Previews": showPreviews(e.svc.Previews(r.Context(), b, a)),
		"Warnings": e.svc.Warnings(r.Context(), b, a)})
	return nil
}

// formErrors maps a service error to field problems, or answers it.
func (e *Editor) formErrors(w http.ResponseWriter, r *http.Request, err error) board.Problems {
	var ve *board.ValidationError
	switch {
	case errors.As(err, &ve):
		return serviceErrors(ve)
	case errors.Is(err, board.ErrForbidden):
		return board.Problems{"form": board.Problemf("editor.p.forbidden")}
	case errors.Is(err, board.ErrIdempotencyConflict):
		return board.Problems{"form": board.Problemf("editor.p.form_used")}
	case errors.Is(err, board.ErrGone):
		e.flashRedirect(w, r, "/edit", requestLocale(r).T("editor.was_deleted"))
	case errors.Is(err, board.ErrNotFound):
		NotFound(w, r)
	default:
		serverError(w, r, e.log, err)
	}
	return nil
}

func (e *Editor) announcement(w http.ResponseWriter, r *http.Request, b board.Board) (board.Announcement, bool) {
	id, ok := board.ParseID(r.PathValue("id"))
	if !ok {
		NotFound(w, r)
		return board.Announcement{}, false
	}
	a, err := e.store.Announcement(r.Context(), b.ID, id)
	if err != nil || a.DeletedAt != nil {
		NotFound(w, r)
		return a, false
	}
	return a, true
}

func (e *Editor) editForm(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	if a, ok := e.announcement(w, r, b); ok {
		f := formOf(a, e.zone(b))
		if a.PendingEdit != nil {
			// What waits for approval is what the approver reads and
			// the proposer goes on editing.
			if pa, err := e.svc.PreviewOf(r.Context(), b, a.ID, *a.PendingEdit); err == nil {
				f = formOf(pa, e.zone(b))
				f.Status = a.Status
			}
		}
		f.Role = s.token.Role
		services, err := e.svc.HostedServices(r.Context(), b)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		f.Services = services
		data := map[string]any{"Title": e.locale(r, b).T("editor.title_edit", a.Title), "Board": b, "CSRF": s.csrf(), "Form": f, "Zone": e.zoneName(r, b),
			"Notice": e.flash(w, r), "Saved": a, "CanApprove": canApprove(s, a)}
		if a.Kind == board.KindTraining && a.Training != nil {
			data["Training"] = a.Training
		}
		if a.TakesSignups() {
			list, err := e.store.Signups(r.Context(), a.ID)
			if err != nil {
				serverError(w, r, e.log, err)
				return
			}
			answers, err := e.store.Answers(r.Context(), a.ID)
			if err != nil {
				serverError(w, r, e.log, err)
				return
			}
			data["Call"], data["Signups"], data["History"] = a.Call, list, history(e.locale(r, b), answers, list)
		}
		if a.Kind == board.KindOutage && a.Outage != nil {
			// Before it begins an outage is called off, not resolved.
			data["Outage"], data["OutageState"] = a.Outage, a.Outage.State(time.Now())
		}
		if a.Kind == board.KindCampaign && a.Campaign != nil && a.Public() {
			l := e.locale(r, b)
			data["Campaign"], data["CampaignFacts"] = a.Campaign, progressFacts(l, a)
			if p := a.Campaign.SourceProblem; p != nil {
				args := make([]any, len(p.Args))
				for i, v := range p.Args {
					args[i] = v
				}
				data["SourceProblem"] = l.T(p.Key, args...)
			}
		}
		if a.Public() {
			// Relays matter to a campaign or a call: say how far it went.
			list, err := e.store.Interactions(r.Context(), a.ID)
			if err != nil {
				serverError(w, r, e.log, err)
				return
			}
			counts := map[string]int{}
			for _, in := range list {
				counts[in.Kind]++
			}
			data["Reach"] = counts
			// A post that reached servers too late for their home
			// timelines is said, with the way to post it again when it
			// is an outage still going on or to come.
			deliveries, err := e.store.Deliveries(r.Context(), a.ID)
			if err != nil {
				serverError(w, r, e.log, err)
				return
			}
			if late := board.SummarizeDeliveries(a, deliveries).Late; late > 0 {
				data["Late"] = late
				data["CanReannounce"] = a.Kind == board.KindOutage && a.Outage != nil && a.Outage.State(time.Now()) != board.OutageResolved
			}
		}
		e.render(w, r, http.StatusOK, "edit_form", data)
	}
}

// canApprove says whether the signed-in token may approve a: a publisher
// other than the one who asked.
func canApprove(s session, a board.Announcement) bool {
	return (a.Status == board.StatusPending || a.PendingEdit != nil) && s.token.Role != board.RoleEditor && (a.RequestedBy == nil || *a.RequestedBy != s.token.ID)
}

func (e *Editor) update(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	f := readForm(r)
	f.typedTimes(e.zone(b))
	f.ID, f.Status, f.Board, f.Role = a.ID, a.Status, b.Name, s.token.Role
	services, err := e.svc.HostedServices(r.Context(), b)
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	f.Services = services
	upErrs := e.takeUpload(r, b, &f)
	d, errs := f.draft(e.zone(b))
	errs = mergeErrors(errs, upErrs)
	if len(a.Images) > 1 {
		d.Images = append(d.Images, board.DraftOf(a).Images[1:]...) // given through the API; the form shows the first
	}
	if a.Public() {
		// Its publication time is history, not in the form.
		d.PublishAt = a.PublishAt
	}
	keep := func(cur *board.Draft) error {
		// The form does not carry whether the call is closed, nor which of
		// a campaign's thanks went out: keep them.
		closed := cur.Call != nil && cur.Call.Closed
		var closedFor *time.Time
		if cur.Call != nil {
			closedFor = cur.Call.ClosedFor
		}
		cancelled := cur.Training != nil && cur.Training.Cancelled
		var reached []int
		thanked := false
		if cur.Campaign != nil {
			reached, thanked = cur.Campaign.Reached, cur.Campaign.Thanked
		}
		*cur = d
		if cur.Call != nil {
			cur.Call.Closed, cur.Call.ClosedFor = closed, closedFor
		}
		if cur.Campaign != nil {
			cur.Campaign.Reached, cur.Campaign.Thanked = reached, thanked
		}
		if cur.Training != nil {
			cur.Training.Cancelled = cancelled
		}
		return nil
	}
	l := e.locale(r, b)
	page := map[string]any{"Title": l.T("editor.title_edit", a.Title), "Board": b, "CSRF": s.csrf(), "Form": f, "Zone": e.zoneName(r, b), "Saved": a, "CanApprove": canApprove(s, a)}
	if errs == nil && f.Action == "preview" {
		cur := board.DraftOf(a)
		_ = keep(&cur)
		err := e.preview(r, b, a.ID, cur, func(pv map[string]any) {
			for k, v := range pv {
				page[k] = v
			}
			e.render(w, r, http.StatusOK, "edit_form", page)
		})
		if err == nil {
			return
		}
		if errs = e.formErrors(w, r, err); errs == nil {
			return
		}
	}
	if errs == nil {
		saved, err := e.svc.Update(r.Context(), s.actor(), b, a.ID, keep)
		if err == nil {
			notice := e.saved(l, saved)
			if a.Public() && saved.PendingEdit == nil {
				notice = l.T("editor.updated", saved.Title)
				if saved.Version == a.Version {
					notice = l.T("editor.saved_unchanged", saved.Title)
				}
			}
			e.flashRedirect(w, r, "/edit", withWarnings(l, notice, e.svc.Warnings(r.Context(), b, saved)))
			return
		}
		if errs = e.formErrors(w, r, err); errs == nil {
			return
		}
	}
	f.Errors = byField(l, errs, f.roleLines())
	page["Form"] = f
	e.render(w, r, http.StatusBadRequest, "edit_form", page)
}

// list pages through all of a board's announcements, 50 at a time, with a
// search in titles and texts: the home page shows only the latest ten.
func (e *Editor) list(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	const page = 50
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	list, err := e.store.SearchAnnouncements(r.Context(), b.ID, q, before, page+1)
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	older := ""
	if len(list) > page {
		list = list[:page]
		older = "?" + url.Values{"q": {q}, "before": {strconv.FormatInt(list[page-1].ID, 10)}}.Encode()
	}
	e.render(w, r, http.StatusOK, "edit_list", map[string]any{"Title": requestLocale(r).T("editor.title_list", b.DisplayName), "Board": b,
		"Query": q, "Announcements": list, "Older": older, "Paged": before > 0})
}

func (e *Editor) delete(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	// A deletion reaches thousands of readers and cannot be taken back:
	// the first press asks, the second deletes.
	if r.PostFormValue("confirm") != "yes" {
		e.render(w, r, http.StatusOK, "edit_delete", map[string]any{"Title": requestLocale(r).T("editor.title_delete", a.Title), "Heading": a.Title, "Board": b, "ID": a.ID, "CSRF": s.csrf()})
		return
	}
	if err := e.svc.Delete(r.Context(), s.actor(), b, a.ID); err != nil {
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, "/edit", requestLocale(r).T("editor.deleted", a.Title))
}

// flashRedirect shows notice once on the page it redirects to. It travels
// in a cookie, not the URL: a link from anywhere must not be able to put
// its own words in a green box on the editor ("your token expired, send
// it to…").
func (e *Editor) flashRedirect(w http.ResponseWriter, r *http.Request, to, notice string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(notice)), Path: "/edit", MaxAge: 60,
		HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// refusalRedirect is flashRedirect for what was not done: the page shows
// it as a refusal, not in the colours of a success.
func (e *Editor) refusalRedirect(w http.ResponseWriter, r *http.Request, to, notice string) {
	e.flashRedirect(w, r, to, refusedMark+notice)
}

// refusedMark starts a flash that tells of a refusal (no text starts so).
const refusedMark = "\x00"

// flashNotice is the notice a redirect left, and whether it tells of a
// refusal.
type flashNotice struct {
	Text    string
	Refused bool
}

// flash takes the notice a redirect left, once.
func (e *Editor) flash(w http.ResponseWriter, r *http.Request) flashNotice {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return flashNotice{}
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/edit", MaxAge: -1, HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteStrictMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || !utf8.Valid(b) {
		return flashNotice{}
	}
	text, refused := strings.CutPrefix(string(b), refusedMark)
	return flashNotice{Text: text, Refused: refused}
}

const flashCookie = "crieur_flash"

// withWarnings adds what destinations will change (a text cut for Matrix)
// to the notice an editor sees after saving.
func withWarnings(l locale.Locale, notice string, warnings []board.Problem) string {
	for _, w := range warnings {
		notice += " " + l.Problem(w)
	}
	return notice
}

// progressFacts are the facts of a campaign's progress as readers see
// them (ended, raised or received, goal), for its editors.
func progressFacts(l locale.Locale, a board.Announcement) []locale.Fact {
	var out []locale.Fact
	for _, f := range l.Facts(a) {
		switch f.Key {
		case "ended", "raised", "income", "goal":
			out = append(out, f)
		}
	}
	return out
}
