package web

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/feeds"
	"crieur/board/locale"
)

// A board's address is its entrance: what is happening now (an outage, a
// running campaign, open calls), what is coming, the latest news, and
// every way to follow it; each section has its own page, paged.

// entranceSize is how many cards a section of the entrance shows.
const entranceSize = 6

// sectionSize is how many cards a section's own page shows at a time.
const sectionSize = 24

// card is an announcement as a list shows it: what a visitor needs to
// choose whether to open it.
type card struct {
	pageItem
	// Level is the card's heading level under the list's own heading.
	Level int
	// Picture is the first picture, shown above the card.
	Picture *board.Image
	// Badge is the day and month of an event or a training.
	Badge *dateBadge
	// Meta is one line of the facts that matter in a list.
	Meta string
	// Excerpt is the beginning of the text; the warning instead when the
	// text hides behind a content warning (Warned).
	Excerpt string
	Warned  bool
	// Whole shows the whole text instead of the excerpt: an outage going
	// on is told in updates added to its text, and the latest is at the
	// end, where an excerpt stops first.
	Whole bool
	// Updated is when the text last changed, for a card that says so.
	Updated string
}

type dateBadge struct{ Day, Month string }

// cardOf makes a card at heading level of a.
func cardOf(it pageItem, level int) card {
	c := card{pageItem: it, Level: level}
	a, l := it.Announcement, it.L
	for i := range a.Images {
		if !a.Images[i].Decorative || i == 0 {
			c.Picture = &a.Images[i]
			break
		}
	}
	if a.IsEvent() {
		day, month := l.DayMonth(a.Event.Start)
		c.Badge = &dateBadge{Day: day, Month: month}
	}
	c.Meta = strings.Join(cardFacts(l, a), " · ")
	if a.ContentWarning != "" {
		c.Excerpt, c.Warned = a.ContentWarning, true
	} else {
		c.Excerpt = shorten(feeds.PlainText(a.HTML), 160)
	}
	return c
}

// cardFacts are the facts a list shows of each kind: when and where, who
// is wanted, which service.
func cardFacts(l locale.Locale, a board.Announcement) []string {
	want := map[board.Kind][]string{
		board.KindEvent:    {"when", "where"},
		board.KindTraining: {"when", "where", "seats"},
		board.KindCall:     {"signups", "volunteers", "answer_before"},
		board.KindCampaign: {"raised", "income"},
		board.KindOutage:   {"service", "from", "until", "resolved"},
	}[a.Kind]
	// A time alone would not say what it is the time of.
	labelled := []string{"from", "until", "resolved", "answer_before", "signups"}
	var out []string
	if a.Kind == board.KindCall && a.Call != nil && !a.Call.Closed && !a.SignupsOpen(time.Now()) {
		// Its deadline passed, or every role is full: a list of calls
		// must not offer it as open (the facts say so only of a call an
		// editor closed, as the post's text does not change by itself).
		out = append(out, l.Colon(l.T("fact.signups"))+" "+l.T("fact.closed"))
	}
	for _, f := range l.Facts(a) {
		switch {
		case !slices.Contains(want, f.Key):
		case slices.Contains(labelled, f.Key):
			out = append(out, l.Colon(f.Label)+" "+f.Value)
		default:
			out = append(out, f.Value)
		}
	}
	if len(out) == 0 {
		out = append(out, l.Date(a.CreatedAt))
	}
	return out
}

var spaces = regexp.MustCompile(`\s+`)

