package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
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
	}, "statusNote": func(a board.Announcement) template.HTML {
		// Times in the offset they were written in: the board's zone.
		in := func(t *time.Time) string { return locale.English.Time(*t) }
		var s string
		switch a.Status {
		case board.StatusDraft:
			s = `<span class="status">Draft</span>, not published`
		case board.StatusScheduled:
			s = `<span class="status">Scheduled</span> for ` + template.HTMLEscapeString(in(a.PublishAt))
		case board.StatusExpired:
			s = `<span class="status">Ended</span> ` + template.HTMLEscapeString(in(a.ExpiresAt)) + `, off the board`
		case board.StatusPending:
			s = `<span class="status">Awaiting approval</span> by a second publisher`
		default:
			s = "Published " + template.HTMLEscapeString(a.CreatedAt.In(loc).Format("2 Jan 2006"))
			if a.ExpiresAt != nil {
				s += ", taken down " + template.HTMLEscapeString(in(a.ExpiresAt))
			}
		}
		return template.HTML(s)
	}, "kindLabel": locale.English.KindLabel, "prefixed": func(f formData, board string) formData {
		f.Prefix, f.Board = board+"-", board
		return f
	}}
	for _, name := range []string{"edit_login", "edit_home", "edit_form", "edit_delete", "edit_list", "edit_destinations"} {
		e.tmpl[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/edit_form_fields.html", "templates/"+name+".html"))
	}
	return e
}

// Register adds the editor's routes.
func (e *Editor) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /edit", e.home)
	mux.HandleFunc("POST /edit/login", e.login)
	mux.HandleFunc("POST /edit/logout", e.signedIn(e.logout))
	mux.HandleFunc("POST /edit/{board}/new", e.signedIn(e.onBoard(e.create)))
	mux.HandleFunc("GET /edit/{board}/all", e.signedIn(e.onBoard(e.list)))
	mux.HandleFunc("GET /edit/{board}/destinations", e.signedIn(e.onBoard(e.destinations)))
	mux.HandleFunc("POST /edit/{board}/destinations/{key}/{action}", e.signedIn(e.onBoard(e.destinationAction)))
	mux.HandleFunc("GET /edit/{board}/{id}", e.signedIn(e.onBoard(e.editForm)))
	mux.HandleFunc("POST /edit/{board}/{id}", e.signedIn(e.onBoard(e.update)))
	mux.HandleFunc("POST /edit/{board}/{id}/delete", e.signedIn(e.onBoard(e.delete)))
	mux.HandleFunc("GET /edit/{board}/{id}/signups.csv", e.signedIn(e.onBoard(e.signupsCSV)))
	mux.HandleFunc("POST /edit/{board}/{id}/signups", e.signedIn(e.onBoard(e.addSignup)))
	mux.HandleFunc("POST /edit/{board}/{id}/signups/{signup}/remove", e.signedIn(e.onBoard(e.removeSignup)))
	mux.HandleFunc("POST /edit/{board}/{id}/closed", e.signedIn(e.onBoard(e.setClosed)))
	mux.HandleFunc("POST /edit/{board}/{id}/resolved", e.signedIn(e.onBoard(e.resolve)))
	mux.HandleFunc("POST /edit/{board}/{id}/cancelled", e.signedIn(e.onBoard(e.cancelTraining)))
	mux.HandleFunc("POST /edit/{board}/{id}/approve", e.signedIn(e.onBoard(e.approve)))
	mux.HandleFunc("POST /edit/{board}/{id}/raised", e.signedIn(e.onBoard(e.setRaised)))
}

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
			limit, parse, what := int64(maxEditorForm), r.ParseForm, "This form is larger than 256 KB"
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				// A form with a picture: the picture may be large, the rest
				// is checked field by field.
				limit, what = maxEditorForm+media.MaxUpload, fmt.Sprintf("The picture is larger than %d MB", media.MaxUpload>>20)
				parse = func() error { return r.ParseMultipartForm(1 << 20) }
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := parse(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					errorPage(w, r, http.StatusRequestEntityTooLarge, "Too long to send",
						what+", so nothing was saved. Go back (your text is still there), make it smaller and send it again.")
					return
				}
				errorPage(w, r, http.StatusBadRequest, "Form not understood", "Go back, reload the page and try again.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf())) != 1 {
				errorPage(w, r, http.StatusForbidden, "This form has expired", "Nothing was saved. Go back, copy your text, reload the page and send it again.")
				return
			}
		}
		next(w, r.WithContext(httpx.With(r.Context(), s)))
	}
}

