package locale

import (
	"cmp"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"crieur/board"
)

// Fact is one labelled line of an announcement's details, shown the same
// way on the web, in ActivityPub content, in Matrix, mail and Mattermost.
type Fact struct {
	// Key says which fact it is whatever the language ("when", "where"):
	// the catalogue's fact.<key> is its label.
	Key   string
	Label string
	Value string
	// Link, when set, is where Value points (an http(s) URL or a mailto:):
	// every channel shows the fact as a link a reader can follow.
	Link string
}

// Facts lists the kind-specific details of a in reading order, with the
// sign-up counts as they stand.
func (l Locale) Facts(a board.Announcement) []Fact { return l.facts(a, true) }

// PollFacts lists the details of a for a channel whose poll shows the
// counts (the fediverse): a role's places, a training's seats, but not how
// many are taken. Mastodon marks a post "Edited" (and tells everyone who
// boosted it) when its text changes, while a poll's counts change quietly
// (app/services/activitypub/process_status_update_service.rb: only a text,
// warning, media or option change is significant), so the text must not
// move with every answer.
func (l Locale) PollFacts(a board.Announcement) []Fact { return l.facts(a, false) }

func (l Locale) facts(a board.Announcement, counts bool) []Fact {
	var f []Fact
	fact := func(key, value, link string) {
		f = append(f, Fact{Key: key, Label: l.T("fact." + key), Value: value, Link: link})
	}
	if a.Status == board.StatusExpired && a.ExpiresAt != nil {
		// First, so a reader scrolling a timeline sees it is over.
		fact("ended", l.Time(*a.ExpiresAt), "")
	}
	if c := a.Campaign; c != nil && c.Ended != nil && a.Status != board.StatusExpired {
		fact("ended", l.Time(*c.Ended), "")
	}
	if a.Cancelled() {
		what := "fact.cancelled_training"
		if a.Kind == board.KindOutage {
			what = "fact.cancelled_outage"
		}
		fact("cancelled", l.T(what), "")
	}
	if a.BackOn() {
		fact("back_on", l.T("fact.back_on_training"), "")
	}
	switch {
	case a.IsEvent():
		when := l.Time(a.Event.Start)
		if e := a.Event.End; e != nil {
			if l.SameDay(a.Event.Start, *e) {
				// "Fri 18 Dec 2026, 19:00 – 22:00 (Paris time)": the zone once.
				when = strings.Replace(when, l.Clock(a.Event.Start), l.Clock(a.Event.Start)+" – "+l.Clock(*e), 1)
			} else {
				when += " – " + l.Time(*e)
			}
		}
		fact("when", when, "")
		if a.Event.Place != "" {
			fact("where", a.Event.Place, "")
		}
		if t := a.Training; t != nil {
			if t.Online != "" {
				fact("online", t.Online, t.Online)
			}
			if t.Level != "" {
				fact("level", t.Level, "")
			}
			if t.Bring != "" {
				fact("bring", t.Bring, "")
			}
			if a.Call != nil && !t.Cancelled && counts {
				fact("seats", l.Seats(a), "")
			} else if a.Call != nil && !t.Cancelled {
				fact("seats", l.SeatsOffered(a), "")
			}
		}
		if a.Event.URL != "" {
			fact("more", a.Event.URL, a.Event.URL)
		}
	case a.Kind == board.KindCall && a.Call != nil:
		var roles []string
		// One shape for every role, so that a role nobody took yet reads
		// like its neighbours: "cook (2 of 2 places left)".
		for _, r := range a.Call.Roles {
			left := a.Call.PlacesLeft(r.Name)
			if !counts {
				roles = append(roles, l.T("role.places", r.Name, r.Places))
			} else if left == 0 {
				roles = append(roles, l.T("role.full", r.Name, r.Places, r.Places))
			} else {
				roles = append(roles, l.T("role.left", r.Name, left, r.Places))
			}
		}
		fact("volunteers", strings.Join(roles, ", "), "")
		if a.Call.Closed {
			fact("signups", l.T("fact.closed"), "")
		}
		if a.Call.Deadline != nil {
			fact("answer_before", l.Time(*a.Call.Deadline), "")
		}
		if a.Call.Contact != "" { // a draft's may not be settled yet
			fact("how_to_answer", a.Call.Contact, contactLink(a.Call.Contact))
		}
	case a.Kind == board.KindCampaign && a.Campaign != nil:
		c := a.Campaign
		if c.Recurring() {
			// Recurring income is a rate, never a total: "300 € per week
			// by 12 patrons", against a goal per week (Liberapay's unit).
			per := l.T("fact.per_" + c.Per)
			income := l.T("fact.income_value", l.Amount(c.Raised, c.Currency), per, c.Patrons)
			if c.Patrons == 0 { // typed by an editor, or nobody yet: no "by 0 patrons"
				income = l.T("fact.income_only", l.Amount(c.Raised, c.Currency), per)
			}
			fact("income", income, "")
			fact("goal", l.T("fact.goal_value", l.Amount(c.Goal, c.Currency), per, c.Percent()), "")
		} else {
			fact("raised", l.T("fact.raised_value", l.Amount(c.Raised, c.Currency), l.Amount(c.Goal, c.Currency), c.Percent()), "")
		}
		if c.Deadline != nil {
			fact("until", l.Time(*c.Deadline), "")
		}
		switch {
		case c.Ended == nil:
			fact("give", c.Link, c.Link)
		case c.StillWelcome:
			fact("still_welcome", c.Link, c.Link)
		}
		if c.TaxNote != "" {
			fact("good_to_know", c.TaxNote, "")
		}
	case a.Kind == board.KindOutage && a.Outage != nil:
		fact("service", cmp.Or(a.Outage.ServiceName, a.Outage.Service), "")
		fact("from", l.Time(a.Outage.From), "")
		switch {
		case a.Outage.Resolved != nil:
			fact("resolved", l.Time(*a.Outage.Resolved), "")
		case a.Outage.Until != nil:
			fact("until", l.Time(*a.Outage.Until), "")
		case a.Status != board.StatusExpired: // an ended notice has "Ended" above
			fact("until", l.T("fact.not_known"), "")
		}
	}
	return f
}

