package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/cut"
	"crieur/board/locale"
	"crieur/board/markdown"
)

// wordJoiner breaks "@room" and "@user:server" so no client reads them as
// mentions, while a reader sees the same text.
const wordJoiner = "\u2060"

var (
	// mentionRe finds what Matrix clients and push rules take for a
	// mention: @room, or a full user id, at the start of a word (not the @
	// inside an e-mail address).
	mentionRe = regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}_])@(room\b|[a-z0-9._=\-/+]+:[a-z0-9.\-]+(?::[0-9]+)?)`)
	// urlRe finds URLs, which keep their @ untouched so they still work.
	urlRe = regexp.MustCompile(`(?i)\b(?:https?|mailto):[^\s<>"]+`)
	// userLinkRe finds links to Matrix users, which clients turn into pills
	// (mentions): they become their plain text.
	userLinkRe = regexp.MustCompile(`(?is)<a\s[^>]*href="https://matrix\.to/#/(?:@|%40)[^"]*"[^>]*>(.*?)</a>`)
)

// neutralise defuses mentions in text written by editors, outside URLs:
// the bot speaks for the association and must not ping a whole room or a
// person by accident.
func neutralise(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		loc := urlRe.FindStringIndex(s)
		if loc == nil {
			b.WriteString(mentionRe.ReplaceAllString(s, "${1}@"+wordJoiner+"${2}"))
			break
		}
		b.WriteString(mentionRe.ReplaceAllString(s[:loc[0]], "${1}@"+wordJoiner+"${2}"))
		b.WriteString(s[loc[0]:loc[1]])
		s = s[loc[1]:]
	}
	return b.String()
}

