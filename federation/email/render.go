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
func Render(b board.Board, a board.Announcement, link string, followUp bool, changes []string) (text, htmlPart string) {
	l := locale.Of(b, a)
	var t, h strings.Builder
	onBoard := func() string {
		return fmt.Sprintf(`<a href="%s">%s</a>`, html.EscapeString(link), html.EscapeString(l.T("post.read_on_board")))
	}
	if followUp {
		// One line, what changed as it now reads, and the link.
		line := "post.is_" + board.FollowUpOf(a, changes)
		fmt.Fprintf(&t, "%s\n\n", l.T(line, a.Title))
		fmt.Fprintf(&h, `<p>%s</p>`, l.T(line, "<strong>"+html.EscapeString(a.Title)+"</strong>"))
		if facts := l.ChangedFacts(a, changes); len(facts) > 0 {
			t.WriteString(l.FactsText(facts) + "\n")
			h.WriteString(l.FactsHTML(facts))
		}
		fmt.Fprintf(&t, "%s\n", link)
		fmt.Fprintf(&h, `<p>%s</p>`, onBoard())
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
