// Package feeds writes what other software reads of a board: the Atom feed,
// iCalendar files, schema.org JSON-LD and OpenGraph for link previews, and
// the CSV export of sign-ups. It builds documents from announcements; the
// handlers that serve them live in web and api.
//
// It must not import net/http, a store or a destination.
package feeds

import (
	"encoding/xml"
	"fmt"
	"html"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/feeds"

	"crieur/board"
	"crieur/board/locale"
)

// FeedSize is how many entries a feed holds.
const FeedSize = 50

// Atom is a board's Atom feed of list (newest first), titled for tag when
// one narrows it, keeping only kind when given.
func Atom(b board.Board, list []board.Announcement, links board.Links, tag string, kind board.Kind) ([]byte, error) {
	boardURL := links.BoardURL(b.Name)
	title := b.DisplayName
	if tag != "" {
		title += " – #" + tag
	}
	f := &feeds.Feed{
		Title:       title,
		Link:        &feeds.Link{Href: boardURL},
		Description: b.Summary,
		Author:      &feeds.Author{Name: b.DisplayName},
		Id:          boardURL,
		Created:     b.CreatedAt,
	}
	var langs []string
	bl := locale.OfBoard(b)
	for _, a := range list {
		if kind != "" && a.Kind != kind {
			continue
		}
		if len(f.Items) == FeedSize {
			break
		}
		link := links.AnnouncementURL(b.Name, a.ID)
		l := bl.About(a)
		langs = append(langs, l.Lang())
		f.Items = append(f.Items, &feeds.Item{
			Title:   l.Heading(a),
			Link:    &feeds.Link{Href: link},
			Id:      link,
			Created: a.CreatedAt,
			Updated: a.UpdatedAt,
			Content: feedContent(l, a, boardURL),
		})
		if a.UpdatedAt.After(f.Updated) {
			f.Updated = a.UpdatedAt
		}
	}
	if f.Updated.IsZero() {
		f.Updated = b.CreatedAt
	}
	// gorilla/feeds writes neither xml:lang nor <published>: the feed is
	// its structure with both added, each entry in its own language.
	af := (&feeds.Atom{Feed: f}).AtomFeed()
	doc := atomFeed{AtomFeed: af, Lang: locale.For(b.Language).Lang()}
	for i, e := range af.Entries {
		e.Published = f.Items[i].Created.Format(time.RFC3339)
		doc.Entries = append(doc.Entries, atomEntry{AtomEntry: e, Lang: langs[i]})
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("atom feed of %s: %w", b.Name, err)
	}
	return append([]byte(xml.Header), out...), nil
}

type atomFeed struct {
	XMLName xml.Name `xml:"feed"`
	Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	*feeds.AtomFeed
	Entries []atomEntry `xml:"entry"`
}

type atomEntry struct {
	XMLName xml.Name `xml:"entry"`
	Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	*feeds.AtomEntry
}

// feedContent is the entry's HTML: the facts, then the (sanitised) text,
// then the pictures.
func feedContent(l locale.Locale, a board.Announcement, boardURL string) string {
	var b strings.Builder
	b.WriteString(l.FactsHTML(l.Facts(a)))
	b.WriteString(a.HTML)
	for _, im := range a.Images {
		fmt.Fprintf(&b, `<p><img src="%s" alt="%s" width="%d" height="%d"></p>`, html.EscapeString(boardURL+board.MediaPath(im.ID)), html.EscapeString(im.Alt), im.Width, im.Height)
	}
	return b.String()
}

var (
	tagStrip = regexp.MustCompile(`<[^>]*>`)
	blockEnd = regexp.MustCompile(`(?i)</(p|li|h[1-6]|blockquote|pre)>|<br\s*/?>`)
)

// PlainText is sanitised HTML as one line of text: blocks end with a
// space, inline tags leave none ("<strong>food</strong>." stays "food.").
func PlainText(h string) string {
	return strings.Join(plainBlocks(h), " ")
}

// PlainParagraphs is PlainText with each paragraph (and list item, line
// break) on a line of its own, for a reader that shows text as it comes
// (a calendar's description): one line of a long update lost its steps.
func PlainParagraphs(h string) string {
	return strings.Join(plainBlocks(h), "\n")
}