// Progress is a campaign's progress as its facts say it: what was raised,
// or the recurring income (zero Fact for another kind).
func (l Locale) Progress(a board.Announcement) Fact {
	for _, f := range l.Facts(a) {
		if f.Key == "raised" || f.Key == "income" {
			return f
		}
	}
	return Fact{}
}

// ChangedFacts are the facts of a that an edit changed (board.Changes'
// keys), as they now read, each labelled as news ("New time").
func (l Locale) ChangedFacts(a board.Announcement, keys []string) []Fact {
	var out []Fact
	for _, f := range l.Facts(a) {
		if slices.Contains(keys, f.Key) {
			f.Label = l.T("changed." + f.Key)
			out = append(out, f)
		}
	}
	return out
}

// Seats says how many seats a training has and how many are left.
func (l Locale) Seats(a board.Announcement) string {
	c := a.Call
	seats := c.Places(board.TrainingRole)
	left := c.PlacesLeft(board.TrainingRole)
	var s string
	switch {
	case left == 0 && c.Waitlist:
		s = l.T("seats.full_waitlist", seats)
	case left == 0:
		s = l.T("seats.full", seats)
	case left == seats:
		s = l.T("seats.all", seats)
	default:
		s = l.T("seats.left", left, seats)
	}
	if c.Closed && !a.Cancelled() {
		s += l.T("seats.closed")
	}
	return s
}

// SeatsOffered says how many can come to a training, whoever has come
// forward yet ("12 places, then a waiting list").
func (l Locale) SeatsOffered(a board.Announcement) string {
	c := a.Call
	s := l.T("seats.offered", c.Places(board.TrainingRole))
	if c.Waitlist {
		s = l.T("seats.offered_waitlist", c.Places(board.TrainingRole))
	}
	if c.Closed && !a.Cancelled() {
		s += l.T("seats.closed")
	}
	return s
}

// KindLabel is the kind of a as a reader sees it.
// A planned outage is a maintenance (board.Announcement.Maintenance).
func (l Locale) KindLabel(a board.Announcement) string {
	if a.Maintenance() {
		return l.T("kind.maintenance")
	}
	return l.Kind(a.Kind)
}

// Kind names a kind ("Event", "Événement"); an unknown kind is news.
func (l Locale) Kind(k board.Kind) string {
	for _, known := range board.Kinds() {
		if k == known {
			return l.T("kind." + string(k))
		}
	}
	return l.T("kind.news")
}

// Role is a call's role as a reader sees it: a training's one option
// ("I'll come") in the reader's language, any other role as its editor
// wrote it.
func (l Locale) Role(name string) string {
	if name == board.TrainingRole {
		return l.T("vote.option_training")
	}
	return name
}

// RoleNamed is the role an answer names, whichever language it was
// offered in: a training's option in any catalogue language is the
// training's one role.
func (l Locale) RoleNamed(name string) string {
	for _, other := range l.Languages() {
		if name == other.T("vote.option_training") {
			return board.TrainingRole
		}
	}
	return name
}

// State names an outage's state (planned, ongoing, resolved).
func (l Locale) State(s string) string { return l.T("state." + s) }

// Heading is a post's first line: its kind and its title. An outage
// marked over says so there ("Service outage resolved: …"), which is what
// a feed reader or a follower sees of the edit that resolves it; an
// end passing, which no edit tells, is left to the pages.
func (l Locale) Heading(a board.Announcement) string {
	label := l.KindLabel(a)
	switch {
	case a.Kind == board.KindOutage && a.Cancelled():
		label = l.T("kind.outage_cancelled")
		if a.Maintenance() {
			label = l.T("kind.maintenance_cancelled")
		}
	case a.Outage != nil && a.Outage.Resolved != nil:
		label = l.T("kind.outage_resolved")
		if a.Maintenance() {
			label = l.T("kind.maintenance_ended")
		}
	}
	return l.T("post.heading", label, a.Title)
}

