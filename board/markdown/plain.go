package markdown

import (
	"html"
	"regexp"
	"strings"
)

// plainURLRe finds the web addresses in plain text; what ends a sentence
// after one (a full stop, a closing bracket) is not part of it.
var (
	plainURLRe  = regexp.MustCompile(`https?://[^\s<>"]*[^\s<>".,;:!?)\]'»]`)
	blankLineRe = regexp.MustCompile(`\n\s*\n`)
)

// PlainHTML shows plain text written in a form (a board's summary) as the
// writer sees it: a paragraph at each blank line, a line break at each
// other newline, web addresses as links, everything else escaped. Readers
// that show HTML as they get it (Mastodon's profile, which never makes
// links of a remote account's text) need those made here.
func PlainHTML(s string) string {
	var b strings.Builder
	for _, para := range blankLineRe.Split(strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")), -1) {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(strings.TrimSpace(para), "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			at := 0
			for _, m := range plainURLRe.FindAllStringIndex(line, -1) {
				b.WriteString(html.EscapeString(line[at:m[0]]))
				u := html.EscapeString(line[m[0]:m[1]])
				b.WriteString(`<a href="` + u + `" rel="nofollow noopener">` + u + `</a>`)
				at = m[1]
			}
			b.WriteString(html.EscapeString(line[at:]))
		}
		b.WriteString("</p>")
	}
	return b.String()
}
