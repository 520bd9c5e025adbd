package markdown

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// The destinations that read an editor's Markdown as Markdown
// (Mattermost) or show it as text (an e-mail's text part, a Matrix body)
// get it through SafeSource, so that they follow the rules the HTML
// rendering follows (New's policy): links only to absolute http, https
// and mailto addresses, a picture as a link with its description, and
// nothing that Slack-style receivers read as a mention.
var (
	// [text](url "title") and ![alt](url): CommonMark's inline forms
	// (one level of brackets, which is what editors write).
	inlineRe = regexp.MustCompile(`(!?)\[((?:\\.|[^\]\\\n])*)\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?\s*\)`)
	// <scheme:...>, CommonMark's autolink.
	autoRe = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>`)
	// [label]: url, a link reference definition.
	refDefRe = regexp.MustCompile(`(?m)^ {0,3}\[((?:\\.|[^\]\\])+)\]:[ \t]*(?:\n[ \t]*)?(<[^>\n]*>|\S+)[^\n]*$`)
	// <!channel>, <!here>, <!everyone>, <@U123>, <#C123>: Slack's markup,
	// which Mattermost's incoming webhooks expand too (ProcessSlackText
	// in server/channels/app/slack.go).
	slackRe = regexp.MustCompile(`<([!@#])`)
)

const wordJoiner = "\u2060"

// SafeURL says whether u is a link the HTML rendering keeps: absolute,
// and http, https or mailto.
func SafeURL(u string) bool {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return false
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		return p.Host != ""
	case "mailto":
		return p.Opaque != ""
	}
	return false
}

// addressRe finds the web and mail addresses in a text, where an "@" is
// part of the address, not a mention.
var addressRe = regexp.MustCompile(`(?i)\b(?:https?|mailto):[^\s<>()]+`)

// DefuseMentions breaks the mentions mention finds outside web and mail
// addresses with a word joiner after the "@" (mention's first group is
// what precedes the "@", its second the name), so a destination whose
// users are named by "@name" notifies nobody by accident. Each
// destination says what its names look like.
func DefuseMentions(s string, mention *regexp.Regexp) string {
	var b strings.Builder
	for len(s) > 0 {
		loc := addressRe.FindStringIndex(s)
		if loc == nil {
			b.WriteString(mention.ReplaceAllString(s, "${1}@"+wordJoiner+"${2}"))
			break
		}
		b.WriteString(mention.ReplaceAllString(s[:loc[0]], "${1}@"+wordJoiner+"${2}"))
		b.WriteString(s[loc[0]:loc[1]])
		s = s[loc[1]:]
	}
	return b.String()
}

// DefuseSlack keeps Slack's <!…>, <@…> and <#…> as the text they look
// like: a word joiner after the "<" is invisible and ends the markup.
func DefuseSlack(s string) string { return slackRe.ReplaceAllString(s, "<"+wordJoiner+"$1") }

// SafeSource is md with the HTML rendering's rules applied to its source:
// a link elsewhere than http(s) or mailto keeps its words only, a picture
// becomes a link with its description (or its description alone), an
// autolink or a reference to another scheme goes, and Slack's markup is
// defused. What it leaves is the editor's Markdown otherwise unchanged.
func SafeSource(md string) string {
	// What one pass leaves can make new links ("![![a](b)](c)" leaves
	// "[a](c)"); each pass only removes, so passes end.
	for {
		next := safePass(md)
		if next == md {
			break
		}
		md = next
	}
	// A text the passes misread (CommonMark's link syntax has more forms
	// than they follow) is checked as a Markdown reader reads it; if it
	// still holds a picture or a link elsewhere, its link syntax is
	// escaped: the words stay, no link is made of them.
	if Unsafe(md) != "" {
		md = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, "<", `\<`, "!", `\!`).Replace(md)
	}
	return DefuseSlack(md)
}

// Unsafe names what a Markdown reader (CommonMark with autolinks, as
// Mattermost's) would make of md that the HTML rendering does not: a
// picture, or a link elsewhere than http(s) or mailto. Empty: nothing.
func Unsafe(md string) string {
	doc := goldmark.New(goldmark.WithExtensions(extension.Linkify)).Parser().Parse(text.NewReader([]byte(md)))
	found := ""
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || found != "" {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Image:
			found = "a picture from " + string(n.Destination)
		case *ast.Link:
			if !SafeURL(string(n.Destination)) {
				found = "a link to " + string(n.Destination)
			}
		case *ast.AutoLink:
			// Linkify's www. and ftp:// links are text anywhere, and harmless.
			u := strings.ToLower(string(n.URL([]byte(md))))
			if n.AutoLinkType == ast.AutoLinkURL && !SafeURL(u) && !SafeURL("http://"+u) && !strings.HasPrefix(u, "ftp://") {
				found = "an autolink to " + u
			}
		}
		return ast.WalkContinue, nil
	})
	return found
}

