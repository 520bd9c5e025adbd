package mattermost

import (
	"fmt"
	"regexp"
	"strings"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
)

// maxText keeps a message within what both Mattermost (16,383
// characters a post) and Slack (4,000 shown in full) display whole.
const maxText = 4000

var (
	// mentionRe finds what pings people in Mattermost and Slack: @channel,
	// @all, @here, and @username at the start of a word.
	mentionRe = regexp.MustCompile(`(?i)(^|[^\pL\pN_.@])@([a-z0-9][a-z0-9._-]*)`)
	urlRe     = regexp.MustCompile(`(?i)\b(?:https?|mailto):[^\s<>()]+`)
)

// neutralise breaks mentions outside URLs with a word joiner: the bot
// speaks for the association and must not ping a channel by accident.
func neutralise(s string) string {
	// Slack's forms: the incoming webhook handler passes the text through
	// ProcessSlackText (server/channels/app/slack.go), whose
	// expandAnnouncement turns <!channel>, <!here> and <!all> into
	// @channel, @here and @all, and replaceUserIds <@id> into a mention.
	s = markdown.DefuseSlack(s)
	var b strings.Builder
	for len(s) > 0 {
		loc := urlRe.FindStringIndex(s)
		if loc == nil {
			b.WriteString(mentionRe.ReplaceAllString(s, "${1}@\u2060${2}"))
			break
		}
		b.WriteString(mentionRe.ReplaceAllString(s[:loc[0]], "${1}@\u2060${2}"))
		b.WriteString(s[loc[0]:loc[1]])
		s = s[loc[1]:]
	}
	return b.String()
}

// escape keeps a title or a fact from being read as Markdown.
func escape(s string) string {
	return neutralise(markdown.Escape(s))
}

// Render is the message a channel shows, in Mattermost's Markdown: the
// kind and title as a heading, the facts, the text (the editor wrote
// Markdown), the hashtags and the link. A follow-up is one line and the
// link.
func Render(l locale.Locale, a board.Announcement, link string, followUp bool) string {
	switch {
	case followUp && a.Cancelled():
		return fmt.Sprintf("**%s** %s %s", l.T("post.cancelled", escape(a.Title)), l.Colon("("+escape(l.KindLabel(a))+")"), link)
	case followUp && a.BackOn():
		return fmt.Sprintf("**%s** %s %s", l.T("post.back_on", escape(a.Title)), l.Colon("("+escape(l.KindLabel(a))+")"), link)
	case followUp:
		return fmt.Sprintf("**%s** %s %s", l.T("post.updated", escape(a.Title)), l.Colon("("+escape(l.KindLabel(a))+")"), link)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s\n", l.T("post.heading", escape(l.KindLabel(a)), escape(a.Title)))
	if a.ContentWarning != "" {
		// Mattermost has no spoilers: the warning comes first, and the
		// text is left on the board's page.
		fmt.Fprintf(&b, "\n**%s** — %s %s\n", l.T("post.content_warning", escape(a.ContentWarning)), l.Colon(strings.ToLower(l.T("post.read_on_board"))), link)
		return b.String()
	}
	if facts := l.Facts(a); len(facts) > 0 {
		b.WriteString("\n")
		for _, f := range facts {
			v := escape(f.Value)
			if f.Link != "" {
				v = fmt.Sprintf("[%s](%s)", v, f.Link)
			}
			fmt.Fprintf(&b, "- **%s** %s\n", l.Colon(escape(f.Label)), v)
		}
	}
	tail := "\n"
	if len(a.Tags) > 0 {
		tags := make([]string, len(a.Tags))
		for i, t := range a.Tags {
			tags[i] = "#" + t
		}
		tail += strings.Join(tags, " ") + "\n"
	}
	tail += "\n" + link
	if body := strings.TrimSpace(neutralise(markdown.SafeSource(a.Body))); body != "" {
		room := maxText - b.Len() - len(tail) - 40
		if len(body) > room {
			cut := strings.LastIndex(body[:max(room, 0)], "\n\n")
			if cut <= 0 {
				cut = strings.LastIndexByte(body[:max(room, 0)], ' ')
			}
			body = strings.TrimSpace(body[:max(cut, 0)]) + "\n\n… " + l.T("post.read_more_on_board")
		}
		b.WriteString("\n" + body + "\n")
	}
	for _, im := range a.Images {
		if im.Alt != "" {
			fmt.Fprintf(&b, "\n_%s_\n", l.T("post.picture", escape(im.Alt)))
		}
	}
	b.WriteString(tail)
	return b.String()
}
