package activitypub

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
)

// publicAudience is as:Public, addressed in to: so Mastodon shows posts on
// public timelines.
const publicAudience = "https://www.w3.org/ns/activitystreams#Public"

// jsonLDContext is the context of everything Crieur serves. go-fed emits a
// context per vocabulary it used; a fixed one also defines the Mastodon
// extensions (sensitive, Hashtag, discoverable) that go-fed v1.0.0 lacks.
var jsonLDContext = []any{
	"https://www.w3.org/ns/activitystreams",
	"https://w3id.org/security/v1",
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"sensitive":                 "as:sensitive",
		"Hashtag":                   "as:Hashtag",
		"toot":                      "http://joinmastodon.org/ns#",
		"discoverable":              "toot:discoverable",
		"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
		"indexable":                 "toot:indexable",
		"blurhash":                  "toot:blurhash",
		// A poll's voters, as Mastodon's serializer defines it
		// (app/lib/activitypub/adapter.rb, voters_count): a JSON-LD
		// reader drops a term its context does not name.
		"votersCount": "toot:votersCount",
	},
}

func iri(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		// Every URL here is built by URLs from a validated base.
		panic(fmt.Sprintf("activitypub: bad internal URL %q: %v", s, err))
	}
	return u
}

func idProp(s string) vocab.JSONLDIdProperty {
	p := streams.NewJSONLDIdProperty()
	p.Set(iri(s))
	return p
}

// serialize turns a go-fed value into a JSON object with Crieur's context
// and the extension fields given.
func serialize(t vocab.Type, extra map[string]any) (map[string]any, error) {
	m, err := streams.Serialize(t)
	if err != nil {
		return nil, fmt.Errorf("serialize %s: %w", t.GetTypeName(), err)
	}
	m["@context"] = jsonLDContext
	for k, v := range extra {
		m[k] = v
	}
	return m, nil
}

// Actor is the board as an Organization actor document.
func (s *Server) actor(b board.Board) (map[string]any, error) {
	u := s.urls
	a := streams.NewActivityStreamsOrganization()
	a.SetJSONLDId(idProp(u.BoardURL(b.Name)))
	pu := streams.NewActivityStreamsPreferredUsernameProperty()
	pu.SetXMLSchemaString(b.Name)
	a.SetActivityStreamsPreferredUsername(pu)
	name := streams.NewActivityStreamsNameProperty()
	name.AppendXMLSchemaString(b.DisplayName)
	a.SetActivityStreamsName(name)
	summary := streams.NewActivityStreamsSummaryProperty()
	// Mastodon shows a remote profile's HTML as it comes, and makes no
	// links of its text: lines and addresses are made here.
	sum := markdown.PlainHTML(b.Summary)
	if sum == "" {
		sum = "<p>" + html.EscapeString(locale.OfBoard(b).T("post.actor_summary", b.DisplayName)) + "</p>"
	}
	summary.AppendXMLSchemaString(sum)
	a.SetActivityStreamsSummary(summary)
	inbox := streams.NewActivityStreamsInboxProperty()
	inbox.SetIRI(iri(u.Inbox(b.Name)))
	a.SetActivityStreamsInbox(inbox)
	outbox := streams.NewActivityStreamsOutboxProperty()
	outbox.SetIRI(iri(u.Outbox(b.Name)))
	a.SetActivityStreamsOutbox(outbox)
	followers := streams.NewActivityStreamsFollowersProperty()
	followers.SetIRI(iri(u.Followers(b.Name)))
	a.SetActivityStreamsFollowers(followers)
	urlp := streams.NewActivityStreamsUrlProperty()
	urlp.AppendIRI(iri(u.BoardURL(b.Name)))
	a.SetActivityStreamsUrl(urlp)
	icon := streams.NewActivityStreamsImage()
	iconURL := streams.NewActivityStreamsUrlProperty()
	// Versioned: Mastodon downloads an avatar again only when its address
	// changes (app/models/concerns/remotable.rb), so a new logo needs a
	// new address. board.AvatarSize is what /icon.png serves.
	iconURL.AppendIRI(iri(u.Icon(b.Name) + "?v=" + b.IconVersion(board.AvatarSize)))
	icon.SetActivityStreamsUrl(iconURL)
	mt := streams.NewActivityStreamsMediaTypeProperty()
	mt.Set("image/png")
	icon.SetActivityStreamsMediaType(mt)
	iconProp := streams.NewActivityStreamsIconProperty()
	iconProp.AppendActivityStreamsImage(icon)
	a.SetActivityStreamsIcon(iconProp)

	pk := streams.NewW3IDSecurityV1PublicKey()
	pk.SetJSONLDId(idProp(u.KeyID(b.Name)))
	owner := streams.NewW3IDSecurityV1OwnerProperty()
	owner.Set(iri(u.BoardURL(b.Name)))
	pk.SetW3IDSecurityV1Owner(owner)
	pem := streams.NewW3IDSecurityV1PublicKeyPemProperty()
	pem.Set(b.PublicKeyPEM)
	pk.SetW3IDSecurityV1PublicKeyPem(pem)
	pkProp := streams.NewW3IDSecurityV1PublicKeyProperty()
	if err := pkProp.AppendType(pk); err != nil {
		return nil, err
	}
	a.SetW3IDSecurityV1PublicKey(pkProp)

	return serialize(a, map[string]any{
		"endpoints":                 map[string]any{"sharedInbox": u.SharedInbox()},
		"featured":                  u.Featured(b.Name),
		"published":                 msTime(b.CreatedAt),
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"indexable":                 true,
	})
}