func (e *Editor) onBoard(next func(http.ResponseWriter, *http.Request, session, board.Board)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := httpx.Must[session](r)
		if err != nil {
			serverError(w, r, e.log, err)
			return
		}
		b, err := httpx.PathBoard(r, e.store)
		if err == nil && s.token.BoardID != nil && *s.token.BoardID != b.ID {
			err = board.ErrNotFound // another board's token: as if it did not exist
		}
		if err != nil {
			fail(w, r, e.log, err)
			return
		}
		next(w, r, s, b)
	}
}

func (e *Editor) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	w.Header().Set("Cache-Control", "no-store") // pages of a signed-in editor
	writePage(w, r, e.log, e.tmpl, cspEditor, status, name, data)
}

func (e *Editor) home(w http.ResponseWriter, r *http.Request) {
	s, ok := e.session(r)
	if !ok {
		e.render(w, r, http.StatusOK, "edit_login", map[string]any{"Title": "Sign in – Crieur"})
		return
	}
	e.renderHome(w, r, s, http.StatusOK, nil, formData{Kind: string(board.KindNews), Role: s.token.Role}, e.flash(w, r), nil)
}

type boardView struct {
	board.Board
	Zone          string
	URL           string
	Handle        string
	Announcements []board.Announcement
}

// renderHome shows the boards, their latest announcements and the form;
// failed is the board whose form came back with errors.
func (e *Editor) renderHome(w http.ResponseWriter, r *http.Request, s session, status int, failed *board.Board, f formData, notice string, preview map[string]any) {
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
		views = append(views, boardView{Board: b, Zone: e.zone(b).String(), URL: e.links.BoardURL(b.Name), Handle: e.links.Handle(b.Name), Announcements: list})
	}
	target := ""
	if failed != nil {
		target = failed.Name
	} else if len(views) > 0 {
		target = views[0].Name
	}
	data := map[string]any{
		"Title": "Publish – Crieur", "Boards": views, "CSRF": s.csrf(), "Form": f, "Empty": formData{Kind: string(board.KindNews), Role: s.token.Role},
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
		http.Error(w, "Sign in from this site's own page, /edit.", http.StatusForbidden)
		return
	}
	tok, err := e.store.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		msg := "This token is not valid. Ask whoever runs the server for one ('crieur token create')."
		if errors.Is(err, board.ErrTokenExpired) {
			msg = "This token has expired. Ask whoever runs the server for a new one ('crieur token create')."
		}
		e.render(w, r, http.StatusUnauthorized, "edit_login", map[string]any{"Title": "Sign in – Crieur", "Error": msg})
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

// formData is the form as typed, kept verbatim so a rejected form comes
// back with everything the editor wrote.
type formData struct {
	ID                                int64
	Kind, Title, Body, Tags, CW, Lang string
	Start, End, Place, EventURL       string
	Roles, Deadline, Contact          string
	Multiple, Waitlist, RemoveRoles   bool
	Service, From, Until              string
	Goal, Currency, Raised            string
	Milestones, ThankYou              string
	CampaignDeadline, Link, TaxNote   string
	Online, Level, Bring, Seats       string
	TrainingWaitlist, Reminder        bool
	PublishAt, ExpiresAt              string
	// The picture: an uploaded one's id, its description, whether it is
	// decorative or to be removed. Board makes its thumbnail's address.
	ImageID, Alt, Board     string
	Decorative, RemoveImage bool
	// FollowUp asks for a short "Updated" message where messages cannot
	// be edited (Mattermost, mailing lists).
	FollowUp bool
	// moreImages are pictures after the first (given through the API),
	// which the form does not show and keeps.
	moreImages []board.Image
	// Status is the saved announcement's (empty for a new one): a
	// published one cannot be scheduled again or made a draft.
	Status board.Status
	// Action is the button pressed: preview, draft or publish.
	Action string
	// Role is the signed-in token's: an editor's form only saves drafts.
	Role   string
	Errors map[string]string
	// Prefix keeps ids unique when one page holds a form per board, so a
	// label focuses its own board's field.
	Prefix string
}

func readForm(r *http.Request) formData {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return formData{Kind: v("kind"), Title: v("title"), Body: r.PostFormValue("body"), Tags: v("tags"), CW: v("cw"), Lang: v("lang"),
		Start: v("start"), End: v("end"), Place: v("place"), EventURL: v("event_url"),
		Roles: r.PostFormValue("roles"), Deadline: v("deadline"), Contact: v("contact"),
		Multiple: r.PostFormValue("multiple") == "on", Waitlist: r.PostFormValue("waitlist") == "on", RemoveRoles: r.PostFormValue("remove_roles") == "on",
		Service: v("service"), From: v("from"), Until: v("until"), PublishAt: v("publish_at"),
		Goal: v("goal"), Currency: v("currency"), Raised: v("raised"), Milestones: v("milestones"), ThankYou: r.PostFormValue("thank_you"), CampaignDeadline: v("campaign_deadline"), Link: v("link"), TaxNote: v("tax_note"), ExpiresAt: v("expires_at"), Action: v("action"),
		ImageID: v("image_id"), Alt: v("alt"), Decorative: r.PostFormValue("decorative") == "on", RemoveImage: r.PostFormValue("remove_image") == "on",
		FollowUp: r.PostFormValue("follow_up") == "on",
		Online:   v("online"), Level: v("level"), Bring: v("bring"), Seats: v("seats"),
		TrainingWaitlist: r.PostFormValue("training_waitlist") == "on", Reminder: r.PostFormValue("reminder") == "on"}
}

