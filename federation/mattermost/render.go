package mattermost

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"crieur/board"
	"crieur/board/cut"
	"crieur/board/locale"
	"crieur/board/markdown"
)

// maxRunes is what Mattermost takes in one post: PostMessageMaxRunesV2,
// 16,383 characters (server/public/model/post.go). A longer webhook text
// would be split by the server itself at that count, in the middle of a
// word (splitWebhookPost in server/channels/app/webhook.go); Crieur
// splits before, where a reader expects it.
const maxRunes = 16_383

// partMark is the room each post keeps for its "(2/3)".
const partMark = 16

var (
	// mentionRe finds what pings people in Mattermost and Slack: @channel,
	// @all, @here, and @username at the start of a word.
	mentionRe = regexp.MustCompile(`(?i)(^|[^\pL\pN_.@])@([a-z0-9][a-z0-9._-]*)`)
)

// neutralise breaks mentions outside URLs with a word joiner: the bot
// speaks for the association and must not ping a channel by accident.
func neutralise(s string) string {
	// Slack's forms: the incoming webhook handler passes the text through
	// ProcessSlackText (server/channels/app/slack.go), whose
	// expandAnnouncement turns <!channel>, <!here> and <!all> into
	// @channel, @here and @all, and replaceUserIds <@id> into a mention.
	s = markdown.DefuseSlack(s)
	return markdown.DefuseMentions(s, mentionRe)
}

// escape keeps a title or a fact from being read as Markdown.
func escape(s string) string {
	return neutralise(markdown.Escape(s))
}

// Render is the message a channel shows, in Mattermost's Markdown: the
// kind and title as a heading, the facts, the whole text (the editor
// wrote Markdown), the hashtags and the link; Posts splits it when it is
// longer than a post. A follow-up is one line and the link.
func Render(l locale.Locale, a board.Announcement, link string, followUp bool, changes []string) string {
	if followUp {
		line := fmt.Sprintf("**%s** %s %s", l.T("post."+board.FollowUpOf(a, changes), escape(a.Title)), l.Colon("("+escape(l.KindLabel(a))+")"), link)
		for _, f := range l.ChangedFacts(a, changes) {
			line += "\n" + factLine(l, f)
		}
		return line
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
			b.WriteString(factLine(l, f) + "\n")
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

// Posts is text as the posts a channel gets, in order: one when it fits
// in a Mattermost post, else several, cut at paragraphs (or sentences,
// words, characters: cut.Split), each marked "(1/3)", so that nothing is
// lost and nothing is cut in the middle of a word that need not be.
func Posts(l locale.Locale, text string) []string {
	if utf8.RuneCountInString(text) <= maxRunes {
		return []string{text}
	}
	pieces, _ := cut.Split(text, cut.Runes(maxRunes-partMark))
	for i := range pieces {
		pieces[i] += "\n\n" + l.T("post.part", i+1, len(pieces))
	}
	return pieces
}

// factLine is a fact as a Markdown list item, its value a link when it
// has one.
func factLine(l locale.Locale, f locale.Fact) string {
	v := escape(f.Value)
	if f.Link != "" {
		v = fmt.Sprintf("[%s](%s)", v, f.Link)
	}
	return fmt.Sprintf("- **%s** %s", l.Colon(escape(f.Label)), v)
}