// contentHTML is what Mastodon users read: the title, the kind's facts and
// the body, then the hashtags as links (Mastodon renders only content).
func (s *Server) contentHTML(l locale.Locale, a board.Announcement) string {
	h, _ := s.content(l, a)
	return h
}

// content is the post's HTML as every server keeps it, and the hashtags
// typed in its text (fediverseHTML).
func (s *Server) content(l locale.Locale, a board.Announcement) (string, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "<p><strong>%s</strong></p>", html.EscapeString(a.Title))
	facts := l.Facts(a)
	if a.TakesSignups() {
		facts = l.PollFacts(a) // the counts are the poll's
	}
	page := s.urls.AnnouncementURL(a.Board, a.ID)
	if len(facts) > 0 {
		b.WriteString("<p>")
		for i, f := range facts {
			if i > 0 {
				b.WriteString("<br>")
			}
			fmt.Fprintf(&b, "%s %s", html.EscapeString(l.Colon(f.Label)), factHTML(l, f, page))
		}
		b.WriteString("</p>")
	}
	body, bodyTags := fediverseHTML(a.HTML, func(t string) string { return s.urls.TagURL(a.Board, t) })
	b.WriteString(body)
	var listed []string
	for _, t := range a.Tags {
		if !slices.ContainsFunc(bodyTags, func(x string) bool { return strings.EqualFold(x, t) }) {
			listed = append(listed, t)
		}
	}
	if len(listed) > 0 {
		b.WriteString("<p>")
		for i, t := range listed {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, `<a href="%s" class="mention hashtag" rel="tag">#<span>%s</span></a>`, html.EscapeString(s.urls.TagURL(a.Board, t)), html.EscapeString(t))
		}
		b.WriteString("</p>")
	}
	return b.String(), bodyTags
}

// Preview implements board.Previewer: the post as Mastodon shows it, its
// content under the content warning a reader opens.
func (s *Server) Preview(_ context.Context, b board.Board, a board.Announcement) (board.Preview, bool) {
	return board.Preview{Channel: "editor.channel_fediverse", HTML: s.contentHTML(locale.Of(b, a), a), Warning: a.ContentWarning}, true
}

// factHTML is a fact's value, its link kept when Mastodon keeps it. A
// mailto: or tel: link is not one of Mastodon's protocols
// (sanitize_config.rb, LINK_PROTOCOLS: the link becomes its text), so the
// address stays written out and the page, where it is a link, follows.
func factHTML(l locale.Locale, f locale.Fact, page string) string {
	if f.Link == "" {
		return html.EscapeString(f.Value)
	}
	if !strings.HasPrefix(f.Link, "https://") && !strings.HasPrefix(f.Link, "http://") {
		return html.EscapeString(f.Value) + ` (<a href="` + html.EscapeString(page) + `" rel="nofollow noopener" target="_blank">` + html.EscapeString(l.T("post.on_the_page")) + `</a>)`
	}
	return `<a href="` + html.EscapeString(f.Link) + `" rel="nofollow noopener" target="_blank">` + html.EscapeString(f.Value) + `</a>`
}