// takeUpload keeps a picture sent with the form, so that it stays with the
// form even when the rest needs fixing. It reports a problem to show by the
// picture field.
func (e *Editor) takeUpload(r *http.Request, b board.Board, f *formData) map[string]string {
	file, _, err := r.FormFile("image")
	if err != nil {
		return nil // none sent (or not a multipart form)
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return map[string]string{"file": "the picture could not be read; send it again"}
	}
	if len(data) == 0 {
		return nil
	}
	im, err := e.svc.Upload(r.Context(), b, data)
	var ve *board.ValidationError
	switch {
	case errors.As(err, &ve):
		return ve.Fields
	case err != nil:
		e.log.ErrorContext(r.Context(), "editor upload", "err", err)
		return map[string]string{"file": "the picture could not be kept; try again"}
	}
	f.ImageID, f.RemoveImage = im.ID, false
	return nil
}

// Unpublished says whether the form may still save a draft or schedule.
func (f formData) Unpublished() bool {
	return f.Status == "" || f.Status == board.StatusDraft || f.Status == board.StatusScheduled
}

func formOf(a board.Announcement, loc *time.Location) formData {
	t := func(x *time.Time) string {
		if x == nil {
			return ""
		}
		return x.In(loc).Format(formTime)
	}
	f := formData{ID: a.ID, Kind: string(a.Kind), Title: a.Title, Body: a.Body, Tags: strings.Join(a.Tags, " "), CW: a.ContentWarning, Lang: a.Language,
		PublishAt: t(a.PublishAt), ExpiresAt: t(a.ExpiresAt), Status: a.Status, Board: a.Board}
	if len(a.Images) > 0 {
		f.ImageID, f.Alt, f.Decorative, f.moreImages = a.Images[0].ID, a.Images[0].Alt, a.Images[0].Decorative, a.Images[1:]
	}
	if a.Event != nil {
		f.Start, f.End, f.Place, f.EventURL = t(&a.Event.Start), t(a.Event.End), a.Event.Place, a.Event.URL
	}
	if tr := a.Training; tr != nil {
		f.Online, f.Level, f.Bring, f.Seats = tr.Online, tr.Level, tr.Bring, strconv.Itoa(tr.Seats)
		f.TrainingWaitlist, f.Reminder = tr.Waitlist, tr.Reminder
	} else if a.Call != nil {
		var lines []string
		for _, role := range a.Call.Roles {
			lines = append(lines, fmt.Sprintf("%s: %d", role.Name, role.Places))
		}
		f.Roles, f.Deadline, f.Contact = strings.Join(lines, "\n"), t(a.Call.Deadline), a.Call.Contact
		f.Multiple, f.Waitlist = a.Call.Multiple, a.Call.Waitlist
	}
	if a.Outage != nil {
		f.Service, f.From, f.Until = a.Outage.Service, t(&a.Outage.From), t(a.Outage.Until)
	}
	if c := a.Campaign; c != nil {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		f.Goal, f.Currency, f.Raised, f.CampaignDeadline, f.Link, f.TaxNote = num(c.Goal), c.Currency, num(c.Raised), t(c.Deadline), c.Link, c.TaxNote
		var ms []string
		for _, m := range c.Milestones {
			ms = append(ms, strconv.Itoa(m))
		}
		f.Milestones, f.ThankYou = strings.Join(ms, " "), c.ThankYou
	}
	return f
}

