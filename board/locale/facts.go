package locale

import (
	"fmt"
	"html"
	"net/mail"
	"strings"

	"crieur/board"
)

// Fact is one labelled line of an announcement's details, shown the same
// way on the web, in ActivityPub content, in Matrix, mail and Mattermost.
type Fact struct {
	Label string
	Value string
	// Link, when set, is where Value points (an http(s) URL or a mailto:):
	// every channel shows the fact as a link a reader can follow.
	Link string
}

// Facts lists the kind-specific details of a in reading order.
func (l Locale) Facts(a board.Announcement) []Fact {
	var f []Fact
	fact := func(label, value, link string) { f = append(f, Fact{Label: l.Label(label), Value: value, Link: link}) }
	if a.Status == board.StatusExpired && a.ExpiresAt != nil {
		// First, so a reader scrolling a timeline sees it is over.
		fact("Ended", l.Time(*a.ExpiresAt), "")
	}
	if a.Cancelled() {
		fact("Cancelled", l.T("this training will not take place"), "")
	}
	switch {
	case a.IsEvent():
		when := l.Time(a.Event.Start)
		if a.Event.End != nil {
			y1, m1, d1 := a.Event.Start.Date()
			y2, m2, d2 := a.Event.End.Date()
			if y1 == y2 && m1 == m2 && d1 == d2 {
				when += " – " + a.Event.End.Format("15:04")
			} else {
				when += " – " + l.Time(*a.Event.End)
			}
		}
		fact("When", when, "")
		if a.Event.Place != "" {
			fact("Where", a.Event.Place, "")
		}
		if t := a.Training; t != nil {
			if t.Online != "" {
				fact("Online", t.Online, t.Online)
			}
			if t.Level != "" {
				fact("Level", t.Level, "")
			}
			if t.Bring != "" {
				fact("What to bring", t.Bring, "")
			}
			if a.Call != nil && !t.Cancelled {
				fact("Seats", l.Seats(a), "")
			}
		}
		if a.Event.URL != "" {
			fact("More", a.Event.URL, a.Event.URL)
		}
	case a.Kind == board.KindCall && a.Call != nil:
		var roles []string
		for _, r := range a.Call.Roles {
			left := a.Call.PlacesLeft(r.Name)
			switch {
			case left == r.Places:
				roles = append(roles, l.T(Plural(r.Places, "%s (%d place)", "%s (%d places)"), r.Name, r.Places))
			case left == 0:
				roles = append(roles, l.T("%s (full: %d of %d)", r.Name, r.Places, r.Places))
			default:
				roles = append(roles, l.T(Plural(r.Places, "%s (%d of %d place left)", "%s (%d of %d places left)"), r.Name, left, r.Places))
			}
		}
		fact("Volunteers needed", strings.Join(roles, ", "), "")
		if a.Call.Closed {
			fact("Sign-ups", l.T("closed"), "")
		}
		if a.Call.Deadline != nil {
			fact("Answer before", l.Time(*a.Call.Deadline), "")
		}
		fact("How to answer", a.Call.Contact, contactLink(a.Call.Contact))
	case a.Kind == board.KindCampaign && a.Campaign != nil:
		c := a.Campaign
		fact("Raised", l.T("%s of %s (%d %%)", l.Amount(c.Raised, c.Currency), l.Amount(c.Goal, c.Currency), c.Percent()), "")
		if c.Deadline != nil {
			fact("Until", l.Time(*c.Deadline), "")
		}
		fact("Give", c.Link, c.Link)
		if c.TaxNote != "" {
			fact("Good to know", c.TaxNote, "")
		}
	case a.Kind == board.KindOutage && a.Outage != nil:
		fact("Service", a.Outage.Service, "")
		fact("From", l.Time(a.Outage.From), "")
		switch {
		case a.Outage.Resolved != nil:
			fact("Resolved", l.Time(*a.Outage.Resolved), "")
		case a.Outage.Until != nil:
			fact("Until", l.Time(*a.Outage.Until), "")
		case a.Status != board.StatusExpired: // an ended notice has "Ended" above
			fact("Until", l.T("not known yet"), "")
		}
	}
	return f
}

// Seats says how many seats a training has and how many are left.
func (l Locale) Seats(a board.Announcement) string {
	c := a.Call
	seats := c.Places(board.TrainingRole)
	left := c.PlacesLeft(board.TrainingRole)
	var s string
	switch {
	case left == 0 && c.Waitlist:
		s = l.T(Plural(seats, "full (%d seat): waiting list open", "full (%d seats): waiting list open"), seats)
	case left == 0:
		s = l.T(Plural(seats, "full (%d seat)", "full (%d seats)"), seats)
	case left == seats:
		s = l.T(Plural(seats, "%d seat", "%d seats"), seats)
	default:
		s = l.T(Plural(seats, "%d of %d seat left", "%d of %d seats left"), left, seats)
	}
	if c.Closed && !a.Cancelled() {
		s += l.T("; registration closed")
	}
	return s
}

// KindLabel is the kind of a as a reader sees it.
func (l Locale) KindLabel(a board.Announcement) string { return l.Label(kindLabel(a.Kind)) }

func kindLabel(k board.Kind) string {
	switch k {
	case board.KindTraining:
		return "Training"
	case board.KindEvent:
		return "Event"
	case board.KindCall:
		return "Call for volunteers"
	case board.KindOutage:
		return "Service outage"
	case board.KindCampaign:
		return "Donation campaign"
	default:
		return "News"
	}
}

// FactsHTML lays facts out as the list the feeds, mail and Matrix show,
// with linked values as links ("" for none).
func FactsHTML(facts []Fact) string {
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
		fmt.Fprintf(&b, "<li><strong>%s:</strong> %s</li>", html.EscapeString(f.Label), v)
	}
	b.WriteString("</ul>")
	return b.String()
}

// FactsText is the facts as plain-text lines, "Label: value".
func FactsText(facts []Fact) string {
	var b strings.Builder
	for _, f := range facts {
		fmt.Fprintf(&b, "%s: %s\n", f.Label, f.Value)
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