// note maps an announcement to a Note. Every kind is a Note so Mastodon
// shows the full text; events also carry startTime, endTime and location
// for calendar-minded consumers.
//
// Most servers read this as plain JSON, not JSON-LD (docs/WIRE.md): content
// is one string with the languages beside it in contentMap, a Note has no
// name (GoToSocial would show it as a content warning), summary is plain
// text, and times carry milliseconds.
func (s *Server) note(b board.Board, a board.Announcement) (map[string]any, error) {
	l := locale.Of(b, a)
	u := s.urls
	n := streams.NewActivityStreamsNote()
	n.SetJSONLDId(idProp(u.AnnouncementURL(a.Board, a.ID)))
	attr := streams.NewActivityStreamsAttributedToProperty()
	attr.AppendIRI(iri(u.BoardURL(a.Board)))
	n.SetActivityStreamsAttributedTo(attr)
	to := streams.NewActivityStreamsToProperty()
	to.AppendIRI(iri(publicAudience))
	n.SetActivityStreamsTo(to)
	cc := streams.NewActivityStreamsCcProperty()
	cc.AppendIRI(iri(u.Followers(a.Board)))
	n.SetActivityStreamsCc(cc)
	content := streams.NewActivityStreamsContentProperty()
	body, bodyTags := s.content(l, a)
	content.AppendXMLSchemaString(body)
	n.SetActivityStreamsContent(content)
	if a.ContentWarning != "" {
		summary := streams.NewActivityStreamsSummaryProperty()
		// Plain text: Mastodon shows summary as it comes (status_parser.rb
		// spoiler_text, and sends its own raw: note_serializer.rb), so an
		// escaped "&amp;" would be read as such.
		summary.AppendXMLSchemaString(a.ContentWarning)
		n.SetActivityStreamsSummary(summary)
	}
	urlp := streams.NewActivityStreamsUrlProperty()
	urlp.AppendIRI(iri(u.AnnouncementURL(a.Board, a.ID)))
	n.SetActivityStreamsUrl(urlp)
	if a.IsEvent() {
		st := streams.NewActivityStreamsStartTimeProperty()
		st.Set(a.Event.Start)
		n.SetActivityStreamsStartTime(st)
		if a.Event.End != nil {
			et := streams.NewActivityStreamsEndTimeProperty()
			et.Set(*a.Event.End)
			n.SetActivityStreamsEndTime(et)
		}
		if a.Event.Place != "" {
			place := streams.NewActivityStreamsPlace()
			pn := streams.NewActivityStreamsNameProperty()
			pn.AppendXMLSchemaString(a.Event.Place)
			place.SetActivityStreamsName(pn)
			loc := streams.NewActivityStreamsLocationProperty()
			loc.AppendActivityStreamsPlace(place)
			n.SetActivityStreamsLocation(loc)
		}
	}
	// The hashtags typed in the text and the tags given beside it, each
	// once, as typed: Mastodon and GoToSocial file the post under them.
	tags := make([]any, 0, len(a.Tags)+len(bodyTags))
	for _, t := range append(bodyTags, a.Tags...) {
		if slices.ContainsFunc(tags, func(x any) bool { return strings.EqualFold(x.(map[string]any)["name"].(string), "#"+t) }) {
			continue
		}
		tags = append(tags, map[string]any{"type": "Hashtag", "href": u.TagURL(a.Board, t), "name": "#" + t})
	}
	// go-fed writes whole seconds; posts of one second would sort in any
	// order, and Mastodon drops an Update that is not newer than the last.
	extra := map[string]any{
		"sensitive": a.ContentWarning != "",
		"published": msTime(a.CreatedAt),
	}
	// The language of the words, which Mastodon shows and filters by: the
	// text's own, else its board's (the labels' too). A board that never
	// said its language claims none: its text may be in any.
	if lang := wireLanguage(cmp.Or(a.Language, b.Language)); lang != "" {
		extra["contentMap"] = map[string]string{lang: body}
	}
	if updated, ok := lastChanged(a); ok {
		extra["updated"] = msTime(updated)
	}
	if len(tags) > 0 {
		extra["tag"] = tags
	}
	if len(a.Images) > 0 {
		extra["attachment"] = s.attachments(a)
	}
	if a.TakesSignups() {
		question(l, a, extra, time.Now())
	}
	return serialize(n, extra)
}

