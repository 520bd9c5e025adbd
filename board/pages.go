package board

import (
	"embed"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

// Links tells the pages where things live; the federation layer owns the
// URL scheme because ids must match what peers were told.
type Links interface {
	BoardURL(board string) string
	AnnouncementURL(board string, id int64) string
	Handle(board string) string
}

// Pages renders the public, server-side HTML pages browsers see.
type Pages struct {
	store *Store
	svc   *Service // for the forms that change something (withdrawing)
	links Links
	tmpl  map[string]*template.Template
	log   *slog.Logger
}

// SetService lets the pages' forms act (withdraw a sign-up).
func (p *Pages) SetService(svc *Service) { p.svc = svc }

// NewPages parses the embedded templates.
func NewPages(store *Store, links Links, log *slog.Logger) *Pages {
	p := &Pages{store: store, links: links, tmpl: map[string]*template.Template{}, log: log}
	for _, name := range []string{"board", "announcement", "home", "gone", "withdraw", "events", "status"} {
		p.tmpl[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	p.tmpl["widget"] = template.Must(template.ParseFS(templateFS, "templates/widget.html"))
	return p
}

type pageItem struct {
	Announcement
	URL      string
	BoardURL string
	Body     template.HTML
	// Page: the announcement's own page, where its title is the h1.
	Page bool
	// State of an outage as of now: planned, ongoing, resolved.
	State string
	// L is the reader's language; FactList and Kind are in it.
	L        Locale
	FactList []Fact
	Kind     string
}

var headingRe = regexp.MustCompile(`<(/?)h([1-6])>`)

// shiftHeadings moves the body's headings below the title: a "#" in the
// text must not outrank the announcement's own heading.
func shiftHeadings(h string, by int) string {
	return headingRe.ReplaceAllStringFunc(h, func(tag string) string {
		m := headingRe.FindStringSubmatch(tag)
		n := min(int(m[2][0]-'0')+by, 6)
		return fmt.Sprintf("<%sh%d>", m[1], n)
	})
}

func (p *Pages) item(a Announcement, l Locale) pageItem { return itemOf(p.links, a, l) }

// itemOf is an announcement as the board's page lists it (and as the
// editor's preview shows it).
func itemOf(links Links, a Announcement, l Locale) pageItem {
	// a.HTML was sanitised by the Renderer before it was stored.
	it := pageItem{Announcement: a, URL: links.AnnouncementURL(a.Board, a.ID), BoardURL: links.BoardURL(a.Board),
		Body: template.HTML(shiftHeadings(a.HTML, 2)), L: l, FactList: a.FactsIn(l), Kind: a.KindLabelIn(l)}
	if a.Kind == KindOutage && a.Outage != nil {
		it.State = a.Outage.State(time.Now())
	}
	return it
}

// pageItemOf is item as the announcement's own page shows it: title h1.
func (p *Pages) pageItemOf(a Announcement, l Locale) pageItem {
	it := p.item(a, l)
	it.Page, it.Body = true, template.HTML(shiftHeadings(a.HTML, 1))
	return it
}

// Content-Security-Policy of the public pages and of the editor: no
// scripts anywhere; the editor also may not be framed.
const (
	cspPublic = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'self'"
	// The widget is made to be framed by the association's own site.
	cspWidget = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"
	cspEditor = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
)

// writePage renders template name of set with data.
func writePage(w http.ResponseWriter, r *http.Request, log *slog.Logger, set map[string]*template.Template, csp string, status int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	if err := set[name].ExecuteTemplate(w, name+".html", data); err != nil {
		log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
	}
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	if _, ok := data["L"]; !ok {
		b, _ := data["Board"].(Board)
		data["L"] = boardLocale(r, b)
	}
	writePage(w, r, p.log, p.tmpl, cspPublic, status, name, data)
}

// Home lists the boards.
func (p *Pages) Home(w http.ResponseWriter, r *http.Request) {
	boards, err := p.store.Boards(r.Context())
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	type entry struct{ DisplayName, URL, Handle string }
	var list []entry
	for _, b := range boards {
		list = append(list, entry{b.DisplayName, p.links.BoardURL(b.Name), p.links.Handle(b.Name)})
	}
	p.render(w, r, http.StatusOK, "home", map[string]any{"Title": "Crieur", "Boards": list})
}

// Board shows a board's latest announcements.
func (p *Pages) Board(w http.ResponseWriter, r *http.Request, b Board) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	tag := r.URL.Query().Get("tag")
	if !tagRe.MatchString(tag) {
		tag = ""
	}
	list, err := p.store.AnnouncementsTagged(r.Context(), b.ID, tag, before, 20)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	items := make([]pageItem, 0, len(list))
	var ongoing []pageItem
	l := boardLocale(r, b)
	for _, a := range list {
		it := p.item(a, l)
		items = append(items, it)
		if it.State == OutageOngoing {
			ongoing = append(ongoing, it)
		}
	}
	q := url.Values{}
	if tag != "" {
		q.Set("tag", tag)
	}
	older := ""
	if len(list) == 20 {
		q.Set("before", strconv.FormatInt(list[len(list)-1].ID, 10))
		older = "?" + q.Encode()
		q.Del("before")
	}
	newest := ""
	if before > 0 {
		newest = "?" + q.Encode()
	}
	feed := p.links.BoardURL(b.Name) + "/feed.atom"
	if tag != "" {
		feed += "?tag=" + url.QueryEscape(tag)
	}
	p.render(w, r, http.StatusOK, "board", map[string]any{
		"Title": b.DisplayName, "Board": b, "Handle": p.links.Handle(b.Name),
		"ActorURL": p.links.BoardURL(b.Name), "Announcements": items, "Tag": tag,
		"Older": older, "Newest": newest, "Ongoing": ongoing, "FeedURL": feed,
		"Canonical": p.links.BoardURL(b.Name), "Me": p.links.BoardURL(b.Name),
		"EventsURL": p.links.BoardURL(b.Name) + "/events.ics",
	})
}

// Announcement shows one announcement, or 410 once it is deleted.
func (p *Pages) Announcement(w http.ResponseWriter, r *http.Request, b Board, a Announcement) {
	if a.DeletedAt != nil {
		p.render(w, r, http.StatusGone, "gone", map[string]any{"Title": "Deleted"})
		return
	}
	p.renderAnnouncement(w, r, http.StatusOK, b, a, p.signupForm(a, boardLocale(r, b)))
}

func (p *Pages) renderAnnouncement(w http.ResponseWriter, r *http.Request, status int, b Board, a Announcement, su *signupForm) {
	link := p.links.AnnouncementURL(b.Name, a.ID)
	p.render(w, r, status, "announcement", map[string]any{
		"Title": a.Title + " – " + b.DisplayName, "Board": b, "Handle": p.links.Handle(b.Name),
		"BoardURL": p.links.BoardURL(b.Name), "ActorURL": link, "Item": p.pageItemOf(a, boardLocale(r, b)),
		"Signup": su, "FeedURL": p.links.BoardURL(b.Name) + "/feed.atom", "Canonical": link,
		"OG": openGraph{Type: "article", Title: a.Title, Description: excerpt(a), URL: link, Site: b.DisplayName,
			Image: p.links.BoardURL(b.Name) + "/icon.png"},
		"JSONLD": schemaOrg(a, link, b.DisplayName, p.links.BoardURL(b.Name)),
	})
}

// openGraph is what link previews (Mastodon, Matrix clients, chats) show.
type openGraph struct {
	Type, Title, Description, URL, Site, Image string
}

// excerpt is a plain-text summary of an announcement for previews: its
// facts, then its text, at most about 200 characters.
func excerpt(a Announcement) string {
	var parts []string
	for _, f := range a.Facts() {
		parts = append(parts, f.Label+": "+f.Value)
	}
	if text := plainText(a.HTML); text != "" {
		parts = append(parts, text)
	}
	s := strings.Join(parts, ". ")
	if r := []rune(s); len(r) > 200 {
		s = strings.TrimSpace(string(r[:199])) + "…"
	}
	return s
}

var blockEnd = regexp.MustCompile(`(?i)</(p|li|h[1-6]|blockquote|pre)>|<br\s*/?>`)

// plainText is sanitised HTML as one line of text: blocks end with a
// space, inline tags leave none ("<strong>food</strong>." stays "food.").
func plainText(h string) string {
	h = blockEnd.ReplaceAllString(h, " ")
	return strings.Join(strings.Fields(html.UnescapeString(tagStrip.ReplaceAllString(h, ""))), " ")
}

// schemaOrg describes the announcement for search engines: an Event (an
// EducationEvent for a training) with its times and place, or an article.
func schemaOrg(a Announcement, link, boardName, boardURL string) map[string]any {
	doc := map[string]any{"@context": "https://schema.org", "url": link, "name": a.Title, "description": excerpt(a)}
	if a.IsEvent() {
		doc["@type"] = "Event"
		doc["startDate"] = a.Event.Start.Format(time.RFC3339)
		if a.Event.End != nil {
			doc["endDate"] = a.Event.End.Format(time.RFC3339)
		}
		var places []any
		if a.Event.Place != "" {
			places = append(places, map[string]any{"@type": "Place", "name": a.Event.Place})
		}
		if t := a.Training; t != nil {
			doc["@type"] = "EducationEvent"
			if t.Online != "" {
				places = append(places, map[string]any{"@type": "VirtualLocation", "url": t.Online})
			}
			if t.Level != "" {
				doc["educationalLevel"] = t.Level
			}
			if a.Call != nil {
				doc["maximumAttendeeCapacity"] = placesOf(a.Call, TrainingRole)
				doc["remainingAttendeeCapacity"] = a.Call.PlacesLeft(TrainingRole)
			}
			switch {
			case t.Cancelled:
				doc["eventStatus"] = "https://schema.org/EventCancelled"
			default:
				doc["eventStatus"] = "https://schema.org/EventScheduled"
			}
			mode := "https://schema.org/OfflineEventAttendanceMode"
			if t.Online != "" {
				mode = "https://schema.org/OnlineEventAttendanceMode"
				if a.Event.Place != "" {
					mode = "https://schema.org/MixedEventAttendanceMode"
				}
			}
			doc["eventAttendanceMode"] = mode
		}
		switch len(places) {
		case 1:
			doc["location"] = places[0]
		case 2:
			doc["location"] = places
		}
		doc["organizer"] = map[string]any{"@type": "Organization", "name": boardName, "url": boardURL}
		return doc
	}
	doc["@type"] = "Article"
	doc["headline"] = a.Title
	doc["datePublished"] = a.CreatedAt.Format(time.RFC3339)
	doc["dateModified"] = a.UpdatedAt.Format(time.RFC3339)
	return doc
}

// signupForm is the sign-up block of a call's or a training's page.
type signupForm struct {
	Open, Multiple bool
	// Training forms have one option: registering, with the seats left.
	Training      bool
	Seats         string
	Action, Key   string
	Roles         []signupRole
	Name, Contact string
	Notice, Error string
	WithdrawURL   string
}

type signupRole struct {
	Name, State       string
	Disabled, Checked bool
}

func (p *Pages) signupForm(a Announcement, l Locale) *signupForm {
	if !a.TakesSignups() || p.svc == nil {
		return nil
	}
	c := a.Call
	// The answer comes back in the language the page was read in.
	f := &signupForm{Open: a.SignupsOpen(time.Now()), Multiple: c.Multiple, Action: p.links.AnnouncementURL(a.Board, a.ID) + "/signup?lang=" + l.Lang(), Key: newFormKey(),
		Training: a.Kind == KindTraining}
	if f.Training {
		f.Seats = seatsText(a, l)
	}
	for _, r := range c.Roles {
		left := c.PlacesLeft(r.Name)
		sr := signupRole{Name: r.Name, State: l.T(plural(r.Places, "%d of %d place left", "%d of %d places left"), left, r.Places)}
		if left == 0 {
			sr.State, sr.Disabled = l.T("full"), !c.Waitlist
			if c.Waitlist {
				sr.State = l.T("full: join the waiting list")
			}
		}
		f.Roles = append(f.Roles, sr)
	}
	return f
}

// SignUp takes the call page's form: a name, an optional contact and the
// role(s). The form's key makes a double click one sign-up.
func (p *Pages) SignUp(w http.ResponseWriter, r *http.Request, b Board, a Announcement) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	l := boardLocale(r, b)
	if crossSite(r) {
		http.Error(w, "Sign up from this site's own page.", http.StatusForbidden)
		return
	}
	f := p.signupForm(a, boardLocale(r, b))
	if a.DeletedAt != nil || f == nil {
		NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		f.Error = l.T("This form is too large; shorten your name or contact.")
		p.renderAnnouncement(w, r, http.StatusRequestEntityTooLarge, b, a, f)
		return
	}
	f.Name, f.Contact = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("contact"))
	roles := r.PostForm["role"]
	for i := range f.Roles {
		f.Roles[i].Checked = slices.Contains(roles, f.Roles[i].Name)
	}
	key := r.PostFormValue("key")
	errs := map[string]string{}
	checkText(errs, "name", f.Name, 100, true)
	checkText(errs, "contact", f.Contact, 200, false)
	switch {
	case f.Name == "":
		f.Error = l.T("Your name is required.")
	case len(errs) > 0:
		f.Error = l.T("Check your name and contact: no control or invisible characters, and not too long.")
	case len(roles) == 0 && a.Kind == KindTraining:
		roles = []string{TrainingRole} // the form's one option
	case len(roles) == 0:
		f.Error = l.T("Choose a role.")
	case len(key) < 16 || len(key) > 64:
		f.Error = l.T("This form has expired; please fill it in again.")
		f.Key = newFormKey()
	}
	if f.Error != "" {
		p.renderAnnouncement(w, r, http.StatusBadRequest, b, a, f)
		return
	}
	res, err := p.svc.SignUp(r.Context(), b, a.ID, Person{Kind: PersonWeb, ID: key, Name: f.Name, Contact: f.Contact}, roles)
	var unknown *UnknownRoleError
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrCallClosed) && a.Kind == KindTraining:
		f.Error, f.Open = l.T("Sorry, registration for this training has just closed."), false
	case errors.Is(err, ErrCallClosed):
		f.Error, f.Open = l.T("Sorry, this call has just closed."), false
	case errors.As(err, &unknown):
		f.Error = l.T("That role is not in this call any more; choose another.")
	case errors.As(err, &ve):
		f.Error = l.T("Choose one role only.")
	case err != nil:
		p.serverError(w, r, err)
		return
	}
	if f.Error != "" {
		p.renderAnnouncement(w, r, http.StatusConflict, b, a, f)
		return
	}
	// Show the page with the new counts and what became of the answer.
	if fresh, err := p.store.Announcement(r.Context(), b.ID, a.ID); err == nil {
		a = fresh
	}
	out := p.signupForm(a, boardLocale(r, b))
	out.Key = key
	var parts []string
	switch {
	case a.Kind != KindTraining:
	case len(res.Confirmed) > 0:
		res.Confirmed, parts = nil, append(parts, l.T("You are registered. See you there!"))
	case len(res.Waiting) > 0:
		res.Waiting, parts = nil, append(parts, l.T("The training is full: you are on the waiting list, and have a seat as soon as one frees up."))
	case len(res.Full) > 0:
		res.Full, parts = nil, append(parts, l.T("Sorry, the last seat went just before you registered."))
	}
	if len(res.Confirmed) > 0 {
		parts = append(parts, l.T("You are signed up as %s. Thank you!", l.joinAnd(res.Confirmed)))
	}
	if len(res.Waiting) > 0 {
		parts = append(parts, l.T("You are on the waiting list for %s.", l.joinAnd(res.Waiting)))
	}
	if len(res.Full) > 0 {
		parts = append(parts, l.T("Sorry, %s filled up just before you answered.", l.joinAnd(res.Full)))
	}
	if len(res.Already) > 0 && !res.Changed() {
		parts = append(parts, l.T("You had already signed up; nothing changed."))
	}
	out.Notice = strings.Join(parts, " ")
	if res.WithdrawToken != "" {
		out.WithdrawURL = p.links.AnnouncementURL(b.Name, a.ID) + "/withdraw?lang=" + l.Lang() + "&t=" + url.QueryEscape(res.WithdrawToken)
	}
	p.renderAnnouncement(w, r, http.StatusOK, b, a, out)
}

