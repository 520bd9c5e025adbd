package board

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"time"

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
			Content: feedContent(a, p.links.BoardURL(b.Name)),
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

// feedContent is the entry's HTML: the facts, then the (sanitised) text,
// then the pictures.
func feedContent(a Announcement, boardURL string) string {
	var b strings.Builder
	b.WriteString(FactsHTML(a.Facts()))
	b.WriteString(a.HTML)
	for _, im := range a.Images {
		fmt.Fprintf(&b, `<p><img src="%s" alt="%s" width="%d" height="%d"></p>`, html.EscapeString(boardURL+MediaPath(im.ID)), html.EscapeString(im.Alt), im.Width, im.Height)
	}
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
	z := newCalZone(b.Location())
	for _, a := range list {
		p.addEvent(cal, z, b, a)
	}
	z.addTo(cal)
	writeCalendar(w, cal, "")
}

// EventICS serves one event as a file to add to a calendar.
func (p *Pages) EventICS(w http.ResponseWriter, r *http.Request, b Board, a Announcement) {
	if a.DeletedAt != nil || !a.IsEvent() {
		NotFound(w, r)
		return
	}
	cal := p.calendar(a.Title)
	z := newCalZone(b.Location())
	p.addEvent(cal, z, b, a)
	z.addTo(cal)
	writeCalendar(w, cal, fmt.Sprintf("%s-%d.ics", b.Name, a.ID))
}

func (p *Pages) calendar(name string) *ics.Calendar {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//Crieur//Crieur notice board//EN")
	cal.SetName(name)
	return cal
}

func (p *Pages) addEvent(cal *ics.Calendar, z *calZone, b Board, a Announcement) {
	link := p.links.AnnouncementURL(b.Name, a.ID)
	ev := cal.AddEvent(link)
	ev.SetDtStampTime(a.UpdatedAt.UTC())
	ev.SetSequence(a.Version)
	z.set(ev, ics.ComponentPropertyDtStart, a.Event.Start)
	if a.Event.End != nil {
		z.set(ev, ics.ComponentPropertyDtEnd, *a.Event.End)
	}
	ev.SetSummary(a.Title)
	if text := plainText(a.HTML); text != "" {
		ev.SetDescription(text + "\n\n" + link)
	} else {
		ev.SetDescription(link)
	}
	switch {
	case a.Event.Place != "":
		ev.SetLocation(a.Event.Place)
	case a.Training != nil && a.Training.Online != "":
		ev.SetLocation(a.Training.Online)
	}
	if a.Cancelled() {
		// Calendar apps strike it out or drop it, as RFC 5545 says.
		ev.SetStatus(ics.ObjectStatusCancelled)
	}
	ev.SetURL(link)
}

// calZone writes times in the board's zone when the editor gave them in it
// (14:00+01:00 on a Europe/Paris board): a calendar then shows the zone's
// name and follows its daylight-saving rules, as RFC 5545 wants. A time with
// any other offset goes out in UTC, which keeps its instant; a bare offset
// is not a zone with rules.
type calZone struct {
	loc   *time.Location
	years map[int]bool // whose transitions the VTIMEZONE must carry
}

func newCalZone(loc *time.Location) *calZone {
	return &calZone{loc: loc, years: map[int]bool{}}
}

func (z *calZone) set(ev *ics.VEvent, prop ics.ComponentProperty, t time.Time) {
	_, given := t.Zone()
	local := t.In(z.loc)
	if _, off := local.Zone(); z.loc == time.UTC || z.loc.String() == "UTC" || off != given {
		ev.SetProperty(prop, t.UTC().Format("20060102T150405Z"))
		return
	}
	z.years[local.Year()] = true
	ev.SetProperty(prop, local.Format("20060102T150405"), ics.WithTZID(z.loc.String()))
}

// addTo puts the VTIMEZONE first, as calendar apps expect, with every
// change of offset from the year before the first event to the end of the
// last one's year, taken from the tz database rather than guessed rules.
func (z *calZone) addTo(cal *ics.Calendar) {
	if len(z.years) == 0 {
		return
	}
	first, last := 1<<31-1, 0
	for y := range z.years {
		first, last = min(first, y), max(last, y)
	}
	tz := ics.NewTimezone(z.loc.String())
	end := time.Date(last+1, 1, 1, 0, 0, 0, 0, z.loc)
	t := time.Date(first-1, 1, 1, 0, 0, 0, 0, z.loc)
	onset, _ := t.ZoneBounds()
	if onset.IsZero() { // one offset forever
		onset = time.Date(1970, 1, 1, 0, 0, 0, 0, z.loc)
	}
	for {
		addObservance(tz, onset.In(z.loc))
		_, next := onset.In(z.loc).ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		onset = next
	}
	cal.Components = append([]ics.Component{tz}, cal.Components...)
}

// addObservance writes the offset that starts at onset; its DTSTART is the
// wall-clock time just before the change, as RFC 5545 §3.6.5 says.
func addObservance(tz *ics.VTimezone, onset time.Time) {
	name, to := onset.Zone()
	_, from := onset.Add(-time.Second).Zone()
	base := ics.ComponentBase{}
	base.SetProperty(ics.ComponentProperty(ics.PropertyDtstart), onset.In(time.FixedZone("", from)).Format("20060102T150405"))
	base.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), icalOffset(from))
	base.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), icalOffset(to))
	if name != "" && !strings.ContainsAny(name[:1], "+-") {
		base.SetProperty(ics.ComponentProperty(ics.PropertyTzname), name)
	}
	if onset.IsDST() {
		tz.Components = append(tz.Components, &ics.Daylight{ComponentBase: base})
	} else {
		tz.Components = append(tz.Components, &ics.Standard{ComponentBase: base})
	}
}

func icalOffset(seconds int) string {
	sign := '+'
	if seconds < 0 {
		sign, seconds = '-', -seconds
	}
	return fmt.Sprintf("%c%02d%02d", sign, seconds/3600, seconds%3600/60)
}

func writeCalendar(w http.ResponseWriter, cal *ics.Calendar, filename string) {
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if filename != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	}
	// RFC 5545 lines end in CRLF; the library's default is the OS's.
	_ = cal.SerializeTo(w, ics.WithNewLineWindows)
}

// Outages lists a board's live outage notices, newest announced first.
func (s *Store) Outages(ctx context.Context, boardID int64, limit int) ([]Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind = 'outage' AND a.deleted_at IS NULL ORDER BY a.id DESC LIMIT ?`, boardID, limit)
}

// Events lists a board's live events and trainings, newest announced first.
func (s *Store) Events(ctx context.Context, boardID int64, limit int) ([]Announcement, error) {
	return s.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.board_id = ? AND a.kind IN ('event', 'training') AND a.deleted_at IS NULL ORDER BY a.id DESC LIMIT ?`, boardID, limit)
}