// draft turns the form into a Draft; what cannot be read is reported by
// field, in the same words as the API's checks.
func (f formData) draft(loc *time.Location) (board.Draft, map[string]string) {
	errs := map[string]string{}
	when := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		t, err := time.ParseInLocation(formTime, s, loc)
		if err != nil {
			errs[field] = "give a date and time, e.g. 2026-12-05T14:00"
			return nil
		}
		return &t
	}
	d := board.Draft{Kind: board.Kind(f.Kind), Title: f.Title, Body: f.Body, ContentWarning: f.CW, Language: f.Lang,
		Tags:      strings.FieldsFunc(f.Tags, func(r rune) bool { return r == ',' || r == ' ' }),
		KeepDraft: f.Action == "draft", PublishAt: when("publish_at", f.PublishAt), ExpiresAt: when("expires_at", f.ExpiresAt), FollowUp: f.FollowUp}
	if f.ImageID != "" && !f.RemoveImage {
		d.Images = append(d.Images, board.Image{ID: f.ImageID, Alt: f.Alt, Decorative: f.Decorative})
	} else if f.Alt != "" && !f.RemoveImage {
		errs["images[0].id"] = "Choose the picture this describes, or empty the description."
	}
	// A detail of another kind would be dropped without a word: say so.
	for _, x := range []struct {
		kind       board.Kind
		key, value string
	}{
		{board.KindEvent, "event.start", f.Start}, {board.KindEvent, "event.end", f.End}, {board.KindEvent, "event.place", f.Place}, {board.KindEvent, "event.url", f.EventURL},
		{board.KindCall, "call.roles", f.Roles}, {board.KindCall, "call.deadline", f.Deadline}, {board.KindCall, "call.contact", f.Contact},
		{board.KindOutage, "outage.service", f.Service}, {board.KindOutage, "outage.from", f.From}, {board.KindOutage, "outage.until", f.Until},
		{board.KindCampaign, "campaign.goal", f.Goal}, {board.KindCampaign, "campaign.raised", f.Raised}, {board.KindCampaign, "campaign.deadline", f.CampaignDeadline},
		{board.KindCampaign, "campaign.link", f.Link}, {board.KindCampaign, "campaign.tax_note", f.TaxNote}, {board.KindCampaign, "campaign.milestones", f.Milestones},
		{board.KindCampaign, "campaign.thank_you", f.ThankYou},
		{board.KindTraining, "training.online", f.Online}, {board.KindTraining, "training.level", f.Level}, {board.KindTraining, "training.bring", f.Bring},
		{board.KindTraining, "training.seats", f.Seats},
	} {
		if x.kind != d.Kind && strings.TrimSpace(x.value) != "" && !(x.kind == board.KindEvent && d.Kind == board.KindTraining) {
			errs[x.key] = fmt.Sprintf("This is for %s: choose “%s” in “What is it?”, or empty this field.", kindWords[x.kind][0], kindWords[x.kind][1])
		}
	}
	switch d.Kind {
	case board.KindEvent, board.KindTraining:
		d.Event = &board.Event{End: when("event.end", f.End), Place: f.Place, URL: f.EventURL}
		if st := when("event.start", f.Start); st != nil {
			d.Event.Start = *st
		}
		if d.Kind != board.KindTraining {
			break
		}
		d.Training = &board.Training{Online: f.Online, Level: f.Level, Bring: f.Bring, Waitlist: f.TrainingWaitlist, Reminder: f.Reminder}
		if f.Seats != "" {
			n, err := strconv.Atoi(f.Seats)
			if err != nil {
				errs["training.seats"] = "write how many people can come, like 12"
			}
			d.Training.Seats = n
		}
	case board.KindCall:
		d.Call = &board.Call{Deadline: when("call.deadline", f.Deadline), Contact: f.Contact, Multiple: f.Multiple, Waitlist: f.Waitlist}
		d.RemoveRolesWithSignups = f.RemoveRoles
		for _, line := range strings.Split(f.Roles, "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			name, n, ok := strings.Cut(line, ":")
			places, err := strconv.Atoi(strings.TrimSpace(n))
			if !ok || err != nil {
				errs["call.roles"] = fmt.Sprintf("write one role a line as 'name: places', e.g. 'cook: 2' (not %q)", line)
				continue
			}
			d.Call.Roles = append(d.Call.Roles, board.Role{Name: strings.TrimSpace(name), Places: places})
		}
	case board.KindCampaign:
		amount := func(field, s string) float64 {
			if s == "" {
				return 0
			}
			v, err := parseAmount(s)
			if err != nil {
				errs[field] = "write an amount, like 3000 or 1240.50"
			}
			return v
		}
		d.Campaign = &board.Campaign{Goal: amount("campaign.goal", f.Goal), Currency: f.Currency, Raised: amount("campaign.raised", f.Raised),
			Deadline: when("campaign.deadline", f.CampaignDeadline), Link: f.Link, TaxNote: f.TaxNote, ThankYou: f.ThankYou}
		for _, w := range strings.FieldsFunc(f.Milestones, func(r rune) bool { return r == ',' || r == ' ' || r == '%' }) {
			m, err := strconv.Atoi(w)
			if err != nil {
				errs["campaign.milestones"] = "percentages of the goal separated by spaces, like 25 50 75 100"
				continue
			}
			d.Campaign.Milestones = append(d.Campaign.Milestones, m)
		}
	case board.KindOutage:
		d.Outage = &board.Outage{Service: f.Service, Until: when("outage.until", f.Until)}
		if from := when("outage.from", f.From); from != nil {
			d.Outage.From = *from
		}
	}
	// All problems at once: what could not be read, then what is invalid.
	var ve *board.ValidationError
	if err := d.Normalize(); errors.As(err, &ve) {
		for k, msg := range serviceErrors(ve) {
			if _, ok := errs[k]; !ok {
				errs[k] = msg
			}
		}
	}
	if len(errs) > 0 {
		return d, errs
	}
	return d, nil
}

