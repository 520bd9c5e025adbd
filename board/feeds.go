package board

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"

	ics "github.com/arran4/golang-ical"
	"github.com/gorilla/feeds"
)

// Feeds for people who follow neither Mastodon nor Matrix: an Atom feed of
// a board (by tag or kind too), and iCalendar files of its events, for
// feed readers, CMSs and calendar apps.

const feedSize = 50

// Feed serves a board's Atom feed: ?tag= and ?kind= narrow it.
func (p *Pages) Feed(w http.ResponseWriter, r *http.Request, b Board) {
	tag := r.URL.Query().Get("tag")
	if !tagRe.MatchString(tag) {
		tag = ""
	}
	kind := Kind(r.URL.Query().Get("kind"))
	list, err := p.store.AnnouncementsTagged(r.Context(), b.ID, tag, 0, feedSize*4)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	boardURL := p.links.BoardURL(b.Name)
	title := b.DisplayName
	if tag != "" {
		title += " – #" + tag
	}
	f := &feeds.Feed{
		Title:       title,
		Link:        &feeds.Link{Href: boardURL},
		Description: b.Summary,
		Author:      &feeds.Author{Name: b.DisplayName},
		Id:          boardURL,
		Created:     b.CreatedAt,
	}
	for _, a := range list {
		if kind != "" && a.Kind != kind {
			continue
		}
		if len(f.Items) == feedSize {
			break
		}
		link := p.links.AnnouncementURL(b.Name, a.ID)
		f.Items = append(f.Items, &feeds.Item{
			Title:   a.KindLabel() + ": " + a.Title,
			Link:    &feeds.Link{Href: link},
			Id:      link,
			Created: a.CreatedAt,
			Updated: a.UpdatedAt,
			Content: feedContent(a),
		})
		if a.UpdatedAt.After(f.Updated) {
			f.Updated = a.UpdatedAt
		}
	}
	if f.Updated.IsZero() {
		f.Updated = b.CreatedAt
	}
	atom, err := f.ToAtom()
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(atom))
}

// feedContent is the entry's HTML: the facts, then the (sanitised) text.
func feedContent(a Announcement) string {
	var b strings.Builder
	if facts := a.Facts(); len(facts) > 0 {
		b.WriteString("<ul>")
		for _, f := range facts {
			v := html.EscapeString(f.Value)
			if f.Link != "" {
				v = `<a href="` + html.EscapeString(f.Link) + `">` + v + `</a>`
			}
			fmt.Fprintf(&b, "<li><strong>%s:</strong> %s</li>", html.EscapeString(f.Label), v)
		}
		b.WriteString("</ul>")
	}
	b.WriteString(a.HTML)
	return b.String()
}

var tagStrip = regexp.MustCompile(`<[^>]*>`)

// Events serves a board's events as an iCalendar feed a calendar app can
// subscribe to.
func (p *Pages) Events(w http.ResponseWriter, r *http.Request, b Board) {
	list, err := p.store.Events(r.Context(), b.ID, 200)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	cal := p.calendar(b.DisplayName)
	for _, a := range list {
		p.addEvent(cal, b, a)
	}
	writeCalendar(w, cal, "")
}

// EventICS serves one event as a file to add to a calendar.
func (p *Pages) EventICS(w http.ResponseWriter, r *http.Request, b Board, a Announcement) {
	if a.DeletedAt != nil || a.Kind != KindEvent || a.Event == nil {
		NotFound(w, r)
		return
	}
	cal := p.calendar(a.Title)
	p.addEvent(cal, b, a)
	writeCalendar(w, cal, fmt.Sprintf("%s-%d.ics", b.Name, a.ID))
}

func (p *Pages) calendar(name string) *ics.Calendar {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//Crieur//Crieur notice board//EN")
	cal.SetName(name)
	return cal
}

// addEvent writes an event in UTC: its instant is exact whatever the
// reader's zone (the offset it was given is not a zone with rules).
func (p *Pages) addEvent(cal *ics.Calendar, b Board, a Announcement) {
	link := p.links.AnnouncementURL(b.Name, a.ID)
	ev := cal.AddEvent(link)
	ev.SetDtStampTime(a.UpdatedAt.UTC())
	ev.SetSequence(a.Version)
	ev.SetStartAt(a.Event.Start.UTC())
	if a.Event.End != nil {
		ev.SetEndAt(a.Event.End.UTC())
	}
	ev.SetSummary(a.Title)
	if text := plainText(a.HTML); text != "" {
		ev.SetDescription(text + "\n\n" + link)
	} else {
		ev.SetDescription(link)
	}
	if a.Event.Place != "" {
		ev.SetLocation(a.Event.Place)
	}
	ev.SetURL(link)
}

func writeCalendar(w http.ResponseWriter, cal *ics.Calendar, filename string) {
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if filename != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	}
	_ = cal.SerializeTo(w)
}

// Outages lists a board's live outage notices, newest announced first.
func (s *Store) Outages(ctx context.Context, boardID int64, limit int) ([]Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind = 'outage' AND a.deleted_at IS NULL ORDER BY a.id DESC LIMIT ?`, boardID, limit)
}

// Events lists a board's live events, newest announced first.
func (s *Store) Events(ctx context.Context, boardID int64, limit int) ([]Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind = 'event' AND a.deleted_at IS NULL ORDER BY a.id DESC LIMIT ?`, boardID, limit)
}
