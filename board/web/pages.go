package web

import (
	"context"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"crieur/board"
	"crieur/board/feeds"
	"crieur/board/httpx"
	"crieur/board/locale"
	"crieur/board/media"
)

// PageStore is what the public pages read.
type PageStore interface {
	httpx.BoardFinder
	Boards(ctx context.Context) ([]board.Board, error)
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
	Announcements(ctx context.Context, boardID int64, before int64, limit int) ([]board.Announcement, error)
	AnnouncementsTagged(ctx context.Context, boardID int64, tag string, before int64, limit int) ([]board.Announcement, error)
	AnnouncementsOfKinds(ctx context.Context, boardID int64, kinds []board.Kind, before int64, limit int) ([]board.Announcement, error)
	Events(ctx context.Context, boardID int64, limit int) ([]board.Announcement, error)
	Outages(ctx context.Context, boardID int64, limit int) ([]board.Announcement, error)
	// HostedServices lists a board's services, in no set order.
	HostedServices(ctx context.Context, boardID int64) ([]board.HostedService, error)
	Media(ctx context.Context, boardID int64, name string) (board.Image, error)
	// Secret is the server's secret called name (what signs form keys).
	Secret(ctx context.Context, name string) ([]byte, error)
}

// Signups is what the public pages ask of the service: sign-ups from the
// form, withdrawals from the private link.
type Signups interface {
	SignUp(ctx context.Context, b board.Board, annID int64, p board.Person, roles []string, o board.Origin) (board.SignupResult, error)
	WithdrawByToken(ctx context.Context, b board.Board, annID int64, token string) (int, error)
	WithdrawLink(ctx context.Context, b board.Board, annID int64, token string) (string, error)
}

// Pages renders the public, server-side HTML pages browsers see.
type Pages struct {
	store   PageStore
	signups Signups
	links   board.Links
	media   media.Dir
	tmpl    map[string]*template.Template
	assets  assets
	log     *slog.Logger

	// keys issues the sign-up forms' keys; clients and signupsAllowed
	// bound the sign-ups one network sends (nil: no bound).
	keys           *formKeys
	clients        httpx.Clients
	signupsAllowed *httpx.Allowance
}

// DefaultSignupsPerHour is the sign-ups one network may send an hour,
// after a first 50 at once: a class or an office behind one address signs
// up together; a script does not fill a call.
const DefaultSignupsPerHour = 120

// LimitSignups sets whom requests come from (the proxies trusted to say)
// and how many sign-ups a network may send an hour (0: no limit).
func (p *Pages) LimitSignups(clients httpx.Clients, perHour int) {
	p.clients, p.signupsAllowed = clients, nil
	if perHour > 0 {
		p.signupsAllowed = httpx.NewAllowance(rate.Limit(float64(perHour)/3600), min(50, perHour))
	}
}