func (e *Editor) create(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	f := readForm(r)
	f.Board, f.Role = b.Name, s.token.Role
	upErrs := e.takeUpload(r, b, &f)
	d, errs := f.draft(e.zone(b))
	errs = mergeErrors(errs, upErrs)
	if errs == nil && f.Action == "preview" {
		err := e.preview(r, b, 0, d, func(pv map[string]any) { e.renderHome(w, r, s, http.StatusOK, &b, f, "", pv) })
		if err == nil {
			return
		}
		if errs = e.formErrors(w, r, err); errs == nil {
			return
		}
	}
	if errs == nil {
		// The form carries a key made when it was shown, so a double click
		// or a resubmitted page does not publish twice.
		a, replayed, err := e.svc.Create(r.Context(), s.actor(), b, d, r.PostFormValue("key"))
		if err == nil && replayed {
			// Back and send again: say what is true, not "Published".
			e.flashRedirect(w, r, "/edit", "Already published: "+a.Title+". This form had been sent before, so nothing new was posted.")
			return
		}
		if err == nil {
			e.flashRedirect(w, r, "/edit", withWarnings(e.saved(a), e.svc.Warnings(r.Context(), b, a)))
			return
		}
		errs = e.formErrors(w, r, err)
		if errs == nil {
			return
		}
	}
	f.Errors = byField(errs)
	e.renderHome(w, r, s, http.StatusBadRequest, &b, f, "", nil)
}

// saved is the notice after a save: what became of the announcement.
func (e *Editor) saved(a board.Announcement) string {
	switch a.Status {
	case board.StatusDraft:
		return "Saved as a draft (nobody sees it yet): " + a.Title
	case board.StatusScheduled:
		return "Scheduled for " + locale.English.Time(*a.PublishAt) + ": " + a.Title
	case board.StatusExpired:
		return "Saved; it has ended, so it is off the board: " + a.Title
	case board.StatusPending:
		return "Asked for publication: another publisher of this board approves it before it goes out: " + a.Title
	}
	return "Published: " + a.Title
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

// mergeErrors joins two sets of field problems (nil when there are none).
func mergeErrors(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			a[k] = v
		}
	}
	return a
}

// parseAmount reads an amount as people type it: 3000, 3 000, 1240,50.
func parseAmount(s string) (float64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", ",", ".").Replace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not an amount: %q", s)
	}
	return v, nil
}

// setRaised records a campaign's new total from its edit page.
func (e *Editor) setRaised(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	v, err := parseAmount(r.PostFormValue("raised"))
	if err != nil {
		e.flashRedirect(w, r, to, "Not changed: write an amount, like 1240 or 1240.50.")
		return
	}
	saved, err := e.svc.SetRaised(r.Context(), s.actor(), b, a.ID, v)
	if err != nil {
		e.flashRedirect(w, r, to, "Not changed: "+err.Error())
		return
	}
	msg := "Raised so far: " + locale.English.Facts(saved)[0].Value + ". The page shows it now; followers and rooms within a few minutes."
	e.flashRedirect(w, r, to, msg)
}

// formFields are the form's fields in page order, each with the keys the
// service reports its problems under.
var formFields = []struct {
	name, label string
	keys        []string
}{
	{"form", "Form", []string{"form", "draft", "pinned"}},
	{"kind", "What is it?", []string{"kind"}},
	{"title", "Title", []string{"title"}},
	{"body", "Text", []string{"body"}},
	{"tags", "Hashtags", []string{"tags"}},
	{"image", "Picture", []string{"file", "images", "images[0].id"}},
	{"alt", "Describe the picture", []string{"images[0].alt"}},
	{"start", "Starts", []string{"event", "event.start"}},
	{"end", "Ends", []string{"event.end"}},
	{"place", "Place", []string{"event.place"}},
	{"event_url", "Link", []string{"event.url"}},
	{"roles", "Who is needed", []string{"call", "call.roles"}},
	{"deadline", "Answer before", []string{"call.deadline"}},
	{"contact", "How to answer", []string{"call.contact"}},
	{"service", "Service", []string{"outage", "outage.service"}},
	{"from", "From", []string{"outage.from"}},
	{"until", "Until", []string{"outage.until", "outage.resolved"}},
	{"publish_at", "Publish at", []string{"publish_at"}},
	{"expires_at", "Take down at", []string{"expires_at"}},
	{"goal", "Goal", []string{"campaign", "campaign.goal"}},
	{"currency", "Currency", []string{"campaign.currency"}},
	{"raised", "Raised so far", []string{"campaign.raised"}},
	{"campaign_deadline", "Until", []string{"campaign.deadline"}},
	{"link", "Where to give", []string{"campaign.link"}},
	{"tax_note", "Good to know", []string{"campaign.tax_note"}},
	{"milestones", "Thank at", []string{"campaign.milestones"}},
	{"thank_you", "Thank-you message", []string{"campaign.thank_you"}},
	{"online", "Online link", []string{"training.online"}},
	{"level", "Level", []string{"training.level"}},
	{"bring", "What to bring", []string{"training.bring"}},
	{"seats", "Seats", []string{"training", "training.seats"}},
	{"cw", "Content warning", []string{"content_warning"}},
	{"lang", "Language", []string{"language"}},
}

