// Package markdown turns what editors write into the HTML Crieur stores and
// every destination shows, and escapes plain text (a title, a fact) for
// Markdown renderers (Crieur's own, Mattermost's).
//
// It knows Markdown and HTML sanitising only: nothing of boards, stores or
// HTTP.
package markdown

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Escape keeps a plain text (a fact, a title) as written when it goes
// through a Markdown renderer, Crieur's own or Mattermost's: no emphasis,
// link, heading, table or raw HTML made of its characters.
func Escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "#", `\#`, "~", `\~`, "|", `\|`, "<", `\<`, ">", `\>`).Replace(s)
}

// Renderer turns an editor's Markdown into HTML safe to store and show.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer builds the Markdown pipeline. Raw HTML in Markdown is escaped
// by goldmark; bluemonday then keeps only the tags Mastodon and Matrix
// clients display, so what is stored is safe wherever it is shown.
func New() *Renderer {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "strong", "em", "b", "i", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
		// Tables (GitHub's Markdown): Matrix clients, mail readers and pages
		// show them; ActivityPub gets them as lines (Mastodon drops the tags).
		"table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]+$`)).OnElements("ol")
	return &Renderer{
		md: goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Strikethrough, extension.Table),
			goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(imageAsLink{}, 100)))),
		policy: p,
	}
}

// imageAsLink renders ![description](url) as a link with the description
// as its text. No destination shows pictures from inside a text (they
// would load from anywhere, without size or blurhash), and dropping the
// tag would drop the words with it; the editor is told (InlineImages).
type imageAsLink struct{}

func (imageAsLink) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindImage, func(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkSkipChildren, nil
		}
		img := n.(*ast.Image)
		text := strings.TrimSpace(nodeText(img, source))
		if text == "" {
			text = string(img.Destination)
		}
		_, _ = w.WriteString(`<a href="` + string(util.EscapeHTML(util.URLEscape(img.Destination, true))) + `">` + string(util.EscapeHTML([]byte(text))) + `</a>`)
		return ast.WalkSkipChildren, nil
	})
}

// nodeText is the words inside a node (an image's description).
func nodeText(n ast.Node, source []byte) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(source))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		default:
			b.WriteString(nodeText(c, source))
		}
	}
	return b.String()
}

// Absolute resolves relative links against base (the package's Absolute).
func (r *Renderer) Absolute(markdown, base string) string { return Absolute(markdown, base) }

// InlineImages counts the pictures written into a Markdown text.
func (r *Renderer) InlineImages(markdown string) int {
	doc := r.md.Parser().Parse(text.NewReader([]byte(markdown)))
	n := 0
	_ = ast.Walk(doc, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && node.Kind() == ast.KindImage {
			n++
		}
		return ast.WalkContinue, nil
	})
	return n
}

// HTML renders markdown to sanitised HTML.
func (r *Renderer) HTML(markdown string) (string, error) {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(markdown), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return strings.TrimSpace(r.policy.Sanitize(buf.String())), nil
}
