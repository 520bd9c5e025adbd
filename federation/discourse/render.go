package discourse

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

// The default site settings a topic must meet (the posting section of
// config/site_settings.yml): a title of 15 to 255 characters
// (min_topic_title_length, max_topic_title_length, counted by
// TopicTitleLengthValidator), a first post of at least 20 characters
// (min_first_post_length), a reply of at least 20 (min_post_length), any
// post at most 32,000 (max_post_length). A forum can change them; its own
// refusal then says so.
const (
	MinTitle     = 15
	MaxTitle     = 255
	MinFirstPost = 20
	MinPost      = 20
	MaxPost      = 32_000
	// maxTags is max_tags_per_topic, maxTagLength max_tag_length (5 and
	// 20 by default, config/site_settings.yml, tags section).
	maxTags      = 5
	maxTagLength = 20
)

var (
	// mentionRe finds what notifies people in Discourse: @username and
	// @group at the start of a word, and @here (here_mention); a post
	// with more than max_mentions_per_post (10) is even refused.
	mentionRe = regexp.MustCompile(`(?i)(^|[^\pL\pN_.@])@([\pL\pN_][\pL\pN._-]*)`)
	tagRe     = regexp.MustCompile(`[^\pL\pN_-]+`)
)

// neutralise breaks mentions outside URLs with a word joiner: the forum
// user speaks for the association and must not notify people by accident.
func neutralise(s string) string {
	return markdown.DefuseMentions(s, mentionRe)
}

func escape(s string) string { return neutralise(markdown.Escape(s)) }

// Title is the topic's title. A title of Crieur is often shorter than a
// forum accepts ("Cooks wanted" has 12 characters, the default minimum is
// 15): rather than refuse a normal announcement, a short title is
// followed by its kind label ("Cooks wanted — Call for volunteers"), then,
// if still short, by the board's name, which say nothing false and what a
// forum reader wants to know anyway. A title longer than the maximum is
// cut at a word and ends with "…". A title is plain text on Discourse:
// it is not escaped.
func Title(l locale.Locale, a board.Announcement, boardName string) string {
	return TitleWith(l, a, boardName, "")
}

// TitleWith is Title ending with suffix (kept whole when the title is
// cut).
func TitleWith(l locale.Locale, a board.Announcement, boardName, suffix string) string {
	title := strings.Join(strings.Fields(a.Title), " ")
	for _, more := range []string{l.KindLabel(a), boardName, "Crieur"} {
		if utf8.RuneCountInString(title) >= MinTitle {
			break
		}
		if more != "" {
			title += " — " + more
		}
	}
	if max := MaxTitle - utf8.RuneCountInString(suffix); utf8.RuneCountInString(title) > max {
		pieces, _ := cut.Split(title, cut.Runes(max-1))
		title = strings.TrimSpace(pieces[0]) + "…"
	}
	return title + suffix
}

// DateSuffix tells apart two topics of the same title (a board's monthly
// meeting): the forum refuses a title already used
// (allow_duplicate_topic_titles is off by default), so the second gets the
// date of its event, else of its announcement.
func DateSuffix(l locale.Locale, a board.Announcement) string {
	at := a.CreatedAt
	if a.Event != nil {
		at = a.Event.Start
	}
	day, month := l.DayMonth(at)
	// Stamp is the board's "2006-01-02 15:04": its year is the board's.
	return fmt.Sprintf(" — %s %s %s", day, month, l.Stamp(at)[:4])
}

// Body is the topic's first post, in Discourse's Markdown: the kind, the
// facts, the whole text (the editor wrote Markdown) and the link to the
// announcement's page. A text longer than a post is cut at a paragraph
// (or sentence, word) and the link says where to read the rest.
func Body(l locale.Locale, a board.Announcement, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*\n", escape(l.KindLabel(a)))
	readOn := fmt.Sprintf("[%s](%s)", l.T("post.read_on_board"), link)
	if a.ContentWarning != "" {
		// The text stays on the board's page, behind its warning, as in
		// every channel that cannot hide it.
		fmt.Fprintf(&b, "\n**%s**\n\n%s\n", l.T("post.content_warning", escape(a.ContentWarning)), readOn)
		return b.String()
	}
	if facts := l.Facts(a); len(facts) > 0 {
		b.WriteString("\n")
		for _, f := range facts {
			b.WriteString(factLine(l, f) + "\n")
		}
	}
	tail := "\n" + readOn + "\n"
	var rest strings.Builder
	if body := strings.TrimSpace(neutralise(markdown.SafeSource(a.Body))); body != "" {
		rest.WriteString("\n" + body + "\n")
	}
	for _, im := range a.Images {
		if im.Alt != "" {
			fmt.Fprintf(&rest, "\n_%s_\n", l.T("post.picture", escape(im.Alt)))
		}
	}
	room := MaxPost - utf8.RuneCountInString(b.String()) - utf8.RuneCountInString(tail) - 8
	if text := rest.String(); utf8.RuneCountInString(text) > room {
		pieces, _ := cut.Split(text, cut.Runes(room))
		rest.Reset()
		rest.WriteString(strings.TrimRight(pieces[0], "\n") + " …\n")
	}
	return b.String() + rest.String() + tail
}

// FollowUp is the reply an edit sends when the board asks for one: what
// it announces (updated, cancelled, back on, resolved), the facts that
// changed, the link.
func FollowUp(l locale.Locale, a board.Announcement, link string, changes []string) string {
	line := fmt.Sprintf("**%s** %s\n", l.T("post."+board.FollowUpOf(a, changes), escape(a.Title)), l.Colon("("+escape(l.KindLabel(a))+")"))
	for _, f := range l.ChangedFacts(a, changes) {
		line += "\n" + factLine(l, f)
	}
	return line + "\n\n" + link + "\n"
}

// Tags are the announcement's tags as Discourse keeps them
// (DiscourseTagging.clean_tag: lower case with force_lowercase_tags, no
// spaces or punctuation, at most max_tag_length characters), at most
// max_tags_per_topic of them.
func Tags(a board.Announcement) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range a.Tags {
		t = strings.Trim(tagRe.ReplaceAllString(strings.ToLower(t), "-"), "-")
		if r := []rune(t); len(r) > maxTagLength {
			t = string(r[:maxTagLength])
		}
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
		if len(out) == maxTags {
			break
		}
	}
	return out
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