// inWords says what the API says about a field in a member's words: the
// API speaks of event.start and RFC 3339, the form of "Starts".
var inWords = map[string]string{
	"event":           "Give the date and time it starts.",
	"event.start":     "Give the date and time it starts.",
	"event.end":       "Ends must be after Starts.",
	"event.url":       "The link must start with https:// or http://.",
	"call":            "Say who is needed, one role a line, like cook: 2.",
	"call.contact":    "Say how to answer: an e-mail address, a link or a person to ask.",
	"outage":          "Name the service that is down, like mail or website.",
	"outage.service":  "Name the service that is down, like mail or website.",
	"outage.from":     "Give the date and time it started (or will start).",
	"outage.until":    "Until must be after From.",
	"outage.resolved": "Until must be after From.",
	"language":        "Write a language code such as fr or en.",
	"campaign":        "Give the goal, like 3000, and the page where people give.",
	"campaign.link":   "The page where people give must start with https://.",
	"training":        "Say how many people can come, like 12.",
	"training.seats":  "Say how many people can come, between 1 and 10000.",
	"training.online": "The online link must start with https://.",
}

// kindWords names a kind in a sentence and as the form's menu shows it.
var kindWords = map[board.Kind][2]string{
	board.KindEvent:    {"an event", "Event"},
	board.KindCall:     {"a call for volunteers", "Call for volunteers"},
	board.KindOutage:   {"a service outage", "Service outage"},
	board.KindCampaign: {"a donation campaign", "Donation campaign"},
	board.KindTraining: {"a training", "Training"},
}

// Shows says whether the fieldset of a kind's details is shown: the
// chosen kind's, or one holding a problem to fix. Browsers without :has()
// show them all.
func (f formData) Shows(kind string) bool {
	if f.Kind == kind || kind == "event" && f.Kind == string(board.KindTraining) {
		return true
	}
	for _, ff := range formFields {
		if _, bad := f.Errors[ff.name]; bad && strings.HasPrefix(ff.keys[len(ff.keys)-1], kind+".") {
			return true
		}
	}
	return false
}

// serviceErrors is what the service refused, in the form's words where the
// API's would puzzle a member; the editor's own messages need no rewording.
func serviceErrors(ve *board.ValidationError) map[string]string {
	out := make(map[string]string, len(ve.Fields))
	for k, msg := range ve.Fields {
		if words, ok := inWords[k]; ok {
			msg = words
		} else if k == "call.roles" && strings.HasPrefix(msg, "name at least one role") {
			msg = inWords["call"] // the API's example is JSON
		} else if k == "images[0].alt" && strings.HasPrefix(msg, "describe") {
			msg = "Describe the picture for people who cannot see it, or tick Decorative."
		} else if k == "images[0].alt" && strings.HasPrefix(msg, "a decorative") {
			msg = "A decorative picture has no description: empty the description, or untick Decorative."
		} else if k == "expires_at" && strings.Contains(msg, "publish_at") {
			msg = "Take down at must be after Publish at."
		}
		out[k] = msg
	}
	return out
}