// attachments are the pictures as Mastodon and GoToSocial read them: a
// Document each (what Mastodon itself sends) with its url as a string,
// mediaType, the description as name (their ALT), size and blurhash.
func (s *Server) attachments(a board.Announcement) []any {
	out := make([]any, 0, len(a.Images))
	for _, im := range a.Images {
		doc := map[string]any{
			"type": "Document", "mediaType": im.MediaType, "url": s.urls.BoardURL(a.Board) + board.MediaPath(im.ID),
			"width": im.Width, "height": im.Height, "blurhash": im.Blurhash,
		}
		if im.Alt != "" { // a decorative picture has none, on purpose
			doc["name"] = im.Alt
		}
		out = append(out, doc)
	}
	return out
}

// question makes a call for volunteers a poll: its roles are the options
// (named by the role alone, so that an answer's name always matches; the
// places are in replies.totalItems), its deadline the endTime, and it is
// closed once the deadline passed, an editor closed it, or every role is
// full without a waiting list. Mastodon, GoToSocial and Fedify show it as
// a poll under the post's text.
func question(l locale.Locale, a board.Announcement, extra map[string]any, now time.Time) {
	c := a.Call
	options := make([]any, 0, len(c.Roles))
	for _, r := range c.Roles {
		options = append(options, map[string]any{
			"type": "Note", "name": l.Role(r.Name),
			"replies": map[string]any{"type": "Collection", "totalItems": c.Taken[r.Name]},
		})
	}
	extra["type"] = "Question"
	if c.Multiple {
		extra["anyOf"] = options
	} else {
		extra["oneOf"] = options
	}
	extra["votersCount"] = c.Voters
	if c.Deadline != nil {
		extra["endTime"] = msTime(*c.Deadline)
	}
	if !a.SignupsOpen(now) {
		// The same time at every fetch and in every Update (GoToSocial and
		// Mastodon keep the first they read): the deadline once it passed,
		// else the edit that closed it (an editor's close, a cancellation).
		closed := a.UpdatedAt
		if c.Deadline != nil && c.Deadline.Before(now) {
			closed = *c.Deadline
		}
		extra["closed"] = msTime(closed)
	}
}

const timeFormatMS = "2006-01-02T15:04:05.000Z07:00"

func msTime(t time.Time) string { return t.UTC().Format(timeFormatMS) }

// mastodonRegional are the tags with a region Mastodon knows as post
// languages of their own, in its spelling: app/helpers/languages_helper.rb's
// ISO_639_1_REGIONAL, which SUPPORTED_LOCALES (and so StatusParser's
// NORMALIZED_LOCALE_NAMES and a follower's language filter) holds.
// REGIONAL_LOCALE_NAMES (pt-BR, en-GB, fr-QC…) names interface languages
// only: a post in "pt-BR" would be missed by a follower reading "pt".
var mastodonRegional = map[string]string{
	"zh-cn": "zh-CN", "zh-hk": "zh-HK", "zh-tw": "zh-TW", "zh-yue": "zh-YUE",
}

// wireLanguage is the language a post claims, as Mastodon can match it.
// Mastodon keeps contentMap's key as it comes unless it knows it
// (app/lib/activitypub/parser/status_parser.rb, language:
// NORMALIZED_LOCALE_NAMES), and a follower who reads only French (a
// follow's or a timeline's languages) is offered "fr": a post in "fr-FR"
// never reaches them. So a region goes, unless Mastodon names the
// regional language itself (zh-TW).
func wireLanguage(tag string) string {
	if t, ok := mastodonRegional[strings.ToLower(tag)]; ok {
		return t
	}
	base, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(base)
}

// tombstone replaces a deleted announcement. It has no formerType: strict
// readers warn about a value that is not an object type's IRI, and no
// server reads it.
func (s *Server) tombstone(_ board.Board, a board.Announcement) (map[string]any, error) {
	t := streams.NewActivityStreamsTombstone()
	t.SetJSONLDId(idProp(s.urls.AnnouncementURL(a.Board, a.ID)))
	var extra map[string]any
	if a.DeletedAt != nil {
		extra = map[string]any{"deleted": msTime(*a.DeletedAt)}
	}
	return serialize(t, extra)
}

