package matrix

import (
	"fmt"
	"html"
	"regexp"
	"strings"

	"maunium.net/go/mautrix/event"

	"crieur/board"
)

// wordJoiner breaks "@room" and "@user" so no client reads them as
// mentions, while a reader sees the same text.
const wordJoiner = "\u2060"

// mentionRe finds an @ that starts a word (not the one in an e-mail address).
var mentionRe = regexp.MustCompile(`(^|[^\p{L}\p{N}._%+\-])@([\p{L}\p{N}._=\-/]+)`)

// neutralise defuses mentions in text written by editors: the bot speaks
// for the association and must not ping a whole room by accident.
func neutralise(s string) string {
	return mentionRe.ReplaceAllString(s, "${1}@"+wordJoiner+"${2}")
}

// neutraliseHTML does the same in sanitised HTML, outside tags, so links
// (mailto:a@b) keep working.
func neutraliseHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(neutralise(s))
			break
		}
		b.WriteString(neutralise(s[:i]))
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j+1])
		s = s[i+j+1:]
	}
	return b.String()
}

// Render makes the room message for an announcement: a plain-text body
// and an HTML formatted_body with the title, the kind and its facts, the
// text, and a link to the announcement. Nobody is mentioned.
func Render(a board.Announcement, link string, msgtype event.MessageType) *event.MessageEventContent {
	var text, h strings.Builder
	fmt.Fprintf(&text, "%s: %s\n", a.KindLabel(), a.Title)
	fmt.Fprintf(&h, "<p><strong>%s: %s</strong></p>", html.EscapeString(a.KindLabel()), html.EscapeString(a.Title))
	if a.ContentWarning != "" {
		fmt.Fprintf(&text, "CW: %s\n", a.ContentWarning)
		fmt.Fprintf(&h, "<p><em>CW: %s</em></p>", html.EscapeString(a.ContentWarning))
	}
	if facts := a.Facts(); len(facts) > 0 {
		h.WriteString("<ul>")
		for _, f := range facts {
			fmt.Fprintf(&text, "%s: %s\n", f.Label, f.Value)
			fmt.Fprintf(&h, "<li><strong>%s:</strong> %s</li>", html.EscapeString(f.Label), html.EscapeString(f.Value))
		}
		h.WriteString("</ul>")
	}
	if a.Body != "" {
		fmt.Fprintf(&text, "\n%s\n", a.Body)
		h.WriteString(a.HTML) // sanitised by board.Renderer when stored
	}
	if len(a.Tags) > 0 {
		tags := make([]string, len(a.Tags))
		for i, t := range a.Tags {
			tags[i] = "#" + t
		}
		fmt.Fprintf(&text, "\n%s\n", strings.Join(tags, " "))
		fmt.Fprintf(&h, "<p>%s</p>", html.EscapeString(strings.Join(tags, " ")))
	}
	fmt.Fprintf(&text, "\n%s", link)
	fmt.Fprintf(&h, `<p><a href="%s">%s</a></p>`, html.EscapeString(link), html.EscapeString(link))
	return &event.MessageEventContent{
		MsgType:       msgtype,
		Body:          neutralise(text.String()),
		Format:        event.FormatHTML,
		FormattedBody: neutraliseHTML(h.String()),
		Mentions:      &event.Mentions{},
	}
}
