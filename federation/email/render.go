package email

import (
	"fmt"
	"html"
	"strings"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
)

// Render is the message's two parts: plain text for every mail client,
// HTML for those that show it. Both carry the title, the kind's facts,
// the text, the pictures' descriptions and the link; a follow-up is a
// line and the link.
func Render(b board.Board, a board.Announcement, link string, followUp bool) (text, htmlPart string) {
	l := locale.Of(b, a)
	var t, h strings.Builder
	onBoard := func() string {
		return fmt.Sprintf(`<a href="%s">%s</a>`, html.EscapeString(link), html.EscapeString(l.T("post.read_on_board")))
	}
	if followUp && a.Cancelled() {
		fmt.Fprintf(&t, "%s\n\n%s\n", l.T("post.is_cancelled", a.Title), link)
		fmt.Fprintf(&h, `<p>%s</p><p>%s</p>`, l.T("post.is_cancelled", "<strong>"+html.EscapeString(a.Title)+"</strong>"), onBoard())
		return footer(l, &t, &h, b)
	}
	if followUp && a.BackOn() {
		fmt.Fprintf(&t, "%s\n\n%s\n", l.T("post.is_back_on", a.Title), link)
		fmt.Fprintf(&h, `<p>%s</p><p>%s</p>`, l.T("post.is_back_on", "<strong>"+html.EscapeString(a.Title)+"</strong>"), onBoard())
		return footer(l, &t, &h, b)
	}
	if followUp {
		fmt.Fprintf(&t, "%s\n\n%s\n", l.T("post.was_updated", a.Title), link)
		fmt.Fprintf(&h, `<p>%s</p><p>%s</p>`, l.T("post.was_updated", "<strong>"+html.EscapeString(a.Title)+"</strong>"), onBoard())
		return footer(l, &t, &h, b)
	}
	fmt.Fprintf(&t, "%s\n\n", l.Heading(a))
	fmt.Fprintf(&h, "<h2>%s</h2>\n", html.EscapeString(l.Heading(a)))
	if a.ContentWarning != "" {
		fmt.Fprintf(&t, "%s. %s\n%s\n", l.T("post.content_warning", a.ContentWarning), l.Colon(l.T("post.read_on_board")), link)
		fmt.Fprintf(&h, `<p><strong>%s.</strong> %s</p>`, html.EscapeString(l.T("post.content_warning", a.ContentWarning)), onBoard())
		return footer(l, &t, &h, b)
	}
	if facts := l.Facts(a); len(facts) > 0 {
		t.WriteString(l.FactsText(facts) + "\n")
		h.WriteString(l.FactsHTML(facts) + "\n")
	}
	if a.Body != "" {
		t.WriteString(markdown.SafeSource(a.Body) + "\n\n") // Markdown reads as plain text
		h.WriteString(a.HTML + "\n")                        // sanitised by board.Renderer
	}
	for _, im := range a.Images {
		if im.Alt != "" {
			fmt.Fprintf(&t, "[%s]\n", l.T("post.picture", im.Alt))
			fmt.Fprintf(&h, "<p><em>%s</em></p>", html.EscapeString(l.T("post.picture", im.Alt)))
		}
	}
	fmt.Fprintf(&t, "%s %s\n", l.Colon(l.T("post.read_on_board")), link)
	fmt.Fprintf(&h, `<p>%s</p>`, onBoard())
	return footer(l, &t, &h, b)
}

func footer(l locale.Locale, t, h *strings.Builder, b board.Board) (string, string) {
	fmt.Fprintf(t, "\n-- \n%s\n", l.T("post.published_with", b.DisplayName))
	fmt.Fprintf(h, "<hr><p><small>%s</small></p>", html.EscapeString(l.T("post.published_with", b.DisplayName)))
	return t.String(), `<!doctype html><html lang="` + l.Lang() + `"><body>` + h.String() + "</body></html>"
}