// plainBlocks are h's blocks as text, each on one line, empty ones left out.
func plainBlocks(h string) []string {
	var out []string
	for _, part := range blockEnd.Split(h, -1) {
		if t := strings.Join(strings.Fields(html.UnescapeString(tagStrip.ReplaceAllString(part, ""))), " "); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// OpenGraph is what link previews (Mastodon, Matrix clients, chats) show.
type OpenGraph struct {
	Type, Title, Description, URL, Site string
	Image                               Picture
}

// Picture is the image of a link preview, with what Mastodon's card and
// Open Graph readers take from its og:image:* tags.
type Picture struct {
	URL, Alt, Type string
	Width, Height  int
}

// Excerpt is a plain-text summary of an announcement for previews: its
// facts, then its text, at most about 200 characters. Behind a content
// warning it is the warning alone: the page hides the facts and the text
// until the reader opens it, and a preview must not show them first.
func Excerpt(l locale.Locale, a board.Announcement) string {
	if cw := strings.TrimSpace(a.ContentWarning); cw != "" {
		return cw
	}
	var parts []string
	for _, f := range l.Facts(a) {
		parts = append(parts, l.Colon(f.Label)+" "+f.Value)
	}
	if text := PlainText(a.HTML); text != "" {
		parts = append(parts, text)
	}
	s := strings.Join(parts, ". ")
	if r := []rune(s); len(r) > 200 {
		s = strings.TrimSpace(string(r[:199])) + "…"
	}
	return s
}

// SchemaOrg describes the announcement for search engines and link
// previews, with image (if it has a URL) as its picture and the board's
// logo (its icon's address) as its publisher's.
//
// Events and trainings are an Event (an EducationEvent) with their times
// and place: what calendars and search engines read. Everything else is a
// NewsArticle, not an Article: Mastodon's link_details_extractor.rb
// (app/lib, StructuredData::SUPPORTED_TYPES) reads JSON-LD only whose
// @type is exactly "NewsArticle" or "WebPage", and takes the headline and
// description from it before the og: tags; a NewsArticle is still an
// Article to every other schema.org reader. For events Mastodon finds no
// JSON-LD it reads and builds its card from the og: tags, which say the
// same: keeping Event there loses Mastodon nothing and keeps the event's
// data for those who use it.
func SchemaOrg(l locale.Locale, a board.Announcement, link, boardName, boardURL string, image Picture, logo string) map[string]any {
	doc := map[string]any{"@context": "https://schema.org", "url": link, "name": a.Title, "description": Excerpt(l, a), "inLanguage": l.Lang()}
	if image.URL != "" {
		doc["image"] = image.URL
	}
	org := map[string]any{"@type": "Organization", "name": boardName, "url": boardURL}
	if logo != "" {
		org["logo"] = map[string]any{"@type": "ImageObject", "url": logo}
	}
	if a.IsEvent() {
		doc["@type"] = "Event"
		doc["startDate"] = a.Event.Start.Format(time.RFC3339)
		if a.Event.End != nil {
			doc["endDate"] = a.Event.End.Format(time.RFC3339)
		}
		var places []any
		if a.Event.Place != "" {
			places = append(places, map[string]any{"@type": "Place", "name": a.Event.Place})
		}
		if t := a.Training; t != nil {
			doc["@type"] = "EducationEvent"
			if t.Online != "" {
				places = append(places, map[string]any{"@type": "VirtualLocation", "url": t.Online})
			}
			if t.Level != "" {
				doc["educationalLevel"] = t.Level
			}
			if a.Call != nil {
				doc["maximumAttendeeCapacity"] = a.Call.Places(board.TrainingRole)
				doc["remainingAttendeeCapacity"] = a.Call.PlacesLeft(board.TrainingRole)
			}
			switch {
			case t.Cancelled:
				doc["eventStatus"] = "https://schema.org/EventCancelled"
			default:
				doc["eventStatus"] = "https://schema.org/EventScheduled"
			}
			mode := "https://schema.org/OfflineEventAttendanceMode"
			if t.Online != "" {
				mode = "https://schema.org/OnlineEventAttendanceMode"
				if a.Event.Place != "" {
					mode = "https://schema.org/MixedEventAttendanceMode"
				}
			}
			doc["eventAttendanceMode"] = mode
		}
		switch len(places) {
		case 1:
			doc["location"] = places[0]
		case 2:
			doc["location"] = places
		}
		doc["organizer"] = org
		return doc
	}
	doc["@type"] = "NewsArticle"
	doc["publisher"] = org
	doc["author"] = org
	doc["headline"] = a.Title
	doc["datePublished"] = a.CreatedAt.Format(time.RFC3339)
	doc["dateModified"] = a.UpdatedAt.Format(time.RFC3339)
	return doc
}