// byField files the service's problems under the form's fields, in the
// form's words.
func byField(errs map[string]string) map[string]string {
	out := map[string]string{}
	for k, msg := range errs {
		key := k
		if strings.HasPrefix(k, "call.roles[") { // one role of several
			key, msg = "call.roles", "Role "+strings.TrimPrefix(k[strings.Index(k, "]")+1:], ".")+" "+msg+"; one role a line, like cook: 2."
		}
		field, label := "form", ""
		for _, f := range formFields {
			if slices.Contains(f.keys, key) {
				field, label = f.name, f.label
				break
			}
		}
		switch {
		case label != "" && (strings.HasPrefix(msg, "is ") || strings.HasPrefix(msg, "must ")):
			msg = label + " " + msg + "."
		case msg != "":
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		if prev, ok := out[field]; ok && prev != msg {
			msg = prev + " " + msg
		}
		out[field] = msg
	}
	return out
}

// fieldError is one line of the list above the form, linking to its field.
type fieldError struct{ ID, Label, Message string }

// ErrorList is the form's problems in page order.
func (f formData) ErrorList() []fieldError {
	var out []fieldError
	for _, ff := range formFields {
		if msg, ok := f.Errors[ff.name]; ok {
			id := f.Prefix + ff.name
			if ff.name == "form" {
				id = "" // the whole form: nothing to jump to
			}
			out = append(out, fieldError{ID: id, Label: ff.label, Message: msg})
		}
	}
	return out
}

// Invalid marks a field with a problem for screen readers, and focuses the
// first one.
func (f formData) Invalid(name string) template.HTMLAttr {
	if _, ok := f.Errors[name]; !ok {
		return ""
	}
	attr := ` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(f.Prefix+name) + `-error"`
	if list := f.ErrorList(); len(list) > 0 && list[0].ID == f.Prefix+name {
		attr += " autofocus"
	}
	return template.HTMLAttr(attr)
}

// ErrorFor is the message shown under a field.
func (f formData) ErrorFor(name string) template.HTML {
	msg, ok := f.Errors[name]
	if !ok {
		return ""
	}
	return template.HTML(`<span class="field-error" id="` + template.HTMLEscapeString(f.Prefix+name) + `-error">` + template.HTMLEscapeString(msg) + `</span>`)
}

// formErrors maps a service error to field messages, or answers it.
func (e *Editor) formErrors(w http.ResponseWriter, r *http.Request, err error) map[string]string {
	var ve *board.ValidationError
	switch {
	case errors.As(err, &ve):
		return serviceErrors(ve)
	case errors.Is(err, board.ErrForbidden):
		return map[string]string{"form": err.Error()}
	case errors.Is(err, board.ErrIdempotencyConflict):
		return map[string]string{"form": "this form already published an announcement (see Latest), so these changes were not posted: edit that announcement, or reload the page to start a new one"}
	case errors.Is(err, board.ErrGone):
		e.flashRedirect(w, r, "/edit", "That announcement was deleted.")
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
		f.Role = s.token.Role
		data := map[string]any{"Title": "Edit – " + a.Title, "Board": b, "CSRF": s.csrf(), "Form": f, "Zone": e.zone(b).String(),
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
			data["Call"], data["Signups"] = a.Call, list
		}
		if a.Kind == board.KindOutage && a.Outage != nil {
			data["Outage"] = a.Outage
		}
		if a.Kind == board.KindCampaign && a.Campaign != nil && a.Public() {
			data["Campaign"] = a.Campaign
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
		}
		e.render(w, r, http.StatusOK, "edit_form", data)
	}
}

// canApprove says whether the signed-in token may approve a: a publisher
// other than the one who asked.
func canApprove(s session, a board.Announcement) bool {
	return a.Status == board.StatusPending && s.token.Role != board.RoleEditor && (a.RequestedBy == nil || *a.RequestedBy != s.token.ID)
}

// approve publishes what another publisher asked to publish.
func (e *Editor) approve(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	saved, err := e.svc.Approve(r.Context(), s.actor(), b, a.ID)
	if err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) || errors.Is(err, board.ErrForbidden) {
			e.flashRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, a.ID), "Not approved: "+strings.TrimPrefix(err.Error(), "invalid announcement: "))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, "/edit", "Approved. "+e.saved(saved))
}

// signupsCSV lets a signed-in editor download a call's sign-ups.
func (e *Editor) signupsCSV(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	list, err := e.store.Signups(r.Context(), a.ID)
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	writeSignupsCSV(w, r, e.log, a.ID, list)
}

func (e *Editor) update(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	f := readForm(r)
	f.ID, f.Status, f.Board, f.Role = a.ID, a.Status, b.Name, s.token.Role
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
		cancelled := cur.Training != nil && cur.Training.Cancelled
		var reached []int
		thanked := false
		if cur.Campaign != nil {
			reached, thanked = cur.Campaign.Reached, cur.Campaign.Thanked
		}
		*cur = d
		if cur.Call != nil {
			cur.Call.Closed = closed
		}
		if cur.Campaign != nil {
			cur.Campaign.Reached, cur.Campaign.Thanked = reached, thanked
		}
		if cur.Training != nil {
			cur.Training.Cancelled = cancelled
		}
		return nil
	}
	page := map[string]any{"Title": "Edit – " + a.Title, "Board": b, "CSRF": s.csrf(), "Form": f, "Zone": e.zone(b).String(), "Saved": a, "CanApprove": canApprove(s, a)}
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
			notice := e.saved(saved)
			if a.Public() {
				notice = "Updated: " + saved.Title
				if saved.Version == a.Version {
					notice = "Saved: " + saved.Title + ". Readers see no change, so nothing was sent."
				}
			}
			e.flashRedirect(w, r, "/edit", withWarnings(notice, e.svc.Warnings(r.Context(), b, saved)))
			return
		}
		if errs = e.formErrors(w, r, err); errs == nil {
			return
		}
	}
	f.Errors = byField(errs)
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
	e.render(w, r, http.StatusOK, "edit_list", map[string]any{"Title": "All announcements – " + b.DisplayName, "Board": b,
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
		e.render(w, r, http.StatusOK, "edit_delete", map[string]any{"Title": "Delete – " + a.Title, "Heading": a.Title, "Board": b, "ID": a.ID, "CSRF": s.csrf()})
		return
	}
	if err := e.svc.Delete(r.Context(), s.actor(), b, a.ID); err != nil {
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, "/edit", "Deleted: "+a.Title)
}