// activity wraps object (already serialized) in a Create, Update or Delete
// from the board, addressed like the object.
func (s *Server) activity(b board.Board, a board.Announcement, verb board.Verb, version int, when time.Time) (map[string]any, error) {
	var obj map[string]any
	var err error
	var typ string
	switch verb {
	case board.VerbCreate:
		typ = "Create"
		obj, err = s.note(b, a)
	case board.VerbUpdate:
		typ = "Update"
		obj, err = s.note(b, a)
	case board.VerbDelete:
		typ = "Delete"
		obj, err = s.tombstone(b, a)
	case board.VerbPin, board.VerbUnpin:
		return s.featuredActivity(a, verb, when), nil
	case board.VerbRefresh:
		// New counts (or the poll closed, or open again): an Update with
		// the whole object as GET serves it, its updated the last edit's.
		// Mastodon applies an Update that is not newer than the post's
		// last edit as poll state only ("implicit update", in
		// app/services/activitypub/process_status_update_service.rb):
		// counts, voters, closing time, and no "Edited" mark.
		typ = "Update"
		obj, err = s.note(b, a)
	default:
		return nil, fmt.Errorf("unknown verb %q", verb)
	}
	if err != nil {
		return nil, err
	}
	delete(obj, "@context")
	u := s.urls
	return map[string]any{
		"@context":  jsonLDContext,
		"id":        u.ActivityID(a.Board, a.ID, verb, version),
		"type":      typ,
		"actor":     u.BoardURL(a.Board),
		"published": msTime(when),
		"to":        []string{publicAudience},
		"cc":        []string{u.Followers(a.Board)},
		"object":    obj,
	}, nil
}

// featuredActivity tells followers' servers that an announcement was
// pinned (Add) or unpinned (Remove) in the board's featured collection, as
// Mastodon does for pinned posts.
func (s *Server) featuredActivity(a board.Announcement, verb board.Verb, when time.Time) map[string]any {
	u := s.urls
	typ := "Add"
	if verb == board.VerbUnpin {
		typ = "Remove"
	}
	return map[string]any{
		"@context":  jsonLDContext,
		"id":        fmt.Sprintf("%s/activity/%s/%d", u.AnnouncementURL(a.Board, a.ID), verb, when.UnixMilli()),
		"type":      typ,
		"actor":     u.BoardURL(a.Board),
		"published": msTime(when),
		"to":        []string{publicAudience},
		"cc":        []string{u.Followers(a.Board)},
		"object":    u.AnnouncementURL(a.Board, a.ID),
		"target":    u.Featured(a.Board),
	}
}

// accept answers a Follow, embedding it as Mastodon expects.
func (s *Server) accept(boardName string, follow json.RawMessage, followID, follower string) map[string]any {
	var embedded any = followID
	var m map[string]any
	if json.Unmarshal(follow, &m) == nil {
		delete(m, "@context")
		delete(m, "signature")
		delete(m, "proof")
		embedded = m
	}
	return map[string]any{
		"@context": jsonLDContext,
		"id":       s.urls.BoardURL(boardName) + "/accepts/" + hashID(followID),
		"type":     "Accept",
		"actor":    s.urls.BoardURL(boardName),
		"to":       []string{follower},
		"object":   embedded,
	}
}

// lastChanged is when the text followers read last changed after its
// publication: its last edit, or a campaign's new total. Mastodon applies
// an Update's text only when its updated is newer than the post's last
// (ProcessStatusUpdateService#call, handle_explicit_update! against
// handle_implicit_update!, which keeps the text): a total sent without a
// newer updated stayed the first one there. A poll's new counts change no
// text, and keep the last edit's.
func lastChanged(a board.Announcement) (time.Time, bool) {
	var t time.Time
	if a.Edited() {
		t = a.UpdatedAt
	}
	if c := a.Campaign; c != nil && c.Counted != nil && c.Counted.After(a.CreatedAt) && c.Counted.After(t) {
		t = *c.Counted
	}
	return t, !t.IsZero()
}
