package locale

import (
	"fmt"
	"strings"

	"crieur/board"
	"crieur/board/markdown"
)

// Notices words the posts the service writes by itself (a campaign's
// milestones and thanks, a training's reminder) in the board's language.
type Notices struct{}

var _ board.Notices = Notices{}

// Milestone is the short thanks as a campaign passes percent of its goal.
func (Notices) Milestone(b board.Board, a board.Announcement, percent int) (title, body string) {
	l := For(b.Language)
	title = l.T("%d %% of the goal for “%s”: thank you!", percent, a.Title)
	if percent == 100 {
		title = l.T("Goal reached for “%s”: thank you!", a.Title)
	}
	facts := l.Facts(a)
	body = fmt.Sprintf("%s: %s\n\n%s: %s", facts[0].Label, facts[0].Value, l.Label("Give"), a.Campaign.Link)
	return title, body
}

// ThankYou is the title of a campaign's thank-you post.
func (Notices) ThankYou(b board.Board, a board.Announcement) string {
	return For(b.Language).T("Thank you: %s", a.Title)
}

// InlineImages warns an editor that n pictures written into the text show
// as links (the editor speaks English for now).
func (Notices) InlineImages(n int) string {
	return English.T(Plural(n, "The text has %d picture written as ![description](address): readers see the description as a link, not the picture. To show a picture, add it as an image with its description.",
		"The text has %d pictures written as ![description](address): readers see the description as a link, not the picture. To show a picture, add it as an image with its description."), n)
}

// Reminder is the post the day before a training: when, where and what to
// bring, and where to read more (link, when known).
func (Notices) Reminder(b board.Board, a board.Announcement, link string) (title, body string) {
	l := For(b.Language)
	if b.TimeZone != "" {
		l = l.InZone(b.Location())
	}
	var text strings.Builder
	en := English.Facts(a) // the same facts in the same order: which is which
	for i, f := range l.Facts(a) {
		switch en[i].Label {
		case "When", "Where", "Online", "What to bring", "Seats":
			v := markdown.Escape(f.Value)
			if f.Link != "" {
				v = f.Link // linkified as it is
			}
			fmt.Fprintf(&text, "- **%s:** %s\n", f.Label, v)
		}
	}
	if link != "" {
		fmt.Fprintf(&text, "\n%s %s\n", l.T("Details and registration:"), link)
	}
	return l.T("Tomorrow: %s", a.Title), text.String()
}