func (p *Pages) serverError(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "page", "path", r.URL.Path, "err", err)
	errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side; please try again later.")
}

// NotFound answers a page that does not exist, as a page in the
// visitor's language.
func NotFound(w http.ResponseWriter, r *http.Request) {
	errorPage(w, r, http.StatusNotFound, "Not found", "There is nothing at this address. It may have moved, or the link may be mistyped.")
}

// errorPage answers an error as a small page in the visitor's language.
func errorPage(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	l := LocaleFor(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", cspPublic)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = errorTemplate.Execute(w, map[string]string{"Lang": l.Lang(), "Title": l.T(title), "Text": l.T(text), "Home": l.T("Home")})
}

var errorTemplate = template.Must(template.New("404").Parse(`<!doctype html><html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p><p><a href="/">{{.Home}}</a></p></main></body></html>`))

// Withdraw is the private link a volunteer got when signing up: GET asks
// to confirm (a link previewer must not withdraw anyone), POST withdraws.
func (p *Pages) Withdraw(w http.ResponseWriter, r *http.Request, b Board, a Announcement) {
	token := r.FormValue("t")
	l := boardLocale(r, b)
	data := map[string]any{"Title": l.T("Withdraw – %s", a.Title), "Call": a.Title, "URL": p.links.AnnouncementURL(b.Name, a.ID), "Token": token, "Board": b, "L": l}
	say := func(status int, heading, text string, args ...any) {
		data["Heading"], data["Text"] = l.T(heading), l.T(text, args...)
		p.render(w, r, status, "withdraw", data)
	}
	if a.DeletedAt != nil || !a.TakesSignups() || token == "" || p.svc == nil {
		say(http.StatusNotFound, "Nothing to withdraw", "This link does not belong to a sign-up.")
		return
	}
	if r.Method != http.MethodPost {
		data["Form"] = true
		say(http.StatusOK, "Withdraw your sign-up?", "You signed up for “%s”. If you can no longer come, withdraw here: your place goes to someone else.", a.Title)
		return
	}
	if crossSite(r) {
		say(http.StatusForbidden, "Nothing withdrawn", "Withdraw from this site's own page.")
		return
	}
	n, err := p.svc.WithdrawByToken(r.Context(), b, a.ID, token)
	switch {
	case errors.Is(err, ErrNotFound):
		say(http.StatusNotFound, "Nothing to withdraw", "This link does not belong to a sign-up.")
	case err != nil:
		p.serverError(w, r, err)
	case n == 0:
		say(http.StatusOK, "Already withdrawn", "Your sign-up was already withdrawn.")
	default:
		say(http.StatusOK, "Withdrawn", "Your sign-up is withdrawn. Thank you for telling us!")
	}
}

// EventsPage lists a board's events, the coming ones first, soonest first.
func (p *Pages) EventsPage(w http.ResponseWriter, r *http.Request, b Board) {
	list, err := p.store.Events(r.Context(), b.ID, 200)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	now := time.Now()
	var upcoming, past []pageItem
	l := boardLocale(r, b)
	for _, a := range list {
		end := a.Event.Start
		if a.Event.End != nil {
			end = *a.Event.End
		}
		if end.Before(now) {
			past = append(past, p.item(a, l))
		} else {
			upcoming = append(upcoming, p.item(a, l))
		}
	}
	slices.SortFunc(upcoming, func(x, y pageItem) int { return x.Event.Start.Compare(y.Event.Start) })
	slices.SortFunc(past, func(x, y pageItem) int { return y.Event.Start.Compare(x.Event.Start) })
	if len(past) > 20 {
		past = past[:20]
	}
	p.render(w, r, http.StatusOK, "events", map[string]any{
		"Title": "Events – " + b.DisplayName, "Board": b, "BoardURL": p.links.BoardURL(b.Name),
		"EventsURL": p.links.BoardURL(b.Name) + "/events.ics", "Upcoming": upcoming, "Past": past,
		"Canonical": p.links.BoardURL(b.Name) + "/events",
	})
}

// StatusPage shows a board's current and planned outages, then recent ones.
func (p *Pages) StatusPage(w http.ResponseWriter, r *http.Request, b Board) {
	list, err := p.store.Outages(r.Context(), b.ID, 100)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	var current, recent []pageItem
	l := boardLocale(r, b)
	for _, a := range list {
		it := p.item(a, l)
		if it.State == OutageResolved {
			recent = append(recent, it)
		} else {
			current = append(current, it)
		}
	}
	if len(recent) > 30 {
		recent = recent[:30]
	}
	p.render(w, r, http.StatusOK, "status", map[string]any{
		"Title": "Service status – " + b.DisplayName, "Board": b, "BoardURL": p.links.BoardURL(b.Name),
		"Current": current, "Recent": recent, "Canonical": p.links.BoardURL(b.Name) + "/status",
		"FeedURL": p.links.BoardURL(b.Name) + "/feed.atom?kind=outage",
	})
}

// Widget is a compact list of a board's latest announcements, to put in
// an <iframe> on the association's own website (?limit=1..20, ?kind=).
func (p *Pages) Widget(w http.ResponseWriter, r *http.Request, b Board) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 || limit > 20 {
		limit = 5
	}
	kind := Kind(r.URL.Query().Get("kind"))
	list, err := p.store.Announcements(r.Context(), b.ID, 0, 100)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	var items []pageItem
	l := boardLocale(r, b)
	for _, a := range list {
		if kind != "" && a.Kind != kind {
			continue
		}
		if items = append(items, p.item(a, l)); len(items) == limit {
			break
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writePage(w, r, p.log, p.tmpl, cspWidget, http.StatusOK, "widget", map[string]any{
		"L": boardLocale(r, b), "Title": b.DisplayName, "Board": b, "BoardURL": p.links.BoardURL(b.Name), "Announcements": items,
	})
}

// Sitemap lists every board and its latest announcements for search engines.
func (p *Pages) Sitemap(w http.ResponseWriter, r *http.Request) {
	boards, err := p.store.Boards(r.Context())
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	type entry struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod,omitempty"`
	}
	var urls []entry
	for _, b := range boards {
		urls = append(urls, entry{Loc: p.links.BoardURL(b.Name)}, entry{Loc: p.links.BoardURL(b.Name) + "/events"})
		list, err := p.store.Announcements(r.Context(), b.ID, 0, 1000)
		if err != nil {
			p.serverError(w, r, err)
			return
		}
		for _, a := range list {
			urls = append(urls, entry{Loc: p.links.AnnouncementURL(b.Name, a.ID), LastMod: a.UpdatedAt.UTC().Format("2006-01-02")})
		}
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"urlset"`
		NS      string   `xml:"xmlns,attr"`
		URLs    []entry  `xml:"url"`
	}{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", URLs: urls})
}