// backToCall returns to the call's edit page with a notice.
func (e *Editor) backToCall(w http.ResponseWriter, r *http.Request, b board.Board, id int64, notice string) {
	e.flashRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, id), notice)
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

// flash takes the notice a redirect left, once.
func (e *Editor) flash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/edit", MaxAge: -1, HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteStrictMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || !utf8.Valid(b) {
		return ""
	}
	return string(b)
}

const flashCookie = "crieur_flash"

// addSignup records a sign-up an editor took by phone.
func (e *Editor) addSignup(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	name, contact, role := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("contact")), r.PostFormValue("role")
	errs := map[string]string{}
	board.CheckText(errs, "name", name, 100, true)
	board.CheckText(errs, "contact", contact, 200, false)
	if len(errs) > 0 {
		e.backToCall(w, r, b, a.ID, "Not added: the name "+errs["name"]+errs["contact"])
		return
	}
	res, err := e.svc.SignUp(r.Context(), b, a.ID, board.PhonePerson(name, contact), []string{role})
	switch {
	case err != nil:
		e.backToCall(w, r, b, a.ID, "Not added: "+err.Error())
	case len(res.Full) > 0:
		e.backToCall(w, r, b, a.ID, "Not added: "+role+" is full.")
	case len(res.Waiting) > 0:
		e.backToCall(w, r, b, a.ID, name+" is on the waiting list for "+role+".")
	default:
		e.backToCall(w, r, b, a.ID, name+" is signed up as "+role+".")
	}
}

func (e *Editor) removeSignup(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	sid, ok := board.ParseID(r.PathValue("signup"))
	if !ok {
		NotFound(w, r)
		return
	}
	if err := e.svc.RemoveSignup(r.Context(), s.actor(), b, a.ID, sid); err != nil && !errors.Is(err, board.ErrNotFound) {
		serverError(w, r, e.log, err)
		return
	}
	e.backToCall(w, r, b, a.ID, "Sign-up removed; the waiting list, if any, moved up.")
}

func (e *Editor) setClosed(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	closed := r.PostFormValue("closed") == "true"
	if _, err := e.svc.SetClosed(r.Context(), s.actor(), b, a.ID, closed); err != nil {
		e.backToCall(w, r, b, a.ID, "Not changed: "+err.Error())
		return
	}
	if closed {
		e.backToCall(w, r, b, a.ID, "Sign-ups are closed.")
	} else {
		e.backToCall(w, r, b, a.ID, "Sign-ups are open again.")
	}
}

// resolve marks an outage over now: the page, feeds, followers and rooms
// then say "Resolved" with the time.
func (e *Editor) resolve(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	if _, err := e.svc.ResolveOutage(r.Context(), s.actor(), b, a.ID); err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) {
			e.flashRedirect(w, r, to, "Not changed: "+err.Error())
			return
		}
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, to, "Marked resolved: "+a.Title+". The page, the feeds, followers and rooms now say so.")
}

// cancelTraining cancels a training (or calls the cancellation off).
func (e *Editor) cancelTraining(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	cancel := r.PostFormValue("cancelled") != "false"
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	if _, err := e.svc.CancelTraining(r.Context(), s.actor(), b, a.ID, cancel); err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) || errors.Is(err, board.ErrForbidden) {
			e.flashRedirect(w, r, to, "Not changed: "+strings.TrimPrefix(err.Error(), "invalid announcement: "))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	if cancel {
		e.flashRedirect(w, r, to, "Cancelled: "+a.Title+". The page, the feeds, followers and rooms now say so; registrants on the fediverse were told, and no reminder will go out.")
		return
	}
	e.flashRedirect(w, r, to, "No longer cancelled: "+a.Title+". Registration is open again.")
}

// withWarnings adds what destinations will change (a text cut for Matrix)
// to the notice an editor sees after saving.
func withWarnings(notice string, warnings []string) string {
	for _, w := range warnings {
		notice += ". " + w
	}
	return notice
}
