package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"crieur/board"
	"crieur/board/feeds"
	"crieur/board/locale"
	"crieur/board/media"
)

// Feed serves a board's Atom feed: ?tag= and ?kind= narrow it.
func (p *Pages) Feed(w http.ResponseWriter, r *http.Request, b board.Board) {
	tag := r.URL.Query().Get("tag")
	if !board.ValidTag(tag) {
		tag = ""
	}
	list, err := p.store.AnnouncementsTagged(r.Context(), b.ID, tag, 0, feeds.FeedSize*4)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	atom, err := feeds.Atom(b, list, p.links, tag, board.Kind(r.URL.Query().Get("kind")))
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(atom)
}

// Events serves a board's events as an iCalendar feed a calendar app can
// subscribe to; ?kind=outage, its outage notices instead (maintenance
// windows to plan around), which the status page links.
func (p *Pages) Events(w http.ResponseWriter, r *http.Request, b board.Board) {
	events := p.store.Events
	if r.URL.Query().Get("kind") == string(board.KindOutage) {
		events = p.store.Outages
	}
	list, err := events(r.Context(), b.ID, 200)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	cal := feeds.NewCalendar(b.DisplayName, b, p.links)
	for _, a := range list {
		cal.Add(a)
	}
	p.writeCalendar(w, r, cal, "")
}

// EventICS serves one event as a file to add to a calendar.
func (p *Pages) EventICS(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement) {
	if a.DeletedAt != nil || !a.IsEvent() {
		NotFound(w, r)
		return
	}
	cal := feeds.NewCalendar(a.Title, b, p.links)
	cal.Add(a)
	p.writeCalendar(w, r, cal, fmt.Sprintf("%s-%d.ics", b.Name, a.ID))
}

func (p *Pages) writeCalendar(w http.ResponseWriter, r *http.Request, cal *feeds.Calendar, filename string) {
	var buf bytes.Buffer
	if err := cal.Write(&buf); err != nil {
		serverError(w, r, p.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if filename != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	}
	_, _ = w.Write(buf.Bytes())
}

// Media serves a board's picture. Its name is its content's hash, so it
// never changes: browsers and servers may keep it for a year.
func (p *Pages) Media(w http.ResponseWriter, r *http.Request, b board.Board) {
	name := r.PathValue("name")
	if p.media == "" || !media.ValidName(name) {
		NotFound(w, r)
		return
	}
	if _, err := p.store.Media(r.Context(), b.ID, name); err != nil {
		NotFound(w, r)
		return
	}
	path, _ := p.media.Path(name)
	f, err := os.Open(path)
	if err != nil {
		NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", media.TypeOf(name))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("ETag", `"`+name[:16]+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// writeSignupsCSV answers a call's sign-ups as a CSV file.
func writeSignupsCSV(w http.ResponseWriter, r *http.Request, log *slog.Logger, id int64, list []board.Signup, l locale.Locale) {
	var buf bytes.Buffer
	if err := feeds.SignupsSheet(&buf, list, l); err != nil {
		serverError(w, r, log, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="signups-%d.csv"`, id))
	_, _ = w.Write(buf.Bytes())
}