func safePass(md string) string {
	md = refDefRe.ReplaceAllStringFunc(md, func(def string) string {
		if SafeURL(strings.Trim(refDefRe.FindStringSubmatch(def)[2], "<>")) {
			return def
		}
		return ""
	})
	md = inlineRe.ReplaceAllStringFunc(md, func(link string) string {
		m := inlineRe.FindStringSubmatch(link)
		image, text, dest := m[1] == "!", m[2], strings.Trim(m[3], "<>")
		switch {
		case !SafeURL(dest):
			return text
		case image && strings.TrimSpace(text) == "":
			return dest
		case image:
			return "[" + text + "](" + m[3] + ")"
		}
		return link
	})
	// What is left of a picture (![alt][ref], ![ref]) becomes a link.
	md = strings.ReplaceAll(md, "![", "[")
	md = autoRe.ReplaceAllStringFunc(md, func(auto string) string {
		if SafeURL(auto[1 : len(auto)-1]) {
			return auto
		}
		return ""
	})
	return md
}

// Absolute resolves md's relative link and picture destinations ("/boards/
// news", "page.html") against base, an absolute URL, leaving the rest as
// written. A link to a part of the same page ("#top") is left to the
// HTML rendering's rules.
func Absolute(md, base string) string {
	b, err := url.Parse(base)
	if err != nil || !b.IsAbs() {
		return md
	}
	resolve := func(s string, loc []int) string {
		dest := strings.TrimSpace(strings.Trim(s[loc[0]:loc[1]], "<>"))
		u, err := url.Parse(dest)
		if dest == "" || strings.HasPrefix(dest, "#") || err != nil || u.Scheme != "" {
			return s
		}
		if mailRe.MatchString(dest) {
			// "[write to us](contact@asso.example)": an address typed
			// without mailto:, not a page of the board.
			return s[:loc[0]] + "mailto:" + dest + s[loc[1]:]
		}
		if siteAddress(dest) {
			// "[our site](www.asso.example)": a site typed without its
			// scheme, which readers would otherwise follow to a page of
			// the board that does not exist.
			return s[:loc[0]] + "https://" + dest + s[loc[1]:]
		}
		return s[:loc[0]] + b.ResolveReference(u).String() + s[loc[1]:]
	}
	md = inlineRe.ReplaceAllStringFunc(md, func(link string) string {
		m := inlineRe.FindStringSubmatch(link)
		if dest := strings.Trim(m[3], "<>"); m[1] == "" && strings.HasPrefix(strings.ToLower(dest), "tel:") {
			// A phone link is no link anywhere Crieur writes (pages, rooms
			// and Mastodon take http, https and mailto): its words alone
			// lost the number. The number is written out instead.
			number := dest[len("tel:"):]
			if strings.Contains(strings.ReplaceAll(m[2], " ", ""), strings.ReplaceAll(number, " ", "")) {
				return m[2]
			}
			return m[2] + " (" + number + ")"
		}
		return resolve(link, inlineRe.FindStringSubmatchIndex(link)[6:8])
	})
	return refDefRe.ReplaceAllStringFunc(md, func(def string) string {
		return resolve(def, refDefRe.FindStringSubmatchIndex(def)[4:6])
	})
}

var mailRe = regexp.MustCompile(`^[^@\s/:?#]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+$`)

var hostRe = regexp.MustCompile(`^(?i)[a-z0-9-]+(\.[a-z0-9-]+)*\.([a-z]{2,63})$`)

// siteAddress reports whether a link's destination without a scheme is a
// site's address (www.asso.example, asso.example/agenda) rather than a
// path: its first part is a host name whose last label is not a file's
// extension (page.html is a path).
func siteAddress(dest string) bool {
	host, _, _ := strings.Cut(dest, "/")
	host, _, _ = strings.Cut(host, "?")
	m := hostRe.FindStringSubmatch(host)
	if m == nil {
		return false
	}
	if strings.HasPrefix(strings.ToLower(host), "www.") {
		return true
	}
	switch strings.ToLower(m[2]) {
	case "html", "htm", "php", "asp", "aspx", "pdf", "png", "jpg", "jpeg", "gif", "webp", "svg", "txt", "ics", "atom", "xml", "json", "csv", "md":
		return false
	}
	return true
}