// FactsHTML lays facts out as the list the feeds, mail and Matrix show,
// with linked values as links ("" for none).
func (l Locale) FactsHTML(facts []Fact) string {
	if len(facts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<ul>")
	for _, f := range facts {
		v := html.EscapeString(f.Value)
		if f.Link != "" {
			v = `<a href="` + html.EscapeString(f.Link) + `">` + v + `</a>`
		}
		fmt.Fprintf(&b, "<li><strong>%s</strong> %s</li>", html.EscapeString(l.Colon(f.Label)), v)
	}
	b.WriteString("</ul>")
	return b.String()
}

// FactsText is the facts as plain-text lines, "Label: value".
func (l Locale) FactsText(facts []Fact) string {
	var b strings.Builder
	for _, f := range facts {
		fmt.Fprintf(&b, "%s %s\n", l.Colon(f.Label), f.Value)
	}
	return b.String()
}

// contactLink makes a call's contact followable when it is a web address
// or an e-mail address; a name or a phone number stays text.
func contactLink(c string) string {
	if board.HTTPURL(c) {
		return c
	}
	if addr, err := mail.ParseAddress(c); err == nil && !strings.ContainsAny(c, " <>") {
		return "mailto:" + addr.Address
	}
	return ""
}

// VoteResult is what an answer to a call became, said to the person who
// gave it (a direct note on the fediverse, a reply in a Matrix room).
func (l Locale) VoteResult(a board.Announcement, role string, res board.SignupResult) string {
	role = l.Role(role)
	if a.Kind == board.KindTraining {
		switch {
		case len(res.Confirmed) > 0:
			return l.T("vote.training_registered", a.Title)
		case len(res.Waiting) > 0:
			return l.T("vote.training_waiting", a.Title)
		default:
			return l.T("vote.training_full", a.Title)
		}
	}
	switch {
	case len(res.Confirmed) > 0:
		return l.T("vote.registered", role, a.Title)
	case len(res.Waiting) > 0:
		return l.T("vote.waiting", upperFirst(role), a.Title)
	default:
		return l.T("vote.full", role, a.Title)
	}
}

// VoteRefused says why an answer was not taken (closed, cancelled, no such
// role): nothing the person held changed.
func (l Locale) VoteRefused(a board.Announcement, role string, err error) string {
	switch {
	case errors.Is(err, board.ErrCallClosed) && a.Cancelled():
		return l.T("vote.refused_cancelled", a.Title)
	case errors.Is(err, board.ErrCallClosed) && a.Kind == board.KindTraining:
		return l.T("vote.refused_training_closed", a.Title)
	case errors.Is(err, board.ErrCallClosed):
		return l.T("vote.refused_closed", a.Title, l.Role(role))
	}
	return l.T("vote.refused_role", a.Title, role)
}

func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// Roles names roles as a reader reads them, joined with the locale's
// "and" ("cook and driver", a training's "I'll come").
func (l Locale) Roles(names []string) string {
	out := make([]string, len(names))
	for i, r := range names {
		out[i] = l.Role(r)
	}
	return l.JoinAnd(out)
}

// NoticeLines is what one person is told about a, sentence by sentence:
// the same words whether it goes as a direct note or a mail. A reminder
// adds when, where and the online link, as the post says them. None: the
// notice says nothing on its own (a promotion without a role).
func (l Locale) NoticeLines(a board.Announcement, n board.Notice) []string {
	training := a.Kind == board.KindTraining
	var lines []string
	switch n.What {
	case board.ToldSignedUp:
		switch {
		case training && len(n.Confirmed) > 0:
			lines = append(lines, l.T("vote.training_registered", a.Title))
		case training:
			lines = append(lines, l.T("vote.training_waiting", a.Title))
		default:
			if len(n.Confirmed) > 0 {
				lines = append(lines, l.T("vote.registered", l.Roles(n.Confirmed), a.Title))
			}
			if len(n.Waiting) > 0 {
				lines = append(lines, l.T("vote.waiting", l.Roles(n.Waiting), a.Title))
			}
		}
	case board.ToldPromoted:
		switch {
		case training:
			lines = append(lines, l.T("vote.promoted_training", a.Title))
		case len(n.Confirmed) > 0:
			lines = append(lines, l.T("vote.promoted", l.Roles(n.Confirmed), a.Title))
		}
	case board.ToldCancelled:
		lines = append(lines, l.T("vote.cancelled", a.Title))
	case board.ToldBackOn:
		lines = append(lines, l.T("vote.back_on", a.Title))
	case board.ToldReminder:
		lines = append(lines, l.T("vote.reminder", a.Title))
		for _, f := range l.Facts(a) {
			switch f.Key {
			case "when", "where", "online":
				lines = append(lines, l.Colon(f.Label)+" "+f.Value)
			}
		}
	}
	return lines
}
