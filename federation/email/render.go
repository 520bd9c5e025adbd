package email

import (
	"fmt"
	"html"
	"strings"

	"crieur/board"
	"crieur/board/locale"
)

// Render is the message's two parts: plain text for every mail client,
// HTML for those that show it. Both carry the title, the kind's facts,
// the text, the pictures' descriptions and the link; a follow-up is a
// line and the link.
func Render(b board.Board, a board.Announcement, link string, followUp bool) (text, htmlPart string) {
	var t, h strings.Builder
	if followUp && a.Cancelled() {
		fmt.Fprintf(&t, "%s is cancelled: it will not take place.\n\n%s\n", a.Title, link)
		fmt.Fprintf(&h, `<p><strong>%s</strong> is cancelled: it will not take place.</p><p><a href="%s">Read it on the board</a></p>`, html.EscapeString(a.Title), html.EscapeString(link))
		return footer(&t, &h, b)
	}
	if followUp {
		fmt.Fprintf(&t, "%s was updated: %s\n\n%s\n", a.Title, locale.English.KindLabel(a), link)
		fmt.Fprintf(&h, `<p><strong>%s</strong> was updated.</p><p><a href="%s">Read it on the board</a></p>`, html.EscapeString(a.Title), html.EscapeString(link))
		return footer(&t, &h, b)
	}
	fmt.Fprintf(&t, "%s: %s\n\n", locale.English.KindLabel(a), a.Title)
	fmt.Fprintf(&h, "<h2>%s: %s</h2>\n", html.EscapeString(locale.English.KindLabel(a)), html.EscapeString(a.Title))
	if a.ContentWarning != "" {
		fmt.Fprintf(&t, "Content warning: %s. Read it on the board:\n%s\n", a.ContentWarning, link)
		fmt.Fprintf(&h, `<p><strong>Content warning: %s.</strong> <a href="%s">Read it on the board</a></p>`, html.EscapeString(a.ContentWarning), html.EscapeString(link))
		return footer(&t, &h, b)
	}
	if facts := locale.English.Facts(a); len(facts) > 0 {
		t.WriteString(locale.FactsText(facts) + "\n")
		h.WriteString(locale.FactsHTML(facts) + "\n")
	}
	if a.Body != "" {
		t.WriteString(a.Body + "\n\n") // Markdown reads as plain text
		h.WriteString(a.HTML + "\n")   // sanitised by board.Renderer
	}
	for _, im := range a.Images {
		if im.Alt != "" {
			fmt.Fprintf(&t, "[Picture: %s]\n", im.Alt)
			fmt.Fprintf(&h, "<p><em>Picture: %s</em></p>", html.EscapeString(im.Alt))
		}
	}
	fmt.Fprintf(&t, "Read it on the board: %s\n", link)
	fmt.Fprintf(&h, `<p><a href="%s">Read it on the board</a></p>`, html.EscapeString(link))
	return footer(&t, &h, b)
}

func footer(t, h *strings.Builder, b board.Board) (string, string) {
	fmt.Fprintf(t, "\n-- \n%s, published with Crieur\n", b.DisplayName)
	fmt.Fprintf(h, "<hr><p><small>%s, published with Crieur</small></p>", html.EscapeString(b.DisplayName))
	return t.String(), "<!doctype html><html><body>" + h.String() + "</body></html>"
}
