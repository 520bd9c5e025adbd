package board

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
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
	links Links
	tmpl  map[string]*template.Template
	log   *slog.Logger
}

// NewPages parses the embedded templates.
func NewPages(store *Store, links Links, log *slog.Logger) *Pages {
	p := &Pages{store: store, links: links, tmpl: map[string]*template.Template{}, log: log}
	for _, name := range []string{"board", "announcement", "home", "gone"} {
		p.tmpl[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return p
}

type pageItem struct {
	Announcement
	URL  string
	Body template.HTML
}

func (p *Pages) item(a Announcement) pageItem {
	// a.HTML was sanitised by the Renderer before it was stored.
	return pageItem{Announcement: a, URL: p.links.AnnouncementURL(a.Board, a.ID), Body: template.HTML(a.HTML)}
}

// Content-Security-Policy of the public pages and of the editor: no
// scripts anywhere; the editor also may not be framed.
const (
	cspPublic = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"
	cspEditor = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
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
	for _, a := range list {
		items = append(items, p.item(a))
	}
	p.render(w, r, http.StatusOK, "board", map[string]any{
		"Title": b.DisplayName, "Board": b, "Handle": p.links.Handle(b.Name),
		"ActorURL": p.links.BoardURL(b.Name), "Announcements": items, "Tag": tag,
	})
}

// Announcement shows one announcement, or 410 once it is deleted.
func (p *Pages) Announcement(w http.ResponseWriter, r *http.Request, b Board, a Announcement) {
	if a.DeletedAt != nil {
		p.render(w, r, http.StatusGone, "gone", map[string]any{"Title": "Deleted"})
		return
	}
	p.render(w, r, http.StatusOK, "announcement", map[string]any{
		"Title": a.Title + " – " + b.DisplayName, "Board": b, "Handle": p.links.Handle(b.Name),
		"BoardURL": p.links.BoardURL(b.Name), "ActorURL": p.links.AnnouncementURL(b.Name, a.ID), "Item": p.item(a),
	})
}

func (p *Pages) serverError(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "page", "path", r.URL.Path, "err", err)
	http.Error(w, "Something went wrong on our side; please try again later.", http.StatusInternalServerError)
}

// NotFound answers a page that does not exist.
func NotFound(w http.ResponseWriter) {
	http.Error(w, "Not found.", http.StatusNotFound)
}