// NewPages parses the embedded templates.
func NewPages(store PageStore, signups Signups, links board.Links, pictures media.Dir, log *slog.Logger) *Pages {
	p := &Pages{store: store, signups: signups, links: links, media: pictures, tmpl: map[string]*template.Template{}, assets: loadAssets(), log: log,
		keys: &formKeys{secret: func(ctx context.Context) ([]byte, error) { return store.Secret(ctx, "signup-forms") }}}
	p.LimitSignups(httpx.Clients{Trusted: httpx.LoopbackProxies}, DefaultSignupsPerHour)
	for _, name := range []string{"entrance", "section", "announcement", "home", "gone", "withdraw", "events", "status", "services", "service"} {
		p.tmpl[name] = template.Must(template.New("").Funcs(p.assets.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	p.tmpl["widget"] = template.Must(template.ParseFS(templateFS, "templates/widget.html"))
	return p
}

// Register adds the public pages' routes to mux, but for a board's and an
// announcement's own address, which answer ActivityPub or HTML by the
// Accept header: activitypub serves those and calls Board or Announcement.
func (p *Pages) Register(routes *httpx.Routes) {
	public := func(pattern string, h http.HandlerFunc) { routes.Handle(pattern, httpx.Public, h) }
	// The same for every reader of the address: kept rendered.
	cached := func(pattern string, h http.HandlerFunc) { routes.Cached(pattern, h) }
	cached("GET /{$}", p.Home)
	public("GET /boards/{board}/a/{id}/withdraw", p.withAnnouncement(p.Withdraw))
	public("POST /boards/{board}/a/{id}/withdraw", p.withAnnouncement(p.Withdraw))
	public("POST /boards/{board}/a/{id}/signup", p.withAnnouncement(p.SignUp))
	// The form's answer reloaded, bookmarked or shared: the page itself.
	public("GET /boards/{board}/a/{id}/signup", p.withAnnouncement(func(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement) {
		to := announcementPath(b.Name, a.ID)
		if lang := r.URL.Query().Get("lang"); lang != "" {
			to += "?lang=" + url.QueryEscape(lang)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}))
	cached("GET /boards/{board}/a/{id}/event.ics", p.withAnnouncement(p.EventICS))
	cached("GET /boards/{board}/feed.atom", p.withBoard(p.Feed))
	public("GET /boards/{board}/media/{name}", p.withBoard(p.Media))
	public("GET /boards/{board}/media/{name}/card.jpg", p.withBoard(p.Card))
	public("GET /boards/{board}/icon.png", p.withBoard(p.icon(AvatarSize)))
	public("GET /boards/{board}/favicon.png", p.withBoard(p.icon(FaviconSize)))
	public("GET /boards/{board}/apple-touch-icon.png", p.withBoard(p.icon(TouchIconSize)))
	public("GET /favicon.ico", p.Favicon)
	cached("GET /boards/{board}/events.ics", p.withBoard(p.Events))
	cached("GET /boards/{board}/events", p.withBoard(p.EventsPage))
	cached("GET /boards/{board}/status", p.withBoard(p.StatusPage))
	for name := range sections {
		cached("GET /boards/{board}/"+name, p.withBoard(p.Section(name)))
	}
	cached("GET /boards/{board}/status.json", p.withBoard(p.StatusJSON))
	cached("GET /boards/{board}/services", p.withBoard(p.ServicesPage))
	cached("GET /boards/{board}/services/{slug}", p.withBoard(p.ServicePage))
	cached("GET /boards/{board}/widget", p.withBoard(p.Widget))
	cached("GET /sitemap.xml", p.Sitemap)
	public("GET "+staticPrefix+"{name}", p.assets.serve)
	routes.NotFoundPage(http.HandlerFunc(NotFound))
}

func (p *Pages) withBoard(next func(http.ResponseWriter, *http.Request, board.Board)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := httpx.PathBoard(r, p.store)
		if err != nil {
			fail(w, r, p.log, err)
			return
		}
		next(w, r, b)
	}
}

// withAnnouncement finds the board and the public announcement of the
// page's address: a draft is nobody's business yet.
func (p *Pages) withAnnouncement(next func(http.ResponseWriter, *http.Request, board.Board, board.Announcement)) http.HandlerFunc {
	return p.withBoard(func(w http.ResponseWriter, r *http.Request, b board.Board) {
		a, err := PublicAnnouncement(r, p.store, b)
		if err != nil {
			fail(w, r, p.log, err)
			return
		}
		next(w, r, b, a)
	})
}

// AnnouncementFinder reads one announcement of a board.
type AnnouncementFinder interface {
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
}

// PublicAnnouncement is the announcement the request's {id} names on b,
// if readers may see it (deleted ones included: their pages say so);
// otherwise board.ErrNotFound.
func PublicAnnouncement(r *http.Request, f AnnouncementFinder, b board.Board) (board.Announcement, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return board.Announcement{}, err
	}
	a, err := f.Announcement(r.Context(), b.ID, id)
	if err == nil && !a.Public() {
		return a, board.ErrNotFound
	}
	return a, err
}

type pageItem struct {
	board.Announcement
	URL      string
	BoardURL string
	Body     template.HTML
	// Page: the announcement's own page, where its title is the h1.
	Page bool
	// State of an outage as of now (planned, ongoing, resolved), or
	// stateEnded for a campaign that ended.
	State string
	// L is the reader's language; FactList and Kind are in it.
	L        locale.Locale
	FactList []locale.Fact
	Kind     string
}

// The states of a campaign that ended and of a cancelled training.
const (
	stateEnded     = "ended"
	stateCancelled = "cancelled"
)

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

func (p *Pages) item(a board.Announcement, l locale.Locale) pageItem { return itemOf(p.links, a, l) }

// itemOf is an announcement as the board's page lists it (and as the
// editor's preview shows it).
func itemOf(links board.Links, a board.Announcement, l locale.Locale) pageItem {
	// a.HTML was sanitised by the Markdown renderer before it was stored.
	it := pageItem{Announcement: a, URL: links.AnnouncementURL(a.Board, a.ID), BoardURL: links.BoardURL(a.Board),
		Body: template.HTML(shiftHeadings(a.HTML, 2)), L: l, FactList: l.Facts(a), Kind: l.KindLabel(a)}
	if a.Kind == board.KindOutage && a.Outage != nil {
		it.State = a.Outage.State(time.Now())
		if it.State == board.OutageResolved && a.Maintenance() {
			it.State = stateEnded // a maintenance is over, not resolved
		}
	}
	if a.Campaign != nil && a.Campaign.Ended != nil {
		it.State = stateEnded
	}
	if a.Cancelled() {
		it.State = stateCancelled
	}
	return it
}

// pageItemOf is item as the announcement's own page shows it: title h1.
func (p *Pages) pageItemOf(a board.Announcement, l locale.Locale) pageItem {
	it := p.item(a, l)
	it.Page, it.Body = true, template.HTML(shiftHeadings(a.HTML, 1))
	return it
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	b, _ := data["Board"].(board.Board)
	if _, ok := data["L"]; !ok {
		data["L"] = boardLocale(r, b)
	}
	if _, ok := data["Icons"]; !ok && b.Name != "" {
		data["Icons"] = iconLinks(p.links, b)
	}
	writePage(w, r, p.log, p.tmpl, cspPublic, status, name, data)
}

// Home lists the boards.
func (p *Pages) Home(w http.ResponseWriter, r *http.Request) {
	boards, err := p.store.Boards(r.Context())
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	type entry struct{ DisplayName, Summary, URL, Handle string }
	var list []entry
	for _, b := range boards {
		list = append(list, entry{b.DisplayName, b.Summary, p.links.BoardURL(b.Name), p.links.Handle(b.Name)})
	}
	p.render(w, r, http.StatusOK, "home", map[string]any{"Title": "Crieur", "Boards": list})
}

// Board is a board's page: its entrance; with ?tag= or ?before= (the
// addresses its list had before it had an entrance), every announcement.
func (p *Pages) Board(w http.ResponseWriter, r *http.Request, b board.Board) {
	if q := r.URL.Query(); q.Has("tag") || q.Has("before") {
		p.Section("all")(w, r, b)
		return
	}
	p.Entrance(w, r, b)
}

// Announcement shows one announcement, or 410 once it is deleted.
func (p *Pages) Announcement(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement) {
	if a.DeletedAt != nil {
		data := p.boardPage(r, b, "", boardLocale(r, b).T("page.deleted"))
		p.render(w, r, http.StatusGone, "gone", data)
		return
	}
	su := p.signupForm(r.Context(), a, boardLocale(r, b))
	if su != nil && su.Key != "" {
		// The form carries a key of its own for this visitor: a page no
		// shared cache (nor Crieur's page cache) may hand to another.
		w.Header().Set("Cache-Control", "private")
	}
	p.renderAnnouncement(w, r, http.StatusOK, b, a, su)
}

func (p *Pages) renderAnnouncement(w http.ResponseWriter, r *http.Request, status int, b board.Board, a board.Announcement, su *signupForm) {
	link := p.links.AnnouncementURL(b.Name, a.ID)
	data := p.boardPage(r, b, "", a.Title)
	l := data["L"].(locale.Locale)
	pic, logo := p.previewPicture(b, a)
	for k, v := range map[string]any{
		"ActorURL": link, "Item": p.pageItemOf(a, l), "Signup": su, "Canonical": link,
		// The sign-up form's answer is served at .../signup (a POST): its
		// language links go to the announcement's own page.
		"LangPath": announcementPath(b.Name, a.ID),
		"OG": feeds.OpenGraph{Type: "article", Title: a.Title, Description: feeds.Excerpt(l, a), URL: link, Site: b.DisplayName,
			Image: pic},
		"JSONLD": feeds.SchemaOrg(l, a, link, b.DisplayName, p.links.BoardURL(b.Name), pic, logo.URL),
	} {
		data[k] = v
	}
	if a.Kind == board.KindOutage {
		// An outage's page leads to the outages' feed and calendar.
		data["FeedURL"] = p.links.BoardURL(b.Name) + "/feed.atom?kind=outage"
		data["EventsURL"] = p.links.BoardURL(b.Name) + "/events.ics?kind=outage"
	}
	p.render(w, r, status, "announcement", data)
}

// previewPicture is the picture link previews show for a: its first
// picture as a 1200x630 card, or else the board's icon (its logo, or its
// generated avatar). Behind a content warning the page hides the
// pictures too, so the preview shows the board's icon.
func (p *Pages) previewPicture(b board.Board, a board.Announcement) (pic, logo feeds.Picture) {
	logo = feeds.Picture{URL: p.links.BoardURL(b.Name) + "/icon.png?v=" + iconVersion(b, AvatarSize), Alt: b.DisplayName,
		Type: "image/png", Width: AvatarSize, Height: AvatarSize}
	if len(a.Images) == 0 || a.ContentWarning != "" || p.media == "" {
		return logo, logo
	}
	im := a.Images[0]
	return feeds.Picture{URL: CardURL(p.links, b.Name, im.ID), Alt: im.Alt, Type: "image/jpeg",
		Width: media.CardWidth, Height: media.CardHeight}, logo
}

// EventsPage lists a board's events, the coming ones first, soonest first.
func (p *Pages) EventsPage(w http.ResponseWriter, r *http.Request, b board.Board) {
	list, err := p.store.Events(r.Context(), b.ID, 200)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	now := time.Now()
	data := p.boardPage(r, b, "events", boardLocale(r, b).T("page.events"))
	l := data["L"].(locale.Locale)
	upcoming := comingEvents(p, list, l, now)
	var past []card
	for _, a := range list {
		if !a.Listed() || !a.IsEvent() {
			continue
		}
		end := a.Event.Start
		if a.Event.End != nil {
			end = *a.Event.End
		}
		if end.Before(now) {
			past = append(past, cardOf(p.item(a, l), 3))
		}
	}
	slices.SortFunc(past, func(x, y card) int { return y.Event.Start.Compare(x.Event.Start) })
	// Past events a page at a time (?page=2: the next 20 back in time).
	const pastPage = 20
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	self := p.links.BoardURL(b.Name) + "/events"
	if len(past) > page*pastPage {
		data["Older"] = fmt.Sprintf("%s?page=%d", self, page+1)
	}
	if page > 1 {
		data["Newest"] = self
	}
	past = past[min(len(past), (page-1)*pastPage):min(len(past), page*pastPage)]
	data["Now"], data["Upcoming"], data["Past"], data["Canonical"] = now, upcoming, past, self
	p.render(w, r, http.StatusOK, "events", data)
}

// StatusPage shows a board's current and planned outages, then recent ones.
// Only the notices readers see are there (not drafts, nor expired ones).
func (p *Pages) StatusPage(w http.ResponseWriter, r *http.Request, b board.Board) {
	list, err := p.store.Outages(r.Context(), b.ID, 100)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	data := p.boardPage(r, b, "status", boardLocale(r, b).T("page.status"))
	l := data["L"].(locale.Locale)
	var current []card
	var recent []pageItem
	// What goes on now comes first, then what is planned, soonest first,
	// then what is over, latest first: the store's order (newest notice
	// first) put a maintenance announced today above the outage going on.
	ongoing, planned, resolved := board.ArrangeOutages(list, time.Now())
	for _, a := range append(ongoing, planned...) {
		c := cardOf(p.item(a, l), 3)
		c.Whole = a.ContentWarning == ""
		if a.Edited() {
			c.Updated = l.T("page.updated_at", l.Time(a.UpdatedAt))
		}
		current = append(current, c)
	}
	for _, a := range resolved[:min(len(resolved), 30)] {
		recent = append(recent, p.item(a, l))
	}
	// The board's services, by slug: the recent outages name them by their
	// names, linked to their pages.
	hosted, err := p.store.HostedServices(r.Context(), b.ID)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	type serviceLink struct{ Name, URL string }
	services := map[string]*serviceLink{} // nil for free text: {{with}} then shows the text
	for _, h := range hosted {
		services[h.Slug] = &serviceLink{h.Name, p.links.BoardURL(b.Name) + "/services/" + h.Slug}
	}
	// Each service's state first, at a glance.
	board.SortHostedServices(hosted)
	data["States"] = p.serviceViews(b, hosted, list, l, time.Now())
	data["Current"], data["Recent"], data["Canonical"], data["Services"] = current, recent, p.links.BoardURL(b.Name)+"/status", services
	data["Now"] = time.Now()
	data["FeedURL"] = p.links.BoardURL(b.Name) + "/feed.atom?kind=outage"
	data["EventsURL"] = p.links.BoardURL(b.Name) + "/events.ics?kind=outage"
	p.render(w, r, http.StatusOK, "status", data)
}

// Widget is a compact list of a board's latest announcements, to put in
// an <iframe> on the association's own website (?limit=1..20, ?kind=).
func (p *Pages) Widget(w http.ResponseWriter, r *http.Request, b board.Board) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 || limit > 20 {
		limit = 5
	}
	kind := board.Kind(r.URL.Query().Get("kind"))
	var items []pageItem
	l := boardLocale(r, b)
	if kind == board.KindEvent || kind == board.KindTraining {
		// What is coming, soonest first, as the events page lists it
		// (trainings are events too): not the latest announced, which
		// may be over.
		list, err := p.store.Events(r.Context(), b.ID, 200)
		if err != nil {
			serverError(w, r, p.log, err)
			return
		}
		for _, c := range comingEvents(p, list, l, time.Now()) {
			if kind == board.KindTraining && c.Announcement.Kind != kind {
				continue
			}
			if items = append(items, c.pageItem); len(items) == limit {
				break
			}
		}
	} else if kind == board.KindOutage {
		// What is broken now first, then what is planned, soonest first,
		// then what was fixed last, as the status page lists them: the
		// latest notices first left out the outage going on.
		list, err := p.store.Outages(r.Context(), b.ID, 100)
		if err != nil {
			serverError(w, r, p.log, err)
			return
		}
		ongoing, planned, resolved := board.ArrangeOutages(list, time.Now())
		for _, a := range slices.Concat(ongoing, planned, resolved) {
			if items = append(items, p.item(a, l)); len(items) == limit {
				break
			}
		}
	} else {
		list, err := p.store.Announcements(r.Context(), b.ID, 0, 100)
		if err != nil {
			serverError(w, r, p.log, err)
			return
		}
		for _, a := range list {
			if kind != "" && a.Kind != kind {
				continue
			}
			if items = append(items, p.item(a, l)); len(items) == limit {
				break
			}
		}
	}
	// "All announcements", or, under a list of outages, the status page.
	more, moreText := p.links.BoardURL(b.Name), "page.all_announcements"
	if kind == board.KindOutage {
		more, moreText = more+"/status", "page.status"
	}
	// Framed on the association's site: a taken-down or cancelled notice
	// must not stay there for minutes; an unchanged list costs a 304.
	w.Header().Set("Cache-Control", "public, max-age=30")
	writePage(w, r, p.log, p.tmpl, cspWidget, http.StatusOK, "widget", map[string]any{
		"L": l, "Title": b.DisplayName, "Board": b, "BoardURL": p.links.BoardURL(b.Name), "Announcements": items, "AccentCSS": accentCSS(b),
		"MoreURL": more, "MoreText": l.T(moreText),
	})
}

// Sitemap lists every board and its latest announcements for search engines.
func (p *Pages) Sitemap(w http.ResponseWriter, r *http.Request) {
	boards, err := p.store.Boards(r.Context())
	if err != nil {
		serverError(w, r, p.log, err)
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
			serverError(w, r, p.log, err)
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

// NotFound answers a page that does not exist (for activitypub, which
// serves a board's and an announcement's own addresses).
func (p *Pages) NotFound(w http.ResponseWriter, r *http.Request) { NotFound(w, r) }

// announcementPath is the path of an announcement's page on this server.
func announcementPath(boardName string, id int64) string {
	return fmt.Sprintf("/boards/%s/a/%d", boardName, id)
}