// neutraliseHTML does the same in sanitised HTML: user links lose their
// anchor, text outside tags is neutralised, tags (and their href) are kept.
func neutraliseHTML(s string) string {
	s = userLinkRe.ReplaceAllString(s, "$1")
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

// maxContentBytes bounds the JSON of a message's content. Homeservers
// refuse events over 65,536 bytes of canonical JSON (M_TOO_LARGE); the
// rest of the event (ids, hashes, signatures, unsigned data) needs room too.
const maxContentBytes = 60000

// message is one rendering of an announcement for a room.
type message struct {
	l       locale.Locale // the announcement's language, its board's zone
	a       board.Announcement
	link    string
	msgtype event.MessageType
	// body and bodyHTML are the announcement's text, whole or cut.
	body, bodyHTML string
	cut            bool
}

func (m message) heading() string { return m.l.Heading(m.a) }

// content renders the message: title and kind, content warning, facts,
// text (hidden behind a spoiler when there is a warning), hashtags, link.
// Nobody is mentioned.
func (m message) content() *event.MessageEventContent {
	a := m.a
	var text, h strings.Builder
	fmt.Fprintf(&text, "%s\n", m.heading())
	fmt.Fprintf(&h, "<p><strong>%s</strong></p>", html.EscapeString(m.heading()))
	var inner strings.Builder  // what a content warning hides
	var hidden strings.Builder // the same as text: never in the body when a warning hides it
	facts := m.l.Facts(a)
	hidden.WriteString(m.l.FactsText(facts))
	inner.WriteString(m.l.FactsHTML(facts))
	if m.body != "" {
		// The body clients show as text follows the HTML's rules too.
		fmt.Fprintf(&hidden, "\n%s\n", markdown.SafeSource(m.body))
		inner.WriteString(m.bodyHTML) // sanitised by board.Renderer
	}
	if m.cut {
		fmt.Fprintf(&hidden, "\n… %s %s\n", m.l.Colon(m.l.T("post.read_more")), m.link)
		fmt.Fprintf(&inner, `<p>… <a href="%s">%s</a></p>`, html.EscapeString(m.link), html.EscapeString(m.l.T("post.read_more")))
	}
	if a.ContentWarning != "" {
		// The plain body is what notifications and text-only clients
		// show, and it has no spoiler: the warning and a way to the text,
		// never the text itself.
		fmt.Fprintf(&text, "%s\n%s\n", m.l.T("post.content_warning", a.ContentWarning), m.l.T("post.hidden_by_warning"))
	} else {
		text.WriteString(hidden.String())
	}
	if a.ContentWarning != "" {
		// Clients hide a spoiler until the reader asks; the attribute is
		// the reason they show.
		fmt.Fprintf(&h, `<p><em>%s</em></p><span data-mx-spoiler="%s">%s</span>`,
			html.EscapeString(m.l.T("post.content_warning", a.ContentWarning)), html.EscapeString(a.ContentWarning), inner.String())
	} else {
		h.WriteString(inner.String())
	}
	if len(a.Tags) > 0 {
		tags := make([]string, len(a.Tags))
		for i, t := range a.Tags {
			tags[i] = "#" + t
		}
		fmt.Fprintf(&text, "\n%s\n", strings.Join(tags, " "))
		fmt.Fprintf(&h, "<p>%s</p>", html.EscapeString(strings.Join(tags, " ")))
	}
	fmt.Fprintf(&text, "\n%s", m.link)
	fmt.Fprintf(&h, `<p><a href="%s">%s</a></p>`, html.EscapeString(m.link), html.EscapeString(m.link))
	return &event.MessageEventContent{
		MsgType:       m.msgtype,
		Body:          neutralise(text.String()),
		Format:        event.FormatHTML,
		FormattedBody: neutraliseHTML(h.String()),
		Mentions:      &event.Mentions{},
	}
}

// edit wraps content as a replacement of original. The fallback, shown by
// clients without edit support, is the heading and the link only: it keeps
// an edit small whatever the text's length.
func (m message) edit(content *event.MessageEventContent, original id.EventID) *event.MessageEventContent {
	return &event.MessageEventContent{
		MsgType:       content.MsgType,
		Body:          neutralise("* " + m.heading() + "\n" + m.link),
		Format:        event.FormatHTML,
		FormattedBody: neutraliseHTML(fmt.Sprintf(`<p>* <strong>%s</strong></p><p><a href="%s">%s</a></p>`, html.EscapeString(m.heading()), html.EscapeString(m.link), html.EscapeString(m.link))),
		Mentions:      &event.Mentions{},
		NewContent:    content,
		RelatesTo:     (&event.RelatesTo{}).SetReplace(original),
	}
}

// Render makes the room message for an announcement (an edit of original
// when it is set), cut with a "read more" link when the whole text would
// make the event larger than homeservers accept: at a paragraph, else a
// sentence, a word, a character (cut.Prefix), and at says where. toHTML
// renders the kept Markdown (board.Renderer.HTML).
func Render(l locale.Locale, a board.Announcement, link string, msgtype event.MessageType, original id.EventID, toHTML func(string) (string, error)) (content *event.MessageEventContent, at cut.Point, err error) {
	build := func(m message) *event.MessageEventContent {
		c := m.content()
		if original != "" {
			c = m.edit(c, original)
		}
		return c
	}
	fits := func(c *event.MessageEventContent) bool {
		// Measured as the homeserver will: without Go's escaping of < > &.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		return enc.Encode(c) == nil && buf.Len() <= maxContentBytes
	}
	whole := message{l: l, a: a, link: link, msgtype: msgtype, body: a.Body, bodyHTML: a.HTML}
	if c := build(whole); fits(c) {
		return c, cut.Whole, nil
	}
	var renderErr error
	try := func(md string) (*event.MessageEventContent, bool) {
		h, err := toHTML(md)
		if err != nil {
			renderErr = err
			return nil, false
		}
		c := build(message{l: l, a: a, link: link, msgtype: msgtype, body: md, bodyHTML: h, cut: true})
		return c, fits(c)
	}
	md, at := cut.Prefix(strings.ReplaceAll(a.Body, "\r\n", "\n"), func(md string) bool {
		_, ok := try(mark(md, cut.Word))
		return ok
	})
	if renderErr != nil {
		return nil, at, renderErr
	}
	c, ok := try(mark(md, at))
	if !ok {
		return c, at, fmt.Errorf("announcement %d does not fit in a Matrix event even without its text", a.ID)
	}
	return c, at, nil
}

// mark ends a text cut within a paragraph with an ellipsis, so the reader
// sees it stops short.
func mark(md string, at cut.Point) string {
	if at >= cut.Sentence && md != "" {
		return md + " …"
	}
	return md
}
