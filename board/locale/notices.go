package locale

import (
	"fmt"
	"strings"

	"crieur/board"
	"crieur/board/markdown"
)

// Notices words the posts the service writes by itself (a campaign's
// milestones and thanks, a training's reminder) in the language of the
// announcement they follow.
type Notices struct{}

var _ board.Notices = Notices{}

// Milestone is the short thanks as a campaign passes percent of its goal.
func (Notices) Milestone(b board.Board, a board.Announcement, percent int) (title, body string) {
	l := Of(b, a)
	title = l.T("notice.milestone", percent, a.Title)
	if percent == 100 {
		title = l.T("notice.goal_reached", a.Title)
	}
	f := l.Progress(a)
	body = fmt.Sprintf("%s %s", l.Colon(f.Label), f.Value)
	// The goal reached ends a one-off campaign: thank, do not ask again
	// (unless the editors keep donations welcome).
	c := a.Campaign
	switch {
	case c.Recurring() || c.Percent() < 100:
		body += fmt.Sprintf("\n\n%s %s", l.Colon(l.T("fact.give")), c.Link)
	case c.StillWelcome:
		body += fmt.Sprintf("\n\n%s %s", l.Colon(l.T("fact.still_welcome")), c.Link)
	}
	return title, body
}

// ThankYou is the title of a campaign's thank-you post.
func (Notices) ThankYou(b board.Board, a board.Announcement) string {
	return Of(b, a).T("notice.thank_you", a.Title)
}

// reminderFacts are the facts a reminder repeats: where to be, when, and
// what to bring.
var reminderFacts = map[string]bool{"when": true, "where": true, "online": true, "bring": true, "seats": true}

// Reminder is the post the day before a training: when, where and what to
// bring, and where to read more (link, when known).
func (Notices) Reminder(b board.Board, a board.Announcement, link string) (title, body string) {
	l := Of(b, a)
	var text strings.Builder
	for _, f := range l.Facts(a) {
		if !reminderFacts[f.Key] {
			continue
		}
		v := markdown.Escape(f.Value)
		if f.Link != "" {
			v = f.Link // linkified as it is
		}
		fmt.Fprintf(&text, "- **%s** %s\n", l.Colon(f.Label), v)
	}
	if link != "" {
		fmt.Fprintf(&text, "\n%s %s\n", l.T("notice.details"), link)
	}
	return l.T("notice.tomorrow", a.Title), text.String()
}

// Reannounced is an outage notice posted again: what is down, since and
// until when, and the first notice's page, which stays the one kept up
// to date.
func (Notices) Reannounced(b board.Board, a board.Announcement, link string) (title, body string) {
	l := Of(b, a)
	var text strings.Builder
	for _, f := range l.Facts(a) {
		fmt.Fprintf(&text, "- **%s** %s\n", l.Colon(f.Label), markdown.Escape(f.Value))
	}
	if link != "" {
		fmt.Fprintf(&text, "\n%s %s\n", l.T("notice.first_notice"), link)
	}
	return l.T("notice.still_current", a.Title), text.String()
}