// shorten cuts s at a word before n characters, with an ellipsis.
func shorten(s string, n int) string {
	s = spaces.ReplaceAllString(strings.TrimSpace(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndex(cut, " "); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// boardPage is what every public page of a board shows around its
// content: the board's colours and name, its sections, its feeds.
func (p *Pages) boardPage(r *http.Request, b board.Board, nav, title string) map[string]any {
	l := boardLocale(r, b)
	home := p.links.BoardURL(b.Name)
	if title == "" {
		title = b.DisplayName
	} else {
		title += " – " + b.DisplayName
	}
	// The sections link its services' pages once it lists some.
	services, err := p.store.HostedServices(r.Context(), b.ID)
	if err != nil {
		p.log.WarnContext(r.Context(), "pages: read services", "board", b.Name, "err", err)
	}
	return map[string]any{
		"L": l, "Board": b, "BoardURL": home, "Handle": p.links.Handle(b.Name), "Title": title,
		"Masthead": true, "Nav": nav, "AccentCSS": accentCSS(b), "HasServices": len(services) > 0,
		"FeedURL": home + "/feed.atom", "EventsURL": home + "/events.ics",
	}
}

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// accentCSS sets the page's accent to the board's colour.
func accentCSS(b board.Board) template.CSS {
	c := b.Accent()
	if !hexColour.MatchString(c) {
		return ""
	}
	return template.CSS(":root{--accent:" + c + "}")
}

// Entrance is a board's home page.
func (p *Pages) Entrance(w http.ResponseWriter, r *http.Request, b board.Board) {
	ctx := r.Context()
	latest, err := p.store.Announcements(ctx, b.ID, 0, 100)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	events, err := p.store.Events(ctx, b.ID, 200)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	data := p.boardPage(r, b, "home", "")
	l := data["L"].(locale.Locale)
	now := time.Now()
	var alerts, nowCards, news []card
	for _, a := range latest {
		it := p.item(a, l)
		switch {
		case a.Kind == board.KindOutage && (it.State == board.OutageOngoing || it.State == board.OutagePlanned && a.Outage.From.Before(now.Add(7*24*time.Hour))):
			alerts = append(alerts, cardOf(it, 3))
		case a.Kind == board.KindCampaign && a.Campaign != nil && a.Campaign.Ended == nil,
			a.Kind == board.KindCall && a.SignupsOpen(now):
			nowCards = append(nowCards, cardOf(it, 3))
		case a.Kind == board.KindNews && len(news) < entranceSize:
			news = append(news, cardOf(it, 3))
		}
	}
	// Ongoing before planned, then by start.
	slices.SortStableFunc(alerts, func(x, y card) int {
		if (x.State == board.OutageOngoing) != (y.State == board.OutageOngoing) {
			if x.State == board.OutageOngoing {
				return -1
			}
			return 1
		}
		return x.Outage.From.Compare(y.Outage.From)
	})
	coming := comingEvents(p, events, l, now)
	if len(coming) > entranceSize {
		coming = coming[:entranceSize]
	}
	if len(nowCards) > entranceSize {
		nowCards = nowCards[:entranceSize]
	}
	// How each service is doing, at a glance.
	if data["HasServices"] == true {
		list, outages, err := p.boardServices(r, b)
		if err != nil {
			serverError(w, r, p.log, err)
			return
		}
		data["Services"] = p.serviceViews(b, list, outages, l, now)
	}
	home := p.links.BoardURL(b.Name)
	data["Alerts"], data["NowCards"], data["Coming"], data["News"] = alerts, nowCards, coming, news
	data["Canonical"], data["Me"], data["ActorURL"] = home, home, home
	data["Empty"] = len(latest) == 0
	p.render(w, r, http.StatusOK, "entrance", data)
}

// comingEvents are the events and trainings not over yet, soonest first.
func comingEvents(p *Pages, events []board.Announcement, l locale.Locale, now time.Time) []card {
	var out []card
	for _, a := range events {
		if !a.Listed() || !a.IsEvent() {
			continue
		}
		end := a.Event.Start
		if a.Event.End != nil {
			end = *a.Event.End
		}
		if end.Before(now) {
			continue
		}
		out = append(out, cardOf(p.item(a, l), 3))
	}
	slices.SortFunc(out, func(x, y card) int { return x.Event.Start.Compare(y.Event.Start) })
	return out
}

// section is one of the entrance's lists on its own page.
type section struct {
	nav, title string
	kinds      []board.Kind
}

var sections = map[string]section{
	"news":  {nav: "news", title: "page.nav_news", kinds: []board.Kind{board.KindNews}},
	"calls": {nav: "calls", title: "page.nav_calls", kinds: []board.Kind{board.KindCall, board.KindCampaign}},
	"all":   {nav: "all", title: "page.all_announcements"},
}

// Section lists one section's announcements, newest first, a page at a
// time (?before= the last one seen); "all" also takes ?tag=.
func (p *Pages) Section(name string) func(http.ResponseWriter, *http.Request, board.Board) {
	s := sections[name]
	return func(w http.ResponseWriter, r *http.Request, b board.Board) {
		before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
		tag := r.URL.Query().Get("tag")
		if !board.ValidTag(tag) || len(s.kinds) > 0 {
			tag = ""
		}
		var list []board.Announcement
		var err error
		if len(s.kinds) > 0 {
			list, err = p.store.AnnouncementsOfKinds(r.Context(), b.ID, s.kinds, before, sectionSize)
		} else {
			list, err = p.store.AnnouncementsTagged(r.Context(), b.ID, tag, before, sectionSize)
		}
		if err != nil {
			serverError(w, r, p.log, err)
			return
		}
		data := p.boardPage(r, b, s.nav, "")
		l := data["L"].(locale.Locale)
		heading := l.T(s.title)
		data["Title"] = heading + " – " + b.DisplayName
		cards := make([]card, 0, len(list))
		for _, a := range list {
			cards = append(cards, cardOf(p.item(a, l), 2))
		}
		q := url.Values{}
		if tag != "" {
			q.Set("tag", tag)
		}
		self := p.links.BoardURL(b.Name) + "/" + name
		if len(list) == sectionSize {
			q.Set("before", strconv.FormatInt(list[len(list)-1].ID, 10))
			data["Older"] = self + "?" + q.Encode()
			q.Del("before")
		}
		if before > 0 {
			data["Newest"] = self + "?" + q.Encode()
		}
		if tag != "" {
			data["FeedURL"] = data["FeedURL"].(string) + "?tag=" + url.QueryEscape(tag)
		}
		data["Heading"], data["Cards"], data["Tag"], data["Canonical"] = heading, cards, tag, self
		p.render(w, r, http.StatusOK, "section", data)
	}
}
