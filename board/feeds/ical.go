package feeds

import (
	"fmt"
	"io"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"crieur/board"
	"crieur/board/locale"
)

// Calendar is an iCalendar document of events (and trainings) a calendar
// app can subscribe to or import, named name.
type Calendar struct {
	cal   *ics.Calendar
	zone  *calZone
	b     board.Board
	l     locale.Locale // the board's, taken once for every event
	links board.Links
}

// NewCalendar starts a calendar of board b's events.
func NewCalendar(name string, b board.Board, links board.Links) *Calendar {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//Crieur//Crieur notice board//EN")
	cal.SetName(name)
	l := locale.OfBoard(b)
	return &Calendar{cal: cal, zone: newCalZone(b.Location()), b: b, l: l, links: links}
}

// Add puts one event on the calendar, or an outage notice as the time
// its service is down (a maintenance's window, to plan around).
func (c *Calendar) Add(a board.Announcement) {
	var start time.Time
	var end *time.Time
	switch {
	case a.Event != nil:
		start, end = a.Event.Start, a.Event.End
	case a.Outage != nil:
		start, end = a.Outage.From, a.Outage.Until
		if a.Outage.Resolved != nil {
			end = a.Outage.Resolved
		}
		if now := time.Now(); end == nil && a.Outage.State(now) == board.OutageOngoing {
			// No end known yet: without one a calendar shows a moment
			// (RFC 5545 §3.6.1). It lasts at least until the next quarter
			// of an hour, when the calendar is read again.
			soon := now.Truncate(15 * time.Minute).Add(15 * time.Minute)
			end = &soon
		}
	default:
		return
	}
	link := c.links.AnnouncementURL(c.b.Name, a.ID)
	ev := c.cal.AddEvent(link)
	ev.SetDtStampTime(a.UpdatedAt.UTC())
	ev.SetSequence(a.Version)
	c.zone.set(ev, ics.ComponentPropertyDtStart, start)
	if end != nil && end.After(start) {
		c.zone.set(ev, ics.ComponentPropertyDtEnd, *end)
	}
	// LANGUAGE (RFC 5545 3.2.10): the words' language, for calendars
	// that read text aloud or translate it.
	lang := a.Language
	if lang == "" {
		lang = c.l.Lang()
	}
	inLang := &ics.KeyValues{Key: string(ics.ParameterLanguage), Value: []string{lang}}
	summary := a.Title
	if a.Outage != nil {
		// "Maintenance: Mail server upgrade": what kind of time it is.
		summary = c.l.About(a).Heading(a)
	}
	ev.SetSummary(summary, inLang)
	if text := PlainParagraphs(a.HTML); text != "" {
		ev.SetDescription(text+"\n\n"+link, inLang)
	} else {
		ev.SetDescription(link, inLang)
	}
	switch {
	case a.Event != nil && a.Event.Place != "":
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

// Write writes the calendar, its time zone first.
func (c *Calendar) Write(w io.Writer) error {
	c.zone.addTo(c.cal)
	// RFC 5545 lines end in CRLF; the library's default is the OS's.
	return c.cal.SerializeTo(w, ics.WithNewLineWindows)
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
		// A calendar holds at least one component (RFC 5545 §3.4): an
		// empty one is the board's zone this year, which readers that
		// refuse an empty VCALENDAR then take.
		z.years[time.Now().In(z.loc).Year()] = true
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
