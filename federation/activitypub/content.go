package activitypub

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// mastodonElements are the elements Mastodon keeps in a remote post
// (lib/sanitize_ext/sanitize_config.rb, MASTODON_STRICT); anything else
// is dropped with only its text kept, so that a table arrives as one
// run-on paragraph and a heading as a bold one (or as nothing on servers
// with a stricter list).
var mastodonElements = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.Span: true, atom.A: true, atom.Del: true, atom.S: true, atom.Pre: true,
	atom.Blockquote: true, atom.Code: true, atom.B: true, atom.Strong: true, atom.U: true, atom.I: true, atom.Em: true,
	atom.Ul: true, atom.Ol: true, atom.Li: true,
}

// hashtagRe finds a hashtag as Mastodon does (app/models/tag.rb,
// HASHTAG_RE): after the start or a space, "#" or "＃", then word
// characters and the separators _ · ・ ZWNJ; the name needs a letter
// (HASHTAG_LAST_SEQUENCE: "#2026" is no tag) and ends on a word character.
var hashtagRe = regexp.MustCompile(`(^|\s)[#＃]([\p{L}\p{M}\p{N}_·・\x{200c}]+)`)

// hashtagName is the tag a match names, or "" when Mastodon would not
// make it one.
func hashtagName(raw string) string {
	name := strings.TrimRight(raw, "·・\u200c")
	if !strings.ContainsFunc(name, unicode.IsLetter) {
		return ""
	}
	return name
}

// fediverseHTML rewrites an announcement's stored HTML into what every
// server keeps: headings become bold paragraphs (what Mastodon makes of
// them, done here so stricter servers keep them too), a table becomes one
// line per row, a rule disappears, any other element outside Mastodon's
// list leaves its text; hashtags typed in the text become links to the
// board's tag page, as Mastodon writes its own (class "mention hashtag",
// rel "tag"). It returns the hashtags it linked.
func fediverseHTML(src string, tagURL func(string) string) (string, []string) {
	nodes, err := html.ParseFragment(strings.NewReader(src), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return src, nil // stored HTML was sanitised; parsing it does not fail
	}
	w := &fediWriter{tagURL: tagURL, seen: map[string]bool{}}
	for _, n := range nodes {
		w.node(n, false)
	}
	return w.b.String(), w.tags
}

type fediWriter struct {
	b      strings.Builder
	tagURL func(string) string
	tags   []string
	seen   map[string]bool
}

func (w *fediWriter) node(n *html.Node, inLink bool) {
	switch n.Type {
	case html.TextNode:
		if inLink {
			w.b.WriteString(html.EscapeString(n.Data))
			return
		}
		w.text(n.Data)
		return
	case html.ElementNode:
	default:
		return
	}
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.b.WriteString("<p><strong>")
		w.children(n, inLink)
		w.b.WriteString("</strong></p>")
		return
	case atom.Hr:
		return
	case atom.Table:
		w.table(n)
		return
	}
	if !mastodonElements[n.DataAtom] {
		w.children(n, inLink)
		return
	}
	w.b.WriteString("<" + n.Data)
	for _, at := range n.Attr {
		w.b.WriteString(" " + at.Key + `="` + html.EscapeString(at.Val) + `"`)
	}
	w.b.WriteString(">")
	if n.DataAtom == atom.Br {
		return
	}
	w.children(n, inLink || n.DataAtom == atom.A || n.DataAtom == atom.Code || n.DataAtom == atom.Pre)
	w.b.WriteString("</" + n.Data + ">")
	if n.DataAtom == atom.A {
		w.addressOf(n)
	}
}

// addressOf writes a mailto: link's address after it when its words do not
// say it: Mastodon keeps only a link's words when its scheme is not one of
// LINK_PROTOCOLS (lib/sanitize_ext/sanitize_config.rb,
// UNSUPPORTED_HREF_TRANSFORMER), and "Write to us" alone leaves the reader
// with no address.
func (w *fediWriter) addressOf(a *html.Node) {
	for _, at := range a.Attr {
		if at.Key != "href" || !strings.HasPrefix(strings.ToLower(at.Val), "mailto:") {
			continue
		}
		addr, _, _ := strings.Cut(at.Val[len("mailto:"):], "?")
		if addr == "" || strings.Contains(textOf(a), addr) {
			return
		}
		w.b.WriteString(" (" + html.EscapeString(addr) + ")")
	}
}

// textOf is the words a node shows.
func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

func (w *fediWriter) children(n *html.Node, inLink bool) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c, inLink)
	}
}

// table writes one line per row, its cells joined by " · ", the heading
// row in bold.
func (w *fediWriter) table(t *html.Node) {
	var rows []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.DataAtom == atom.Tr {
				rows = append(rows, c)
			} else if c.Type == html.ElementNode {
				walk(c)
			}
		}
	}
	walk(t)
	w.b.WriteString("<p>")
	for i, tr := range rows {
		if i > 0 {
			w.b.WriteString("<br>")
		}
		head := false
		first := true
		for c := tr.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || (c.DataAtom != atom.Td && c.DataAtom != atom.Th) {
				continue
			}
			if !first {
				w.b.WriteString(" · ")
			}
			first = false
			head = c.DataAtom == atom.Th
			if head {
				w.b.WriteString("<strong>")
			}
			w.children(c, false)
			if head {
				w.b.WriteString("</strong>")
			}
		}
	}
	w.b.WriteString("</p>")
}

// text writes a text node with its hashtags linked.
func (w *fediWriter) text(s string) {
	last := 0
	for _, m := range hashtagRe.FindAllStringSubmatchIndex(s, -1) {
		raw := s[m[4]:m[5]]
		name := hashtagName(raw)
		if name == "" {
			continue
		}
		w.b.WriteString(html.EscapeString(s[last:m[3]])) // up to the "#"
		w.b.WriteString(`<a href="` + html.EscapeString(w.tagURL(name)) + `" class="mention hashtag" rel="tag">#<span>` + html.EscapeString(name) + `</span></a>`)
		last = m[4] + len(name)
		if !w.seen[strings.ToLower(name)] {
			w.seen[strings.ToLower(name)] = true
			w.tags = append(w.tags, name)
		}
	}
	w.b.WriteString(html.EscapeString(s[last:]))
}
